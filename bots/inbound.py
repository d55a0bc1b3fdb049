"""Inbound messages in two steps: a webhook records them, the drain processes them.

Recording (`record`) is all a webhook does once the provider is authenticated: one INSERT of the
message, status `recorded`, with the sender's pseudonym and encrypted address, under the unique
(channel, direction, provider id) key: a provider's retry inserts nothing and is acknowledged.
No participant is looked up, no engine step is made, nothing is downloaded in the request.

The drain (`process_inbound`, run by the worker loop and in-process by `paroles serve`) takes
the recorded messages oldest first, in batches, and for each one runs the dialogue step
(`bots.handler.process_recorded`): its effects (participant, answers, contributions, replies in
the outbox) and the message's `processed` mark are one transaction, so a crash after the record
or during the step loses nothing and, the step being made again from scratch, writes nothing
twice. One habitant's messages are processed one at a time and in order: a message is taken
only if no earlier one of the same sender is still recorded; on PostgreSQL it is claimed with
`FOR UPDATE SKIP LOCKED`, so several drains share the queue; on SQLite the `processed` mark is
written only if the row is still `recorded`. A message whose step fails is tried again later
(`RETRY_SECONDS` times its attempts), and marked `failed` after `MAX_ATTEMPTS` (logged; its
words stay stored, with its sender's pseudonym so that an erasure finds them; its habitant's
next messages go on).

Photos and voice notes are downloaded here, before the step (`register_fetcher`: Telegram's and
WhatsApp's download functions), never in the webhook.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, func, or_, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from bots.handler import (
    FieldSource,
    Inbound,
    Media,
    Outcome,
    process_recorded,
    storable,
)
from bots.phone import identity_channel
from bots.runtime import Runtime
from storage.db import WRITE_OPTION, is_postgres, transaction
from storage.errors import describe
from storage.models import Message

log = logging.getLogger(__name__)

DATABASE_DOWN = (OperationalError, InterfaceError)
RECORDED = "recorded"
MAX_ATTEMPTS = 5
RETRY_SECONDS = 10.0
BATCH = 50

MESSAGES = cast(Table, Message.__table__)
INSERT_RECORDED = MESSAGES.insert()

# A recorded message of the same sender, earlier than the one considered: it goes first.
_EARLIER = MESSAGES.alias("earlier")
_WAITS_BEHIND = exists().where(
    _EARLIER.c.status == RECORDED,
    _EARLIER.c.sender == MESSAGES.c.sender,
    _EARLIER.c.id < MESSAGES.c.id,
)
_DUE = or_(MESSAGES.c.next_attempt_at.is_(None), MESSAGES.c.next_attempt_at <= bindparam("now"))
CANDIDATES = (
    select(MESSAGES.c.id)
    .where(MESSAGES.c.status == RECORDED, _DUE, ~_WAITS_BEHIND)
    .order_by(MESSAGES.c.id)
    .limit(bindparam("limit"))
)
CANDIDATES_OF = (
    select(MESSAGES.c.id)
    .where(MESSAGES.c.status == RECORDED, MESSAGES.c.sender == bindparam("sender"), _DUE)
    .order_by(MESSAGES.c.id)
    .limit(1)
)
_COLUMNS = (
    MESSAGES.c.channel,
    MESSAGES.c.provider_id,
    MESSAGES.c.address_enc,
    MESSAGES.c.body,
    MESSAGES.c.media,
    MESSAGES.c.details,
    MESSAGES.c.created_at,
)
_THIS = and_(MESSAGES.c.id == bindparam("id"), MESSAGES.c.status == RECORDED, ~_WAITS_BEHIND)
LOAD = select(*_COLUMNS).where(_THIS)
CLAIM = select(*_COLUMNS).where(_THIS).with_for_update(of=MESSAGES, skip_locked=True)
FAILED_ATTEMPT = (
    MESSAGES.update()
    .where(MESSAGES.c.id == bindparam("b_id"), MESSAGES.c.status == RECORDED)
    .values(
        attempts=MESSAGES.c.attempts + 1,
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_next"),
    )
)
GIVE_UP = (
    MESSAGES.update()
    .where(MESSAGES.c.id == bindparam("b_id"), MESSAGES.c.status == RECORDED)
    .values(
        status="failed",
        attempts=MESSAGES.c.attempts + 1,
        last_error=bindparam("b_error"),
        # `sender` is kept: OUBLIER and the back-office's erasure find the words by it (the
        # message never reached a participant).
    )
)

# --- recording (the webhooks) --------------------------------------------------------------------


def sender_of(runtime: Runtime, channel: str, address: str) -> str:
    """The key of a habitant's queue: their pseudonym (one number on SMS and WhatsApp is one)."""
    return runtime.vault.pseudonym(identity_channel(channel), address)


def record(runtime: Runtime, inbound: Inbound) -> int | None:
    """Insert the message as `recorded`; its id, or None if it was recorded already."""
    inbound = storable(inbound)
    details: dict[str, Any] = {}
    if inbound.start_code is not None:
        details["start_code"] = inbound.start_code
    if inbound.language_hint is not None:
        details["language_hint"] = inbound.language_hint
    if inbound.source is not None:
        details["source"] = asdict(inbound.source)
    row = {
        "direction": "in",
        "channel": inbound.channel,
        "provider_id": inbound.external_id,
        "sender": sender_of(runtime, inbound.channel, inbound.address),
        "address_enc": runtime.vault.encrypt(inbound.address),
        "body": inbound.text,
        "media": [m.to_json() for m in inbound.media],
        "details": details or None,
        "status": RECORDED,
        "created_at": inbound.received_at,
    }
    try:
        with runtime.recorder.connect() as conn:
            conn = conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                key = conn.execute(INSERT_RECORDED, row).inserted_primary_key
    except IntegrityError:
        log.info("duplicate %s message %s ignored", inbound.channel, inbound.external_id)
        return None
    assert key is not None
    return int(key[0])


# --- processing (the drain) ----------------------------------------------------------------------

Fetch = Callable[[Runtime, Media], Media]
_FETCHERS: dict[str, tuple[Collection[str], Fetch]] = {}


def register_fetcher(channel: str, kinds: Collection[str], fetch: Fetch) -> None:
    """How a channel downloads its attachments of these kinds (the drain calls it)."""
    _FETCHERS[channel] = (kinds, fetch)


def _fetched(runtime: Runtime, inbound: Inbound) -> Inbound:
    """The message with its photos and voice notes downloaded (those not yet, and that fail,
    keep their provider's id: `bots.media_retry` tries again later)."""
    kinds, fetch = _FETCHERS.get(inbound.channel, ((), None))
    if fetch is None or not any(m.kind in kinds and not m.path for m in inbound.media):
        return inbound
    media = tuple(fetch(runtime, m) if m.kind in kinds and not m.path else m for m in inbound.media)
    return replace(inbound, media=media)


def _inbound(runtime: Runtime, row: Any) -> Inbound:
    details: Mapping[str, Any] = row.details or {}
    source = details.get("source")
    return Inbound(
        channel=row.channel,
        address=runtime.vault.decrypt(row.address_enc),
        text=row.body,
        external_id=row.provider_id,
        media=tuple(Media(**m) for m in row.media),
        start_code=details.get("start_code"),
        received_at=row.created_at,
        source=FieldSource(**source) if source else None,
        language_hint=details.get("language_hint"),
    )


def process_one(runtime: Runtime, message_id: int) -> Outcome | None:
    """Process one recorded message now; None if it is not to be processed now (see
    `process_inbound`). A failure of the step counts as an attempt, then raises."""
    claim = CLAIM if is_postgres(runtime.engine) else LOAD

    def load(session: Session) -> Inbound | None:
        row = session.connection().execute(claim, {"id": message_id}).first()
        return None if row is None else _fetched(runtime, _inbound(runtime, row))

    try:
        return process_recorded(runtime, message_id, load)
    except DATABASE_DOWN:
        raise  # not the message's fault: the drain stops, and tries again later
    except Exception as error:
        _attempt_failed(runtime, message_id, error)
        raise


def _attempt_failed(runtime: Runtime, message_id: int, error: Exception) -> None:
    reason = describe(error)[:500]  # never the message: it may quote the habitant's words
    with transaction(runtime.sessions) as session:
        conn = session.connection()
        attempts = conn.execute(
            select(MESSAGES.c.attempts).where(MESSAGES.c.id == message_id)
        ).scalar()
        if attempts is None:
            return
        params: dict[str, Any] = {"b_id": message_id, "b_error": reason}
        if attempts + 1 >= MAX_ATTEMPTS:
            conn.execute(GIVE_UP, params)
            log.error(
                "inbound message %s failed after %d attempts: %s", message_id, MAX_ATTEMPTS, reason
            )
            return
        delay = timedelta(seconds=RETRY_SECONDS * (attempts + 1))
        conn.execute(FAILED_ATTEMPT, {**params, "b_next": datetime.now(UTC) + delay})
        log.warning("inbound message %s: attempt %d failed: %s", message_id, attempts + 1, reason)


def process_inbound(
    runtime: Runtime,
    *,
    limit: int = BATCH,
    sender: str | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Process the recorded messages (only `sender`'s, if given) until none is left to take now;
    returns the counts. Safe to run in several processes at once (see the module's doc)."""
    counts = {"processed": 0, "failed": 0, "skipped": 0}
    tried: set[int] = set()
    while True:
        params = {"now": now or datetime.now(UTC), "limit": limit, "sender": sender}
        with runtime.engine.connect() as conn:
            query = CANDIDATES if sender is None else CANDIDATES_OF
            ids = [i for i in conn.execute(query, params).scalars() if i not in tried]
        if not ids:
            return counts
        for message_id in ids:
            tried.add(message_id)
            try:
                outcome = process_one(runtime, message_id)
            except DATABASE_DOWN:
                raise
            except Exception:
                log.exception("inbound message %s not processed", message_id)
                counts["failed"] += 1
                continue
            counts["processed" if outcome is not None else "skipped"] += 1


def receive_now(runtime: Runtime, inbound: Inbound) -> Outcome:
    """Record a message and process it at once, after the earlier ones of its sender: for the
    pages that answer in the same request (the simulator, a survey's trial, `paroles chat`)."""
    message_id = record(runtime, inbound)
    if message_id is None:
        return Outcome(duplicate=True)
    stored = storable(inbound)
    process_inbound(runtime, sender=sender_of(runtime, stored.channel, stored.address))
    with runtime.engine.connect() as conn:
        status = conn.execute(
            select(MESSAGES.c.status, MESSAGES.c.participant_id).where(MESSAGES.c.id == message_id)
        ).one()
        replies = conn.execute(
            select(MESSAGES.c.id)
            .where(MESSAGES.c.in_reply_to_id == message_id, MESSAGES.c.direction == "out")
            .order_by(MESSAGES.c.id)
        ).scalars()
        return Outcome(
            duplicate=False,
            message_id=message_id if status.status != RECORDED else None,
            participant_id=status.participant_id,
            reply_ids=tuple(replies),
        )


def backlog(runtime: Runtime) -> int:
    """How many messages wait to be processed."""
    query = select(func.count()).select_from(MESSAGES).where(MESSAGES.c.status == RECORDED)
    with runtime.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
