"""WhatsApp's webhooks, signed as Twilio signs them; replies go to a local Twilio over real HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from itertools import count
from typing import Any

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bots.channels import make_channel
from bots.channels.whatsapp import fetch_missed_media
from bots.outbox import deliver
from bots.runtime import Runtime
from storage.config import Settings
from storage.models import Contribution, Message, Participant, ParticipantChannel
from tests.fakes.inbound import drain
from tests.fakes.twilio_api import FakeTwilio, twilio_fixture, with_twilio  # noqa: F401

PUBLIC = "https://paroles.example.fr"
HABITANT = "+33612345678"
SENDER = "whatsapp:+33700000000"
QUICK_REPLY = "HX" + "2" * 32
_sids = count(1)


@pytest.fixture
def settings(settings: Settings, twilio: FakeTwilio) -> Settings:
    twilio.add_content(QUICK_REPLY, "{{1}} [{{2}}] [{{3}}]", approved=False)
    extra = {**settings.extra, "PAROLES_WHATSAPP_QUICK_REPLY_2": QUICK_REPLY}
    return with_twilio(settings, twilio, public_url=PUBLIC, extra=extra)  # type: ignore[no-any-return]


def signed_post(client: Any, path: str, params: dict[str, str], token: str) -> Any:
    signature = RequestValidator(token).compute_signature(PUBLIC + path, params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature})


def incoming(body: str, sender: str = HABITANT, sid: str | None = None, **extra: str) -> dict:
    """What Twilio posts for an incoming WhatsApp message."""
    params = {
        "MessageSid": sid or f"SM{next(_sids):032x}",
        "SmsMessageSid": "",
        "AccountSid": "AC" + "0" * 32,
        "From": f"whatsapp:{sender}",
        "To": SENDER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ProfileName": "Awa",
        "WaId": sender.lstrip("+"),
        "MessageType": "text",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    params.update(extra)
    return params


class WhatsApp:
    """A habitant's WhatsApp: writes to Paroles and reads what the outbox sent back."""

    def __init__(self, client: Any, runtime: Runtime, twilio: FakeTwilio) -> None:
        self.client, self.runtime, self.twilio = client, runtime, twilio

    def send(self, body: str, **extra: str) -> list[dict[str, str]]:
        before = len(self.twilio.sent())
        token = self.runtime.settings.twilio_auth_token
        response = signed_post(self.client, "/hooks/whatsapp", incoming(body, **extra), token)
        assert response.status_code == 200
        assert b"<Response />" in response.data  # replies go through the outbox, never TwiML
        drain(self.runtime)
        deliver(self.runtime, make_channel("whatsapp", self.runtime))
        return self.twilio.sent()[before:]


@pytest.fixture
def whatsapp(client: Any, runtime: Runtime, twilio: FakeTwilio) -> WhatsApp:
    return WhatsApp(client, runtime, twilio)


def test_a_conversation_by_whatsapp_is_free_text_and_quick_replies_in_the_window(
    whatsapp: WhatsApp, runtime: Runtime
) -> None:
    [consent] = whatsapp.send("Bonjour")
    # The consent question is a yes/no: two quick-reply buttons, the question in {{1}}.
    assert consent["To"] == f"whatsapp:{HABITANT}" and consent["From"] == SENDER
    assert consent["ContentSid"] == QUICK_REPLY and "Body" not in consent
    assert consent["StatusCallback"] == PUBLIC + "/hooks/whatsapp/status"
    [thanks] = whatsapp.send("Oui")  # the tapped button's title arrives as the Body
    assert "ContentSid" not in thanks and thanks["Body"]
    whatsapp.send("L'ascenseur est en panne depuis un mois 😡")
    with runtime.sessions() as session:
        participant = session.scalars(select(Participant)).one()
        assert participant.channel == "whatsapp" and participant.consent_at is not None
        assert runtime.vault.decrypt(participant.address_enc) == HABITANT  # the bare number
        assert participant.pseudonym == runtime.vault.pseudonym("sms", HABITANT)
        contribution = session.scalars(select(Contribution)).one()
        assert contribution.channel == "whatsapp" and contribution.text.endswith("😡")
        units = session.scalars(
            select(Message.units).where(Message.direction == "out").order_by(Message.id)
        ).all()
    assert units[0] == 1 and set(units[1:]) == {0}  # one conversation opened, then inside it


def test_twilio_delivering_twice_is_recorded_and_answered_once(
    client: Any, runtime: Runtime, twilio: FakeTwilio
) -> None:
    params = incoming("Bonjour", sid="SM" + "d" * 32)
    token = runtime.settings.twilio_auth_token
    assert signed_post(client, "/hooks/whatsapp", params, token).status_code == 200
    assert signed_post(client, "/hooks/whatsapp", params, token).status_code == 200
    assert drain(runtime)["processed"] == 1
    deliver(runtime, make_channel("whatsapp", runtime))
    assert len(twilio.sent()) == 1
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).where(Message.direction == "in")) == 1


@pytest.mark.parametrize("tamper", ["wrong token", "no header", "body changed", "sms path"])
def test_forged_posts_are_refused_before_anything_is_read(
    client: Any, runtime: Runtime, tamper: str
) -> None:
    params = incoming("Bonjour")
    token = "not-the-auth-token" if tamper == "wrong token" else runtime.settings.twilio_auth_token
    url = PUBLIC + ("/hooks/sms" if tamper == "sms path" else "/hooks/whatsapp")
    signature = RequestValidator(token).compute_signature(url, params)
    if tamper == "body changed":
        params = {**params, "Body": "STOP"}
    headers = {} if tamper == "no header" else {"X-Twilio-Signature": signature}
    assert client.post("/hooks/whatsapp", data=params, headers=headers).status_code == 403
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Message.id))) == 0


def test_hooks_are_absent_when_whatsapp_is_off(client: Any, runtime: Runtime) -> None:
    runtime.settings = replace(runtime.settings, twilio_whatsapp_from="")
    token = runtime.settings.twilio_auth_token
    assert signed_post(client, "/hooks/whatsapp", incoming("Bonjour"), token).status_code == 404
    status = {"MessageSid": "SM1", "MessageStatus": "read"}
    assert signed_post(client, "/hooks/whatsapp/status", status, token).status_code == 404


def test_the_same_number_by_sms_and_by_whatsapp_is_one_participant(
    client: Any, runtime: Runtime, twilio: FakeTwilio, whatsapp: WhatsApp
) -> None:
    token = runtime.settings.twilio_auth_token
    sms = {
        "MessageSid": "SM" + "5" * 32,
        "From": "06 12 34 56 78",
        "To": "38000",
        "Body": "Bonjour",
    }
    assert signed_post(client, "/hooks/sms", sms, token).status_code == 200
    drain(runtime)
    deliver(runtime, make_channel("sms", runtime))
    sent = twilio.sent()  # the welcome, then its language line (UCS-2) as a second SMS
    assert {m["To"] for m in sent} == {HABITANT}
    assert any("1 Oui 2 Non" in m["Body"] for m in sent)
    [by_whatsapp] = whatsapp.send("Oui")  # the consent asked by SMS is answered on WhatsApp
    assert by_whatsapp["To"] == f"whatsapp:{HABITANT}"  # the reply goes back the way they wrote
    with runtime.sessions() as session:
        participant = session.scalars(select(Participant)).one()
        assert participant.consent_at is not None and participant.channel == "whatsapp"
        channels = session.scalars(
            select(ParticipantChannel.channel).order_by(ParticipantChannel.channel)
        ).all()
        assert channels == ["sms", "whatsapp"]


def test_stop_works_as_on_sms(whatsapp: WhatsApp, runtime: Runtime) -> None:
    whatsapp.send("Bonjour")
    whatsapp.send("Oui")
    [stopped] = whatsapp.send("STOP")
    assert "START" in stopped["Body"]
    assert whatsapp.send("Encore un message") == []
    with runtime.sessions() as session:
        assert session.scalars(select(Participant.opted_out_at)).one() is not None


def test_photos_and_voice_notes_are_downloaded_with_the_accounts_credentials(
    whatsapp: WhatsApp, runtime: Runtime, twilio: FakeTwilio
) -> None:
    whatsapp.send("Bonjour")
    whatsapp.send("Oui")
    photo = twilio.add_media(b"\xff\xd8jpeg-bytes", "image/jpeg")
    voice = twilio.add_media(b"OggS-voice", "audio/ogg")
    whatsapp.send(
        "Regardez",
        NumMedia="2",
        MediaUrl0=photo,
        MediaContentType0="image/jpeg",
        MediaUrl1=voice,
        MediaContentType1="audio/ogg",
    )
    media_get = [r for r in twilio.requests if r.method == "GET" and "/Media/" in r.path]
    assert [r.auth for r in media_get] == [(twilio.account_sid, twilio.auth_token)] * 2
    with runtime.sessions() as session:
        contribution = session.scalars(select(Contribution)).one()
    kinds = [(m["kind"], m["mime"]) for m in contribution.media]
    assert kinds == [("photo", "image/jpeg"), ("voice", "audio/ogg")]
    paths = [runtime.settings.media_dir / m["path"] for m in contribution.media]
    assert [p.read_bytes() for p in paths] == [b"\xff\xd8jpeg-bytes", b"OggS-voice"]
    assert all(p.parent.name == "whatsapp" for p in paths)


def test_a_media_url_elsewhere_than_twilio_gets_no_credentials(
    whatsapp: WhatsApp, runtime: Runtime, twilio: FakeTwilio
) -> None:
    whatsapp.send("Bonjour")
    whatsapp.send("Oui")
    whatsapp.send(
        "", NumMedia="1", MediaUrl0="http://127.0.0.2:9/x.jpg", MediaContentType0="image/jpeg"
    )
    with runtime.sessions() as session:
        [item] = session.scalars(select(Contribution)).one().media
    assert item["path"] == "" and item["file_id"] == "http://127.0.0.2:9/x.jpg"  # kept, not fetched


def test_statuses_record_delivered_then_read_and_the_price(
    client: Any, whatsapp: WhatsApp, runtime: Runtime
) -> None:
    whatsapp.send("Bonjour")
    with runtime.sessions() as session:
        sid = session.scalars(select(Message.provider_id).where(Message.direction == "out")).one()
    token = runtime.settings.twilio_auth_token
    for status in ("delivered", "read", "sent"):  # a late `sent` undoes nothing
        params = {"MessageSid": sid, "MessageStatus": status, "ChannelToAddress": HABITANT}
        if status == "read":
            params |= {"Price": "-0.0712", "PriceUnit": "EUR"}
        assert signed_post(client, "/hooks/whatsapp/status", params, token).status_code == 204
    with runtime.sessions() as session:
        row = session.scalars(select(Message).where(Message.direction == "out")).one()
    assert row.status == "read" and row.delivered_at is not None
    assert row.price == pytest.approx(0.0712) and row.price_unit == "EUR"
    forged = {"MessageSid": sid, "MessageStatus": "failed"}
    assert client.post("/hooks/whatsapp/status", data=forged).status_code == 403


def test_a_window_error_reported_later_is_said_as_such(
    client: Any, whatsapp: WhatsApp, runtime: Runtime
) -> None:
    whatsapp.send("Bonjour")
    with runtime.sessions() as session:
        sid = session.scalars(select(Message.provider_id).where(Message.direction == "out")).one()
    params = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "63016"}
    token = runtime.settings.twilio_auth_token
    assert signed_post(client, "/hooks/whatsapp/status", params, token).status_code == 204
    with runtime.sessions() as session:
        row = session.scalars(select(Message).where(Message.direction == "out")).one()
        participant = session.scalars(select(Participant)).one()
    assert row.status == "failed" and row.error_code == "63016"
    assert "24-hour window" in (row.last_error or "")
    assert participant.unreachable_at is None  # outside the window is not unreachable


def test_an_unreadable_post_is_refused_plainly(client: Any, runtime: Runtime) -> None:
    token = runtime.settings.twilio_auth_token
    response = signed_post(client, "/hooks/whatsapp", {"Body": "sans expéditeur"}, token)
    assert response.status_code == 400 and response.mimetype == "text/plain"


def test_the_sender_address_is_normalised_like_a_phone_number(
    whatsapp: WhatsApp, runtime: Runtime
) -> None:
    whatsapp.send("Bonjour", From="whatsapp:+33 6 12 34 56 78")
    with runtime.sessions() as session:
        participant = session.scalars(select(Participant)).one()
    assert runtime.vault.decrypt(participant.address_enc) == HABITANT
    assert datetime.now(UTC) >= participant.first_seen_at


def test_a_file_twilio_could_not_serve_is_fetched_again_by_the_job(
    whatsapp: WhatsApp, runtime: Runtime, twilio: FakeTwilio
) -> None:
    whatsapp.send("Bonjour")
    whatsapp.send("Oui")
    photo = twilio.add_media(b"\xff\xd8later", "image/jpeg")
    served = twilio.media.pop(photo.removeprefix(twilio.base_url))  # Twilio not ready yet: 404
    whatsapp.send("Voici", NumMedia="1", MediaUrl0=photo, MediaContentType0="image/jpeg")
    with runtime.sessions() as session:
        [item] = session.scalars(select(Contribution)).one().media
    assert item["path"] == "" and item["file_id"] == photo  # recorded anyway, the URL kept
    assert fetch_missed_media(runtime, datetime.now(UTC)) == {"fetched": 0, "failed": 1}
    twilio.media[photo.removeprefix(twilio.base_url)] = served
    assert fetch_missed_media(runtime, datetime.now(UTC)) == {"fetched": 1, "failed": 0}
    with runtime.sessions() as session:
        [item] = session.scalars(select(Contribution)).one().media
        [kept] = session.scalars(
            select(Message.media).where(Message.direction == "in", Message.body == "Voici")
        ).one()
    assert (runtime.settings.media_dir / item["path"]).read_bytes() == b"\xff\xd8later"
    assert kept["path"] == item["path"]  # the message and its contribution share the file
