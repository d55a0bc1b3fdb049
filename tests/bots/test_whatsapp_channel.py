"""The WhatsApp channel against a local Twilio: the 24-hour window, templates, 63016, buttons."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bots.channels import Outgoing, Sent, configured_channels, make_channel
from bots.channels.whatsapp import WhatsAppChannel, wa_me
from bots.engine import Reply
from bots.handler import enqueue_reply
from bots.outbox import deliver
from bots.runtime import Runtime
from storage.config import ConfigError, Settings, load_settings
from storage.db import transaction
from storage.models import Message, Participant
from tests.factories import make_participant
from tests.fakes.twilio_api import FakeTwilio, twilio_fixture, with_twilio  # noqa: F401

NUMBER = "+33612345678"
TO = f"whatsapp:{NUMBER}"
INVITATION_FR = "HX" + "1" * 32
QUICK_2 = "HX" + "2" * 32
QUICK_3 = "HX" + "3" * 32
TEMPLATE_BODY = "Bonjour, votre quartier vous pose une question : {{1}} Merci de votre aide."


@pytest.fixture
def settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    twilio.add_content(INVITATION_FR, TEMPLATE_BODY)
    twilio.add_content(QUICK_2, "{{1}} [{{2}}] [{{3}}]", approved=False)
    twilio.add_content(QUICK_3, "{{1}} [{{2}}] [{{3}}] [{{4}}]", approved=False)
    extra = {
        **settings.extra,
        "PAROLES_WHATSAPP_TEMPLATE_INVITATION_FR": INVITATION_FR,
        "PAROLES_WHATSAPP_QUICK_REPLY_2": QUICK_2,
        "PAROLES_WHATSAPP_QUICK_REPLY_3": QUICK_3,
    }
    return with_twilio(settings, twilio, extra=extra)  # type: ignore[no-any-return]


def habitant(runtime: Runtime, *, wrote_hours_ago: float | None, language: str = "fr") -> int:
    """A WhatsApp participant whose last message to us is that old (None: never wrote there)."""
    with transaction(runtime.sessions) as session:
        participant = make_participant(
            session, runtime, channel="whatsapp", address=NUMBER, language=language
        )
        if wrote_hours_ago is not None:
            session.add(
                Message(
                    direction="in",
                    channel="whatsapp",
                    provider_id=f"SM{participant.id:032x}",
                    participant_id=participant.id,
                    body="Bonjour",
                    status="processed",
                    created_at=datetime.now(UTC) - timedelta(hours=wrote_hours_ago),
                )
            )
        return participant.id


def queue(runtime: Runtime, pid: int, reply: Reply, kind: str = "reply") -> int:
    with transaction(runtime.sessions) as session:
        participant = session.get(Participant, pid)
        assert participant is not None
        return enqueue_reply(session, participant, reply, kind=kind)


def row(runtime: Runtime, message_id: int) -> Message:
    with runtime.sessions() as session:
        found = session.get(Message, message_id)
        assert found is not None
        return found


QUESTION = Reply("Êtes-vous satisfait de l'éclairage\nde votre rue ?", ("Oui", "Non"), "choice")


def test_whatsapp_is_on_only_with_its_sender(settings: Settings) -> None:
    assert "whatsapp" in configured_channels(settings)
    assert "whatsapp" not in configured_channels(replace(settings, twilio_whatsapp_from=""))
    env = {"PAROLES_SECRET_KEY": "x" * 32, "TWILIO_WHATSAPP_FROM": "+33 7 00 00 00 00"}
    assert load_settings(env).twilio_whatsapp_from == "whatsapp:+33700000000"
    with pytest.raises(ConfigError, match="TWILIO_WHATSAPP_FROM"):
        load_settings({**env, "TWILIO_WHATSAPP_FROM": "0700000000"})


def test_inside_the_window_a_yes_no_goes_as_quick_reply_buttons(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    pid = habitant(runtime, wrote_hours_ago=2)
    message_id = queue(runtime, pid, QUESTION)
    assert deliver(runtime, make_channel("whatsapp", runtime)) == 1
    [form] = twilio.sent()
    assert form["To"] == TO and form["ContentSid"] == QUICK_2 and "Body" not in form
    assert json.loads(form["ContentVariables"]) == {
        "1": "Êtes-vous satisfait de l'éclairage de votre rue ?",
        "2": "Oui",
        "3": "Non",
    }
    assert twilio.messages[-1]["body"].endswith("[Oui] [Non]")
    assert row(runtime, message_id).units == 1  # the first message opens a conversation


@pytest.mark.parametrize(
    "reply",
    [
        Reply("Quel jour ?", ("Lundi", "Mardi", "Mercredi", "Jeudi"), "choice"),  # 4 > 3 buttons
        Reply("Votre avis ?", ("Très satisfait du service rendu", "Pas du tout"), "choice"),
        Reply("Lesquels ?", ("Bus", "Tram"), "choices"),  # several answers: not buttons
    ],
)
def test_what_buttons_cannot_hold_goes_as_numbered_text(
    runtime: Runtime, twilio: FakeTwilio, reply: Reply
) -> None:
    pid = habitant(runtime, wrote_hours_ago=1)
    queue(runtime, pid, reply)
    deliver(runtime, make_channel("whatsapp", runtime))
    [form] = twilio.sent()
    assert "ContentSid" not in form
    lines = form["Body"].splitlines()
    assert lines[0] == reply.text
    assert lines[1:] == [f"{n}. {c}" for n, c in enumerate(reply.choices, 1)]


def test_outside_the_window_an_invitation_goes_as_its_approved_template(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    pid = habitant(runtime, wrote_hours_ago=30)
    message_id = queue(runtime, pid, QUESTION, kind="invitation")
    assert deliver(runtime, make_channel("whatsapp", runtime)) == 1
    [form] = twilio.sent()
    assert form["ContentSid"] == INVITATION_FR and "Body" not in form
    variable = json.loads(form["ContentVariables"])["1"]
    assert variable == "Êtes-vous satisfait de l'éclairage de votre rue ? 1 Oui 2 Non"
    assert "\n" not in variable  # WhatsApp refuses line breaks in a variable
    assert twilio.messages[-1]["body"] == TEMPLATE_BODY.replace("{{1}}", variable)
    sent = row(runtime, message_id)
    assert sent.status == "sent" and sent.units == 1


@pytest.mark.parametrize(
    ("kind", "language"), [("reminder", "fr"), ("invitation", "ar"), ("reply", "fr")]
)
def test_outside_the_window_without_a_template_nothing_is_sent(
    runtime: Runtime, twilio: FakeTwilio, kind: str, language: str
) -> None:
    pid = habitant(runtime, wrote_hours_ago=25, language=language)
    message_id = queue(runtime, pid, QUESTION, kind=kind)
    assert deliver(runtime, make_channel("whatsapp", runtime)) == 0
    assert twilio.requests == []  # not even tried: Twilio would refuse it
    failed = row(runtime, message_id)
    assert failed.status == "failed" and failed.error_code == "no_template"
    assert f"no approved WhatsApp template for {kind} in {language}" in (failed.last_error or "")


def test_twilios_window_error_sends_the_template_instead(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    pid = habitant(runtime, wrote_hours_ago=23.99)  # our clock says inside, Twilio's says not
    twilio.close_window(NUMBER)
    message_id = queue(runtime, pid, QUESTION, kind="invitation")
    assert deliver(runtime, make_channel("whatsapp", runtime)) == 1
    posts = [r for r in twilio.requests if r.method == "POST"]
    assert [bool(r.accepted) for r in posts] == [False, True]
    assert posts[1].form["ContentSid"] == INVITATION_FR
    assert row(runtime, message_id).status == "sent"


def test_twilios_window_error_without_a_template_fails_once_and_is_not_retried(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    pid = habitant(runtime, wrote_hours_ago=1)
    twilio.close_window(NUMBER)
    message_id = queue(runtime, pid, Reply("Merci pour votre message."))
    channel = make_channel("whatsapp", runtime)
    assert deliver(runtime, channel) == 0
    later = datetime.now(UTC) + timedelta(hours=2)
    assert deliver(runtime, channel, now=later) == 0
    failed = row(runtime, message_id)
    assert failed.status == "failed" and failed.error_code == "63016"
    assert failed.attempts == 1
    assert len([r for r in twilio.requests if r.method == "POST"]) == 1
    with runtime.sessions() as session:
        assert session.get(Participant, pid).unreachable_at is None  # type: ignore[union-attr]


def test_a_conversation_is_counted_once_per_24_hours(runtime: Runtime, twilio: FakeTwilio) -> None:
    pid = habitant(runtime, wrote_hours_ago=1)
    first = queue(runtime, pid, Reply("Merci."))
    second = queue(runtime, pid, Reply("Autre chose ?"))
    deliver(runtime, make_channel("whatsapp", runtime))
    assert [row(runtime, first).units, row(runtime, second).units] == [1, 0]


def test_a_number_not_on_whatsapp_is_marked_unreachable(
    runtime: Runtime, twilio: FakeTwilio
) -> None:
    pid = habitant(runtime, wrote_hours_ago=1)
    twilio.refuse(TO, 63003)
    queue(runtime, pid, Reply("Merci."))
    deliver(runtime, make_channel("whatsapp", runtime))
    with runtime.sessions() as session:
        assert session.get(Participant, pid).unreachable_at is not None  # type: ignore[union-attr]


def test_an_interrupted_template_send_is_found_again(runtime: Runtime, twilio: FakeTwilio) -> None:
    pid = habitant(runtime, wrote_hours_ago=40)
    message_id = queue(runtime, pid, QUESTION, kind="invitation")
    channel = make_channel("whatsapp", runtime)
    since = datetime.now(UTC)
    body = row(runtime, message_id).body
    outgoing = Outgoing(message_id, NUMBER, body, ("Oui", "Non"), "choice", "invitation", pid)
    sent = channel.send(outgoing)
    assert isinstance(sent, Sent) and isinstance(channel, WhatsAppChannel)
    found = channel.find_sent(outgoing, since)
    assert found == [Sent(sent.provider_id, units=1)]  # it opened a conversation: it counts


def test_wa_me_link_opens_whatsapp_with_the_code(settings: Settings) -> None:
    assert wa_me(settings, "LILAS 24") == "https://wa.me/33700000000?text=LILAS%2024"
    assert wa_me(replace(settings, twilio_whatsapp_from=""), "LILAS") == ""
