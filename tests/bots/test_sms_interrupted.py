"""An SMS send interrupted by a crash is settled by asking Twilio what it accepted.

A worker that dies between Twilio's answer and its own record leaves the row `sending`. The
outbox's recovery lists the messages Twilio holds for that number (the real `twilio` client
against the local fake) and marks the row sent with its SID, or sends it again when Twilio
certainly has no such message; never twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bots.channels import Outgoing, make_channel
from bots.channels.sms import SmsChannel
from bots.channels.twilio_messaging import LOOKUP_LIMIT
from bots.engine import Reply
from bots.handler import enqueue_reply
from bots.outbox import _claim, _start, deliver, recover
from bots.runtime import Runtime
from storage.config import Settings
from storage.db import transaction
from storage.models import Message, Participant
from tests.factories import make_participant
from tests.fakes.twilio_api import FakeTwilio, twilio_fixture, with_twilio  # noqa: F401

NUMBER = "+33611223355"
SERVICE = "MG" + "2" * 32


@pytest.fixture
def settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    return with_twilio(settings, twilio)  # type: ignore[no-any-return]


def habitant(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return make_participant(session, runtime, channel="sms", address=NUMBER).id


def queue(runtime: Runtime, text: str, when: datetime, participant_id: int | None = None) -> int:
    participant_id = participant_id or habitant(runtime)
    with transaction(runtime.sessions) as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        return enqueue_reply(session, participant, Reply(text), now=when)


def start_then_die(runtime: Runtime, when: datetime) -> list[Outgoing]:
    """A worker claims and starts every due row, then dies before recording anything."""
    with transaction(runtime.sessions) as session:
        claimed = _claim(session, runtime, "sms", 10, when, "dead-worker")
    for outgoing in claimed:
        with transaction(runtime.sessions) as session:
            assert _start(session, outgoing.message_id, "dead-worker", when)
    return claimed


def status(runtime: Runtime, message_id: int) -> tuple[str, str | None]:
    with runtime.sessions() as session:
        row = session.get(Message, message_id)
        assert row is not None
        return row.status, row.provider_id


LATER = timedelta(hours=1)  # past the send lease


def settle(runtime: Runtime, channel: SmsChannel, when: datetime) -> dict[str, int]:
    return recover(runtime, when + LATER, channels={"sms": channel})


@pytest.mark.parametrize("sender", ["38000", SERVICE])
def test_a_send_twilio_accepted_is_settled_as_sent_with_its_sid_and_not_resent(
    runtime: Runtime, twilio: FakeTwilio, sender: str
) -> None:
    runtime.settings = replace(runtime.settings, twilio_from=sender)
    now = datetime.now(UTC)
    message_id = queue(runtime, "Merci ! Votre message est bien arrivé.", now)
    channel = make_channel("sms", runtime)
    [outgoing] = start_then_die(runtime, now)
    channel.send(outgoing)  # Twilio accepted it; the worker died before writing the SID
    assert status(runtime, message_id) == ("sending", None)
    [accepted] = twilio.messages
    accepted["num_segments"] = "3"  # Twilio's own count wins over ours (1 segment)
    accepted["price"] = "-0.07900"

    assert settle(runtime, channel, now)["confirmed"] == 1
    assert status(runtime, message_id) == ("sent", accepted["sid"])
    with runtime.sessions() as session:
        row = session.get(Message, message_id)
        assert row is not None and (row.units, row.price, row.price_unit) == (3, 0.079, "EUR")
    assert deliver(runtime, channel, now=now + LATER) == 0
    assert len(twilio.sent()) == 1
    [lookup] = twilio.lookups()
    assert lookup["To"] == NUMBER
    assert lookup.get("From") == (None if sender == SERVICE else sender)
    assert not any(key.startswith("DateSent") for key in lookup)  # queued SMS have no date


def test_a_settled_send_with_no_count_from_twilio_counts_our_segments(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    now = datetime.now(UTC)
    message_id = queue(runtime, "Ça marche ? " * 20, now)  # 240 GSM-7 characters: 2 segments
    channel = make_channel("sms", runtime)
    [outgoing] = start_then_die(runtime, now)
    channel.send(outgoing)
    twilio.messages[-1]["num_segments"] = None  # not told (yet)
    assert settle(runtime, channel, now)["confirmed"] == 1
    with runtime.sessions() as session:
        row = session.get(Message, message_id)
        assert row is not None and (row.units, row.price) == (2, None)


def test_a_send_twilio_never_got_is_sent_once(runtime: Runtime, twilio: FakeTwilio) -> None:
    now = datetime.now(UTC)
    message_id = queue(runtime, "Merci ! Votre message est bien arrivé.", now)
    channel = make_channel("sms", runtime)
    start_then_die(runtime, now)  # died before the API call

    assert settle(runtime, channel, now)["retried"] == 1
    assert status(runtime, message_id)[0] == "pending"
    assert deliver(runtime, channel, now=now + LATER) == 1
    [accepted] = twilio.messages
    assert status(runtime, message_id) == ("sent", accepted["sid"])
    assert len(twilio.sent()) == 1


@pytest.mark.parametrize("accepted", [True, False])
def test_the_same_words_sent_just_before_are_not_taken_for_this_message(
    runtime: Runtime, twilio: FakeTwilio, accepted: bool
) -> None:
    """Three photos, three identical thanks: the one already recorded is not this one."""
    now = datetime.now(UTC)
    pid = habitant(runtime)
    first = queue(runtime, "Merci !", now, pid)
    channel = make_channel("sms", runtime)
    assert deliver(runtime, channel, now=now) == 1
    second = queue(runtime, "Merci !", now, pid)
    [outgoing] = start_then_die(runtime, now)
    if accepted:
        channel.send(outgoing)

    counts = settle(runtime, channel, now)
    assert counts["confirmed" if accepted else "retried"] == 1
    deliver(runtime, channel, now=now + LATER)
    sids = [m["sid"] for m in twilio.messages]
    assert len(sids) == 2  # one SMS per row, whichever way it was settled
    assert status(runtime, first) == ("sent", sids[0])
    assert status(runtime, second) == ("sent", sids[1])


def test_the_same_words_outside_the_sending_time_are_not_this_message(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    now = datetime.now(UTC)
    message_id = queue(runtime, "Bonjour", now)
    channel = make_channel("sms", runtime)
    twilio.add_sent(NUMBER, "Bonjour", "38000", now - timedelta(hours=2))  # by hand, earlier
    twilio.add_sent(NUMBER, "Bonjour", "38000", now + timedelta(minutes=30))  # and later
    start_then_die(runtime, now)

    assert settle(runtime, channel, now)["retried"] == 1
    assert deliver(runtime, channel, now=now + LATER) == 1
    assert status(runtime, message_id)[1] == twilio.messages[-1]["sid"]


def test_a_busy_twilio_is_asked_again_at_the_next_recovery(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    now = datetime.now(UTC)
    message_id = queue(runtime, "Bonjour", now)
    channel = make_channel("sms", runtime)
    [outgoing] = start_then_die(runtime, now)
    channel.send(outgoing)
    twilio.fail_next(503)
    assert settle(runtime, channel, now)["unsettled"] == 1
    assert status(runtime, message_id) == ("sending", None)  # left for the next round
    assert settle(runtime, channel, now)["confirmed"] == 1
    assert status(runtime, message_id) == ("sent", twilio.messages[0]["sid"])
    assert len(twilio.sent()) == 1


def test_when_twilio_cannot_tell_the_message_is_not_sent_again(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    now = datetime.now(UTC)
    message_id = queue(runtime, "Bonjour", now)
    channel = make_channel("sms", runtime)
    start_then_die(runtime, now)
    twilio.fail_next(403)  # the lookup is refused for good
    assert settle(runtime, channel, now)["interrupted"] == 1
    with runtime.sessions() as session:
        row = session.get(Message, message_id)
        assert row is not None
        assert (row.status, row.error_code) == ("failed", "interrupted")
        assert "may have been sent" in (row.last_error or "")
        assert "could not tell" in (row.last_error or "")
    assert deliver(runtime, channel, now=now + LATER) == 0
    assert twilio.sent() == []


def test_too_many_messages_to_one_number_cannot_be_told_apart(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    channel = make_channel("sms", runtime)
    now = datetime.now(UTC)
    for n in range(LOOKUP_LIMIT):
        twilio.add_sent(NUMBER, f"Message {n}", "38000", now - timedelta(days=30, minutes=n))
    queue(runtime, "Bonjour", now)
    start_then_die(runtime, now)
    assert settle(runtime, channel, now)["interrupted"] == 1
    assert twilio.sent() == []  # not sent again


# --- an ambiguous failure: Twilio accepted, then answered 5xx (issue 16, item 3) ----------------


def ambiguous_row(runtime: Runtime, message_id: int) -> Message:
    with runtime.sessions() as session:
        row = session.get(Message, message_id)
        assert row is not None
        return row


@pytest.mark.parametrize("accepted", [True, False])
def test_a_5xx_from_twilio_is_settled_with_its_list_before_any_retry(
    runtime: Runtime, twilio: FakeTwilio, accepted: bool
) -> None:
    now = datetime.now(UTC)
    message_id = queue(runtime, "Merci ! Votre message est bien arrivé.", now)
    channel = make_channel("sms", runtime)
    if accepted:
        twilio.accept_then_fail(500)  # Twilio has the message, the client sees a 500
    else:
        twilio.fail_next(500)  # Twilio has nothing
    assert deliver(runtime, channel, now=now) == 0
    row = ambiguous_row(runtime, message_id)
    assert (row.status, row.error_code) == ("sending", "ambiguous")
    assert row.next_attempt_at is not None
    # However often the outbox runs, nothing is sent again before it is settled.
    assert deliver(runtime, channel, now=row.next_attempt_at + LATER) == 0
    assert recover(runtime, now, channels={"sms": channel})["confirmed"] == 0  # not yet due

    counts = recover(runtime, row.next_attempt_at, channels={"sms": channel})
    assert counts["confirmed" if accepted else "retried"] == 1
    deliver(runtime, channel, now=row.next_attempt_at)
    [sms] = twilio.messages  # exactly one SMS, whichever way it went
    assert status(runtime, message_id) == ("sent", sms["sid"])


def test_a_timeout_after_the_request_went_out_is_ambiguous_but_a_refused_connection_is_not(
    runtime: Runtime,
) -> None:
    import socket

    from bots.channels import SendError
    from bots.channels.sms import make_client

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(1)  # accepts the connection, never answers
    port = listening.getsockname()[1]
    settings = replace(runtime.settings, twilio_api_base_url=f"http://127.0.0.1:{port}")
    client = make_client(settings)
    client.http_client.timeout = 0.5
    channel = SmsChannel(client, "38000")
    outgoing = Outgoing(1, NUMBER, "Bonjour")
    with pytest.raises(SendError) as silent:
        channel.send(outgoing)
    assert silent.value.ambiguous and silent.value.transient
    listening.close()
    with pytest.raises(SendError) as refused:
        channel.send(outgoing)
    assert refused.value.transient and not refused.value.ambiguous
