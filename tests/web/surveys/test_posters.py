"""Join codes and the A4 poster: QR code to the Telegram deep link, SMS number and keyword."""

from __future__ import annotations

import dataclasses
import html
import urllib.parse
from typing import Any

import pytest
from sqlalchemy import select

from bots.runtime import Runtime
from storage.config import Settings
from storage.models import AuditEntry, JoinCode
from tests.web.conftest import Territory, login_as, post


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings, with a Telegram bot and an SMS number."""
    return dataclasses.replace(
        settings, telegram_bot_username="ParolesVilleBot", twilio_from="+33757000000"
    )


def code_id(runtime: Runtime, code: str) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(JoinCode.id).where(JoinCode.code == code)).one()


def test_a_code_is_created_and_its_poster_has_the_qr_code_number_and_keyword(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    for bad in ("", "ÉCOLE", "a b", "x" * 65):
        page = html.unescape(
            post(client, "/affiches/", {"code": bad, "quartier": territory.nord}).text
        )
        assert "1 à 64 lettres" in page
    assert post(client, "/affiches/", {"code": "X", "quartier": territory.sud}).status_code == 403
    form = {"code": "FETE-NORD", "quartier": territory.nord, "action": "Fête de quartier"}
    assert post(client, "/affiches/", form).status_code == 302
    assert "existe déjà" in html.unescape(post(client, "/affiches/", form).text)
    poster = html.unescape(client.get(f"/affiches/{code_id(runtime, 'FETE-NORD')}").text)
    assert "https://t.me/ParolesVilleBot?start=FETE-NORD" in poster
    assert 'src="data:image/svg+xml' in poster
    assert "FETE-NORD" in poster and "+33757000000" in poster
    assert "Les Tilleuls" in poster  # the second line names the quartier
    with runtime.sessions() as session:
        assert session.scalars(
            select(AuditEntry).where(AuditEntry.action == "join_code.create")
        ).one()
    custom = client.get(
        f"/affiches/{code_id(runtime, 'FETE-NORD')}?"
        + urllib.parse.urlencode({"ligne1": "Venez nous dire", "ligne2": "Samedi 10h"})
    )
    assert "Venez nous dire" in custom.text and "Samedi 10h" in custom.text


def test_a_conseil_sees_and_prints_only_its_quartiers_codes(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    post(client, "/affiches/", {"code": "SUD-1", "quartier": territory.sud})
    login_as(client, territory.users["conseil_citoyen"])
    assert "SUD-1" not in client.get("/affiches/").text
    assert client.get(f"/affiches/{code_id(runtime, 'SUD-1')}").status_code == 404
    assert post(client, f"/affiches/{code_id(runtime, 'SUD-1')}/actif").status_code == 404
    login_as(client, territory.users["lecteur"])
    assert client.get(f"/affiches/{code_id(runtime, 'SUD-1')}").status_code == 200
    assert post(client, "/affiches/", {"code": "L", "quartier": territory.sud}).status_code == 403


def test_without_telegram_or_sms_the_poster_says_what_is_missing(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    runtime.settings = dataclasses.replace(
        runtime.settings, telegram_bot_username="", twilio_from=""
    )
    login_as(client, territory.users["chef_de_projet"])
    post(client, "/affiches/", {"code": "NORD", "quartier": territory.nord})
    poster = html.unescape(client.get(f"/affiches/{code_id(runtime, 'NORD')}").text)
    assert "Telegram n'est pas configuré" in poster and "SMS n'est pas configuré" in poster
    assert "data:image/svg+xml" not in poster and "t.me" not in poster


def test_with_whatsapp_the_poster_and_the_codes_offer_a_wa_me_link_and_qr_code(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    runtime.settings = dataclasses.replace(
        runtime.settings,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token="token",
        twilio_whatsapp_from="whatsapp:+33757000001",
    )
    login_as(client, territory.users["conseil_citoyen"])
    post(client, "/affiches/", {"code": "FETE-NORD", "quartier": territory.nord})
    link = "https://wa.me/33757000001?text=FETE-NORD"
    assert f'href="{link}"' in client.get("/affiches/").text
    poster = html.unescape(client.get(f"/affiches/{code_id(runtime, 'FETE-NORD')}").text)
    assert link in poster and "Scannez pour répondre sur WhatsApp" in poster
    assert poster.count('src="data:image/svg+xml') == 2  # Telegram's QR code and WhatsApp's
    runtime.settings = dataclasses.replace(runtime.settings, twilio_whatsapp_from="")
    assert "wa.me" not in client.get(f"/affiches/{code_id(runtime, 'FETE-NORD')}").text


@pytest.mark.parametrize(
    ("field", "value"),
    [("campaign", "x"), ("campaign", "999999"), ("survey", "abc"), ("survey", "-1")],
)
def test_a_campaign_or_survey_that_is_no_choice_is_said_next_to_its_field(
    client: Any, runtime: Runtime, territory: Territory, field: str, value: str
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    response = post(client, "/affiches/", {"code": "ECOLE-NORD", field: value})
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert f'aria-describedby="err-{field}"' in text
    assert "de la liste (ou aucune)" in text.split(f'id="err-{field}">')[1].split("</span>")[0]
    assert 'value="ECOLE-NORD"' in text  # what was typed is kept
    with runtime.sessions() as session:
        assert session.scalars(select(JoinCode).where(JoinCode.code == "ECOLE-NORD")).all() == []
