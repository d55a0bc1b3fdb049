"""Security headers, escaping of everything a habitant writes, safe attachments, translations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import update

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Contribution, Theme
from tests.factories import make_contribution
from tests.web.conftest import Sample, Territory, login_as, post

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
TRANSLATIONS = Path(__file__).parents[2] / "web" / "translations" / "en" / "LC_MESSAGES"


def test_every_page_sends_the_strict_headers(client: Any, territory: Territory) -> None:
    login_as(client, territory.users["administrateur"])
    for url in ("/auth/login", "/inbox/", "/themes/", "/journal/"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script_or_style(client: Any, territory: Territory, sample: Sample):
    login_as(client, territory.users["administrateur"])
    for url in ("/inbox/", f"/contributions/{sample.nord}", "/themes/", "/comptes/", "/exports/"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>" not in html and "style=" not in html and " on" + "click=" not in html
        assert '<script src="/static/backoffice.js" defer></script>' in html


def test_a_habitant_payload_is_text_in_every_view(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    with transaction(runtime.sessions) as session:
        c = make_contribution(session, text=XSS, quartier_id=territory.nord)
        session.execute(update(Theme).where(Theme.code == "scolarite").values(name=XSS))
    for role in ("chef_de_projet", "conseil_citoyen"):
        login_as(client, territory.users[role])
        for url in ("/inbox/", "/inbox/?q=script", f"/contributions/{c.id}", "/themes/"):
            response = client.get(url)
            if response.status_code == 403:
                continue
            html = response.get_data(as_text=True)
            assert "<script>alert" not in html and "<img src=x" not in html, url
            if "contribution" in url or "inbox" in url:
                assert ESCAPED in html, url


def test_post_without_csrf_token_is_refused(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    for url, form in [
        (f"/contributions/{sample.nord}/status", {"status": "traite"}),
        (f"/reponses/contribution/{sample.nord}", {"text": "x"}),
        ("/contributions/bulk", {"ids": sample.nord, "action": "confirm"}),
    ]:
        assert client.post(url, data=form).status_code == 400
        assert client.post(url, data={**form, "csrf_token": "forged"}).status_code == 400
    with transaction(runtime.sessions) as session:
        assert session.get(Contribution, sample.nord).status == "nouveau"  # type: ignore[union-attr]


def set_media(runtime: Runtime, contribution_id: int, media: list[dict[str, str]]) -> None:
    with transaction(runtime.sessions) as session:
        session.execute(
            update(Contribution).where(Contribution.id == contribution_id).values(media=media)
        )


def test_attachments_are_served_safely(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    root = runtime.settings.media_dir
    (root / "v").mkdir(parents=True, exist_ok=True)
    (root / "v" / "note.ogg").write_bytes(b"OggS fake voice")
    (root / "v" / "dessin.svg").write_bytes(b"<svg onload=alert(1)></svg>")
    (root.parent / "secret.txt").write_text("secret")
    set_media(
        runtime,
        sample.nord,
        [
            {"kind": "photo", "file_id": "1", "path": "photos/banc.jpg", "mime": "image/jpeg"},
            {"kind": "voice", "file_id": "2", "path": "v/note.ogg", "mime": "audio/ogg"},
            {"kind": "photo", "file_id": "3", "path": "v/dessin.svg", "mime": "image/svg+xml"},
            {"kind": "photo", "file_id": "4", "path": "../secret.txt", "mime": "text/plain"},
            {"kind": "photo", "file_id": "5", "path": "v/absent.jpg", "mime": "image/jpeg"},
            {"kind": "photo", "file_id": "6", "path": "", "mime": "image/jpeg"},
        ],
    )
    login_as(client, territory.users["conseil_citoyen"])
    base = f"/contributions/{sample.nord}/media"
    with client.get(f"{base}/0") as photo:
        assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
        assert photo.get_data() == b"\xff\xd8\xff\xe0fake-jpeg"
        assert "no-store" in photo.headers["Cache-Control"]
    with client.get(f"{base}/1") as voice:
        assert voice.mimetype == "audio/ogg" and "attachment" not in voice.headers.get(
            "Content-Disposition", ""
        )
    with client.get(f"{base}/2") as svg:  # could carry script: download only
        assert svg.mimetype == "application/octet-stream"
        assert svg.headers["Content-Disposition"].startswith("attachment")
    for index in (3, 4, 5, 6, 99):
        with client.get(f"{base}/{index}") as response:
            assert response.status_code == 404, index


def test_the_english_catalogue_is_complete_and_compiled() -> None:
    with (TRANSLATIONS / "messages.po").open("rb") as po_file:
        po = read_po(po_file, locale="en")
    with (TRANSLATIONS / "messages.mo").open("rb") as mo_file:
        mo = read_mo(mo_file)
    untranslated = [m.id for m in po if m.id and not m.string]
    assert untranslated == []
    assert {m.id: m.string for m in po if m.id} == {m.id: m.string for m in mo if m.id}


def test_every_string_of_the_back_office_is_in_the_catalogue() -> None:
    """What `pybabel extract -F babel.cfg -k _l` finds is exactly what the catalogue holds."""
    root = Path(__file__).parents[2]
    method_map = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(root), method_map, keywords={**DEFAULT_KEYWORDS, "_l": None}
    ):
        found.add(message if isinstance(message, str) else message[0])
    with (TRANSLATIONS / "messages.po").open("rb") as po_file:
        catalogue = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(po_file) if m.id}
    assert sorted(found - catalogue) == []  # to translate
    assert sorted(catalogue - found) == []  # no longer used


def test_the_reply_form_posts_only_to_this_site(client: Any, territory: Territory, sample: Sample):
    login_as(client, territory.users["chef_de_projet"])
    response = post(
        client,
        f"/contributions/{sample.nord}/status",
        {"status": "traite", "next": "https://evil.example/"},
    )
    assert response.headers["Location"].startswith("/inbox/")
