"""The outbox: every outgoing message is a row before it is sent, and is sent at most once.

A row goes `pending -> claimed -> sending -> sent`, or back to `pending` after a transient
failure (exponential backoff with jitter), or to `failed` with its reason (a permanent error,
too many tries, an interrupted send), or to `cancelled` (STOP, erasure, campaign closed).

How one worker sends one batch of a channel:

1. **claim** (one short transaction, one `UPDATE ... FROM (SELECT ... LIMIT n) RETURNING`): the
   due `pending` rows, replies before campaign messages, become `claimed` by this worker (`FOR
   UPDATE SKIP LOCKED` on PostgreSQL, so several workers never take the same row; SQLite
   serialises writers with `BEGIN IMMEDIATE`). Campaign rows are left alone during quiet hours.
   A claimed row has not been handed to the provider yet, so a claim left behind by a dead
   worker simply goes back to `pending`.
2. **start** (one statement for a group of rows, see `start_group`): `claimed -> sending`, only
   for the rows this worker still holds whose habitant has not said STOP since they were
   written. The attempt is counted here, before the API call, and committed before it. When
   the group is the whole batch, the claim's statement starts the rows itself (`pending ->
   sending`, with the same STOP check). A group is handed to the channel within half the send
   lease of its start; what is left then goes back to `pending`, so that no other worker's
   recovery can take a row while it is being sent.
3. **send** (after the rate limiter): the channel's API call, row by row.
4. **record**: `sent` with the provider's id (one statement for the group: arrays of ids,
   provider ids, units and times on PostgreSQL, an executemany on SQLite), or the failure. To
   pay one commit per group, not per message, the outcomes of a group are committed in the
   same transaction as the start of the next one (and at the end of the batch, even if the
   channel raised something unexpected; rows started but not handed to the channel then go
   back to `pending`).

What remains of "never sent twice": neither Twilio's Messages API nor Telegram's sendMessage
takes an idempotency key, so if the process dies after the provider accepted a message and
before step 4 commits, the row stays `sending`. Only the rows of one group per worker can be in
this state, and the window is their API calls, the rate limiter's pauses between them and one
commit. A `sending` row older than the send lease (longer than any channel's HTTP timeout) is
recovered: if the channel can ask the provider what it accepted (an optional `find_sent`, see
`bots.channels.Channel`; SMS and WhatsApp have it, Telegram's Bot API cannot list sent
messages), the answer decides between `sent` with the provider's id and a retry, which is safe
because the provider has no such message; otherwise the row is marked `failed` with code
`interrupted`. We prefer a message possibly lost (and visible as such) to a message possibly
sent twice; that is why a channel without `find_sent` starts small groups (about a tenth of a
second of its sending, `PAROLES_OUTBOX_START_WINDOW_SECONDS`; one row at a time at Telegram's
pace), while one that can settle starts the whole batch at once.

The same holds when the provider answers, but ambiguously: a 5xx or a timeout after the request
went out (`SendError.ambiguous`; Twilio sometimes accepts a message and then fails to say so).
On a channel with `find_sent`, such a row stays `sending` with code `ambiguous` and is settled
the same way at the next recovery after a short backoff, before any retry; elsewhere it is an
ordinary transient failure.

Rate limits are per channel and per worker process: each channel's `rate_per_second`, or
`PAROLES_RATE_<CHANNEL>` (e.g. `PAROLES_RATE_SMS=1` for a single Twilio long code). With
several workers, divide the provider's limit between them.
"""

from __future__ import annotations

import logging
import math
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Exists,
    Integer,
    Table,
    any_,
    bindparam,
    case,
    exists,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import InstrumentedAttribute, Session

from bots.channels import Channel, Outgoing, SendError, Sent, make_channel
from bots.quiet_hours import is_quiet
from bots.reachability import mark_unreachable
from bots.runtime import Runtime
from storage.config import Settings
from storage.db import begin_write, transaction
from storage.models import Message, Participant

log = logging.getLogger(__name__)

# Still waiting to be sent (used by the campaign jobs and `--exit-when-idle`).
OPEN_STATUSES = ("pending", "claimed", "sending")


@dataclass(frozen=True)
class OutboxConfig:
    """Retry and recovery settings; each can be set by a `PAROLES_OUTBOX_*` variable."""

    max_attempts: int = 5
    backoff_seconds: float = 2.0  # the first retry waits about this long, then doubles
    backoff_cap_seconds: float = 3600.0
    claim_lease_seconds: float = 60.0  # a claim not started within this goes back to pending
    send_lease_seconds: float = 600.0  # longer than any channel's HTTP timeout
    start_window_seconds: float = 0.1  # see `start_group`
    batch_rows: int = 500  # rows claimed at most by one batch (see `batch_size`)

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxConfig:
        env = settings.extra
        defaults = cls()
        return cls(
            max_attempts=int(env.get("PAROLES_OUTBOX_MAX_ATTEMPTS", defaults.max_attempts)),
            backoff_seconds=float(
                env.get("PAROLES_OUTBOX_BACKOFF_SECONDS", defaults.backoff_seconds)
            ),
            backoff_cap_seconds=float(
                env.get("PAROLES_OUTBOX_BACKOFF_CAP_SECONDS", defaults.backoff_cap_seconds)
            ),
            claim_lease_seconds=float(
                env.get("PAROLES_OUTBOX_CLAIM_LEASE_SECONDS", defaults.claim_lease_seconds)
            ),
            send_lease_seconds=float(
                env.get("PAROLES_OUTBOX_SEND_LEASE_SECONDS", defaults.send_lease_seconds)
            ),
            start_window_seconds=float(
                env.get("PAROLES_OUTBOX_START_WINDOW_SECONDS", defaults.start_window_seconds)
            ),
            batch_rows=int(env.get("PAROLES_OUTBOX_BATCH_ROWS", defaults.batch_rows)),
        )

    def backoff(self, attempts: int, rng: random.Random, at_least: float = 0.0) -> timedelta:
        """Exponential, capped, with "equal jitter": between half and all of the full delay."""
        full = min(self.backoff_cap_seconds, self.backoff_seconds * 2 ** max(0, attempts - 1))
        return timedelta(seconds=max(at_least, full / 2 + rng.uniform(0, full / 2)))


def rate_for(channel: Channel, settings: Settings) -> float:
    """Messages per second for this channel: `PAROLES_RATE_<CHANNEL>` or the channel's own."""
    configured = settings.extra.get(f"PAROLES_RATE_{channel.name.upper()}")
    return float(configured) if configured else float(channel.rate_per_second)


class RateLimiter:
    """A token bucket holding one second's worth of sends; `wait()` sleeps until one is free.

    With `per_key_interval`, two sends to the same address are also spaced by that much
    (Telegram allows about one message a second in a chat).
    """

    def __init__(
        self,
        rate: float,
        *,
        per_key_interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("a rate limit must be positive")
        self.rate = rate
        self.per_key_interval = per_key_interval
        self._last_by_key: dict[str, float] = {}
        self.capacity = max(1.0, rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._last = clock()

    def wait(self, key: str | None = None) -> float:
        """Take one token (and the key's turn), sleeping first if need be; returns the sleep."""
        slept = self._wait_for_key(key) if key is not None and self.per_key_interval else 0.0
        return slept + self._take_token()

    def _wait_for_key(self, key: str) -> float:
        now = self._clock()
        if len(self._last_by_key) > 10_000:  # forget addresses whose turn is long past
            horizon = now - self.per_key_interval
            self._last_by_key = {k: t for k, t in self._last_by_key.items() if t > horizon}
        slept = max(0.0, self._last_by_key.get(key, -math.inf) + self.per_key_interval - now)
        if slept:
            self._sleep(slept)
        self._last_by_key[key] = now + slept
        return slept

    def _take_token(self) -> float:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        slept = 0.0
        if self._tokens < 1:
            slept = (1 - self._tokens) / self.rate
            self._sleep(slept)
            self._last = self._clock()
            self._tokens = 1.0
        self._tokens -= 1
        return slept


def batch_size(rate: float, limit: int = 500) -> int:
    """About two seconds of sending, so that a reply never waits long behind a campaign; 500
    rows at most (a fast channel: two commits per 500 rows)."""
    return max(1, min(limit, math.ceil(rate * 2)))


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


Outcome = Callable[[Session], None]


@dataclass(frozen=True)
class BatchResult:
    claimed: int = 0
    sent: int = 0


def deliver(runtime: Runtime, channel: Channel, **options: Any) -> int:
    """Send up to `limit` due messages of `channel`; returns how many were sent.

    Takes the options of `deliver_batch`; `now` fixes the clock (tests), by default each step
    reads the real time.
    """
    return deliver_batch(runtime, channel, **options).sent


def deliver_batch(
    runtime: Runtime,
    channel: Channel,
    *,
    limit: int = 100,
    now: datetime | None = None,
    worker: str | None = None,
    limiter: RateLimiter | None = None,
    config: OutboxConfig | None = None,
    rng: random.Random | None = None,
) -> BatchResult:
    def clock() -> datetime:
        return now or datetime.now(UTC)

    worker = worker or new_worker_id()
    config = config or OutboxConfig.from_settings(runtime.settings)
    rng = rng or random.Random()
    settles = getattr(channel, "find_sent", None) is not None
    rate = limiter.rate if limiter is not None else rate_for(channel, runtime.settings)
    group = start_group(channel, rate, limit, config.start_window_seconds)
    # A started row must be handed to the channel well within the send lease: past it, another
    # worker's recovery may settle it as interrupted (and, on a channel that can ask the
    # provider, send it again). Past half the lease, the rest of the group goes back to pending.
    deadline = config.send_lease_seconds / 2
    # One session (one connection) for the batch, one short transaction per group of rows.
    with runtime.sessions() as session:
        with session.begin():  # the claim, and the start of the first group
            begin_write(session)
            group_started = time.monotonic()  # before the rows' `claimed_at`
            if group >= limit:  # one statement claims and starts the whole batch
                claimed = _claim(session, runtime, channel.name, limit, clock(), worker, start=True)
                started = set(_ids(claimed))
            else:
                claimed = _claim(session, runtime, channel.name, limit, clock(), worker)
                started = set()
            groups = [claimed[n : n + group] for n in range(0, len(claimed), group)]
            if groups and not started:
                started = _start_many(session, _ids(groups[0]), worker, clock())
        session.expunge_all()  # later reads must see the updates made with plain SQL
        sent = 0
        done = _Outcomes(worker)  # of the previous group, committed with the next start
        mine: list[Outgoing] = []  # the group's rows this worker started...
        handed = 0  # ... and how many of them it handed to the channel
        try:
            for index, rows in enumerate(groups):
                if index:
                    with session.begin():
                        begin_write(session)
                        done.record(session)
                        _unstart(session, _ids(mine[handed:]), worker)
                        group_started = time.monotonic()
                        started = _start_many(session, _ids(rows), worker, clock())
                mine, handed = [o for o in rows if o.message_id in started], 0
                for outgoing in mine:
                    if limiter is not None:
                        limiter.wait(outgoing.address)
                    if time.monotonic() - group_started > deadline:
                        break  # the rest of the group goes back to pending
                    handed += 1  # from here on, it may have gone out
                    try:
                        accepted = channel.send(outgoing)
                    except SendError as error:
                        done.failures.append(
                            partial(
                                _failed,
                                message_id=outgoing.message_id,
                                worker=worker,
                                error=error,
                                now=clock(),
                                config=config,
                                rng=rng,
                                can_settle=settles,
                            )
                        )
                        continue
                    done.sent.append(
                        (
                            outgoing.message_id,
                            accepted if isinstance(accepted, Sent) else Sent(accepted),
                            clock(),
                        )
                    )
                    sent += 1
        finally:
            untried = _ids(mine[handed:])  # started, never handed to the channel
            if done or untried:
                with session.begin():
                    begin_write(session)
                    done.record(session)
                    _unstart(session, untried, worker)
    return BatchResult(claimed=len(claimed), sent=sent)


def _ids(rows: list[Outgoing]) -> list[int]:
    return [o.message_id for o in rows]


def start_group(channel: Channel, rate: float, limit: int, window: float) -> int:
    """How many rows are started (`sending`) in one commit, before their API calls.

    A crash can leave that many rows `sending`. On a channel that can ask the provider what it
    accepted (`find_sent`), recovery settles each of them exactly: the whole batch goes in one
    group. Elsewhere each such row is failed as `interrupted` (never sent twice, possibly
    lost), so the group holds only what the channel sends in `window` seconds at its rate: one
    row at a time for a slow channel (Telegram's 25 a second with the default 0.1 s gives 2),
    as before, and never more than `limit`. A window of 0 starts one row at a time everywhere,
    and so does a channel whose `send` reads the outcome of the rows before (`one_at_a_time`,
    WhatsApp: whether a conversation is already open decides what a message costs).
    """
    if getattr(channel, "one_at_a_time", False) or window <= 0:
        return 1
    if getattr(channel, "find_sent", None) is not None:
        return max(1, limit)
    return max(1, min(limit, math.floor(rate * window)))


@dataclass
class _Outcomes:
    """What a group's sends came to, recorded together in the next transaction."""

    worker: str
    sent: list[tuple[int, Sent, datetime]] = field(default_factory=list)
    failures: list[Outcome] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sent or self.failures)

    def record(self, session: Session) -> None:
        if self.sent:
            _sent_many(session, self.sent, self.worker)
        for failure in self.failures:
            failure(session)
        self.sent, self.failures = [], []


_MESSAGES = cast(Table, Message.__table__)
_PARTICIPANTS = cast(Table, Participant.__table__)
assert isinstance(_MESSAGES, Table) and isinstance(_PARTICIPANTS, Table)


def _unstart(session: Session, message_ids: list[int], worker: str) -> None:
    """Rows this worker started but never handed to the channel (something unexpected stopped
    the batch): nothing went out, so they are simply due again."""
    if message_ids:
        session.execute(
            update(_MESSAGES)
            .where(
                _one_of(session, _MESSAGES.c.id, message_ids),
                _MESSAGES.c.status == "sending",
                _MESSAGES.c.claimed_by == worker,
            )
            .values(status="pending", claimed_by=None, attempts=_MESSAGES.c.attempts - 1)
        )


def _one_of(
    session: Session, column: ColumnElement[int] | InstrumentedAttribute[int], ids: list[int]
) -> ColumnElement[bool]:
    """`column IN ids`: on PostgreSQL one array parameter (`= ANY(:ids)`), the same statement
    whatever the number of ids, rather than a parameter per id."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
    return column.in_(ids)


def _claim(
    session: Session,
    runtime: Runtime,
    channel: str,
    limit: int,
    now: datetime,
    worker: str,
    *,
    start: bool = False,
) -> list[Outgoing]:
    """Claim up to `limit` due rows, replies first, in one `UPDATE ... RETURNING` whose rows come
    from a `SELECT ... FOR UPDATE SKIP LOCKED` (plain columns, no ORM objects).

    With `start`, the same statement also starts them (`pending -> sending`, see `_start_many`):
    the attempt is counted and a row whose habitant said STOP since it was written is cancelled
    instead. A row whose address cannot be read is failed in the same transaction.
    """
    m = _MESSAGES
    stop = (
        exists()
        .where(
            _PARTICIPANTS.c.id == m.c.participant_id,
            _PARTICIPANTS.c.opted_out_at.is_not(None),
            _PARTICIPANTS.c.opted_out_at > m.c.created_at,
        )
        .label("stop")
    )
    due = select(m.c.id, stop).where(
        m.c.direction == "out",
        m.c.channel == channel,
        m.c.status == "pending",
        m.c.next_attempt_at <= now,
    )
    if is_quiet(now, runtime.settings.timezone):
        due = due.where(m.c.wait_quiet_hours.is_(False))
    picked = (
        due.order_by(m.c.priority, m.c.next_attempt_at, m.c.id)
        .limit(limit)
        .with_for_update(of=m, skip_locked=True)
        .subquery("picked")
    )
    if start:
        values: dict[str, Any] = {
            "status": case((picked.c.stop, "cancelled"), else_="sending"),
            "attempts": m.c.attempts + case((picked.c.stop, 0), else_=1),
            "claimed_by": case((picked.c.stop, None), else_=worker),
            "last_error": case((picked.c.stop, "opted out"), else_=m.c.last_error),
            "claimed_at": now,
        }
    else:
        values = {"status": "claimed", "claimed_by": worker, "claimed_at": now}
    statement = (
        update(m)
        .where(m.c.id == picked.c.id)
        .values(values)
        .returning(
            m.c.id,
            m.c.status,
            m.c.address_enc,
            m.c.body,
            m.c.choices,
            m.c.expects,
            m.c.kind,
            m.c.participant_id,
            m.c.priority,
            m.c.next_attempt_at,
        )
    )
    rows = sorted(session.execute(statement), key=lambda r: (r.priority, r.next_attempt_at, r.id))
    claimed, unusable = [], []
    for row in rows:
        if row.status == "cancelled":
            continue
        outgoing = _outgoing(runtime, row)
        if outgoing is None:
            unusable.append(row.id)
        else:
            claimed.append(outgoing)
    if unusable:
        session.execute(
            update(m)
            .where(_one_of(session, m.c.id, unusable))
            .values(
                status="failed",
                last_error="no usable address",
                error_code="no_address",
                claimed_by=None,
                next_attempt_at=None,
                attempts=m.c.attempts - (1 if start else 0),
            )
        )
    return claimed


def _outgoing(runtime: Runtime, row: Any) -> Outgoing | None:
    """The message to send of a row (a `Message`, or a row of its columns)."""
    if not row.address_enc:
        return None
    try:
        address = runtime.vault.decrypt(row.address_enc)
    except ValueError:
        return None
    return Outgoing(
        row.id, address, row.body, tuple(row.choices), row.expects, row.kind, row.participant_id
    )


def _opted_out_since_written() -> Exists:
    """The habitant said STOP after this row was written (the STOP reply itself still goes)."""
    return exists().where(
        Participant.id == Message.participant_id,
        Participant.opted_out_at.is_not(None),
        Participant.opted_out_at > Message.created_at,
    )


def _start(session: Session, message_id: int, worker: str, now: datetime) -> bool:
    """`claimed -> sending` if the claim is still ours and the habitant did not say STOP."""
    return message_id in _start_many(session, [message_id], worker, now)


def _start_many(session: Session, message_ids: list[int], worker: str, now: datetime) -> set[int]:
    """`_start` for several rows in two statements; returns the ids started. Those still ours
    whose habitant said STOP since they were written are cancelled."""
    if not message_ids:
        return set()
    mine = (
        _one_of(session, Message.id, message_ids),
        Message.status == "claimed",
        Message.claimed_by == worker,
    )
    started = set(
        session.scalars(
            update(Message)
            .where(*mine, ~_opted_out_since_written())
            .values(status="sending", attempts=Message.attempts + 1, claimed_at=now)
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        )
    )
    if len(started) < len(message_ids):
        session.execute(
            update(Message)
            .where(*mine)
            .values(status="cancelled", last_error="opted out", claimed_by=None)
            .execution_options(synchronize_session=False)
        )
    return started


# Marks one row sent; executed for a whole group at once (an executemany, on SQLite).
_MARK_SENT = (
    update(_MESSAGES)
    .where(
        _MESSAGES.c.id == bindparam("b_id"),
        _MESSAGES.c.claimed_by == bindparam("b_worker"),
    )
    .values(
        status="sent",
        provider_id=bindparam("b_provider"),
        units=bindparam("b_units"),
        sent_at=bindparam("b_at"),
    )
)


# PostgreSQL: the whole group in one statement with one array per column (naive UTC times, as
# `storage.models.UTCDateTime` stores them).
_MARK_SENT_ARRAYS = text(
    "UPDATE messages SET status = 'sent', provider_id = v.provider_id, units = v.units,"
    " sent_at = v.sent_at"
    " FROM unnest(CAST(:ids AS INTEGER[]), CAST(:providers AS VARCHAR[]),"
    " CAST(:units AS INTEGER[]), CAST(:ats AS TIMESTAMP[])) AS v(id, provider_id, units, sent_at)"
    " WHERE messages.id = v.id AND messages.claimed_by = :worker"
)


def _sent_many(session: Session, sent: list[tuple[int, Sent, datetime]], worker: str) -> None:
    """Record a group of accepted sends in one statement; if a provider id is already on another
    row, row by row instead, so that only that one says so (`_sent`)."""
    try:
        with session.begin_nested():
            if session.get_bind().dialect.name == "postgresql":
                session.execute(
                    _MARK_SENT_ARRAYS,
                    {
                        "ids": [message_id for message_id, _, _ in sent],
                        "providers": [accepted.provider_id for _, accepted, _ in sent],
                        "units": [accepted.units for _, accepted, _ in sent],
                        "ats": [at.astimezone(UTC).replace(tzinfo=None) for _, _, at in sent],
                        "worker": worker,
                    },
                )
            else:
                session.execute(
                    _MARK_SENT,
                    [
                        {
                            "b_id": message_id,
                            "b_worker": worker,
                            "b_provider": accepted.provider_id,
                            "b_units": accepted.units,
                            "b_at": at,
                        }
                        for message_id, accepted, at in sent
                    ],
                )
    except IntegrityError:
        for message_id, accepted, at in sent:
            _sent(session, message_id=message_id, worker=worker, accepted=accepted, now=at)


def _sent(session: Session, *, message_id: int, worker: str, accepted: Sent, now: datetime) -> None:
    """Record a send the provider accepted, with the paid units it counts (`bots.budget`). Its
    id may already be on another row (a provider that reuses ids, a message settled twice): the
    send happened all the same, so the row is `sent`, without the id and saying why, and the
    batch goes on (a savepoint keeps the rest of the transaction, which holds the start of the
    next row)."""
    provider_id = accepted.provider_id
    mine = update(Message).where(Message.id == message_id, Message.claimed_by == worker)
    try:
        with session.begin_nested():
            session.execute(
                mine.values(
                    status="sent", provider_id=provider_id, units=accepted.units, sent_at=now
                ).execution_options(synchronize_session=False)
            )
    except IntegrityError:
        log.error(
            "message %s: provider id %s is already recorded on another message",
            message_id,
            provider_id,
        )
        reason = f"sent, but the provider id {provider_id} is already recorded on another message"
        session.execute(
            mine.values(
                status="sent", sent_at=now, units=accepted.units, last_error=reason[:500]
            ).execution_options(synchronize_session=False)
        )


def _failed(
    session: Session,
    *,
    message_id: int,
    worker: str,
    error: SendError,
    now: datetime,
    config: OutboxConfig,
    rng: random.Random,
    can_settle: bool = False,
) -> None:
    row = session.get(Message, message_id, populate_existing=True)
    if row is None or row.claimed_by != worker:
        return
    row.last_error = str(error)[:500]
    row.error_code = error.code or None
    if error.ambiguous and can_settle:
        # The provider may have it: the row stays `sending`, still ours, and recovery asks the
        # provider after a pause (its list may lag a little) before anything is sent again.
        row.error_code = AMBIGUOUS
        row.next_attempt_at = now + config.backoff(row.attempts, rng)
        log.warning("message %s: the provider may have accepted it, to settle: %s", row.id, error)
        return
    if error.transient and row.attempts < config.max_attempts:
        retry_after = float(getattr(error, "retry_after", 0) or 0)
        row.status = "pending"
        row.claimed_by = None
        row.next_attempt_at = now + config.backoff(row.attempts, rng, retry_after)
        return
    if error.transient:
        row.last_error = f"{config.max_attempts} tries: {row.last_error}"[:500]
    _mark_failed(row, now, row.last_error, row.error_code)
    if error.unreachable and row.participant_id is not None:
        mark_unreachable(session, row.participant_id, now, row.channel)
    log.warning("message %s failed: %s", message_id, error)


def _mark_failed(row: Message, now: datetime, reason: str, code: str | None) -> None:
    row.status = "failed"
    row.last_error = reason
    row.error_code = code
    row.claimed_by = None
    row.next_attempt_at = None


# --- recovery after a crash ---------------------------------------------------------------------


def recover(
    runtime: Runtime,
    now: datetime,
    *,
    channels: Mapping[str, Channel] | None = None,
    config: OutboxConfig | None = None,
) -> dict[str, int]:
    """Take back what dead workers left: stale claims and interrupted sends (see the docstring).

    With `channels`, only their rows, each settled with its own channel's `find_sent`.
    """
    config = config or OutboxConfig.from_settings(runtime.settings)
    channels = channels or {}
    only = (Message.channel.in_(list(channels)),) if channels else ()
    counts = {
        "released": 0,
        "confirmed": 0,
        "retried": 0,
        "interrupted": 0,
        "unsettled": 0,
        "failed": 0,
    }
    with transaction(runtime.sessions) as session:
        released = session.execute(
            update(Message)
            .where(
                *only,
                Message.status == "claimed",
                Message.claimed_at < now - timedelta(seconds=config.claim_lease_seconds),
            )
            .values(status="pending", claimed_by=None)
            .execution_options(synchronize_session=False)
        )
        counts["released"] = released.rowcount  # type: ignore[attr-defined]
    stale = select(Message).where(
        *only,
        Message.status == "sending",
        (Message.claimed_at < now - timedelta(seconds=config.send_lease_seconds))
        | ((Message.error_code == AMBIGUOUS) & (Message.next_attempt_at <= now)),
    )
    with runtime.sessions() as session:
        rows = session.scalars(stale).all()
    for row in rows:
        outcome = _settle_interrupted(runtime, row, channels.get(row.channel), now, config)
        if outcome is not None:
            counts[outcome] += 1
    if any(counts.values()):
        log.warning("outbox recovery: %s", counts)
    return counts


AMBIGUOUS = "ambiguous"  # error code of a failed send the provider may have accepted
INTERRUPTED = "interrupted while sending: may have been sent, not retried to avoid a duplicate"


def _settle_interrupted(
    runtime: Runtime, row: Message, channel: Channel | None, now: datetime, config: OutboxConfig
) -> str | None:
    """Settle one interrupted send: `confirmed` (the provider has it), `retried` (it has not),
    `interrupted` (no way to tell), `unsettled` (ask again at the next recovery), or None when
    another worker settled it meanwhile.

    The provider is asked outside any transaction (an HTTP call must not hold the database),
    and its answer is recorded only if the row is still the dead worker's. A provider id
    already recorded on another row is that row's message, not this one's.
    """
    find_sent = getattr(channel, "find_sent", None)
    if channel is None and row.error_code == AMBIGUOUS:
        return None  # left for the worker of its own channel, which can ask the provider
    outgoing = _outgoing(runtime, row)
    candidates: list[Sent] | None = None  # None: the provider cannot tell
    reason = INTERRUPTED
    if find_sent is not None and outgoing is not None and row.claimed_at is not None:
        try:
            candidates = [
                Sent(c) if isinstance(c, str) else c for c in find_sent(outgoing, row.claimed_at)
            ]
        except SendError as error:
            if error.transient:
                log.warning("outbox: message %s not settled yet: %s", row.id, error)
                return "unsettled"
            reason = f"{INTERRUPTED} (the provider could not tell: {error})"[:500]
    with transaction(runtime.sessions) as session:
        current = session.scalars(
            select(Message)
            .where(
                Message.id == row.id,
                Message.status == "sending",
                Message.claimed_by == row.claimed_by,
            )
            .with_for_update()
        ).one_or_none()
        if current is None:
            return None
        if candidates is None:
            _mark_failed(current, now, reason, "interrupted")
            return "interrupted"
        current.claimed_by = None
        recorded = _recorded_ids(session, current.channel, [c.provider_id for c in candidates])
        unrecorded = [c for c in candidates if c.provider_id not in recorded]
        if unrecorded:
            found = unrecorded[0]
            current.status, current.provider_id, current.sent_at = "sent", found.provider_id, now
            current.error_code = current.last_error = None
            current.units = found.units  # what it costs counts in the month's budget too
            if found.price is not None:
                current.price, current.price_unit = found.price, found.price_unit
            return "confirmed"
        if current.attempts >= config.max_attempts:
            reason = f"{config.max_attempts} tries: {current.last_error or 'not accepted'}"
            _mark_failed(current, now, reason[:500], current.error_code)
            return "failed"
        current.status, current.next_attempt_at = "pending", now
        return "retried"


def _recorded_ids(session: Session, channel: str, provider_ids: list[str]) -> set[str]:
    if not provider_ids:
        return set()
    query = select(Message.provider_id).where(
        Message.channel == channel,
        Message.direction == "out",
        Message.provider_id.in_(provider_ids),
    )
    return {pid for pid in session.scalars(query) if pid is not None}


# --- the worker loop ----------------------------------------------------------------------------


def has_work(runtime: Runtime, channel: str, now: datetime, horizon: float = 600.0) -> bool:
    """Rows of `channel` still to send, leaving out those parked for longer than `horizon` s
    and, during quiet hours, the campaign messages that wait for the morning."""
    soon = now + timedelta(seconds=horizon)
    due = Message.next_attempt_at <= soon
    if is_quiet(now, runtime.settings.timezone):
        due = due & Message.wait_quiet_hours.is_(False)
    query = select(
        exists().where(
            Message.direction == "out",
            Message.channel == channel,
            Message.status.in_(OPEN_STATUSES),
            (Message.status != "pending") | due,
        )
    )
    with runtime.sessions() as session:
        return bool(session.scalar(query))


def run_channel(
    runtime: Runtime,
    name: str,
    stop: threading.Event,
    *,
    exit_when_idle: bool = False,
    idle_pause: float = 1.0,
    recover_every: float = 30.0,
) -> None:
    """Send `name`'s outbox until `stop` is set (or, with `exit_when_idle`, until it is empty)."""
    channel = make_channel(name, runtime)
    config = OutboxConfig.from_settings(runtime.settings)
    rate = rate_for(channel, runtime.settings)
    limiter = RateLimiter(rate, per_key_interval=getattr(channel, "per_address_interval", 0.0))
    worker = new_worker_id()
    size = batch_size(rate, config.batch_rows)
    last_recovery = -math.inf
    log.info("outbox %s: worker %s, %.1f messages/s", name, worker, rate)
    while not stop.is_set():
        try:
            if time.monotonic() - last_recovery >= recover_every:
                recover(runtime, datetime.now(UTC), channels={name: channel}, config=config)
                last_recovery = time.monotonic()
            result = deliver_batch(
                runtime, channel, limit=size, worker=worker, limiter=limiter, config=config
            )
        except OperationalError:
            log.exception("outbox %s: database unavailable, retrying", name)
            stop.wait(5 * idle_pause)
            continue
        except Exception:
            # A bug or an unexpected answer while sending one row: that row stays `sending`
            # and recovery settles it like an interrupted send; this channel tries again after
            # a pause, and the other channels (their own threads) never notice.
            log.exception("outbox %s: unexpected error, trying again", name)
            last_recovery = -math.inf
            stop.wait(5 * idle_pause)
            continue
        if result.claimed:
            continue
        if exit_when_idle and not has_work(runtime, name, datetime.now(UTC)):
            return
        if exit_when_idle:
            last_recovery = min(last_recovery, time.monotonic() - recover_every + idle_pause)
        stop.wait(idle_pause)
