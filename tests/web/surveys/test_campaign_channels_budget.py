"""The campaign pages with WhatsApp and a budget: per-channel estimate, who is left out and why,
what is left of the month's budget, a campaign over it refused or held for a chef de projet."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bots.runtime import Runtime
from storage.config import Settings
from storage.db import transaction
from storage.models import Campaign, Message, Survey
from tests.factories import make_participant
from tests.fakes.twilio_api import FakeTwilio, twilio_fixture, with_twilio  # noqa: F401
from tests.web.conftest import Territory, login_as, post

INVITATION_FR = "HX" + "1" * 32


@pytest.fixture
def settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    extra = {
        **settings.extra,
        "PAROLES_WHATSAPP_TEMPLATE_INVITATION_FR": INVITATION_FR,
        "PAROLES_BUDGET_SMS_SEGMENTS": "1000",
        "PAROLES_BUDGET_WHATSAPP_CONVERSATIONS": "50",
        "PAROLES_PRICE_WHATSAPP_CONVERSATION": "0.07",
    }
    return with_twilio(settings, twilio, extra=extra)  # type: ignore[no-any-return]


@pytest.fixture
def habitants(runtime: Runtime, territory: Territory) -> None:
    """In nord: one by SMS, one on SMS and WhatsApp, two on WhatsApp only (one in Arabic, whose
    last message is four days old: no Arabic template, nothing can reach them)."""
    old = datetime.now(UTC) - timedelta(days=4)
    with transaction(runtime.sessions) as session:
        make_participant(session, runtime, channel="sms", quartier_id=territory.nord)
        make_participant(
            session, runtime, channel="sms", also=("whatsapp",), quartier_id=territory.nord
        )
        make_participant(session, runtime, channel="whatsapp", quartier_id=territory.nord)
        arabic = make_participant(
            session, runtime, channel="whatsapp", language="ln", quartier_id=territory.nord
        )
        session.add(
            Message(
                direction="in",
                channel="whatsapp",
                provider_id="SM" + "a" * 32,
                participant_id=arabic.id,
                status="processed",
                created_at=old,
            )
        )


def form(runtime: Runtime, action: str) -> dict[str, Any]:
    with runtime.sessions() as session:
        survey_id = session.scalars(select(Survey.id).where(Survey.slug == "scolarite")).one()
    return {
        "enquete": str(survey_id),
        "when": "now",
        "action": action,
        "quartiers": "QP-NORD",
        "allow_quiet_hours": "on",  # the test may run at night
    }


def test_the_estimate_counts_each_person_once_per_channel_and_says_who_is_left_out(
    client: Any, runtime: Runtime, territory: Territory, habitants: None
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    page = html.unescape(post(client, "/campagnes/nouvelle", form(runtime, "estimate")).text)
    assert "4 habitants joignables" in page
    assert "<li>SMS : 1</li>" in page and "<li>WhatsApp : 3</li>" in page
    assert "1 habitants ne recevront pas l'invitation" in page
    assert "dans leur langue (ln)" in page  # a language the catalogue has no name for
    assert "Coût WhatsApp estimé : 2 conversations" in page  # the one left out costs nothing
    assert "il reste 50 conversations, cette campagne en demande 2" in page
    assert "(environ 0,14 €)" in page


def test_a_campaign_over_the_budget_is_refused(
    client: Any, runtime: Runtime, territory: Territory, habitants: None
) -> None:
    extra = {**runtime.settings.extra, "PAROLES_BUDGET_WHATSAPP_CONVERSATIONS": "1"}
    runtime.settings = replace(runtime.settings, extra=extra)
    login_as(client, territory.users["chef_de_projet"])
    estimate = html.unescape(post(client, "/campagnes/nouvelle", form(runtime, "estimate")).text)
    assert "elle ne peut pas partir" in estimate
    response = post(client, "/campagnes/nouvelle", form(runtime, "launch"))
    assert response.status_code == 422
    assert "budget mensuel dépassé : 2 conversations WhatsApp estimés, il en reste 1" in (
        html.unescape(response.text)
    )
    with runtime.sessions() as session:
        assert session.scalars(select(Campaign)).first() is None


def test_when_the_territory_allows_it_an_over_budget_campaign_waits_for_approval(
    client: Any, runtime: Runtime, territory: Territory, habitants: None
) -> None:
    extra = {
        **runtime.settings.extra,
        "PAROLES_BUDGET_WHATSAPP_CONVERSATIONS": "1",
        "PAROLES_BUDGET_APPROVAL": "1",
    }
    runtime.settings = replace(runtime.settings, extra=extra)
    login_as(client, territory.users["chef_de_projet"])
    response = post(client, "/campagnes/nouvelle", form(runtime, "launch"))
    assert response.status_code == 302
    with runtime.sessions() as session:
        campaign = session.scalars(select(Campaign)).one()
        assert (campaign.status, campaign.hold_reason) == ("awaiting_approval", "budget")
        assert session.scalars(select(Message).where(Message.kind == "invitation")).first() is None
    page = html.unescape(client.get(f"/campagnes/{campaign.id}").text)
    assert "elle attend la validation d'un chef de projet" in page
    assert post(client, f"/campagnes/{campaign.id}/valider").status_code == 302
    with runtime.sessions() as session:
        invited = session.scalars(select(Message.channel).where(Message.kind == "invitation"))
        assert sorted(invited) == ["sms", "whatsapp", "whatsapp", "whatsapp"]
    page = html.unescape(client.get(f"/campagnes/{campaign.id}").text)
    assert "Validée par un chef de projet malgré le budget du mois." in page
