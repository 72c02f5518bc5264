"""A web form's look: the team's accent colour and logo on LeadSieve's own form page.

The colour is a ``#rrggbb`` value, checked before it is stored, and reaches the page through
a small stylesheet (``/f/<slug>/theme.css``): the page's CSP allows no inline style. Text on
the accent (the button) is white or near-black, whichever reads better (WCAG contrast).

A logo is an uploaded PNG, JPEG, GIF or WebP picture. It is decoded with Pillow, shrunk to
at most ``LOGO_MAX_SIZE`` and stored re-encoded as PNG, so what the public page serves is
always a plain picture LeadSieve wrote itself, never the uploaded bytes (no SVG: it can
carry scripts).
"""

from __future__ import annotations

import io
import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from PIL import Image, UnidentifiedImageError

DEFAULT_ACCENT = "#1d4ed8"
ACCENT_VALIDATOR = RegexValidator(
    re.compile(r"^#[0-9a-fA-F]{6}$"), "Enter a colour as # and six hex digits, e.g. #1d4ed8."
)
LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_SIZE = (480, 160)
LOGO_FORMATS = {"PNG", "JPEG", "GIF", "WEBP"}
# Pillow refuses pictures past this many pixels before decoding them (decompression bombs).
LOGO_MAX_PIXELS = 25_000_000
DARK_TEXT = "#111827"
LIGHT_TEXT = "#ffffff"


def _luminance(hex_colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio between two ``#rrggbb`` colours (1 to 21)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_on(accent: str) -> str:
    """White or near-black text, whichever contrasts more with ``accent``."""
    if contrast_ratio(accent, LIGHT_TEXT) >= contrast_ratio(accent, DARK_TEXT):
        return LIGHT_TEXT
    return DARK_TEXT


def theme_css(accent: str) -> str:
    """The stylesheet that carries one form's colours (``accent`` is validated first; blank:
    the default blue)."""
    accent = accent or DEFAULT_ACCENT
    ACCENT_VALIDATOR(accent)
    return f":root {{ --ls-accent: {accent.lower()}; --ls-on-accent: {text_on(accent)}; }}\n"


def prepare_logo(data: bytes) -> bytes:
    """Check an uploaded logo and return it re-encoded as a PNG no larger than the limits.

    Raises ``ValidationError`` saying what is wrong (size, kind of file, damaged picture).
    """
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError(
            f"The logo is {len(data) / 1024 / 1024:.1f} MB; the limit is "
            f"{LOGO_MAX_BYTES // 1024 // 1024} MB."
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            width, height = probe.size
            probe.verify()
        if kind not in LOGO_FORMATS:
            raise ValidationError(
                f"The logo is a {kind} file; upload a PNG, JPEG, GIF or WebP picture."
            )
        if width * height > LOGO_MAX_PIXELS:
            raise ValidationError(f"The logo is {width}×{height} pixels; that is too large.")
        with Image.open(io.BytesIO(data)) as picture:
            picture.seek(0)
            rgba = picture.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            "The logo is not a picture LeadSieve can read; upload a PNG, JPEG, GIF or WebP file."
        ) from None
    rgba.thumbnail(LOGO_MAX_SIZE)
    out = io.BytesIO()
    rgba.save(out, format="PNG", optimize=True)
    return out.getvalue()
