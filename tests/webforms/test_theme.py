"""A web form in the team's colours and with its logo: checked on upload, served safely."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from PIL import Image

from leadsieve.webforms.theme import (
    LOGO_MAX_BYTES,
    contrast_ratio,
    prepare_logo,
    text_on,
    theme_css,
)


def _picture(kind: str = "PNG", size: tuple[int, int] = (1200, 400)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=kind)
    return out.getvalue()


def _change_post(web_form: Any, **extra: Any) -> dict[str, Any]:
    data = {
        "name": web_form.name,
        "slug": web_form.slug,
        "fields": '[{"name": "email", "label": "Work email", "required": true}]',
        "source": web_form.source_id,
        "campaign": web_form.campaign_id,
        "team": "",
        "is_active": "on",
        "intro": "We answer within the hour.",
        "submit_label": "Book a demo",
        "accent_color": "#0f766e",
        "consent_text": "",
        "thank_you_message": "Thanks!",
        "thank_you_url": "",
        "allowed_origins": "[]",
    }
    data.update(extra)
    return data


def test_text_on_the_accent_is_the_more_readable_of_white_and_black() -> None:
    assert text_on("#1d4ed8") == "#ffffff"
    assert text_on("#fde047") == "#111827"
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#777777") == pytest.approx(1.0)


def test_the_theme_stylesheet_refuses_what_is_not_a_colour() -> None:
    assert "--ls-accent: #0f766e" in theme_css("#0F766E")
    for hostile in ["red", "#12345", "#0f766e; } body { display:none", "url(x)"]:
        with pytest.raises(ValidationError):
            theme_css(hostile)


def test_a_logo_is_shrunk_and_reencoded_as_png() -> None:
    for kind in ["PNG", "JPEG", "GIF", "WEBP"]:
        stored = prepare_logo(_picture(kind))
        with Image.open(io.BytesIO(stored)) as picture:
            assert picture.format == "PNG"
            assert picture.size[0] <= 480 and picture.size[1] <= 160


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "not a picture",
        ),
        (b"%PDF-1.4 not a logo", "not a picture"),
        (_picture()[:60], "not a picture"),
        (b"\x89PNG" + b"\0" * (LOGO_MAX_BYTES + 1), "limit is 1 MB"),
    ],
)
def test_a_bad_logo_is_refused_with_what_is_wrong(data: bytes, words: str) -> None:
    with pytest.raises(ValidationError) as refused:
        prepare_logo(data)
    assert words in str(refused.value)


def test_the_form_page_wears_the_teams_colour_logo_and_words(web_form: Any, client: Client) -> None:
    web_form.accent_color = "#0f766e"
    web_form.intro = "We answer within the hour."
    web_form.submit_label = "Book a demo"
    web_form.logo = prepare_logo(_picture())
    web_form.save()
    page = client.get("/f/contact/").content.decode()
    assert 'href="/f/contact/theme.css"' in page
    assert 'src="/f/contact/logo.png"' in page
    assert "We answer within the hour." in page
    assert ">Book a demo</button>" in page
    css = client.get("/f/contact/theme.css")
    assert css["Content-Type"] == "text/css"
    assert "--ls-accent: #0f766e" in css.content.decode()
    logo = client.get("/f/contact/logo.png")
    assert logo["Content-Type"] == "image/png"
    assert logo.content == bytes(web_form.logo)


def test_a_form_without_a_logo_shows_none_and_the_logo_url_is_404(
    web_form: Any, client: Client
) -> None:
    page = client.get("/f/contact/").content.decode()
    assert "logo.png" not in page
    assert client.get("/f/contact/logo.png").status_code == 404
    assert client.get("/f/contact/thanks/").status_code == 200


def test_the_admin_uploads_checks_and_removes_the_logo(admin_user: Any, web_form: Any) -> None:
    client = Client()
    client.force_login(admin_user)
    url = f"/admin/webforms/webform/{web_form.pk}/change/"
    upload = io.BytesIO(_picture("JPEG"))
    upload.name = "logo.jpg"
    answer = client.post(url, _change_post(web_form, logo_file=upload))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    web_form.refresh_from_db()
    assert web_form.accent_color == "#0f766e" and web_form.submit_label == "Book a demo"
    assert bytes(web_form.logo).startswith(b"\x89PNG")

    fake = io.BytesIO(b"<svg><script>alert(1)</script></svg>")
    fake.name = "logo.png"
    refused = client.post(url, _change_post(web_form, logo_file=fake, accent_color="blue"))
    assert refused.status_code == 200
    text = refused.content.decode()
    assert "not a picture LeadSieve can read" in text
    assert "Enter a colour as # and six hex digits" in text
    web_form.refresh_from_db()
    assert web_form.logo is not None and web_form.accent_color == "#0f766e"

    assert client.post(url, _change_post(web_form, remove_logo="on")).status_code == 302
    web_form.refresh_from_db()
    assert web_form.logo is None


def test_the_demo_form_has_a_theme_and_a_logo(db: None) -> None:
    import random

    from leadsieve.webforms.demo import DEMO_ACCENT, seed_demo
    from leadsieve.webforms.models import WebForm

    seed_demo(random.Random(0))
    form = WebForm.objects.get(slug="contact")
    assert form.accent_color == DEMO_ACCENT
    assert form.submit_label == "Talk to sales"
    assert bytes(form.logo).startswith(b"\x89PNG")
