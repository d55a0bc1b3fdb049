"""Shared pieces of the outbox, campaign and scheduler tests: a runtime whose `flaky` channel
talks to a real loopback server, bulk participants, and a fixed clock inside sending hours."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from bots.channels import make_channel
from bots.outbox import OPEN_STATUSES, deliver
from bots.runtime import Runtime
from storage.config import load_settings
from storage.crypto import mask
from storage.models import Message, Participant
from tests.conftest import SECRET
from tests.fakes.flaky_channel import FlakyServer

MONDAY_10H = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Paris, an ordinary Monday


def make_runtime(database_url: str, tmp_path: Path, **env: str) -> Runtime:
    from web.cli.database import prepare_database

    settings = load_settings(
        {
            "PAROLES_DATABASE_URL": database_url,
            "PAROLES_SECRET_KEY": SECRET,
            "PAROLES_DATA_DIR": str(tmp_path / "data"),
            **env,
        }
    )
    runtime = Runtime.from_settings(settings)
    prepare_database(runtime)
    return runtime


@pytest.fixture
def flaky_server() -> Iterator[FlakyServer]:
    server = FlakyServer().start()
    yield server
    server.stop()


@pytest.fixture
def flaky_runtime(
    database_url: str, tmp_path: Path, flaky_server: FlakyServer
) -> Iterator[Runtime]:
    runtime = make_runtime(database_url, tmp_path, PAROLES_FLAKY_URL=flaky_server.url)
    yield runtime
    runtime.engine.dispose()


def add_participants(
    runtime: Runtime, count: int, *, channel: str = "flaky", prefix: str = "+3363998", **values: Any
) -> list[int]:
    """Insert `count` consenting participants at once; returns their ids."""
    with runtime.sessions.begin() as session:
        first = session.scalar(select(func.coalesce(func.max(Participant.id), 0))) or 0
        rows = []
        for n in range(count):
            address = f"{prefix}{first + n:05d}"
            rows.append(
                {
                    "pseudonym": runtime.vault.pseudonym(channel, address),
                    "channel": channel,
                    "address_enc": runtime.vault.encrypt(address),
                    "address_mask": mask(address),
                    "consent_at": MONDAY_10H - timedelta(days=30),
                    "first_seen_at": MONDAY_10H - timedelta(days=30),
                    "last_seen_at": MONDAY_10H - timedelta(days=3),
                    "state": {"consent": True},
                    **values,
                }
            )
        session.execute(insert(Participant), rows)
        return list(
            session.scalars(
                select(Participant.id).where(Participant.id > first).order_by(Participant.id)
            )
        )


def open_count(runtime: Runtime, channel: str = "flaky") -> int:
    with runtime.sessions() as session:
        return (
            session.scalar(
                select(func.count(Message.id)).where(
                    Message.channel == channel,
                    Message.direction == "out",
                    Message.status.in_(OPEN_STATUSES),
                )
            )
            or 0
        )


def drain(runtime: Runtime, now: datetime, channel: str = "flaky", rounds: int = 20) -> datetime:
    """Send everything, moving the clock an hour on between rounds (past any backoff)."""
    sender = make_channel(channel, runtime)
    rng = random.Random(1)
    for _ in range(rounds):
        while deliver(runtime, sender, now=now, limit=500, rng=rng):
            pass
        if not open_count(runtime, channel):
            return now
        now += timedelta(hours=1)
    raise AssertionError("the outbox did not drain")
