"""An engagement's change of status follows the campaign retour's rules: the retour's channel,
its WhatsApp template outside the 24-hour window (else not sent, and counted), and the month's
budget (over it, nobody is written to, and the reason is given)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bots.channels import make_channel
from bots.engagement_news import ENGAGEMENT_KIND, Change, change_status
from bots.outbox import deliver
from bots.runtime import Runtime
from storage.config import Settings
from storage.db import transaction
from storage.models import Engagement, EngagementUpdate, Message
from tests.factories import make_contribution, make_participant
from tests.fakes.twilio_api import FakeTwilio, twilio_fixture, with_twilio  # noqa: F401

RETOUR_FR = "HX" + "7" * 32


@pytest.fixture
def settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    extra = {**settings.extra, "PAROLES_BUDGET_SMS_SEGMENTS": "10"}
    return with_twilio(settings, twilio, extra=extra)  # type: ignore[no-any-return]


def engagement_with(runtime: Runtime, *people: dict[str, object]) -> int:
    """An engagement linked to one contribution of each habitant described."""
    with transaction(runtime.sessions) as session:
        engagement = Engagement(title="Un banc devant l'école", status="etude")
        for values in people:
            person = make_participant(session, runtime, **values)  # type: ignore[arg-type]
            engagement.contributions.append(make_contribution(session, participant_id=person.id))
        session.add(engagement)
        session.flush()
        return engagement.id


def change(runtime: Runtime, engagement_id: int, now: datetime) -> Change:
    with transaction(runtime.sessions) as session:
        engagement = session.get(Engagement, engagement_id)
        assert engagement is not None
        return change_status(
            session, runtime.catalog, runtime.settings, engagement, "en_cours", now=now
        )


def news(runtime: Runtime) -> list[Message]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Message).where(Message.kind == ENGAGEMENT_KIND)))


def test_outside_the_window_whatsapp_news_needs_the_retour_template_else_it_is_left_out(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    now = datetime.now(UTC)
    engagement_id = engagement_with(
        runtime, {"channel": "whatsapp"}, {"channel": "whatsapp", "language": "en"}
    )
    done = change(runtime, engagement_id, now)
    assert (done.notified, done.left_out, done.over_budget) == (0, 2, "")
    assert news(runtime) == []  # no message that could only fail

    runtime.settings.extra["PAROLES_WHATSAPP_TEMPLATE_RETOUR_FR"] = RETOUR_FR
    twilio.contents[RETOUR_FR] = "{{1}}"
    with transaction(runtime.sessions) as session:
        engagement = session.get(Engagement, engagement_id)
        assert engagement is not None
        engagement.status = "etude"
    done = change(runtime, engagement_id, now)
    assert (done.notified, done.left_out) == (1, 1)  # the English habitant: no template in en
    [row] = news(runtime)
    assert row.channel == "whatsapp" and row.wait_quiet_hours
    with transaction(runtime.sessions) as session:
        session.get(Message, row.id).wait_quiet_hours = False  # type: ignore[union-attr]
    deliver(runtime, make_channel("whatsapp", runtime))
    [sent] = twilio.sent()
    assert sent["ContentSid"] == RETOUR_FR  # the retour's approved template


def test_news_over_the_months_budget_is_not_sent_and_says_why(runtime: Runtime) -> None:
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        session.add(Message(direction="out", channel="sms", status="sent", units=9, sent_at=now))
    engagement_id = engagement_with(runtime, {"channel": "sms"}, {"channel": "sms"})
    done = change(runtime, engagement_id, now)
    assert done.notified == 0 and news(runtime) == []
    assert (
        done.over_budget
        == "budget mensuel dépassé : 2 segments SMS estimés, il en reste 1 ce mois-ci"
    )
    with runtime.sessions() as session:
        update = session.scalars(select(EngagementUpdate)).one()
        assert (update.status, update.notified) == ("en_cours", 0)  # the status still changed


def test_within_the_budget_sms_and_telegram_habitants_are_told(runtime: Runtime) -> None:
    engagement_id = engagement_with(runtime, {"channel": "sms"}, {"channel": "telegram"})
    done = change(runtime, engagement_id, datetime.now(UTC) - timedelta(minutes=1))
    assert (done.notified, done.left_out, done.over_budget) == (2, 0, "")
    assert sorted(m.channel for m in news(runtime)) == ["sms", "telegram"]
