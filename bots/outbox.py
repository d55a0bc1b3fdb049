"""The outbox: every outgoing message is a row before it is sent.

`deliver()` sends the pending rows of one channel: it claims a batch (marking the rows `sending`
in their own short transaction, with `FOR UPDATE SKIP LOCKED` on PostgreSQL so that several
workers never take the same row), calls the channel, then records the outcome.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bots.channels import Channel, Outgoing, SendError
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Message, Participant

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def deliver(
    runtime: Runtime, channel: Channel, *, limit: int = 100, now: datetime | None = None
) -> int:
    """Send up to `limit` due messages of `channel`; returns how many were sent."""
    now = now or datetime.now(UTC)
    claimed = _claim(runtime, channel.name, limit, now)
    sent = 0
    for outgoing in claimed:
        try:
            provider_id = channel.send(outgoing)
        except SendError as error:
            _failed(runtime, outgoing.message_id, error, now)
            continue
        _sent(runtime, outgoing.message_id, provider_id, now)
        sent += 1
    return sent


def _claim(runtime: Runtime, channel: str, limit: int, now: datetime) -> list[Outgoing]:
    with transaction(runtime.sessions) as session:
        rows = session.scalars(
            select(Message)
            .where(
                Message.direction == "out",
                Message.channel == channel,
                Message.status == "pending",
                Message.next_attempt_at <= now,
            )
            .order_by(Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        claimed = []
        for row in rows:
            row.status = "sending"
            row.attempts += 1
            if not row.address_enc:
                row.status = "failed"
                row.last_error = "no address"
                continue
            claimed.append(
                Outgoing(
                    message_id=row.id,
                    address=runtime.vault.decrypt(row.address_enc),
                    text=row.body,
                    choices=tuple(row.choices),
                    expects=row.expects,
                )
            )
        return claimed


def _sent(runtime: Runtime, message_id: int, provider_id: str, now: datetime) -> None:
    with transaction(runtime.sessions) as session:
        row = session.get(Message, message_id)
        assert row is not None
        row.status = "sent"
        row.provider_id = provider_id
        row.sent_at = now


def _failed(runtime: Runtime, message_id: int, error: SendError, now: datetime) -> None:
    with transaction(runtime.sessions) as session:
        row = session.get(Message, message_id)
        assert row is not None
        row.last_error = str(error)[:500]
        row.error_code = error.code or None
        if error.transient and row.attempts < MAX_ATTEMPTS:
            row.status = "pending"
            row.next_attempt_at = now + timedelta(seconds=2**row.attempts)
            return
        row.status = "failed"
        if error.unreachable and row.participant_id is not None:
            participant = session.get(Participant, row.participant_id)
            if participant is not None and participant.unreachable_at is None:
                participant.unreachable_at = now
        log.warning("message %s failed: %s", message_id, error)
