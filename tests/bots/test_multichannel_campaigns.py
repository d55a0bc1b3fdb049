"""Campaigns to habitants on SMS and WhatsApp: once per person, WhatsApp first when it can go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bots import campaigns
from bots.campaigns import Target
from bots.channels import make_channel, sms
from bots.handler import Inbound, handle_inbound
from bots.outbox import deliver
from bots.reachability import mark_unreachable
from bots.runtime import Runtime
from storage.config import Settings
from storage.db import transaction
from storage.models import Conversation, Message, Participant, ParticipantChannel
from tests.factories import make_participant
from tests.fakes.twilio_api import FakeTwilio, twilio_fixture, with_twilio  # noqa: F401

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)  # a Monday, 11:00 in Paris
INVITATION_FR = "HX" + "1" * 32


@pytest.fixture
def settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    twilio.add_content(INVITATION_FR, "Bonjour, une question de votre quartier : {{1}} Merci.")
    extra = {**settings.extra, "PAROLES_WHATSAPP_TEMPLATE_INVITATION_FR": INVITATION_FR}
    return with_twilio(settings, twilio, extra=extra)  # type: ignore[no-any-return]


def wrote(session: object, participant_id: int, channel: str, at: datetime) -> None:
    session.add(  # type: ignore[attr-defined]
        Message(
            direction="in",
            channel=channel,
            provider_id=f"SM{participant_id:030x}{channel[:2]}",
            participant_id=participant_id,
            status="processed",
            created_at=at,
        )
    )


@pytest.fixture
def people(runtime: Runtime) -> dict[str, int]:
    """Five habitants: SMS only; both; WhatsApp only, in and out of the window, in Arabic."""
    with transaction(runtime.sessions) as session:
        ids = {
            "sms": make_participant(session, runtime, channel="sms").id,
            "both": make_participant(session, runtime, channel="sms", also=("whatsapp",)).id,
            "wa_recent": make_participant(session, runtime, channel="whatsapp").id,
            "wa_old_fr": make_participant(session, runtime, channel="whatsapp").id,
            "wa_old_ar": make_participant(session, runtime, channel="whatsapp", language="ar").id,
            "both_ar": make_participant(
                session, runtime, channel="whatsapp", also=("sms",), language="ar"
            ).id,
        }
        wrote(session, ids["wa_recent"], "whatsapp", NOW - timedelta(hours=3))
        for key in ("both", "wa_old_fr", "wa_old_ar", "both_ar"):
            wrote(session, ids[key], "whatsapp", NOW - timedelta(days=4))
    return ids


def test_the_estimate_says_how_many_go_by_each_channel_and_who_is_left_out(
    runtime: Runtime, people: dict[str, int]
) -> None:
    with runtime.sessions() as session:
        estimate = campaigns.estimate(session, runtime, Target(everyone=True), NOW)
    # "both" (French, template) by WhatsApp; "both_ar" (no Arabic template) falls back to SMS;
    # "wa_old_ar" can be reached by nothing with this message.
    assert estimate.by_channel == {"sms": 2, "whatsapp": 4}
    assert estimate.left_out == {"ar": 1}
    with runtime.sessions() as session:
        only_sms = campaigns.estimate(session, runtime, Target(channels=("sms",)), NOW)
    assert only_sms.by_channel == {"sms": 2}


def test_a_campaign_reaches_each_person_once_on_the_channel_chosen(
    runtime: Runtime, people: dict[str, int], twilio: FakeTwilio
) -> None:
    with transaction(runtime.sessions) as session:
        campaign = campaigns.create_campaign(session, "scolarite", Target(everyone=True), now=NOW)
        campaign_id = campaign.id
    assert campaigns.launch(runtime, campaign_id, NOW) == 6
    with runtime.sessions() as session:
        routed = dict(
            session.execute(
                select(Message.participant_id, Message.channel).where(
                    Message.campaign_id == campaign_id
                )
            ).all()
        )
        assert session.query(Conversation).count() == 6  # one each, whatever their channels
    by_name = {name: routed[pid] for name, pid in people.items()}
    assert by_name == {
        "sms": "sms",
        "both": "whatsapp",
        "wa_recent": "whatsapp",
        "wa_old_fr": "whatsapp",
        "wa_old_ar": "whatsapp",
        "both_ar": "sms",
    }
    whatsapp = make_channel("whatsapp", runtime)
    whatsapp.clock = lambda: NOW  # type: ignore[attr-defined]
    deliver(runtime, whatsapp, now=NOW)
    deliver(runtime, make_channel("sms", runtime), now=NOW)
    sent = twilio.sent()
    templates = [f for f in sent if f.get("ContentSid") == INVITATION_FR]
    free = [f for f in sent if f["To"].startswith("whatsapp:") and "Body" in f]
    assert len(templates) == 2 and len(free) == 1  # out of the window: the template
    with runtime.sessions() as session:
        status = campaigns.campaign_status(session, campaign_id)
    assert status.left_out == 1  # the Arabic speaker on WhatsApp only: no template, not sent
    assert campaigns.settle_undelivered(runtime, NOW) == 1


def test_a_dead_sms_number_leaves_whatsapp_and_the_person_is_unreachable_only_when_both_are(
    runtime: Runtime, people: dict[str, int]
) -> None:
    both, both_ar = people["both"], people["both_ar"]
    with transaction(runtime.sessions) as session:
        for n, pid in enumerate((both, both_ar)):
            session.add(
                Message(
                    direction="out",
                    channel="sms",
                    provider_id=f"SM{n:032x}",
                    participant_id=pid,
                    status="pending" if n else "sent",
                    created_at=NOW,
                )
            )
    # Twilio says the SMS number is dead (30005, unknown handset).
    assert sms.record_status(runtime, f"SM{0:032x}", "undelivered", "30005", NOW)
    with transaction(runtime.sessions) as session:
        mark_unreachable(session, both_ar, NOW, "sms")
    with runtime.sessions() as session:
        person = session.get(Participant, both)
        assert person is not None and person.unreachable_at is None and person.channel == "sms"
        dead = session.get(ParticipantChannel, (both, "sms"))
        assert dead is not None and dead.unreachable_at is not None
        queued = session.scalars(
            select(Message.status).where(
                Message.participant_id == both_ar, Message.direction == "out"
            )
        )
        assert list(queued) == ["cancelled"]  # what waited on the dead number
        estimate = campaigns.estimate(session, runtime, Target(everyone=True), NOW)
    # "both" still goes by WhatsApp; "both_ar" (no Arabic template) can no longer fall back to
    # SMS: left out and said so, never sent to the dead number.
    assert estimate.by_channel == {"sms": 1, "whatsapp": 5}
    assert estimate.left_out == {"ar": 2}

    with transaction(runtime.sessions) as session:
        mark_unreachable(session, both, NOW, "whatsapp")  # and not on WhatsApp either
    with runtime.sessions() as session:
        assert session.get(Participant, both).unreachable_at == NOW  # type: ignore[union-attr]
        assert campaigns.estimate(session, runtime, Target(everyone=True), NOW).by_channel == {
            "sms": 1,
            "whatsapp": 4,
        }
    later = datetime.now(UTC)
    address = "+33699887766"
    with transaction(runtime.sessions) as session:
        person = session.get(Participant, both)
        assert person is not None
        person.pseudonym = runtime.vault.pseudonym("sms", address)
    handle_inbound(runtime, Inbound("sms", address, "Bonjour", "SM" + "e" * 32, received_at=later))
    with runtime.sessions() as session:
        assert session.get(Participant, both).unreachable_at is None  # type: ignore[union-attr]
        assert session.get(ParticipantChannel, (both, "sms")).unreachable_at is None  # type: ignore[union-attr]
        whatsapp_row = session.get(ParticipantChannel, (both, "whatsapp"))
        assert whatsapp_row is not None and whatsapp_row.unreachable_at is not None


def test_a_reminder_goes_where_it_can_once_the_whatsapp_window_has_closed(
    runtime: Runtime,
) -> None:
    """Routed as the invitation was: answered on WhatsApp, silent for more than a day, no
    reminder template in French: the reminder goes by SMS, which they use too, rather than
    to a WhatsApp that would refuse it."""
    address = "+33611223344"
    with transaction(runtime.sessions) as session:
        pid = make_participant(
            session,
            runtime,
            channel="sms",
            also=("whatsapp",),
            address=address,
            last_seen_at=NOW - timedelta(hours=2),
        ).id
        wrote(session, pid, "whatsapp", NOW - timedelta(hours=2))
        campaign = campaigns.create_campaign(
            session, "scolarite", Target(everyone=True), now=NOW, remind_after_hours=24
        )
        campaign_id = campaign.id
    assert campaigns.launch(runtime, campaign_id, NOW) == 1
    answered = NOW + timedelta(hours=1)
    handle_inbound(
        runtime, Inbound("whatsapp", address, "oui", "SM" + "a" * 32, received_at=answered)
    )
    with runtime.sessions() as session:
        assert session.get(Participant, pid).channel == "whatsapp"  # type: ignore[union-attr]
    assert campaigns.send_reminders(runtime, answered + timedelta(hours=25)) == 1
    with runtime.sessions() as session:
        sent = session.execute(
            select(Message.kind, Message.channel)
            .where(Message.campaign_id == campaign_id)
            .order_by(Message.id)
        ).all()
    assert [tuple(row) for row in sent] == [("invitation", "whatsapp"), ("reminder", "sms")]
