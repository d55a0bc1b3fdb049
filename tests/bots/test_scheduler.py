"""One scheduler per database (a lease), its jobs, and the service `paroles worker` runs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bots import campaigns
from bots.campaigns import Target
from bots.engine import Reply
from bots.handler import enqueue_reply
from bots.runtime import Runtime
from bots.scheduler import (
    JOBS,
    SchedulerBusy,
    Service,
    acquire_lease,
    release_lease,
    renew_lease,
    start_in_serve,
)
from storage.db import transaction
from storage.models import Message, Participant, SchedulerLease
from tests.bots.campaign_support import MONDAY_10H, add_participants

T0 = MONDAY_10H


def test_a_second_scheduler_is_refused_until_the_lease_expires(runtime: Runtime) -> None:
    acquire_lease(runtime, "vm:101:a", T0)
    acquire_lease(runtime, "vm:101:a", T0 + timedelta(seconds=10))  # the holder renews
    with pytest.raises(SchedulerBusy) as refused:
        acquire_lease(runtime, "vm:202:b", T0 + timedelta(seconds=30))
    assert "Un planificateur tourne déjà sur cette base (vm:101:a" in str(refused.value)
    assert "--outbox-only" in str(refused.value)

    assert renew_lease(runtime, "vm:101:a", T0 + timedelta(seconds=40))
    assert not renew_lease(runtime, "vm:202:b", T0 + timedelta(seconds=40))
    with pytest.raises(SchedulerBusy):
        acquire_lease(runtime, "vm:202:b", T0 + timedelta(seconds=90))
    # The holder died without releasing: once the lease has expired, another may take it.
    acquire_lease(runtime, "vm:202:b", T0 + timedelta(seconds=101))
    assert not renew_lease(runtime, "vm:101:a", T0 + timedelta(seconds=102))  # it must stop
    release_lease(runtime, "vm:202:b")
    acquire_lease(runtime, "vm:303:c", T0 + timedelta(seconds=103))  # released: free at once


def test_the_jobs_are_plain_functions_of_the_runtime_and_the_clock() -> None:
    assert {job.id for job in JOBS} == {
        "campaigns",
        "retention",
        "statistics",
        "spool",
        "telegram-media",
        "personal-data",
        "translations",
        "whatsapp-media",
    }
    assert {job.function.__name__ for job in JOBS} == {
        "campaign_jobs",
        "detect_pending",
        "purge",
        "refresh_statistics",
        "replay",
        "fetch_missed_media",
        "translate_pending",
    }


def test_campaign_jobs_with_an_injected_clock(runtime: Runtime) -> None:
    add_participants(runtime, 2, channel="simulator")
    with runtime.sessions.begin() as session:
        campaign = campaigns.create_campaign(
            session,
            "scolarite",
            Target(everyone=True),
            now=T0,
            starts_at=T0 + timedelta(hours=1),
            closes_at=T0 + timedelta(days=1),
        )
    assert campaigns.campaign_jobs(runtime, T0)["invited"] == 0  # not yet
    assert campaigns.campaign_jobs(runtime, T0 + timedelta(hours=1))["invited"] == 2
    assert campaigns.campaign_jobs(runtime, T0 + timedelta(hours=2))["invited"] == 0
    assert campaigns.campaign_jobs(runtime, T0 + timedelta(days=1))["closed"] == 1
    with runtime.sessions() as session:
        assert session.get(type(campaign), campaign.id).status == "closed"  # type: ignore[union-attr]


def wait_for(condition: Any, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def sent_invitations(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return (
            session.scalar(
                select(func.count(Message.id)).where(
                    Message.kind == "invitation", Message.status == "sent"
                )
            )
            or 0
        )


def test_the_service_launches_due_campaigns_and_sends_them(runtime: Runtime) -> None:
    add_participants(runtime, 3, channel="simulator")
    now = datetime.now(UTC)
    with runtime.sessions.begin() as session:  # what the back-office would write
        campaigns.create_campaign(
            session, "scolarite", Target(everyone=True), now=now, allow_quiet_hours=True
        )
    service = Service(runtime, channels=("simulator",))
    service.start()
    try:
        wait_for(lambda: sent_invitations(runtime) == 3)
        with pytest.raises(SchedulerBusy):
            Service(runtime, channels=("simulator",)).start()
        waiting = start_in_serve(runtime)  # `paroles serve` next to a worker: it waits
        assert waiting.standing_by and waiting._scheduler is None and not waiting._threads
        waiting.stop()
    finally:
        service.stop()
    assert service.errors == []
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SchedulerLease)) == 0
    again = Service(runtime, channels=("simulator",), outbox=False)
    again.start()  # released on stop: a restart does not wait for the lease to expire
    again.stop()


def test_an_outbox_only_service_needs_no_lease(runtime: Runtime) -> None:
    acquire_lease(runtime, "elsewhere:1:x", datetime.now(UTC))
    service = Service(runtime, scheduler=False, channels=("simulator",), exit_when_idle=True)
    service.start()
    assert service.wait(poll=0.05) == 0


def test_paroles_worker_refuses_when_a_scheduler_runs(runner: Any, runtime: Runtime) -> None:
    acquire_lease(runtime, "vm:4242:other", datetime.now(UTC))
    result = runner.invoke(args=["worker"])
    assert result.exit_code == 1
    assert "Un planificateur tourne déjà sur cette base (vm:4242:other" in result.output


def test_paroles_worker_drains_and_exits_when_idle(runner: Any, runtime: Runtime) -> None:
    add_participants(runtime, 2, channel="simulator")
    now = datetime.now(UTC)
    with runtime.sessions.begin() as session:
        campaign = campaigns.create_campaign(
            session, "scolarite", Target(everyone=True), now=now, allow_quiet_hours=True
        )
    campaigns.launch(runtime, campaign.id, now)
    result = runner.invoke(args=["worker", "--outbox-only", "--exit-when-idle"])
    assert result.exit_code == 0, result.output
    assert "Paroles worker prêt (envois : simulator)" in result.output
    assert sent_invitations(runtime) == 2


def test_a_scheduler_that_lost_its_lease_stops(runtime: Runtime) -> None:
    service = Service(runtime, channels=("simulator",), outbox=False)
    service.start()
    # Another process took over after an outage. A writing transaction (BEGIN IMMEDIATE on
    # SQLite): it waits for the jobs the scheduler runs at start instead of failing "locked".
    with transaction(runtime.sessions) as session:
        session.get(SchedulerLease, "scheduler").holder = "vm:9:other"  # type: ignore[union-attr]
    service._renew()
    assert service.wait(poll=0.05) == 1
    assert "bail du planificateur a été perdu" in service.errors[0]


def test_a_serve_that_finds_the_lease_held_takes_over_once_it_expires(runtime: Runtime) -> None:
    """Issue 16, item 1: a quick restart after a crash must not stop sending for good."""
    now = datetime.now(UTC)
    acquire_lease(runtime, "vm:1:crashed", now, seconds=1.5)  # died without releasing it
    [pid] = add_participants(runtime, 1, channel="simulator")
    with transaction(runtime.sessions) as session:
        participant = session.get(Participant, pid)
        assert participant is not None
        message_id = enqueue_reply(session, participant, Reply("Bonjour"), now=now)
    service = start_in_serve(runtime, retry_seconds=0.1)
    try:
        assert service.standing_by
        wait_for(lambda: lease_holder(runtime) == service.holder)
        wait_for(lambda: message_status(runtime, message_id) == "sent")
        assert not service.standing_by and service.errors == []
    finally:
        service.stop()
    assert lease_holder(runtime) is None  # released on stop: the next start is immediate


def test_a_standing_by_serve_stops_cleanly(runtime: Runtime) -> None:
    acquire_lease(runtime, "vm:2:worker", datetime.now(UTC))
    service = start_in_serve(runtime, retry_seconds=0.05)
    service.stop()
    assert lease_holder(runtime) == "vm:2:worker"  # a lease it never held is not touched


def lease_holder(runtime: Runtime) -> str | None:
    with runtime.sessions() as session:
        lease = session.get(SchedulerLease, "scheduler")
        return lease.holder if lease is not None else None


def message_status(runtime: Runtime, message_id: int) -> str:
    with runtime.sessions() as session:
        row = session.get(Message, message_id)
        assert row is not None
        return row.status
