"""POST /hooks/telegram: who may post, what a bad body gets, and that nothing is stored twice."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bots.runtime import Runtime
from storage.models import Message
from tests.fakes.inbound import drain
from tests.fakes.telegram_api import FakeTelegramAPI, make_update
from tests.fakes.telegram_fixtures import WEBHOOK_SECRET, settings, telegram_api  # noqa: F401
from web import create_app
from web.hooks.telegram import SECRET_HEADER

URL = "/hooks/telegram"
CHAT = 55_000_001


def count(runtime: Runtime, direction: str) -> int:
    with runtime.sessions() as session:
        query = select(func.count(Message.id)).where(Message.direction == direction)
        return session.scalar(query) or 0


def post(client: FlaskClient, body: Any, secret: str | None = WEBHOOK_SECRET) -> Any:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data=data, headers=headers, content_type="application/json")


def test_a_message_is_recorded_and_its_reply_queued(client: FlaskClient, runtime: Runtime) -> None:
    response = post(client, make_update(CHAT, "Bonjour"))
    assert response.status_code == 200
    assert count(runtime, "in") == 1
    assert count(runtime, "out") == 0  # the webhook only records: the drain steps it
    assert drain(runtime)["processed"] == 1
    with runtime.sessions() as session:
        reply = session.scalars(select(Message).where(Message.direction == "out")).one()
    assert reply.status == "pending" and reply.channel == "telegram"  # sent by the outbox


@pytest.mark.parametrize("secret", [None, "", "wrong", WEBHOOK_SECRET + "x", WEBHOOK_SECRET[:-1]])
def test_a_missing_or_forged_secret_is_refused(
    client: FlaskClient, runtime: Runtime, secret: str | None
) -> None:
    response = post(client, make_update(CHAT, "Bonjour"), secret=secret)
    assert response.status_code == 403
    assert count(runtime, "in") == 0


def app_with(runtime: Runtime, **changes: str) -> FlaskClient:
    """A client of an app whose settings differ from the fixtures' by `changes`."""
    changed = dataclasses.replace(runtime.settings, **changes)
    app = create_app(
        {"TESTING": True}, settings=changed, runtime=dataclasses.replace(runtime, settings=changed)
    )
    return app.test_client()


def test_without_a_configured_secret_everything_is_refused(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    client = app_with(runtime, telegram_webhook_secret="")
    assert post(client, make_update(CHAT, "Bonjour"), secret="").status_code == 403
    assert "TELEGRAM_WEBHOOK_SECRET" in caplog.text
    assert count(runtime, "in") == 0


def test_without_a_bot_the_hook_does_not_exist(runtime: Runtime) -> None:
    client = app_with(runtime, telegram_bot_token="")
    assert post(client, make_update(CHAT, "Bonjour")).status_code == 404


def test_an_update_type_we_do_not_handle_is_acknowledged_and_logged(
    client: FlaskClient, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bots.channels.telegram")
    edited = {"update_id": 77, "edited_message": make_update(CHAT, "corrigé")["message"]}
    assert post(client, edited).status_code == 200
    assert "update 77 ignored" in caplog.text
    assert count(runtime, "in") == 0 and count(runtime, "out") == 0


def test_a_huge_message_is_stored_cut_with_its_start(client: FlaskClient, runtime: Runtime) -> None:
    post(client, make_update(CHAT, "Bonjour"))
    post(client, make_update(CHAT, "oui"))
    huge = "Le début compte : l'ascenseur est en panne. " + "x" * 500_000
    update = make_update(CHAT, huge)
    assert post(client, update).status_code == 200
    assert post(client, update).status_code == 200
    with runtime.sessions() as session:
        body = session.scalars(
            select(Message.body).where(Message.provider_id == str(update["update_id"]))
        ).one()
    assert body.startswith("Le début compte : l'ascenseur est en panne.")
    assert len(body) == 4096 and body.endswith("…")
    assert count(runtime, "in") == 3


def test_the_fake_api_is_not_called_by_the_webhook(
    client: FlaskClient,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    assert post(client, make_update(CHAT, "Bonjour")).status_code == 200
    assert telegram_api.called("sendMessage") == []  # replies leave through the outbox only


# --- updates of an unexpected shape (issue 16, item 4) ------------------------------------------


def _odd_updates() -> list[Any]:
    def with_message(**changes: Any) -> dict[str, Any]:
        update = make_update(CHAT, "Bonjour")
        update["message"].update(changes)
        return update

    member = {
        "update_id": 9_000_001,
        "my_chat_member": {"chat": {"id": CHAT, "type": "private"}, "date": 1_700_000_000},
    }
    deep = "[" * 100_000 + "]" * 100_000
    return [
        with_message(text=12),
        with_message(text={"a": 1}),
        with_message(text=["a"]),
        with_message(caption=5, text=None),
        with_message(date=2**62),
        with_message(date="hier"),
        with_message(chat={"id": "abc", "type": "private"}),
        with_message(chat=[]),
        with_message(photo=[{"file_id": 3}]),
        member,
        {"update_id": 9_000_002, "my_chat_member": 7},
        {"update_id": 2**70, "message": make_update(CHAT, "Bonjour")["message"]},
        deep,
        '{"update_id": 1, "message": ' * 50_000,
        "{not json",
        "",
        "[1, 2]",
        '{"update_id": "12"}',
        '{"update_id": 3, "message": 5}',
    ]


@pytest.mark.parametrize("body", _odd_updates(), ids=range(len(_odd_updates())))
def test_an_update_we_cannot_read_is_acknowledged_logged_and_skipped(
    client: FlaskClient, runtime: Runtime, body: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = post(client, body)
    assert response.status_code == 200  # Telegram would retry anything else, for a day
    assert b"Traceback" not in response.data
    assert "telegram" in caplog.text  # said in the log
    assert count(runtime, "out") <= 1


def test_nul_characters_are_dropped_so_that_postgresql_can_store_the_words(
    client: FlaskClient, runtime: Runtime
) -> None:
    assert post(client, make_update(CHAT, "L'ascenseur\x00 est en panne")).status_code == 200
    with runtime.sessions() as session:
        body = session.scalars(select(Message.body).where(Message.direction == "in")).one()
    assert body == "L'ascenseur est en panne"
