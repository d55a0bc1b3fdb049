"""Whole conversations through Telegram: real update JSON posted to the webhook (or fetched by
polling), recorded, answered through the outbox, and sent by python-telegram-bot to the fake API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bots.channels import make_channel
from bots.channels.telegram import client_for, fetch_missed_media
from bots.media_retry import MEDIA_TRIES
from bots.outbox import deliver
from bots.runtime import Runtime
from bots.telegram_polling import Poller
from storage.db import transaction
from storage.models import Answer, Contribution, Conversation, JoinCode, Message, Participant
from tests.factories import make_quartier
from tests.fakes.inbound import drain
from tests.fakes.telegram_api import STICKER, FakeTelegramAPI, make_photo_update, make_update
from tests.fakes.telegram_fixtures import WEBHOOK_SECRET, settings, telegram_api  # noqa: F401
from web.hooks.telegram import SECRET_HEADER

AMINA = 424_242_001
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
REMOVE = {"remove_keyboard": True}


def post(client: FlaskClient, update: dict[str, Any]) -> int:
    response = client.post("/hooks/telegram", json=update, headers={SECRET_HEADER: WEBHOOK_SECRET})
    return response.status_code


def send_outbox(runtime: Runtime) -> int:
    drain(runtime)
    return deliver(runtime, make_channel("telegram", runtime))


def say(
    client: FlaskClient, runtime: Runtime, api: FakeTelegramAPI, text: str, chat: int = AMINA
) -> tuple[str, Any]:
    """Post one message, send the outbox; the one (text, reply markup) the habitant got."""
    before = len(list(api.sent()))
    assert post(client, make_update(chat, text)) == 200
    send_outbox(runtime)
    [(to, reply, markup)] = list(api.sent())[before:]
    assert to == str(chat)
    return reply, markup


def buttons(markup: Any) -> list[list[str]]:
    return [[button["text"] for button in row] for row in markup["keyboard"]]


def participant_of(runtime: Runtime, chat: int) -> Participant:
    with runtime.sessions() as session:
        pseudonym = runtime.vault.pseudonym("telegram", str(chat))
        return session.scalars(select(Participant).where(Participant.pseudonym == pseudonym)).one()


def test_a_whole_survey_through_telegram(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    api = telegram_api
    text, markup = say(client, runtime, api, "/start SCOLARITE")
    assert "D'accord ?" in text and buttons(markup) == [["Oui", "Non"]]
    text, markup = say(client, runtime, api, "Oui")
    assert "L'aide aux devoirs" in text and "1/5" in text
    assert buttons(markup) == [["Oui", "Non"]]
    text, markup = say(client, runtime, api, "Oui")
    assert "2/5" in text and "1. Moi ou la famille" in text and "3. L'école" in text
    assert buttons(markup) == [["1", "2", "3", "4"]]
    text, markup = say(client, runtime, api, "1 et 3")
    assert buttons(markup) == [["1", "2", "3", "4", "5"]]
    text, markup = say(client, runtime, api, "4")
    assert "4/5" in text
    assert buttons(markup) == [["Après l'école"], ["Le mercredi"], ["Le samedi"]] + [
        ["Pendant les vacances"]
    ]
    text, markup = say(client, runtime, api, "Le mercredi")  # a tapped button
    assert "5/5" in text and markup == REMOVE
    text, markup = say(client, runtime, api, "Plus de profs le soir 📚")
    assert "fini" in text and markup == REMOVE

    with runtime.sessions() as session:
        assert session.scalars(select(Conversation.status)).one() == "finished"
        values = session.scalars(select(Answer.value).order_by(Answer.id)).all()
        assert values == ["oui", ["famille", "ecole"], 4, "mercredi", "Plus de profs le soir 📚"]
        assert session.scalars(select(Contribution.text)).one() == "Plus de profs le soir 📚"
        statuses = session.scalars(select(Message.status).where(Message.direction == "out")).all()
        assert set(statuses) == {"sent"} and len(statuses) == 7


def test_deep_link_attributes_quartier_and_action(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    with transaction(runtime.sessions) as session:
        quartier = make_quartier(session, code="QP093001", name="Les Lilas")
        session.add(JoinCode(code="lilas-immersion_2026", quartier_id=quartier.id))
    text, markup = say(client, runtime, telegram_api, "/start lilas-immersion_2026")
    assert "Bonjour" in text and buttons(markup) == [["Oui", "Non"]]
    participant = participant_of(runtime, AMINA)
    assert participant.joined_via == "lilas-immersion_2026"
    assert participant.quartier_id == quartier.id
    assert participant.channel == "telegram"


def test_unknown_code_still_welcomes(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    text, _ = say(client, runtime, telegram_api, "/start affiche-perdue")
    assert "Bonjour" in text
    participant = participant_of(runtime, AMINA)
    assert participant.joined_via == "affiche-perdue" and participant.quartier_id is None


def test_an_update_delivered_twice_is_recorded_and_answered_once(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    update = make_update(AMINA, "Bonjour")
    assert post(client, update) == 200
    assert post(client, update) == 200  # Telegram retries when it did not see our 200
    assert send_outbox(runtime) == 1
    assert post(client, update) == 200  # even after the reply went out
    assert send_outbox(runtime) == 0
    assert len(telegram_api.called("sendMessage")) == 1
    with runtime.sessions() as session:
        count = select(func.count(Message.id))
        assert session.scalar(count.where(Message.direction == "in")) == 1
        assert session.scalar(count.where(Message.direction == "out")) == 1


def test_a_user_who_blocked_the_bot_is_marked_unreachable(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    telegram_api.block(AMINA)
    assert post(client, make_update(AMINA, "Bonjour")) == 200
    assert send_outbox(runtime) == 0
    participant = participant_of(runtime, AMINA)
    assert participant.unreachable_at is not None and not participant.reachable
    with runtime.sessions() as session:
        row = session.scalars(select(Message).where(Message.direction == "out")).one()
        assert row.status == "failed" and row.attempts == 1 and row.error_code == "403"
    assert send_outbox(runtime) == 0  # not retried
    assert len(telegram_api.called("sendMessage")) == 1


def test_flood_control_leaves_the_reply_waiting(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    telegram_api.flood(AMINA, 3)
    assert post(client, make_update(AMINA, "Bonjour")) == 200
    assert send_outbox(runtime) == 0
    with runtime.sessions() as session:
        row = session.scalars(select(Message).where(Message.direction == "out")).one()
        assert row.status == "pending" and row.error_code == "429"
        assert "retry in 3 s" in (row.last_error or "")
    assert participant_of(runtime, AMINA).unreachable_at is None


@pytest.fixture
def consented(client: FlaskClient, runtime: Runtime, telegram_api: FakeTelegramAPI) -> None:  # noqa: F811
    """Amina has said hello and agreed to take part."""
    say(client, runtime, telegram_api, "Bonjour")
    say(client, runtime, telegram_api, "oui")


@pytest.mark.usefixtures("consented")
def test_photo_contribution_is_downloaded_and_kept(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    telegram_api.add_file("AgACAgQ-photo-0000000042", b"\xff\xd8 a broken bench", "photos/f.jpg")
    update = make_photo_update(AMINA, "AgACAgQ-photo-0000000042", caption="Le banc est cassé")
    assert post(client, update) == 200
    assert post(client, update) == 200  # a retry does not download again
    drain(runtime)
    assert len(telegram_api.called("download")) == 1
    with runtime.sessions() as session:
        contribution = session.scalars(select(Contribution)).one()
    assert contribution.text == "Le banc est cassé" and contribution.channel == "telegram"
    [media] = contribution.media
    assert media["kind"] == "photo" and media["file_id"] == "AgACAgQ-photo-0000000042"
    saved = runtime.settings.media_dir / media["path"]
    assert saved.read_bytes() == b"\xff\xd8 a broken bench"


@pytest.mark.usefixtures("consented")
def test_a_sticker_gets_a_kind_answer(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    before = len(list(telegram_api.sent()))
    assert post(client, make_update(AMINA, sticker=STICKER)) == 200
    send_outbox(runtime)
    [(_, text, markup)] = list(telegram_api.sent())[before:]
    assert "écrivez un message ou envoyez une photo" in text and markup == REMOVE


def test_polling_and_webhook_give_the_same_result(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    by_hook, by_poll = 900_000_001, 900_000_002
    lines = ["/start SCOLARITE", "ouais", "👍", "2", "⭐⭐⭐", "Pendant les vacances", "Un local"]
    for text in lines:
        assert post(client, make_update(by_hook, text)) == 200
        telegram_api.push_update(make_update(by_poll, text))
    poller = Poller(runtime, client_for(runtime.settings))
    assert poller.poll(timeout=0) == len(lines)
    assert poller.poll(timeout=0) == 0  # the offset confirmed the batch
    send_outbox(runtime)

    sent = list(telegram_api.sent())
    assert [(t, m) for c, t, m in sent if c == str(by_hook)] == [
        (t, m) for c, t, m in sent if c == str(by_poll)
    ]
    assert len(sent) == 2 * len(lines)
    hook, poll = participant_of(runtime, by_hook), participant_of(runtime, by_poll)
    assert {**hook.state, "last_at": None} == {**poll.state, "last_at": None}
    assert hook.joined_via == poll.joined_via == "SCOLARITE"
    with runtime.sessions() as session:
        answers = {
            pid: session.scalars(
                select(Answer.value)
                .join(Conversation, Conversation.id == Answer.conversation_id)
                .where(Conversation.participant_id == pid)
                .order_by(Answer.id)
            ).all()
            for pid in (hook.id, poll.id)
        }
    assert (
        answers[hook.id] == answers[poll.id] == ["oui", ["association"], 3, "vacances", "Un local"]
    )


@pytest.mark.usefixtures("consented")
def test_a_photo_telegram_could_not_serve_is_fetched_by_a_later_run(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    file_id = "AgACAgQ-photo-0000000077"
    update = make_photo_update(AMINA, file_id, caption="La porte du hall est cassée")
    assert post(client, update) == 200  # Telegram cannot serve the file yet
    drain(runtime)
    with runtime.sessions() as session:
        [media] = session.scalars(select(Contribution.media)).one()
    assert media["file_id"] == file_id and media["path"] == ""

    assert fetch_missed_media(runtime, NOW) == {"fetched": 0, "failed": 1}
    telegram_api.add_file(file_id, b"\xff\xd8 a broken door", "photos/d.jpg")
    assert fetch_missed_media(runtime, NOW) == {"fetched": 1, "failed": 0}  # message, contribution
    assert fetch_missed_media(runtime, NOW) == {"fetched": 0, "failed": 0}
    with runtime.sessions() as session:
        [media] = session.scalars(select(Contribution.media)).one()
        [held] = session.scalars(select(Message.media).where(Message.direction == "in")).all()[-1]
    assert (runtime.settings.media_dir / media["path"]).read_bytes() == b"\xff\xd8 a broken door"
    assert held["path"] == media["path"]


@pytest.mark.usefixtures("consented")
def test_a_file_that_never_comes_is_tried_a_bounded_number_of_times(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    assert post(client, make_photo_update(AMINA, "AgACAgQ-gone-0000000001")) == 200
    drain(runtime)
    for _ in range(MEDIA_TRIES + 2):
        fetch_missed_media(runtime, NOW)
    asked = [c for c in telegram_api.called("getFile") if c["file_id"].endswith("gone-0000000001")]
    assert len(asked) == MEDIA_TRIES  # the drain's try, then one per run
    with runtime.sessions() as session:
        [media] = session.scalars(select(Contribution.media)).one()
    assert (media["path"], media["tries"]) == ("", MEDIA_TRIES)
