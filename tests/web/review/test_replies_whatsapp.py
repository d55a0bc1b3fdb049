"""A staff reply to a habitant on WhatsApp: inside the 24-hour window it goes as free text;
outside it WhatsApp would refuse it, and the contribution's page says so in French."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bots.channels import make_channel
from bots.outbox import deliver
from bots.runtime import Runtime
from storage.config import Settings
from storage.db import transaction
from storage.models import Message, Participant
from tests.fakes.twilio_api import FakeTwilio, twilio_fixture, with_twilio  # noqa: F401
from tests.web.conftest import Sample, Territory, login_as, page, post


@pytest.fixture
def settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    return with_twilio(settings, twilio)  # type: ignore[no-any-return]


@pytest.mark.parametrize("hours_ago", [2, 30])
def test_a_reply_on_whatsapp_minds_the_24_hour_window(
    client: Any,
    runtime: Runtime,
    territory: Territory,
    sample: Sample,
    twilio: FakeTwilio,
    hours_ago: int,
) -> None:
    with transaction(runtime.sessions) as session:
        session.execute(
            update(Participant)
            .where(Participant.id == sample.participant_nord)
            .values(channel="whatsapp")
        )
        session.add(
            Message(
                direction="in",
                channel="whatsapp",
                provider_id="SM" + "7" * 32,
                participant_id=sample.participant_nord,
                status="processed",
                created_at=datetime.now(UTC) - timedelta(hours=hours_ago),
            )
        )
    login_as(client, territory.users["chef_de_projet"])
    post(client, f"/reponses/contribution/{sample.nord}", {"text": "Merci, c'est noté."})
    deliver(runtime, make_channel("whatsapp", runtime))
    html = page(client, f"/contributions/{sample.nord}")
    with runtime.sessions() as session:
        row = session.scalars(select(Message).where(Message.kind == "staff_reply")).one()
    if hours_ago < 24:
        assert row.status == "sent" and twilio.sent()[0]["Body"] == "Merci, c'est noté."
        assert twilio.sent()[0]["To"] == "whatsapp:+33639980001"
    else:
        assert row.status == "failed" and twilio.sent() == []
        assert "hors de la fenêtre de 24 heures de WhatsApp" in html
