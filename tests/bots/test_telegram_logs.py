"""No secret in any log line: the logs of a whole Telegram conversation, read line by line.

The conversation goes through every place the bot's token travels: `set-webhook` (token in the
URL, webhook secret in the body), updates posted to the webhook, a photo downloaded from
`/file/bot<TOKEN>/...`, updates fetched by polling, and replies sent by the outbox.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from bots.channels import make_channel
from bots.channels.telegram import client_for
from bots.log_setup import MARK, hide, redact
from bots.outbox import deliver
from bots.runtime import Runtime
from bots.telegram_polling import Poller
from tests.fakes.inbound import drain
from tests.fakes.telegram_api import TOKEN, FakeTelegramAPI, make_photo_update, make_update
from tests.fakes.telegram_fixtures import WEBHOOK_SECRET, settings, telegram_api  # noqa: F401
from web.hooks.telegram import SECRET_HEADER

AMINA, KARIM = 424_242_101, 424_242_102
CLIENT_LOGGERS = ("httpx", "httpcore", "telegram", "twilio", "bots", "web")


def conversation(
    client: FlaskClient, runner: FlaskCliRunner, runtime: Runtime, api: FakeTelegramAPI
) -> None:
    """Webhook set, a survey by webhook, a photo, a habitant by polling, every reply sent."""
    result = runner.invoke(args=["telegram", "set-webhook"])
    assert result.exit_code == 0, result.output
    headers = {SECRET_HEADER: WEBHOOK_SECRET}
    for text in ("/start SCOLARITE", "Oui", "Oui", "2", "4", "Le samedi", "Un local"):
        assert client.post("/hooks/telegram", json=make_update(AMINA, text), headers=headers)
    api.add_file("AgACAgQ-photo-0000000077", b"\xff\xd8 une photo", "photos/p.jpg")
    photo = make_photo_update(AMINA, "AgACAgQ-photo-0000000077", caption="Le banc")
    assert client.post("/hooks/telegram", json=photo, headers=headers).status_code == 200
    assert client.post("/hooks/telegram", json=make_update(AMINA, "Oui"), headers={}).status_code
    runner.invoke(args=["telegram", "delete-webhook"])
    for text in ("/start", "Oui", "Bonjour, la cour est sale"):
        api.push_update(make_update(KARIM, text))
    assert Poller(runtime, client_for(runtime.settings)).poll(timeout=0) == 3
    drain(runtime)
    assert deliver(runtime, make_channel("telegram", runtime)) > 0
    assert len(api.called("download")) == 1 and len(list(api.sent())) >= 10


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every line as a handler writes it: messages, exceptions and stacks."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def test_a_whole_conversation_logs_no_secret_at_the_app_levels(
    client: FlaskClient,
    runner: FlaskCliRunner,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As a `paroles serve` logs: INFO for everything, the app's own levels for HTTP clients."""
    caplog.set_level(logging.INFO)
    conversation(client, runner, runtime, telegram_api)
    lines = logged(caplog)
    assert lines  # the conversation did log (the outbox, the webhook...)
    for secret in (TOKEN, TOKEN.partition(":")[2], WEBHOOK_SECRET, runtime.settings.secret_key):
        assert secret not in lines


def test_even_at_debug_every_line_has_its_secrets_masked(
    client: FlaskClient,
    runner: FlaskCliRunner,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Someone debugging turns every HTTP client up: the URLs logged then hold the token."""
    for name in ("", *CLIENT_LOGGERS):
        caplog.set_level(logging.DEBUG, logger=name)
    conversation(client, runner, runtime, telegram_api)
    lines = logged(caplog)
    assert "/bot" + MARK + "/sendMessage" in lines  # httpx's request line, token masked
    assert "/file/bot" + MARK + "/photos/p.jpg" in lines
    for secret in (TOKEN, TOKEN.partition(":")[2], WEBHOOK_SECRET, runtime.settings.secret_key):
        assert secret not in lines


def test_a_secret_in_an_exception_or_an_argument_is_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hide("tok-1234567890-abcdef")
    log = logging.getLogger("tests.secrets")
    caplog.set_level(logging.INFO, logger="tests.secrets")
    log.info("calling %s", "https://api.example/bottok-1234567890-abcdef/getMe")
    try:
        raise RuntimeError("refused for url 'https://api.example/bottok-1234567890-abcdef/x'")
    except RuntimeError:
        log.exception("the call failed")
    log.info("a 100%% ordinary line with %d args", 2)
    lines = logged(caplog)
    assert "tok-1234567890-abcdef" not in lines
    assert f"calling https://api.example/bot{MARK}/getMe" in lines
    # The exception is logged by its class and place, without its message; the source line
    # the traceback quotes is masked like the rest.
    assert "RuntimeError at tests/bots/test_telegram_logs.py" in lines
    assert f"https://api.example/bot{MARK}/x" in lines
    assert "a 100% ordinary line with 2 args" in lines
    assert redact("short abc") == "short abc"


def test_the_http_clients_request_lines_are_turned_down(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The app logs at INFO, but not the clients' line per request (URLs, numbers, texts)."""
    caplog.set_level(logging.INFO)
    assert logging.getLogger("bots.outbox").isEnabledFor(logging.INFO)
    for name in ("httpx", "httpcore", "twilio.http_client"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
