"""Pytest fixtures for Telegram tests: the fake Bot API and settings that point at it.

Import them into a test module: `from tests.fakes.telegram_fixtures import settings, telegram_api`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from bots.channels.telegram import close_clients
from storage.config import Settings
from tests.fakes.telegram_api import TOKEN, FakeTelegramAPI

WEBHOOK_SECRET = "s3cret-webhook_token"


@pytest.fixture
def telegram_api() -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI() as api:
        yield api
        close_clients()  # the bot's loop thread and connections, before the server goes


@pytest.fixture
def settings(settings: Settings, telegram_api: FakeTelegramAPI) -> Settings:
    """The usual test settings, with a Telegram bot whose API is the local fake."""
    return dataclasses.replace(
        settings,
        public_url="https://paroles.example",
        telegram_bot_token=TOKEN,
        telegram_webhook_secret=WEBHOOK_SECRET,
        telegram_api_base_url=telegram_api.url,
    )
