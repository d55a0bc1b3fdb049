"""Is Paroles working? What a monitoring probe (`GET /sante`) and the back-office's banner ask.

Messages are written to the outbox and sent by another process (`paroles serve` or
`paroles worker`). If that process is not running, nothing fails loudly: replies, campaigns and
retours just wait. This module says so, from the database alone:

- the scheduler is alive when its lease row (`bots.scheduler`) has not expired;
- the outbox is stuck when messages have been due for more than `STUCK_AFTER` and nothing was
  sent in that time: the sending process is down, or the provider refuses everything (a large
  campaign going out at the provider's rate is not stuck);
- the inbound queue is stuck when a message a webhook recorded has waited more than
  `STUCK_AFTER` to be processed (the drain takes them within seconds, retries included): nobody
  answers the habitants. Messages given up on (`failed`, `bots.inbound`) are counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select

from bots.quiet_hours import is_quiet
from bots.runtime import Runtime
from storage.models import Message, SchedulerLease

STUCK_AFTER = timedelta(minutes=10)
FAILED_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Health:
    scheduler_alive: bool
    due: int  # outgoing messages that could be sent now
    oldest_due: datetime | None
    last_sent: datetime | None
    now: datetime
    received_waiting: int = 0  # inbound messages recorded, not processed yet
    oldest_received: datetime | None = None
    received_failed: int = 0  # inbound messages given up on, in the last `FAILED_WINDOW`

    @property
    def outbox_stuck(self) -> bool:
        if self.oldest_due is None or self.now - self.oldest_due < STUCK_AFTER:
            return False
        return self.last_sent is None or self.now - self.last_sent >= STUCK_AFTER

    @property
    def inbound_stuck(self) -> bool:
        return self.oldest_received is not None and self.now - self.oldest_received >= STUCK_AFTER

    @property
    def received_minutes(self) -> int:
        return _minutes(self.now, self.oldest_received)

    @property
    def ok(self) -> bool:
        return self.scheduler_alive and not self.outbox_stuck and not self.inbound_stuck

    @property
    def waiting_minutes(self) -> int:
        return _minutes(self.now, self.oldest_due)


def _minutes(now: datetime, since: datetime | None) -> int:
    return 0 if since is None else int((now - since).total_seconds() // 60)


def check(runtime: Runtime, now: datetime, *, count_failed: bool = True) -> Health:
    """Five indexed queries; four without `count_failed` (the messages given up on, which only
    the probe and the home page show, stay 0)."""
    due: tuple[ColumnElement[bool], ...] = (
        Message.direction == "out",
        Message.status == "pending",
        Message.next_attempt_at <= now,
    )
    if is_quiet(now, runtime.settings.timezone):
        due = (*due, Message.wait_quiet_hours.is_(False))
    with runtime.sessions() as session:
        lease = session.scalar(select(func.count()).where(SchedulerLease.expires_at > now))
        count, oldest = session.execute(
            select(func.count(), func.min(Message.next_attempt_at)).where(*due)
        ).one()
        last_sent = session.scalar(select(func.max(Message.sent_at)))
        waiting, oldest_received = session.execute(
            select(func.count(), func.min(Message.created_at)).where(Message.status == "recorded")
        ).one()
        failed = (
            session.scalar(
                select(func.count()).where(
                    Message.status == "failed",
                    Message.direction == "in",
                    Message.created_at >= now - FAILED_WINDOW,
                )
            )
            if count_failed
            else 0
        )
    return Health(
        scheduler_alive=bool(lease),
        due=int(count),
        oldest_due=oldest,
        last_sent=last_sent,
        now=now,
        received_waiting=int(waiting),
        oldest_received=oldest_received,
        received_failed=int(failed or 0),
    )
