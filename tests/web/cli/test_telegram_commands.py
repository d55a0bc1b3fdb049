"""`paroles telegram ...` against the fake Bot API."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask.testing import FlaskClient, FlaskCliRunner

from tests.fakes.telegram_api import USERNAME, FakeTelegramAPI, make_update
from tests.fakes.telegram_fixtures import WEBHOOK_SECRET, settings, telegram_api  # noqa: F401
from web.hooks.telegram import SECRET_HEADER


def test_set_webhook_registers_the_public_url_and_the_secret(
    runner: FlaskCliRunner,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    result = runner.invoke(args=["telegram", "set-webhook"])
    assert result.exit_code == 0, result.output
    assert "https://paroles.example/hooks/telegram" in result.output
    assert telegram_api.webhook["url"] == "https://paroles.example/hooks/telegram"
    assert telegram_api.webhook["secret_token"] == WEBHOOK_SECRET
    assert telegram_api.webhook["allowed_updates"] == ["message", "my_chat_member"]


def test_poll_once_answers_through_the_outbox(
    runner: FlaskCliRunner,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    telegram_api.push_update(make_update(31_000_001, "Bonjour"))
    result = runner.invoke(args=["telegram", "poll", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 message(s) reçu(s), 1 réponse(s) envoyée(s)" in result.output
    [(chat, text, markup)] = telegram_api.sent()
    assert chat == "31000001" and "Bonjour" in text
    assert [[b["text"] for b in row] for row in markup["keyboard"]] == [["Oui", "Non"]]


def test_poll_explains_a_registered_webhook(
    runner: FlaskCliRunner,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    assert runner.invoke(args=["telegram", "set-webhook"]).exit_code == 0
    result = runner.invoke(args=["telegram", "poll", "--once"])
    assert result.exit_code == 1
    assert "delete-webhook" in result.output
    assert runner.invoke(args=["telegram", "delete-webhook"]).exit_code == 0
    assert runner.invoke(args=["telegram", "poll", "--once"]).exit_code == 0


def test_link_prints_the_deep_link_of_a_code(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["telegram", "link", "lilas-2026"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"https://t.me/{USERNAME}?start=lilas-2026"
    refused = runner.invoke(args=["telegram", "link", "pas un code"])
    assert refused.exit_code == 1 and "64" in refused.output


def test_commands_say_what_is_missing(runner: FlaskCliRunner, app: Any) -> None:
    runtime = app.extensions["paroles"]
    app.extensions["paroles"] = dataclasses.replace(
        runtime, settings=dataclasses.replace(runtime.settings, telegram_bot_token="")
    )
    result = runner.invoke(args=["telegram", "poll", "--once"])
    assert result.exit_code == 1 and "TELEGRAM_BOT_TOKEN" in result.output


def test_the_worker_delivers_what_the_webhook_queued(
    runner: FlaskCliRunner,
    client: FlaskClient,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    """Webhook mode: the webhook only records; `paroles worker` (or `serve`) sends."""
    update = make_update(31_000_002, "Bonjour")
    response = client.post("/hooks/telegram", json=update, headers={SECRET_HEADER: WEBHOOK_SECRET})
    assert response.status_code == 200 and telegram_api.called("sendMessage") == []
    result = runner.invoke(args=["worker", "--outbox-only", "--exit-when-idle"])
    assert result.exit_code == 0, result.output
    [(chat, text, _)] = telegram_api.sent()
    assert chat == "31000002" and "Bonjour" in text
