"""The month's spend on the tableau de bord, the budget banner, and one person on two channels
counted once in the indicators."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from bots.handler import Inbound, handle_inbound
from bots.runtime import Runtime
from storage.config import Settings
from storage.db import transaction
from storage.models import Campaign, Message, Survey
from tests.fakes.twilio_api import FakeTwilio, twilio_fixture, with_twilio  # noqa: F401
from tests.web.conftest import Territory, login_as
from web.counts import Scope
from web.indicators import Period, compute


@pytest.fixture
def settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    extra = {
        **settings.extra,
        "PAROLES_BUDGET_SMS_SEGMENTS": "100",
        "PAROLES_PRICE_SMS_SEGMENT": "0.08",
        "PAROLES_BUDGET_WHATSAPP_CONVERSATIONS": "10",
    }
    return with_twilio(settings, twilio, extra=extra)  # type: ignore[no-any-return]


def spent(runtime: Runtime, channel: str, units: int, campaign_id: int | None = None) -> None:
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        session.add(
            Message(
                direction="out",
                channel=channel,
                status="sent",
                units=units,
                sent_at=now,
                created_at=now,
                campaign_id=campaign_id,
            )
        )


@pytest.fixture
def campaign_id(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        survey_id = session.scalars(select(Survey.id).where(Survey.slug == "scolarite")).one()
        campaign = Campaign(survey_id=survey_id, name="Rentrée 2026", status="running")
        session.add(campaign)
        session.flush()
        return campaign.id


def test_the_tableau_de_bord_shows_the_months_spend_per_channel_and_campaign(
    client: Any, runtime: Runtime, territory: Territory, campaign_id: int
) -> None:
    spent(runtime, "sms", 40, campaign_id)
    spent(runtime, "sms", 2)  # a reply to a habitant who wrote
    spent(runtime, "whatsapp", 3, campaign_id)
    login_as(client, territory.users["chef_de_projet"])
    page = html.unescape(client.get("/tableau-de-bord/").text)
    assert "Dépense des envois ce mois-ci" in page
    assert "42 segments SMS" in page and "58 (42 % utilisés)" in page and "3,36 €" in page
    assert "3 conversations WhatsApp" in page and "7 (30 % utilisés)" in page
    assert "Rentrée 2026" in page and "40 segments SMS" in page and "3,20 €" in page
    assert "Réponses et messages hors campagne" in page
    login_as(client, territory.users["conseil_citoyen"])
    assert "Dépense des envois" not in client.get("/tableau-de-bord/").text


@pytest.mark.parametrize(
    ("units", "expected"),
    [
        (7, None),
        (8, "Budget WhatsApp du mois utilisé à 80 %"),
        (10, "Budget WhatsApp du mois épuisé"),
    ],
)
def test_staff_see_a_banner_at_80_and_100_percent(
    client: Any, runtime: Runtime, territory: Territory, units: int, expected: str | None
) -> None:
    spent(runtime, "whatsapp", units)
    assert 'data-key="budget-' not in client.get("/auth/login").text  # not before logging in
    login_as(client, territory.users["lecteur"])
    page = html.unescape(client.get("/inbox/").text)
    if expected is None:
        assert 'data-key="budget-whatsapp"' not in page
    else:
        assert expected in page and f"{units} conversations WhatsApp sur 10" in page


def test_one_number_by_sms_and_whatsapp_is_counted_once_in_the_indicators(
    runtime: Runtime,
) -> None:
    at = datetime(2026, 1, 15, 10, tzinfo=UTC)
    script = [("sms", "Bonjour"), ("sms", "oui"), ("sms", "Le square est sale")]
    script.append(("whatsapp", "Et les poubelles aussi"))  # consent given by SMS holds
    for n, (channel, text) in enumerate(script):
        handle_inbound(runtime, Inbound(channel, "+33612345678", text, f"SM{n}", received_at=at))
    with runtime.sessions() as session:
        found = compute(
            session, Period(date(2026, 1, 1), date(2026, 1, 1)), Scope(), "Europe/Paris"
        )
    assert found.participants == 1 and found.contributions == 2
    assert [key for key, _ in found.by_channel.rows] == ["whatsapp"]  # the channel used last
