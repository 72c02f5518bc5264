"""The client's address, seen through the reverse proxies this deployment trusts.

``REMOTE_ADDR`` is the peer that opened the connection. When that peer is one of
``settings.LEADSIEVE_TRUSTED_PROXIES`` (``LEADSIEVE_TRUSTED_PROXIES``, empty by default),
``X-Forwarded-For`` is read from the right: each trusted proxy appends the address it saw,
so the right-most address that is *not* a trusted proxy is the client. Everything to the
left of it was written by the client and may be forged, so it is never used.

With no trusted proxy (the default), or when the peer is not one, ``X-Forwarded-For`` is
ignored entirely: a client cannot choose the address its rate limits count against.
Used by the web-form rate limit and by the sign-in lock-out (``AXES_CLIENT_IP_CALLABLE``).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

from leadsieve.config.env import IPNetwork


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return address


def _is_trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: list[IPNetwork]
) -> bool:
    return any(address in network for network in trusted)


def client_ip(request: HttpRequest) -> str | None:
    """The address to count a request against; ``None`` when the peer has none (a request
    built in-process, as ``force_login`` does), never a text that is not an address: django-axes
    stores it in an ``inet`` column on PostgreSQL.
    """
    peer = _parse(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return None
    trusted: list[IPNetwork] = settings.LEADSIEVE_TRUSTED_PROXIES
    if not _is_trusted(peer, trusted):
        return str(peer)
    client = peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR") or ""
    for hop in reversed(forwarded.split(",")):
        address = _parse(hop)
        if address is None:
            # A trusted proxy never writes garbage: it came from the client; stop here and
            # count the request against the last proxy that handed it on.
            break
        client = address
        if not _is_trusted(address, trusted):
            break
    return str(client)
