"""The outbox worker: order, quiet hours, retries, failures, STOP, recovery, rate limits."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bots.campaigns import Target, create_campaign, launch
from bots.channels import SendError, make_channel
from bots.engine import Reply
from bots.handler import enqueue_reply
from bots.outbox import (
    OutboxConfig,
    RateLimiter,
    _claim,
    _start,
    batch_size,
    deliver,
    deliver_batch,
    has_work,
    rate_for,
    recover,
    start_group,
)
from bots.runtime import Runtime
from storage.config import load_settings
from storage.db import transaction
from storage.models import Message, Participant
from tests.bots.campaign_support import MONDAY_10H, add_participants, make_runtime
from tests.bots.campaign_support import flaky_runtime as flaky_runtime
from tests.bots.campaign_support import flaky_server as flaky_server
from tests.conftest import SECRET
from tests.fakes.flaky_channel import FlakyServer

SUNDAY_NOON = datetime(2026, 11, 29, 11, 0, tzinfo=UTC)


class Recorder:
    """An in-memory channel for the cases the flaky server does not cover."""

    name = "flaky"
    rate_per_second = 1000.0

    def __init__(self, fail: SendError | None = None) -> None:
        self.sent: list[int] = []
        self.fail = fail

    def send(self, message: object) -> str:
        if self.fail is not None:
            raise self.fail
        self.sent.append(message.message_id)  # type: ignore[attr-defined]
        return f"rec-{message.message_id}"  # type: ignore[attr-defined]


def queue(runtime: Runtime, participant_id: int, text: str, now: datetime, **values: object) -> int:
    with runtime.sessions.begin() as session:
        participant = session.get(Participant, participant_id)
        assert participant is not None
        message_id = enqueue_reply(session, participant, Reply(text), now=now)
        row = session.get(Message, message_id)
        for key, value in values.items():
            setattr(row, key, value)
        return message_id


def claim(runtime: Runtime, channel: str, limit: int, now: datetime, worker: str) -> list[Any]:
    with transaction(runtime.sessions) as session:
        return _claim(session, runtime, channel, limit, now, worker)


def start(runtime: Runtime, message_id: int, worker: str, now: datetime) -> bool:
    with transaction(runtime.sessions) as session:
        return _start(session, message_id, worker, now)


def row(runtime: Runtime, message_id: int) -> Message:
    with runtime.sessions() as session:
        message = session.get(Message, message_id)
        assert message is not None
        return message


def test_replies_go_before_campaign_messages(flaky_runtime: Runtime) -> None:
    [pid] = add_participants(flaky_runtime, 1)
    campaign = [queue(flaky_runtime, pid, f"c{n}", MONDAY_10H, priority=1) for n in range(3)]
    reply = queue(flaky_runtime, pid, "reply", MONDAY_10H + timedelta(seconds=1))
    channel = Recorder()
    deliver(flaky_runtime, channel, now=MONDAY_10H + timedelta(seconds=2))
    assert channel.sent == [reply, *campaign]


def test_quiet_hours_hold_campaign_messages_but_never_replies(flaky_runtime: Runtime) -> None:
    [pid] = add_participants(flaky_runtime, 1)
    held = queue(flaky_runtime, pid, "invitation", SUNDAY_NOON, priority=1, wait_quiet_hours=True)
    allowed = queue(flaky_runtime, pid, "allowed campaign", SUNDAY_NOON, priority=1)
    reply = queue(flaky_runtime, pid, "reply", SUNDAY_NOON)
    channel = Recorder()
    deliver(flaky_runtime, channel, now=SUNDAY_NOON)
    assert channel.sent == [reply, allowed]
    assert row(flaky_runtime, held).status == "pending"  # waits, not dropped
    deliver(flaky_runtime, channel, now=SUNDAY_NOON + timedelta(days=1))  # Monday 12:00
    assert channel.sent == [reply, allowed, held]


def test_campaign_messages_held_for_the_night_do_not_count_as_work(flaky_runtime: Runtime) -> None:
    [pid] = add_participants(flaky_runtime, 1)
    queue(flaky_runtime, pid, "invitation", SUNDAY_NOON, priority=1, wait_quiet_hours=True)
    assert not has_work(flaky_runtime, "flaky", SUNDAY_NOON)  # `--exit-when-idle` may stop
    assert has_work(flaky_runtime, "flaky", SUNDAY_NOON + timedelta(days=1))


def test_transient_failures_back_off_then_fail_with_the_reason(flaky_runtime: Runtime) -> None:
    [pid] = add_participants(flaky_runtime, 1)
    message_id = queue(flaky_runtime, pid, "bonjour", MONDAY_10H)
    channel = Recorder(SendError("Twilio 503", transient=True, code="503"))
    config = OutboxConfig(max_attempts=3, backoff_seconds=10)
    now = MONDAY_10H
    delays = []
    for _ in range(3):
        assert deliver(flaky_runtime, channel, now=now, config=config) == 0
        message = row(flaky_runtime, message_id)
        if message.status == "pending":
            assert message.next_attempt_at is not None
            delays.append((message.next_attempt_at - now).total_seconds())
            # not due yet: nothing is claimed
            assert deliver_batch(flaky_runtime, channel, now=now, config=config).claimed == 0
            now = message.next_attempt_at
    assert 5 <= delays[0] <= 10 and 10 <= delays[1] <= 20  # doubling, with jitter
    message = row(flaky_runtime, message_id)
    assert (message.status, message.attempts, message.error_code) == ("failed", 3, "503")
    assert message.last_error == "3 tries: Twilio 503"


def test_backoff_is_exponential_capped_and_jittered() -> None:
    config = OutboxConfig(backoff_seconds=2, backoff_cap_seconds=60)
    rng = random.Random(3)
    for attempts, full in [(1, 2), (2, 4), (3, 8), (10, 60)]:
        delays = {config.backoff(attempts, rng).total_seconds() for _ in range(20)}
        assert all(full / 2 <= d <= full for d in delays)
        assert len(delays) > 1  # jitter: workers do not retry in lockstep
    assert config.backoff(1, rng, at_least=30).total_seconds() == 30  # provider's retry_after


def test_permanent_failure_marks_the_participant_unreachable(flaky_runtime: Runtime) -> None:
    [pid] = add_participants(flaky_runtime, 1)
    first = queue(flaky_runtime, pid, "un", MONDAY_10H)
    second = queue(
        flaky_runtime, pid, "deux", MONDAY_10H, next_attempt_at=MONDAY_10H + timedelta(hours=1)
    )
    channel = Recorder(
        SendError("blocked by the user", transient=False, unreachable=True, code="403")
    )
    deliver(flaky_runtime, channel, now=MONDAY_10H)
    assert row(flaky_runtime, first).status == "failed"
    assert row(flaky_runtime, first).last_error == "blocked by the user"
    assert row(flaky_runtime, second).status == "cancelled"
    with flaky_runtime.sessions() as session:
        assert session.get(Participant, pid).unreachable_at == MONDAY_10H  # type: ignore[union-attr]


def test_stop_between_claim_and_send_cancels_but_the_stop_reply_goes(
    flaky_runtime: Runtime,
) -> None:
    [pid] = add_participants(flaky_runtime, 1)
    invitation = queue(flaky_runtime, pid, "invitation", MONDAY_10H, priority=1)
    claimed = claim(flaky_runtime, "flaky", 10, MONDAY_10H, "w1")
    assert [o.message_id for o in claimed] == [invitation]
    stop_at = MONDAY_10H + timedelta(seconds=1)
    with flaky_runtime.sessions.begin() as session:
        session.get(Participant, pid).opted_out_at = stop_at  # type: ignore[union-attr]
    stop_reply = queue(flaky_runtime, pid, "Vous ne recevrez plus de message.", stop_at)
    assert not start(flaky_runtime, invitation, "w1", stop_at)
    assert row(flaky_runtime, invitation).status == "cancelled"
    channel = Recorder()
    deliver(flaky_runtime, channel, now=stop_at)
    assert channel.sent == [stop_reply]


class SlowRecorder(Recorder):
    """Each send takes longer than half the send lease the test sets."""

    def send(self, message: object) -> str:
        time.sleep(0.15)
        return super().send(message)


def test_a_group_not_sent_within_half_the_send_lease_goes_back_to_pending(
    flaky_runtime: Runtime,
) -> None:
    # Past the lease, another worker's recovery may take a `sending` row (and send it again on
    # a channel that can settle): the rest of a group that is late goes back to the queue.
    pids = add_participants(flaky_runtime, 3)
    ids = [queue(flaky_runtime, pid, "x", MONDAY_10H) for pid in pids]
    channel = SlowRecorder()
    config = OutboxConfig(send_lease_seconds=0.2)
    result = deliver_batch(flaky_runtime, channel, now=MONDAY_10H, config=config)
    assert result.claimed == 3 and result.sent == len(channel.sent) < 3
    for message_id in ids:
        message = row(flaky_runtime, message_id)
        if message_id in channel.sent:
            assert (message.status, message.attempts) == ("sent", 1)
        else:  # never handed to the channel: due again, the attempt not counted
            assert (message.status, message.attempts, message.claimed_by) == ("pending", 0, None)


def test_a_worker_that_lost_its_claim_does_not_send(flaky_runtime: Runtime) -> None:
    [pid] = add_participants(flaky_runtime, 1)
    message_id = queue(flaky_runtime, pid, "bonjour", MONDAY_10H)
    claim(flaky_runtime, "flaky", 10, MONDAY_10H, "slow-worker")
    later = MONDAY_10H + timedelta(minutes=5)
    assert recover(flaky_runtime, later)["released"] == 1
    channel = Recorder()
    assert deliver(flaky_runtime, channel, now=later, worker="other") == 1
    assert not start(flaky_runtime, message_id, "slow-worker", later)  # wakes up too late
    assert channel.sent == [message_id]


def test_an_interrupted_send_is_never_sent_again_blindly(flaky_runtime: Runtime) -> None:
    [pid] = add_participants(flaky_runtime, 1)
    message_id = queue(flaky_runtime, pid, "bonjour", MONDAY_10H)
    claim(flaky_runtime, "flaky", 10, MONDAY_10H, "dead")
    assert start(flaky_runtime, message_id, "dead", MONDAY_10H)  # ...then the process died
    assert recover(flaky_runtime, MONDAY_10H + timedelta(minutes=1))["interrupted"] == 0  # lease
    counts = recover(flaky_runtime, MONDAY_10H + timedelta(hours=1))
    assert counts["interrupted"] == 1
    message = row(flaky_runtime, message_id)
    assert (message.status, message.error_code) == ("failed", "interrupted")
    assert "not retried to avoid a duplicate" in (message.last_error or "")


def test_an_interrupted_send_is_settled_by_asking_the_provider(
    database_url: str, tmp_path: Path, flaky_server: FlakyServer
) -> None:
    runtime = fast_retries(database_url, tmp_path, flaky_server, PAROLES_FLAKY_RECONCILE="1")
    flaky_server.transient = flaky_server.permanent = 0
    pids = add_participants(runtime, 2)
    accepted, lost = (queue(runtime, pid, "bonjour", MONDAY_10H) for pid in pids)
    channel = make_channel("flaky", runtime)
    outgoing = {o.message_id: o for o in claim(runtime, "flaky", 10, MONDAY_10H, "dead")}
    for message_id in (accepted, lost):
        assert start(runtime, message_id, "dead", MONDAY_10H)
    channel.send(outgoing[accepted])  # the provider got it; the worker died before recording
    later = MONDAY_10H + timedelta(hours=1)
    counts = recover(runtime, later, channels={"flaky": channel})
    assert (counts["confirmed"], counts["retried"]) == (1, 1)
    assert row(runtime, accepted).status == "sent"
    assert row(runtime, lost).status == "pending"
    deliver(runtime, channel, now=later)
    assert flaky_server.deliveries[accepted] == flaky_server.deliveries[lost] == 1
    runtime.engine.dispose()


def test_erased_address_fails_without_calling_the_channel(flaky_runtime: Runtime) -> None:
    [pid] = add_participants(flaky_runtime, 1)
    message_id = queue(flaky_runtime, pid, "bonjour", MONDAY_10H, address_enc=None)
    channel = Recorder()
    deliver(flaky_runtime, channel, now=MONDAY_10H)
    assert channel.sent == []
    assert row(flaky_runtime, message_id).status == "failed"


def test_rate_limiter_spaces_sends() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(5, clock=lambda: clock[0], sleep=sleep)
    for _ in range(15):
        limiter.wait()
    # a burst of one second's worth, then one every 1/5 s: 15 sends take 2 seconds
    assert clock[0] == pytest.approx(2.0)
    assert len(slept) == 10 and all(s == pytest.approx(0.2) for s in slept)


def test_rate_limiter_spaces_sends_to_one_chat() -> None:
    """Telegram: about one message a second in a chat, whatever the overall rate."""
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    limiter = RateLimiter(25, per_key_interval=1.0, clock=lambda: clock[0], sleep=sleep)
    assert limiter.wait("chat-a") == 0 and limiter.wait("chat-b") == 0
    assert limiter.wait("chat-a") == pytest.approx(1.0)  # waits for chat-a's turn
    assert limiter.wait("chat-b") == pytest.approx(0.0)  # chat-b's second is already over
    assert limiter.wait("chat-c") == 0


def test_rate_comes_from_the_channel_or_the_environment(tmp_path: object) -> None:
    settings = load_settings(
        {
            "PAROLES_SECRET_KEY": SECRET,
            "PAROLES_DATA_DIR": str(tmp_path),
            "PAROLES_RATE_FLAKY": "2.5",
        }
    )
    assert rate_for(Recorder(), settings) == 2.5
    settings = load_settings({"PAROLES_SECRET_KEY": SECRET, "PAROLES_DATA_DIR": str(tmp_path)})
    assert rate_for(Recorder(), settings) == 1000.0
    assert batch_size(1) == 2 and batch_size(25) == 50 and batch_size(1000) == 500


def test_outbox_config_from_environment(tmp_path: object) -> None:
    settings = load_settings(
        {
            "PAROLES_SECRET_KEY": SECRET,
            "PAROLES_DATA_DIR": str(tmp_path),
            "PAROLES_OUTBOX_MAX_ATTEMPTS": "8",
            "PAROLES_OUTBOX_SEND_LEASE_SECONDS": "900",
        }
    )
    config = OutboxConfig.from_settings(settings)
    assert (config.max_attempts, config.send_lease_seconds) == (8, 900)


def test_claimed_rows_are_skipped_by_a_second_claim(flaky_runtime: Runtime) -> None:
    pids = add_participants(flaky_runtime, 3)
    ids = [queue(flaky_runtime, pid, "x", MONDAY_10H) for pid in pids]
    first = claim(flaky_runtime, "flaky", 2, MONDAY_10H, "a")
    second = claim(flaky_runtime, "flaky", 10, MONDAY_10H, "b")
    assert [o.message_id for o in first] == ids[:2]
    assert [o.message_id for o in second] == ids[2:]
    with flaky_runtime.sessions() as session:
        owners = session.scalars(select(Message.claimed_by).order_by(Message.id)).all()
    assert owners == ["a", "a", "b"]


# --- real worker processes ---------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
WORKER = "import tests.fakes.flaky_channel; from web.cli.main import main; main()"


def start_worker(runtime: Runtime) -> subprocess.Popen[str]:
    """`paroles worker --outbox-only --exit-when-idle` in its own process, on this database."""
    env = {
        **os.environ,
        **runtime.settings.extra,
        "PAROLES_DATABASE_URL": runtime.settings.database_url,
        "PAROLES_SECRET_KEY": SECRET,
        "PAROLES_DATA_DIR": str(runtime.settings.data_dir),
    }
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, "worker", "--outbox-only", "--exit-when-idle"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(worker: subprocess.Popen[str]) -> str:
    output, _ = worker.communicate(timeout=180)
    assert worker.returncode == 0, output
    return output


def campaign_of(runtime: Runtime, count: int) -> list[int]:
    """`count` invitations to send now, whatever the hour (the workers use the real clock)."""
    add_participants(runtime, count)
    now = datetime.now(UTC)
    with runtime.sessions.begin() as session:
        campaign = create_campaign(
            session, "scolarite", Target(everyone=True), now=now, allow_quiet_hours=True
        )
    assert launch(runtime, campaign.id, now) == count
    with runtime.sessions() as session:
        return list(session.scalars(select(Message.id).where(Message.kind == "invitation")))


def assert_each_sent_once_or_failed_with_reason(runtime: Runtime, server: FlakyServer) -> None:
    with runtime.sessions() as session:
        rows = session.scalars(select(Message).where(Message.kind == "invitation")).all()
    assert rows and max(server.deliveries.values()) == 1
    assert {m.status for m in rows} <= {"sent", "failed"}
    assert {m.id for m in rows if m.status == "sent"} == set(server.deliveries)
    for message in rows:
        if message.status == "failed":
            assert message.last_error and server.fails_for_good(message.id)


def fast_retries(database_url: str, tmp_path: Path, server: FlakyServer, **env: str) -> Runtime:
    return make_runtime(
        database_url,
        tmp_path,
        PAROLES_FLAKY_URL=server.url,
        PAROLES_OUTBOX_BACKOFF_SECONDS="0.01",
        PAROLES_OUTBOX_MAX_ATTEMPTS="10",
        **env,
    )


@pytest.mark.slow
def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(
    database_url: str, tmp_path: Path, flaky_server: FlakyServer
) -> None:
    runtime = fast_retries(
        database_url,
        tmp_path,
        flaky_server,
        PAROLES_FLAKY_RECONCILE="1",
        PAROLES_OUTBOX_CLAIM_LEASE_SECONDS="1",
        PAROLES_OUTBOX_SEND_LEASE_SECONDS="1",
    )
    campaign_of(runtime, 400)
    flaky_server.hang_on = 150  # the provider accepts the 150th send, then never answers
    first = start_worker(runtime)
    assert flaky_server.hung.wait(120), first.stdout
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    flaky_server.release.set()
    with runtime.sessions() as session:
        left = session.scalars(select(Message.status).where(Message.id == flaky_server.hung_id))
        assert left.one() == "sending"  # killed between the API call and the update

    finish(start_worker(runtime))
    assert_each_sent_once_or_failed_with_reason(runtime, flaky_server)
    with runtime.sessions() as session:
        hung = session.get(Message, flaky_server.hung_id)
        assert hung is not None and hung.status == "sent"  # confirmed with the provider
    runtime.engine.dispose()


def _claimers(runtime: Runtime) -> set[str]:
    with runtime.sessions() as session:
        return set(
            session.scalars(select(Message.claimed_by).where(Message.status == "sending")).all()
        ) - {None}


@pytest.mark.slow
def test_two_workers_share_the_outbox_without_sending_twice(
    database_url: str, tmp_path: Path, flaky_server: FlakyServer
) -> None:
    # The provider holds every send until both workers hold a row: however loaded the machine,
    # the second process is up before the first can drain the outbox alone.
    flaky_server.gate = threading.Event()
    runtime = fast_retries(
        database_url,
        tmp_path,
        flaky_server,
        PAROLES_OUTBOX_SEND_LEASE_SECONDS="120",
        PAROLES_OUTBOX_BATCH_ROWS="100",  # 400 rows: a batch for each worker, and more
    )
    campaign_of(runtime, 400)
    workers = [start_worker(runtime), start_worker(runtime)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_claimers(runtime)) < 2:
        time.sleep(0.05)
    flaky_server.gate.set()
    for worker in workers:
        finish(worker)
    assert_each_sent_once_or_failed_with_reason(runtime, flaky_server)
    with runtime.sessions() as session:
        owners = session.scalars(select(Message.claimed_by).where(Message.status == "sent"))
        pids = {owner.split(":")[1] for owner in owners if owner}
    assert pids == {str(w.pid) for w in workers}  # both took their share
    runtime.engine.dispose()


# --- one failure stays where it happened (issue 16, item 2) ----------------------------------


class SameIdRecorder(Recorder):
    """A provider that answers with an id already recorded on another row."""

    def send(self, message: object) -> str:
        super().send(message)
        return "rec-already"


def test_a_provider_id_already_recorded_marks_that_message_and_the_others_go_on(
    flaky_runtime: Runtime,
) -> None:
    pids = add_participants(flaky_runtime, 4)
    earlier = queue(flaky_runtime, pids[0], "hier", MONDAY_10H, status="sent")
    with flaky_runtime.sessions.begin() as session:
        session.get(Message, earlier).provider_id = "rec-already"  # type: ignore[union-attr]
    ids = [queue(flaky_runtime, pid, "bonjour", MONDAY_10H) for pid in pids[1:]]
    channel = SameIdRecorder()
    assert deliver(flaky_runtime, channel, now=MONDAY_10H) == 3
    assert channel.sent == ids
    rows = [row(flaky_runtime, i) for i in ids]
    assert [r.status for r in rows] == ["sent"] * 3  # the provider accepted each of them
    assert [r.provider_id for r in rows] == [None] * 3
    assert all("already recorded" in (r.last_error or "") for r in rows)
    assert row(flaky_runtime, earlier).provider_id == "rec-already"


class Exploding(Recorder):
    """A channel with a bug: something other than SendError escapes from `send`."""

    name = "simulator"

    def send(self, message: object) -> str:
        raise RuntimeError("bug in a channel")


def test_a_broken_channel_does_not_stop_the_other_channels(
    flaky_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bots import outbox, scheduler

    real_make = outbox.make_channel
    monkeypatch.setattr(
        outbox,
        "make_channel",
        lambda name, runtime: Exploding() if name == "simulator" else real_make(name, runtime),
    )
    flaky_server_pids = add_participants(flaky_runtime, 1)
    sim_pids = add_participants(flaky_runtime, 1, channel="simulator", prefix="sim-")
    queue(flaky_runtime, sim_pids[0], "boum", MONDAY_10H)
    service = scheduler.Service(
        flaky_runtime, scheduler=False, channels=("simulator", "flaky"), idle_pause=0.05
    )
    service.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(
            s == "pending" for s in _statuses(flaky_runtime, "simulator")
        ):
            time.sleep(0.05)
        # A writing transaction (BEGIN IMMEDIATE on SQLite) while the senders write too.
        with transaction(flaky_runtime.sessions) as session:
            participant = session.get(Participant, flaky_server_pids[0])
            assert participant is not None
            later = enqueue_reply(session, participant, Reply("ça passe"), now=datetime.now(UTC))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and row(flaky_runtime, later).status != "sent":
            time.sleep(0.05)
        assert row(flaky_runtime, later).status == "sent"
        assert not service.stop_event.is_set()
    finally:
        service.stop()


def _statuses(runtime: Runtime, channel: str) -> list[str]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Message.status).where(Message.channel == channel)))


# --- groups of rows started in one commit (issue 17) -------------------------------------------


class Settling(Recorder):
    def find_sent(self, message: object, since: datetime) -> list[str]:
        return []


def test_how_many_rows_a_crash_can_leave_sending() -> None:
    assert start_group(Recorder(), 1000.0, 100, 0.1) == 100  # fast: a tenth of a second
    assert start_group(Recorder(), 25.0, 50, 0.1) == 2  # Telegram's pace: as good as one
    assert start_group(Recorder(), 1.0, 2, 0.1) == 1
    assert start_group(Recorder(), 1000.0, 100, 0.0) == 1  # the old way, one at a time
    assert start_group(Settling(), 1.0, 2, 0.1) == 2  # recovery asks the provider for each
    wa = Settling()
    wa.one_at_a_time = True  # type: ignore[attr-defined]
    assert start_group(wa, 1000.0, 100, 0.1) == 1


class BrokenOnSecond(Recorder):
    def send(self, message: object) -> str:
        if len(self.sent) == 1:
            raise RuntimeError("bug in a channel")
        return super().send(message)


def test_a_bug_mid_group_leaves_only_its_row_sending_and_the_untried_rows_due(
    flaky_runtime: Runtime,
) -> None:
    pids = add_participants(flaky_runtime, 4)
    ids = [queue(flaky_runtime, pid, "bonjour", MONDAY_10H) for pid in pids]
    channel = BrokenOnSecond()
    with pytest.raises(RuntimeError):
        deliver(flaky_runtime, channel, now=MONDAY_10H)
    rows = [row(flaky_runtime, i) for i in ids]
    assert [(r.status, r.attempts) for r in rows] == [
        ("sent", 1),  # recorded although the batch stopped
        ("sending", 1),  # may have gone out: recovery settles it, never blindly again
        ("pending", 0),  # never handed to the channel: simply due again
        ("pending", 0),
    ]
    assert rows[0].provider_id == f"rec-{ids[0]}"
    assert deliver(flaky_runtime, Recorder(), now=MONDAY_10H) == 2


def test_a_group_is_started_and_recorded_in_bulk_each_row_as_before(
    flaky_runtime: Runtime,
) -> None:
    pids = add_participants(flaky_runtime, 5)
    ids = [queue(flaky_runtime, pid, "bonjour", MONDAY_10H) for pid in pids]
    with flaky_runtime.sessions.begin() as session:  # the third habitant said STOP meanwhile
        session.get(Participant, pids[2]).opted_out_at = MONDAY_10H + timedelta(seconds=1)  # type: ignore[union-attr]
    channel = Recorder()
    later = MONDAY_10H + timedelta(seconds=2)
    assert deliver(flaky_runtime, channel, now=later) == 4
    assert channel.sent == [i for n, i in enumerate(ids) if n != 2]
    rows = [row(flaky_runtime, i) for i in ids]
    assert [r.status for r in rows] == ["sent", "sent", "cancelled", "sent", "sent"]
    for r in rows:
        if r.status == "sent":
            assert (r.provider_id, r.attempts, r.sent_at) == (f"rec-{r.id}", 1, later)
