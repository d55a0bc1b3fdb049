"""The delivery fault test (issue 16): a campaign to a few hundred habitants on PostgreSQL, a
provider failing transiently, permanently and "accepted then 500", a worker SIGKILLed in the
middle of a send and two workers taking over. Counted per habitant: nobody lost, nobody twice.

The provider is the loopback stand-in of `tests/fakes/flaky_channel.py`, which records every
message it accepted, whichever worker sent it and whether that worker lived to record it; the
workers are real `paroles worker --outbox-only --exit-when-idle` processes sharing the outbox
with `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from bots.runtime import Runtime
from storage.models import Message
from tests.bots.campaign_support import flaky_server as flaky_server  # noqa: F401
from tests.bots.test_outbox import campaign_of, fast_retries, finish, start_worker
from tests.conftest import _truncate_postgres
from tests.fakes.flaky_channel import FlakyServer

HABITANTS = 300


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("_postgres_ready")
    _truncate_postgres(url)
    return url


def per_habitant(runtime: Runtime, server: FlakyServer) -> tuple[list[int], list[int]]:
    """(lost, duplicated): habitants whose invitation the provider never accepted although it
    could have, and habitants who received it more than once."""
    received: Counter[int] = Counter()
    refused: set[int] = set()
    with runtime.sessions() as session:
        rows = session.execute(
            select(Message.id, Message.participant_id, Message.status).where(
                Message.kind == "invitation"
            )
        ).all()
    assert len(rows) == HABITANTS
    for message_id, participant_id, status in rows:
        received[participant_id] += server.deliveries[message_id]
        if server.fails_for_good(message_id):
            assert status == "failed"  # refused by the provider, and said so
            refused.add(participant_id)
    lost = [p for _, p, _ in rows if received[p] == 0 and p not in refused]
    duplicated = [p for p, n in received.items() if n > 1]
    return lost, duplicated


@pytest.mark.slow
def test_nobody_is_lost_and_nobody_gets_the_invitation_twice(
    postgres_url: str,
    tmp_path: Path,
    flaky_server: FlakyServer,  # noqa: F811
) -> None:
    flaky_server.accepted_then_500 = 0.03
    runtime = fast_retries(
        postgres_url,
        tmp_path,
        flaky_server,
        PAROLES_FLAKY_RECONCILE="1",
        PAROLES_OUTBOX_CLAIM_LEASE_SECONDS="1",
        PAROLES_OUTBOX_SEND_LEASE_SECONDS="1",
    )
    campaign_of(runtime, HABITANTS)
    flaky_server.hang_on = 80  # the provider accepts the 80th send, then never answers
    first = start_worker(runtime)
    assert flaky_server.hung.wait(120), first.stdout
    first.send_signal(signal.SIGKILL)  # killed between the provider's "yes" and the record
    first.communicate(timeout=30)
    flaky_server.release.set()

    workers = [start_worker(runtime), start_worker(runtime)]  # restarted, and a second one
    for worker in workers:
        finish(worker)

    lost, duplicated = per_habitant(runtime, flaky_server)
    assert (len(lost), len(duplicated)) == (0, 0), (lost, duplicated)
    with runtime.sessions() as session:
        statuses = Counter(
            session.scalars(select(Message.status).where(Message.kind == "invitation"))
        )
        hung = session.get(Message, flaky_server.hung_id)
        assert hung is not None and hung.status == "sent"  # settled with the provider
    assert set(statuses) <= {"sent", "failed"}
    # The faults did happen: accepted-then-500 sends were settled, not sent again.
    ambiguous = [
        m
        for m, n in flaky_server.attempts.items()
        if any(flaky_server.accepts_then_fails(m, a) for a in range(1, n + 1))
    ]
    assert ambiguous and all(flaky_server.deliveries[m] == 1 for m in ambiguous)
    runtime.engine.dispose()
