"""The month's spend per paid channel, from what was sent, against the territory's budget."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bots import budget, campaigns
from bots.campaigns import AWAITING, CampaignError, Target
from bots.channels import make_channel
from bots.engine import Reply
from bots.handler import Inbound, enqueue_reply, handle_inbound
from bots.outbox import deliver
from bots.runtime import Runtime
from bots.survey_store import spec_from_row
from storage.config import ConfigError, Settings
from storage.db import transaction
from storage.models import Campaign, Message, Participant, Survey
from tests.factories import make_participant
from tests.fakes.twilio_api import FakeTwilio, twilio_fixture, with_twilio  # noqa: F401

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


@pytest.fixture
def settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    extra = {
        **settings.extra,
        "PAROLES_BUDGET_SMS_SEGMENTS": "10",
        "PAROLES_PRICE_SMS_SEGMENT": "0,075",
        "PAROLES_BUDGET_WHATSAPP_CONVERSATIONS": "100",
    }
    return with_twilio(settings, twilio, extra=extra)  # type: ignore[no-any-return]


def sent_row(runtime: Runtime, channel: str, units: int, at: datetime, **values: object) -> None:
    with transaction(runtime.sessions) as session:
        session.add(
            Message(
                direction="out",
                channel=channel,
                status="sent",
                units=units,
                sent_at=at,
                created_at=at,
                **values,
            )
        )


def spends(runtime: Runtime, now: datetime = NOW) -> dict[str, budget.Spend]:
    with runtime.sessions() as session:
        found = budget.month_spend(session, runtime.settings, now, ("sms", "whatsapp", "telegram"))
    return {s.channel: s for s in found}


def test_the_months_spend_counts_what_was_sent_this_month_in_local_time(
    runtime: Runtime,
) -> None:
    # 31 October 23:30 UTC is already 1 November in Paris: this month.
    sent_row(runtime, "sms", 3, datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
    sent_row(runtime, "sms", 4, datetime(2026, 10, 31, 22, 30, tzinfo=UTC))  # October in Paris
    sent_row(runtime, "sms", 2, NOW, price=0.2, price_unit="EUR")  # Twilio told us its price
    sent_row(runtime, "whatsapp", 1, NOW)
    sent_row(runtime, "telegram", 1, NOW)  # free: never counted
    found = spends(runtime)
    assert set(found) == {"sms", "whatsapp"}
    sms = found["sms"]
    assert (sms.used, sms.budget, sms.left, sms.messages) == (5, 10, 5, 2)
    assert sms.euros == pytest.approx(0.2 + 3 * 0.075)  # Twilio's price, else ours
    assert found["whatsapp"].euros is None  # no price known: no euros shown
    assert (sms.level, found["whatsapp"].level) == ("ok", "ok")


@pytest.mark.parametrize(("used", "level"), [(7, "ok"), (8, "warning"), (10, "exhausted")])
def test_staff_are_warned_at_80_and_100_percent(runtime: Runtime, used: int, level: str) -> None:
    sent_row(runtime, "sms", used, NOW)
    assert budget.alert_level(spends(runtime).values()) == level


def test_a_bad_budget_setting_names_its_variable(runtime: Runtime) -> None:
    runtime.settings = replace(
        runtime.settings,
        extra={**runtime.settings.extra, "PAROLES_BUDGET_SMS_SEGMENTS": "beaucoup"},
    )
    with pytest.raises(ConfigError, match="PAROLES_BUDGET_SMS_SEGMENTS"):
        spends(runtime)


def test_an_sms_send_counts_twilios_segments(runtime: Runtime, twilio: FakeTwilio) -> None:
    with transaction(runtime.sessions) as session:
        participant = make_participant(session, runtime, channel="sms")
        message_id = enqueue_reply(session, participant, Reply("Ça marche ? " * 20))  # 240 GSM-7
    deliver(runtime, make_channel("sms", runtime))
    with runtime.sessions() as session:
        row = session.get(Message, message_id)
    assert row is not None and row.units == int(twilio.messages[-1]["num_segments"]) == 2


def campaign_check(runtime: Runtime, target: Target) -> budget.Check:
    with runtime.sessions() as session:
        estimate = campaigns.estimate(session, runtime, target, NOW)
        survey = session.scalars(select(Survey).where(Survey.slug == "scolarite")).one()
        units = budget.needed(spec_from_row(survey), runtime.catalog, estimate.counts)
        return budget.check(session, runtime.settings, units, NOW)


def test_a_campaign_over_what_is_left_is_refused_or_waits_for_approval(
    runtime: Runtime,
) -> None:
    with transaction(runtime.sessions) as session:
        for _ in range(2):
            make_participant(session, runtime, channel="sms")
    sent_row(runtime, "sms", 4, NOW)
    check = campaign_check(runtime, Target(everyone=True))
    need, left = check.over["sms"]
    assert left == 6 and need > 6 and need % 2 == 0  # two habitants, the same run each
    with transaction(runtime.sessions) as session, pytest.raises(CampaignError) as refused:
        campaigns.create_campaign(
            session, "scolarite", Target(everyone=True), now=NOW, budget=check
        )
    assert f"{need} segments SMS estimés, il en reste 6" in str(refused.value)
    allowed = replace(check, approval_allowed=True)
    with transaction(runtime.sessions) as session:
        campaign = campaigns.create_campaign(
            session, "scolarite", Target(everyone=True), now=NOW, budget=allowed
        )
        campaign_id = campaign.id
    assert campaigns.launch(runtime, campaign_id, NOW) == 0  # held until a chef de projet says so
    with runtime.sessions() as session:
        held = session.get(Campaign, campaign_id)
        assert held is not None and (held.status, held.hold_reason) == (AWAITING, "budget")
    campaigns.approve_campaign(runtime, campaign_id, None)
    assert campaigns.launch(runtime, campaign_id, NOW) == 2


def test_within_the_budget_a_campaign_goes_as_usual(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        make_participant(session, runtime, channel="whatsapp")
    check = campaign_check(runtime, Target(everyone=True))
    assert check.needed == {"whatsapp": 1} and check.over == {}


def test_replies_to_habitants_who_write_are_never_blocked_but_counted(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    sent_row(runtime, "sms", 50, datetime.now(UTC))  # far over the budget of 10
    handle_inbound(runtime, Inbound("sms", "+33612345678", "Bonjour", "SM" + "9" * 32))
    assert deliver(runtime, make_channel("sms", runtime)) == 1
    with runtime.sessions() as session:
        reply = session.scalars(
            select(Message).where(Message.direction == "out", Message.participant_id.is_not(None))
        ).one()
        assert session.scalars(select(Participant.channel)).one() == "sms"
    # The welcome and its language line (languages named in their own scripts, UCS-2) go as
    # two SMS: both are counted, and neither is blocked by the spent budget.
    assert reply.status == "sent" and reply.units == 2
    assert spends(runtime, datetime.now(UTC))["sms"].used == 52
    assert datetime.now(UTC) - reply.created_at < timedelta(minutes=5)


def test_paroles_campaign_launch_refuses_a_campaign_over_the_budget(
    runtime: Runtime, runner: Any
) -> None:
    with transaction(runtime.sessions) as session:
        for _ in range(3):
            make_participant(session, runtime, channel="sms")
    result = runner.invoke(args=["campaign", "launch", "scolarite", "--everyone"])
    assert result.exit_code != 0
    assert "budget mensuel dépassé" in result.output and "il en reste 10" in result.output
    with runtime.sessions() as session:
        assert session.scalars(select(Campaign)).first() is None


def scheduled(runtime: Runtime, people: int) -> int:
    """A campaign within the budget when it is written, due one day later."""
    with transaction(runtime.sessions) as session:
        for _ in range(people):
            make_participant(session, runtime, channel="sms")
    check = campaign_check(runtime, Target(everyone=True))
    assert check.over == {}
    with transaction(runtime.sessions) as session:
        campaign = campaigns.create_campaign(
            session,
            "scolarite",
            Target(everyone=True),
            now=NOW,
            starts_at=NOW + timedelta(days=1),
            budget=check,
        )
        return campaign.id


def status_of(runtime: Runtime, campaign_id: int) -> tuple[str, str | None, bool]:
    with runtime.sessions() as session:
        row = session.get(Campaign, campaign_id)
        assert row is not None
        return row.status, row.hold_reason, row.budget_approved


def test_a_scheduled_campaign_is_checked_again_at_launch_and_approval_is_final(
    runtime: Runtime,
) -> None:
    runtime = replace(
        runtime,
        settings=replace(
            runtime.settings, extra={**runtime.settings.extra, "PAROLES_BUDGET_APPROVAL": "1"}
        ),
    )
    campaign_id = scheduled(runtime, 1)
    sent_row(runtime, "sms", 8, NOW + timedelta(hours=2))  # spent meanwhile: 2 segments left
    later = NOW + timedelta(days=1, minutes=1)
    assert campaigns.launch_due(runtime, later) == 0
    assert status_of(runtime, campaign_id) == (AWAITING, "budget", False)
    campaigns.approve_campaign(runtime, campaign_id, None)
    assert status_of(runtime, campaign_id) == ("scheduled", "budget", True)
    assert campaigns.launch_due(runtime, later) == 1  # approved despite the budget: it goes
    assert status_of(runtime, campaign_id)[0] == "running"


def test_at_launch_over_the_budget_with_no_approval_allowed_the_campaign_is_cancelled(
    runtime: Runtime,
) -> None:
    campaign_id = scheduled(runtime, 1)
    later = NOW + timedelta(days=1, minutes=1)
    sent_row(runtime, "sms", 9, NOW + timedelta(hours=2))
    assert campaigns.launch_due(runtime, later) == 0
    assert status_of(runtime, campaign_id)[:2] == ("cancelled", "budget")
    with runtime.sessions() as session:
        assert session.scalars(select(Message).where(Message.campaign_id.is_not(None))).all() == []


def test_at_launch_within_the_budget_a_scheduled_campaign_goes(runtime: Runtime) -> None:
    campaign_id = scheduled(runtime, 1)
    assert campaigns.launch_due(runtime, NOW + timedelta(days=1, minutes=1)) == 1
    assert status_of(runtime, campaign_id) == ("running", None, False)
