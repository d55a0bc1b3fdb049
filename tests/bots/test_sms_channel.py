"""The SMS channel: the real `twilio` client against a local Twilio, through the real outbox."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from bots.channels import Outgoing, SendError, Sent, configured_channels, make_channel
from bots.channels.sms import SmsChannel, make_client
from bots.engine import Reply
from bots.handler import enqueue_reply
from bots.outbox import deliver
from bots.runtime import Runtime
from bots.sms_text import is_gsm7, segments, septets
from storage.config import Settings
from storage.db import transaction
from storage.models import Message, Participant
from tests.factories import make_participant
from tests.fakes.twilio_api import FakeTwilio, twilio_fixture, with_twilio  # noqa: F401

NUMBER = "+33611223344"


@pytest.fixture
def settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    return with_twilio(settings, twilio)  # type: ignore[no-any-return]


def queue(runtime: Runtime, reply: Reply, number: str = NUMBER) -> int:
    with transaction(runtime.sessions) as session:
        participant = make_participant(session, runtime, channel="sms", address=number)
        return enqueue_reply(session, participant, reply)


def row(runtime: Runtime, message_id: int) -> tuple[Message, Participant | None]:
    with runtime.sessions() as session:
        message = session.get(Message, message_id)
        assert message is not None
        participant = session.get(Participant, message.participant_id)
        return message, participant


def test_sms_is_configured_only_with_sid_token_and_sender(settings: Settings) -> None:
    assert "sms" in configured_channels(settings)
    assert "sms" not in configured_channels(replace(settings, twilio_from=""))


def test_outbox_sends_a_shaped_sms_through_twilio(runtime: Runtime, twilio: FakeTwilio) -> None:
    message_id = queue(runtime, Reply("Ça s’est bien passé ? « Oui » ou « Non »", ("Oui", "Non")))
    assert deliver(runtime, make_channel("sms", runtime)) == 1
    [form] = twilio.sent()
    assert form["Body"] == 'Ça s\'est bien passé ? "Oui" ou "Non"\n1 Oui 2 Non'
    assert is_gsm7(form["Body"])
    assert (form["To"], form["From"]) == (NUMBER, "38000")
    assert form["StatusCallback"] == "https://paroles.example.fr/hooks/sms/status"
    message, _ = row(runtime, message_id)
    assert message.status == "sent"
    assert message.provider_id is not None and message.provider_id.startswith("SM")


def test_scale_questions_are_not_numbered_twice(runtime: Runtime, twilio: FakeTwilio) -> None:
    queue(runtime, Reply("Note de 1 à 5", ("1", "2", "3", "4", "5"), "scale"))
    deliver(runtime, make_channel("sms", runtime))
    assert twilio.sent()[0]["Body"] == "Note de 1 à 5"


def test_a_messaging_service_sends_instead_of_a_number(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    runtime.settings = replace(runtime.settings, twilio_from="MG" + "1" * 32)
    queue(runtime, Reply("Bonjour"))
    deliver(runtime, make_channel("sms", runtime))
    [form] = twilio.sent()
    assert form["MessagingServiceSid"] == "MG" + "1" * 32
    assert "From" not in form


@pytest.mark.parametrize("code", [21211, 21614, 21610])
def test_numbers_twilio_refuses_mark_the_participant_unreachable(
    runtime: Runtime, twilio: FakeTwilio, code: int
) -> None:
    twilio.refuse(NUMBER, code)
    message_id = queue(runtime, Reply("Bonjour"))
    assert deliver(runtime, make_channel("sms", runtime)) == 0
    message, participant = row(runtime, message_id)
    assert (message.status, message.error_code) == ("failed", str(code))
    assert participant is not None and participant.unreachable_at is not None
    assert message.last_error and NUMBER not in message.last_error  # Twilio's text quotes it


def test_a_busy_twilio_is_retried_later(runtime: Runtime, twilio: FakeTwilio) -> None:
    """429: Twilio certainly refused it (a 5xx is settled first: test_sms_interrupted)."""
    twilio.fail_next(429)
    message_id = queue(runtime, Reply("Bonjour"))
    assert deliver(runtime, make_channel("sms", runtime)) == 0
    message, participant = row(runtime, message_id)
    assert message.status == "pending" and message.attempts == 1
    assert participant is not None and participant.unreachable_at is None
    assert message.next_attempt_at is not None
    assert deliver(runtime, make_channel("sms", runtime), now=message.next_attempt_at) == 1
    assert len(twilio.sent()) == 1


def test_an_unreachable_twilio_is_a_transient_error(runtime: Runtime) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings = replace(runtime.settings, twilio_api_base_url=f"http://127.0.0.1:{port}")
    channel = SmsChannel(make_client(settings), "38000")
    with pytest.raises(SendError) as raised:
        channel.send(Outgoing(1, NUMBER, "Bonjour"))
    assert raised.value.transient and not raised.value.unreachable


def test_wrong_credentials_fail_without_blaming_the_number(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    settings = replace(runtime.settings, twilio_auth_token="wrong")
    channel = SmsChannel(make_client(settings), "38000")
    with pytest.raises(SendError) as raised:
        channel.send(Outgoing(1, NUMBER, "Bonjour"))
    assert not raised.value.transient and not raised.value.unreachable
    assert raised.value.code == "20003"


def test_a_body_over_twilios_limit_goes_as_several_sms_cut_between_words(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    text = " ".join(f"mot{n}" for n in range(400))  # about 2,300 characters
    channel = make_channel("sms", runtime)
    sent = channel.send(Outgoing(1, NUMBER, text, ("Oui", "Non"), "choice"))
    bodies = [form["Body"] for form in twilio.sent()]
    assert isinstance(sent, Sent)
    assert len(bodies) == 2 and sent.provider_id.startswith("SM")
    assert sent.units == sum(segments(b) for b in bodies)  # what the budget counts
    assert all(septets(b) <= 1600 for b in bodies)
    assert " ".join(bodies).replace("\n1 Oui 2 Non", "") == text
    assert bodies[-1].endswith("\n1 Oui 2 Non")


def test_rate_is_the_channels_own_unless_the_settings_say_otherwise(runtime: Runtime) -> None:
    from bots.outbox import rate_for

    channel = make_channel("sms", runtime)
    assert rate_for(channel, runtime.settings) == 10.0
    settings = replace(runtime.settings, extra={"PAROLES_RATE_SMS": "2.5"})
    assert rate_for(channel, settings) == 2.5
