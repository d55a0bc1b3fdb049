"""Twilio's webhooks, signed as Twilio signs them, with replies sent to a local Twilio over HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from itertools import count
from typing import Any

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bots import spool
from bots.channels import make_channel
from bots.engine import Reply
from bots.handler import enqueue_reply
from bots.outbox import deliver
from bots.runtime import Runtime
from bots.sms_text import is_gsm7, segments
from storage.config import Settings
from storage.db import transaction
from storage.models import Answer, Contribution, Conversation, Message, Participant
from tests.fakes.inbound import drain
from tests.fakes.twilio_api import FakeTwilio, twilio_fixture, with_twilio  # noqa: F401
from web import create_app

PUBLIC = "https://paroles.example.fr"
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
HABITANT = "+33612345678"
_sids = count(1)


@pytest.fixture
def settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    return with_twilio(settings, twilio, public_url=PUBLIC)  # type: ignore[no-any-return]


def signed_post(
    client: Any, path: str, params: dict[str, str], token: str, signed_url: str | None = None
) -> Any:
    """POST as Twilio does: form-encoded, signed over the public URL and the parameters."""
    signature = RequestValidator(token).compute_signature(signed_url or PUBLIC + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def incoming(body: str, sender: str = HABITANT, sid: str | None = None, **extra: str) -> dict:
    params = {
        "MessageSid": sid or f"SM{next(_sids):032x}",
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "38000",
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    params.update(extra)
    return params


class Phone:
    """A habitant's phone: writes to Paroles by SMS and reads what the outbox sent back."""

    def __init__(self, client: Any, runtime: Runtime, twilio: FakeTwilio, number: str) -> None:
        self.client, self.runtime, self.twilio, self.number = client, runtime, twilio, number

    def send(self, body: str, sender: str | None = None, **extra: str) -> list[str]:
        before = len(self.twilio.sent())
        token = self.runtime.settings.twilio_auth_token
        response = signed_post(
            self.client, "/hooks/sms", incoming(body, sender or self.number, **extra), token
        )
        assert response.status_code == 200
        assert response.mimetype == "text/xml"
        assert b"<Response />" in response.data  # replies go through the outbox, never TwiML
        drain(self.runtime)
        deliver(self.runtime, make_channel("sms", self.runtime))
        return [form["Body"] for form in self.twilio.sent()[before:]]


@pytest.fixture
def phone(client: Any, runtime: Runtime, twilio: FakeTwilio) -> Phone:
    return Phone(client, runtime, twilio, HABITANT)


def test_full_survey_by_sms_sends_one_gsm7_segment_per_reply(
    phone: Phone, runtime: Runtime, twilio: FakeTwilio
) -> None:
    lines = ["Bonjour", "ouais", "scolarite", "👍", "1 et 3", "4/5", "le mercredi", "Plus de profs"]
    replies = [phone.send(line) for line in lines]
    # The welcome goes in GSM-7, then one UCS-2 SMS lists the languages in their own scripts.
    welcome, languages = replies[0]
    assert languages.startswith("LANGUE : العربية") and segments(languages) == 1
    assert all(len(r) == 1 for r in replies[1:])
    bodies = [welcome] + [r[0] for r in replies[1:]]
    for body in bodies:
        assert is_gsm7(body), body
        assert segments(body) == 1, body
    assert "\n1 Oui 2 Non" in bodies[0]
    assert "fini" in bodies[-1]
    sent = twilio.sent()
    assert {form["To"] for form in sent} == {HABITANT}
    assert {form["From"] for form in sent} == {"38000"}
    assert {form["StatusCallback"] for form in sent} == {PUBLIC + "/hooks/sms/status"}
    with runtime.sessions() as session:
        assert session.scalars(select(Conversation.status)).one() == "finished"
        values = session.scalars(select(Answer.value).order_by(Answer.id)).all()
        assert values == ["oui", ["famille", "ecole"], 4, "mercredi", "Plus de profs"]
        out = select(Message).where(Message.direction == "out").order_by(Message.id)
        rows = session.scalars(out).all()
        assert {r.status for r in rows} == {"sent"}
        # The welcome's row keeps the id of its first SMS (the second, the languages, is SM2).
        expected = [f"SM{n:032x}" for n in (1, *range(3, len(rows) + 2))]
        assert [r.provider_id for r in rows] == expected


def test_numbers_written_differently_are_one_participant(phone: Phone, runtime: Runtime) -> None:
    phone.send("Bonjour", sender="+33612345678")
    phone.send("oui", sender="0033612345678")
    phone.send("Les ascenseurs sont en panne", sender="06 12 34 56 78")
    with runtime.sessions() as session:
        participant = session.scalars(select(Participant)).one()
        assert participant.pseudonym == runtime.vault.pseudonym("sms", "+33612345678")
        assert runtime.vault.decrypt(participant.address_enc) == "+33612345678"
        assert "12345678" not in participant.address_mask
        assert session.scalars(select(Contribution.text)).one() == "Les ascenseurs sont en panne"


def test_twilio_delivering_twice_is_recorded_and_answered_once(
    client: Any, runtime: Runtime, twilio: FakeTwilio
) -> None:
    params = incoming("Bonjour", sid="SM" + "d" * 32)
    token = runtime.settings.twilio_auth_token
    first = signed_post(client, "/hooks/sms", params, token)
    again = signed_post(client, "/hooks/sms", params, token)
    assert first.status_code == again.status_code == 200
    with runtime.sessions() as session:  # the second post recorded nothing
        assert session.scalars(select(Message.status)).all() == ["recorded"]
    assert drain(runtime) == {"processed": 1, "failed": 0, "skipped": 0}
    deliver(runtime, make_channel("sms", runtime))
    # One welcome, answered once: its two SMS (the welcome, then the languages).
    assert [form["Body"][:7] for form in twilio.sent()] == ["Bonjour", "LANGUE "]
    with runtime.sessions() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
        assert inbound.provider_id == "SM" + "d" * 32


@pytest.mark.parametrize(
    "tamper",
    ["wrong token", "no header", "body changed", "internal url", "other path"],
)
def test_forged_or_misaddressed_posts_are_refused(
    client: Any, runtime: Runtime, tamper: str
) -> None:
    params = incoming("Bonjour")
    token = runtime.settings.twilio_auth_token
    signed_url = PUBLIC + "/hooks/sms"
    if tamper == "wrong token":
        token = "not-the-auth-token"
    if tamper == "internal url":  # what request.url says behind a TLS-terminating proxy
        signed_url = "http://localhost/hooks/sms"
    if tamper == "other path":
        signed_url = PUBLIC + "/hooks/sms/status"
    signature = RequestValidator(token).compute_signature(signed_url, params)
    if tamper == "body changed":
        params = {**params, "Body": "STOP"}
    headers = {} if tamper == "no header" else {"X-Twilio-Signature": signature}
    response = client.post("/hooks/sms", data=params, headers=headers)
    assert response.status_code == 403
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Message.id))) == 0


def test_hooks_are_absent_when_sms_is_not_configured(client: Any, runtime: Runtime) -> None:
    runtime.settings = replace(runtime.settings, twilio_auth_token="")
    response = signed_post(client, "/hooks/sms", incoming("Bonjour"), "anything")
    assert response.status_code == 404


@pytest.mark.parametrize("stop_word", ["STOP", "Arret", "ARRÊT", "stop sms", "STOP SMS"])
def test_stop_words_opt_out_and_start_comes_back(
    phone: Phone, runtime: Runtime, stop_word: str
) -> None:
    phone.send("Bonjour")
    phone.send("oui")
    [stopped] = phone.send(stop_word)
    assert "START" in stopped
    assert phone.send("Encore un message") == []  # nothing is sent after STOP
    assert phone.send(stop_word) == []
    [back] = phone.send("START")
    assert "Bon retour" in back
    with runtime.sessions() as session:
        participant = session.scalars(select(Participant)).one()
        assert participant.opted_out_at is None


def test_empty_body_gets_the_kind_answer(phone: Phone) -> None:
    phone.send("Bonjour")
    phone.send("oui")
    [answer] = phone.send("")
    assert "vide" in answer


def test_long_ucs2_message_is_recorded_whole(phone: Phone, runtime: Runtime) -> None:
    phone.send("Bonjour")
    phone.send("oui")
    long_text = ("Ça ne va pas😡 « l’ascenseur » est en panne depuis des mois ! " * 30)[:1600]
    assert len(long_text) == 1600 and not is_gsm7(long_text)
    [thanks] = phone.send(long_text)
    assert is_gsm7(thanks)
    with runtime.sessions() as session:
        assert session.scalars(select(Contribution.text)).one() == long_text.strip()
        bodies = session.scalars(select(Message.body).where(Message.direction == "in")).all()
        assert long_text in bodies


def test_unknown_media_is_kept_as_metadata(phone: Phone, runtime: Runtime) -> None:
    phone.send("Bonjour")
    phone.send("oui")
    url = "https://api.twilio.com/2010-04-01/Accounts/AC00/Messages/MM01/Media/ME01"
    [answer] = phone.send("", NumMedia="1", MediaUrl0=url, MediaContentType0="text/vcard")
    assert "photo" in answer  # "write a message or send a photo"
    with runtime.sessions() as session:
        row = session.scalars(
            select(Message).where(Message.direction == "in").order_by(Message.id.desc())
        ).first()
        assert row is not None
        assert row.media == [{"kind": "other", "file_id": url, "path": "", "mime": "text/vcard"}]


def test_photo_by_mms_becomes_a_contribution(phone: Phone, runtime: Runtime) -> None:
    phone.send("Bonjour")
    phone.send("oui")
    url = "https://api.twilio.com/2010-04-01/Accounts/AC00/Messages/MM02/Media/ME02"
    phone.send("Regardez", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg")
    with runtime.sessions() as session:
        contribution = session.scalars(select(Contribution)).one()
        assert contribution.text == "Regardez"
        assert contribution.media[0]["kind"] == "photo"
        assert contribution.media[0]["file_id"] == url


def _status(client: Any, runtime: Runtime, sid: str, status: str, code: str = "") -> Any:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32}
    if code:
        params["ErrorCode"] = code
    return signed_post(client, "/hooks/sms/status", params, runtime.settings.twilio_auth_token)


def test_delivery_statuses_are_recorded_and_never_go_back(
    phone: Phone, client: Any, runtime: Runtime
) -> None:
    phone.send("Bonjour")
    with runtime.sessions() as session:
        row = session.scalars(select(Message).where(Message.direction == "out")).one()
        sid = row.provider_id
    assert sid
    for status in ("queued", "sent", "delivered", "sent"):
        assert _status(client, runtime, sid, status).status_code == 204
    with runtime.sessions() as session:
        row = session.scalars(select(Message).where(Message.direction == "out")).one()
        assert row.status == "delivered"
        assert row.delivered_at is not None


@pytest.mark.parametrize(
    ("twilio_status", "code", "unreachable"),
    [("undelivered", "30006", True), ("failed", "30005", True), ("failed", "30008", False)],
)
def test_failed_delivery_is_recorded_and_dead_numbers_marked_unreachable(
    phone: Phone, client: Any, runtime: Runtime, twilio_status: str, code: str, unreachable: bool
) -> None:
    phone.send("Bonjour")
    with runtime.sessions() as session:
        sid = session.scalars(select(Message.provider_id).where(Message.direction == "out")).one()
    assert sid
    assert _status(client, runtime, sid, twilio_status, code).status_code == 204
    with runtime.sessions() as session:
        row = session.scalars(select(Message).where(Message.direction == "out")).one()
        assert (row.status, row.error_code) == (twilio_status, code)
        participant = session.scalars(select(Participant)).one()
        assert (participant.unreachable_at is not None) is unreachable


def test_a_dead_number_gets_nothing_more_of_what_was_queued(
    phone: Phone, client: Any, runtime: Runtime
) -> None:
    phone.send("Bonjour")
    with transaction(runtime.sessions) as session:
        sid = session.scalars(select(Message.provider_id).where(Message.direction == "out")).one()
        participant = session.scalars(select(Participant)).one()
        queued = enqueue_reply(session, participant, Reply("Une autre question ?"))
    assert sid
    _status(client, runtime, sid, "undelivered", "30005")  # unknown handset
    with runtime.sessions() as session:
        row = session.get(Message, queued)
        assert row is not None and (row.status, row.last_error) == ("cancelled", "unreachable")


def test_a_number_that_writes_again_is_reachable_again(
    phone: Phone, client: Any, runtime: Runtime
) -> None:
    phone.send("Bonjour")
    with runtime.sessions() as session:
        sid = session.scalars(select(Message.provider_id).where(Message.direction == "out")).one()
    assert sid
    _status(client, runtime, sid, "undelivered", "21610")  # STOP sent to the carrier
    with runtime.sessions() as session:
        assert session.scalars(select(Participant)).one().unreachable_at is not None
    [back] = phone.send("START")
    assert back
    with runtime.sessions() as session:
        assert session.scalars(select(Participant)).one().unreachable_at is None


def test_status_of_an_unknown_message_is_accepted_and_ignored(
    client: Any, runtime: Runtime
) -> None:
    assert _status(client, runtime, "SM" + "f" * 32, "delivered").status_code == 204


def test_forged_status_callback_is_refused(client: Any, runtime: Runtime) -> None:
    params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "failed", "ErrorCode": "30006"}
    response = signed_post(client, "/hooks/sms/status", params, "forged-token")
    assert response.status_code == 403


def test_an_sms_arriving_while_the_database_is_down_is_kept_then_recorded(
    settings: Settings, runtime: Runtime, twilio: FakeTwilio
) -> None:
    down = replace(settings, database_url="postgresql://paroles@127.0.0.1:1/paroles")
    down_runtime = Runtime.from_settings(down)
    app = create_app({"TESTING": True}, settings=down, runtime=down_runtime)
    params = incoming("Il n'y a plus d'eau chaude au 12", sid="SM" + "d0" * 16)
    response = signed_post(app.test_client(), "/hooks/sms", params, settings.twilio_auth_token)
    assert response.status_code == 200 and "<Response />" in response.get_data(as_text=True)
    [kept] = list(spool.folder(runtime).glob("*.msg"))
    assert b"eau chaude" not in kept.read_bytes() and b"612345678" not in kept.read_bytes()

    assert spool.replay(down_runtime, NOW) == {"recorded": 0, "kept": 1}  # still down
    assert spool.replay(runtime, NOW) == {"recorded": 1, "kept": 0}
    assert spool.replay(runtime, NOW) == {"recorded": 0, "kept": 0}
    drain(runtime)
    with runtime.sessions() as session:
        message = session.scalars(select(Message).where(Message.direction == "in")).one()
        assert message.provider_id == "SM" + "d0" * 16 and "eau chaude" in message.body
        replies = session.scalars(select(Message).where(Message.direction == "out")).all()
    assert len(replies) == 1  # the welcome and consent question, waiting in the outbox
    down_runtime.engine.dispose()


# --- a captured signed SMS replayed under a new MessageSid (issue 16, item 10) ---------------


def test_a_signed_sms_replayed_under_a_glued_sid_is_refused(client: Any, runtime: Runtime) -> None:
    """Twilio signs names and values glued together: `MessageSid=<sid>NumMedia0` without
    `NumMedia` has the same signature as the original. A well-formed SID closes that door."""
    token = runtime.settings.twilio_auth_token
    original = incoming("Bonjour")
    signature = RequestValidator(token).compute_signature(PUBLIC + "/hooks/sms", original)
    replayed = {k: v for k, v in original.items() if k != "NumMedia"}
    replayed["MessageSid"] = original["MessageSid"] + "NumMedia0"
    replayed_signature = RequestValidator(token).compute_signature(PUBLIC + "/hooks/sms", replayed)
    assert replayed_signature == signature  # the weakness itself
    response = client.post("/hooks/sms", data=replayed, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 400
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Message.id))) == 0


@pytest.mark.parametrize(
    "sids",
    [
        {"MessageSid": "SM123"},
        {"MessageSid": "XX" + "a" * 32},
        {"MessageSid": "SM" + "A" * 32},  # Twilio writes lowercase hex
        {"MessageSid": "SM" + "a" * 32, "SmsSid": "SM" + "b" * 32},
        {"MessageSid": "", "SmsSid": "SM" + "b" * 32},
    ],
)
def test_sms_sids_must_be_well_formed_and_agree(
    client: Any, runtime: Runtime, sids: dict[str, str]
) -> None:
    params = {**incoming("Bonjour"), **sids}
    response = signed_post(client, "/hooks/sms", params, runtime.settings.twilio_auth_token)
    assert response.status_code == 400
    status = {"MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32, **sids}
    token = runtime.settings.twilio_auth_token
    assert signed_post(client, "/hooks/sms/status", status, token).status_code == 400


def test_a_media_message_sid_is_accepted(client: Any, runtime: Runtime) -> None:
    params = incoming("Bonjour", sid="MM" + "e" * 32, SmsSid="MM" + "e" * 32)
    response = signed_post(client, "/hooks/sms", params, runtime.settings.twilio_auth_token)
    assert response.status_code == 200
