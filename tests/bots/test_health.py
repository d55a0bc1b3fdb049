"""Is Paroles working: the scheduler's lease and an outbox that moves."""

from __future__ import annotations

from datetime import datetime, timedelta

from bots.health import STUCK_AFTER, check
from bots.runtime import Runtime
from bots.scheduler import acquire_lease, release_lease
from storage.db import transaction
from storage.models import Message
from tests.bots.campaign_support import MONDAY_10H
from tests.factories import make_inbound

NOW = MONDAY_10H


def queue(
    runtime: Runtime,
    *,
    due: timedelta,
    sent: timedelta | None = None,
    at: datetime = NOW,
    quiet: bool = False,
) -> None:
    """One outgoing row due since `due` before `at`, and optionally one sent `sent` before."""
    with transaction(runtime.sessions) as session:
        session.add(
            Message(
                direction="out",
                channel="sms",
                body="Bonjour",
                status="pending",
                next_attempt_at=at - due,
                wait_quiet_hours=quiet,
            )
        )
        if sent is not None:
            session.add(
                Message(
                    direction="out",
                    channel="sms",
                    body="Merci",
                    status="sent",
                    next_attempt_at=at - sent,
                    sent_at=at - sent,
                )
            )


def test_without_a_scheduler_nothing_is_ok(runtime: Runtime) -> None:
    state = check(runtime, NOW)
    assert (state.scheduler_alive, state.outbox_stuck, state.ok) == (False, False, False)
    acquire_lease(runtime, "host:1:a", NOW)
    assert check(runtime, NOW).ok
    assert not check(runtime, NOW + timedelta(minutes=5)).scheduler_alive  # the lease expired
    release_lease(runtime, "host:1:a")


def test_messages_due_long_ago_with_nothing_sent_since_is_stuck(runtime: Runtime) -> None:
    acquire_lease(runtime, "host:1:a", NOW)
    queue(runtime, due=STUCK_AFTER + timedelta(minutes=2), sent=timedelta(hours=3))
    state = check(runtime, NOW)
    assert (state.due, state.waiting_minutes, state.outbox_stuck, state.ok) == (1, 12, True, False)


def test_a_long_campaign_going_out_is_not_stuck(runtime: Runtime) -> None:
    acquire_lease(runtime, "host:1:a", NOW)
    queue(runtime, due=timedelta(minutes=40), sent=timedelta(seconds=3))
    assert check(runtime, NOW).ok


def test_messages_just_due_or_parked_for_the_morning_are_not_stuck(runtime: Runtime) -> None:
    night = NOW.replace(hour=22)  # 23:00 in Paris: campaign messages wait for the morning
    acquire_lease(runtime, "host:1:a", night)
    queue(runtime, due=timedelta(hours=1), at=night, quiet=True)
    queue(runtime, due=timedelta(minutes=2), at=night)  # a reply, due a moment ago
    state = check(runtime, night)
    assert (state.due, state.waiting_minutes, state.ok) == (1, 2, True)
    morning = check(runtime, night + timedelta(hours=11))  # 10:00: both due, nothing sent
    assert (morning.due, morning.outbox_stuck) == (2, True)


def received(runtime: Runtime, *, ago: timedelta, status: str = "recorded") -> None:
    """One inbound message a webhook recorded `ago` before NOW, still in `status`."""
    with transaction(runtime.sessions) as session:
        make_inbound(session, status=status, created_at=NOW - ago)


def test_received_messages_nobody_processes_are_not_ok(runtime: Runtime) -> None:
    acquire_lease(runtime, "test:1:a", NOW)
    received(runtime, ago=timedelta(minutes=2))
    state = check(runtime, NOW)
    assert state.ok and state.received_waiting == 1 and not state.inbound_stuck
    received(runtime, ago=STUCK_AFTER + timedelta(minutes=5))
    state = check(runtime, NOW)
    assert not state.ok and state.inbound_stuck and not state.outbox_stuck
    assert (state.received_waiting, state.received_minutes) == (2, 15)


def test_messages_given_up_on_are_counted_for_a_week_without_failing_the_probe(
    runtime: Runtime,
) -> None:
    acquire_lease(runtime, "test:1:a", NOW)
    received(runtime, ago=timedelta(days=1), status="failed")
    received(runtime, ago=timedelta(days=8), status="failed")
    received(runtime, ago=timedelta(days=1), status="processed")
    state = check(runtime, NOW)
    assert state.ok and state.received_failed == 1 and state.received_waiting == 0
