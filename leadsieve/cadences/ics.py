"""iCalendar (RFC 5545) text for appointments: one event, or a rep's feed.

Text values are escaped (backslash, semicolon, comma, newlines), lines are folded at
75 octets, and times are written in UTC (``...Z``), which every calendar app reads
without needing a VTIMEZONE block; the appointment's own zone travels as
``X-LEADSIEVE-TZID`` for display.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from leadsieve.cadences.models import Appointment, AppointmentOutcome

PRODID = "-//LeadSieve//Appointments//EN"
STATUS: dict[str, str] = {
    AppointmentOutcome.CANCELLED: "CANCELLED",
    AppointmentOutcome.RESCHEDULED: "CANCELLED",
}


def escape_text(value: str) -> str:
    """RFC 5545 §3.3.11 TEXT escaping; CR and other control characters are dropped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return "".join(ch for ch in value if ch >= " " or ch == "\t")


def fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character."""
    out, current, size = [], "", 0
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += width
    out.append(current)
    return "\r\n".join(out)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event_lines(appointment: Appointment, *, stamp: datetime) -> list[str]:
    ends = appointment.starts_at + timedelta(minutes=appointment.duration_minutes)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(appointment.uid)}",
        f"DTSTAMP:{_utc(stamp)}",
        f"DTSTART:{_utc(appointment.starts_at)}",
        f"DTEND:{_utc(ends)}",
        f"SEQUENCE:{appointment.sequence}",
        f"SUMMARY:{escape_text(appointment.title)}",
        f"STATUS:{STATUS.get(appointment.outcome, 'CONFIRMED')}",
        f"X-LEADSIEVE-TZID:{escape_text(appointment.time_zone)}",
    ]
    if appointment.location:
        lines.append(f"LOCATION:{escape_text(appointment.location)}")
    if appointment.url:
        lines.append(f"URL:{escape_text(appointment.url)}")
    description = appointment.notes or ""
    if appointment.url:
        description = f"{description}\n{appointment.url}".strip()
    if description:
        lines.append(f"DESCRIPTION:{escape_text(description)}")
    for attendee in appointment.attendees:
        email = str(attendee.get("email", "")).strip()
        if not email or any(c in email for c in '\r\n:;,"') or "@" not in email:
            continue
        name = str(attendee.get("name", "")).replace('"', "'")
        name = "".join(ch for ch in name if ch >= " ")
        lines.append(f'ATTENDEE;CN="{name}":mailto:{email}' if name else f"ATTENDEE:mailto:{email}")
    lines.append("END:VEVENT")
    return lines


def _calendar(events: list[str], *, name: str | None = None) -> str:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    if name:
        head.append(f"X-WR-CALNAME:{escape_text(name)}")
    lines = [*head, *events, "END:VCALENDAR"]
    return "\r\n".join(fold(line) for line in lines) + "\r\n"


def ics_for(appointment: Appointment, *, stamp: datetime | None = None) -> str:
    """One appointment as a ``.ics`` file (``text/calendar``)."""
    return _calendar(_event_lines(appointment, stamp=stamp or appointment.updated_at))


def ics_feed(appointments: Iterable[Appointment], *, name: str) -> str:
    """A rep's read-only feed: every appointment as one calendar."""
    events: list[str] = []
    for appointment in appointments:
        events.extend(_event_lines(appointment, stamp=appointment.updated_at))
    return _calendar(events, name=name)
