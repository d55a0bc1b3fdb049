"""Retention: what is older than `PAROLES_RETENTION_DAYS` (default 365) loses its link to a person.

Run daily by the scheduler. Past the retention period:

- a participant not heard from since then loses their contact data (encrypted address and its
  mask), their dialogue state and their pseudonym, replaced by a random one: nobody can find
  them again from a phone number, and if they write again they are a new participant who is
  asked for consent again. Their row stays, anonymous, so that counts by quartier, channel and
  language still add up;
- contributions, survey conversations and messages created before then are unlinked from
  their participant; inbound messages lose their raw text (contributions keep theirs, which is
  what the teams work with), and nothing queued for them is sent any more;
- attachments sent before then are deleted from the media folder: a voice or a face identifies
  a person as surely as a phone number. The contribution keeps what kind of attachment it had
  (``{"kind": "voice", "removed": "retention"}``), so the back-office can say it was deleted.

The team's journal (`audit_log`: exports, originals revealed, erasures...) keeps its entries
`PAROLES_JOURNAL_RETENTION_DAYS` (default 365: the CNIL recommends six months to a year for such
traces); older entries are deleted by the same run.

Thèmes, answers' values, dates, quartiers and channels stay: the anonymous aggregates the
evaluation of the contrat de ville needs. The run ends by compacting SQLite's search index, so
that texts erased since the day before (OUBLIER) leave no tombstone in it.
"""

from __future__ import annotations

import secrets
import typing
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, cast, delete, select, update
from sqlalchemy.orm import Session

from bots.handler import remove_media_files
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import (
    AuditEntry,
    Contribution,
    Conversation,
    Message,
    Participant,
    ThreadMessage,
)
from storage.search import compact

BATCH = 1000
# Marks an attachment whose file was deleted at the end of the retention period.
REMOVED = "retention"


def anonymous_pseudonym() -> str:
    return "anon-" + secrets.token_hex(12)


def purge(runtime: Runtime, now: datetime) -> dict[str, int]:
    """Erase the personal links older than the retention period; returns what was touched."""
    cutoff = now - timedelta(days=runtime.settings.retention_days)
    counts = {"participants": 0, "contributions": 0, "conversations": 0, "messages": 0}
    counts["media_files"] = _remove_old_media(runtime, cutoff)
    counts["journal"] = purge_journal(runtime, now)
    with transaction(runtime.sessions) as session:
        counts["contributions"] = _unlink(
            session, Contribution, Contribution.created_at < cutoff, {"participant_id": None}
        )
        counts["conversations"] = _unlink(
            session, Conversation, Conversation.updated_at < cutoff, {"participant_id": None}
        )
        old = Message.created_at < cutoff
        counts["messages"] = _unlink(
            session, Message, old, {"participant_id": None, "address_enc": None}
        )
        session.execute(
            update(Message)
            .where(old, Message.direction == "in")
            .values(body="", media=[])
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Message)
            .where(old, Message.direction == "out", Message.status == "pending")
            .values(status="cancelled", last_error="retention period over")
            .execution_options(synchronize_session=False)
        )
    while True:
        with transaction(runtime.sessions) as session:
            ids = session.scalars(
                select(Participant.id)
                .where(
                    Participant.last_seen_at < cutoff, ~Participant.pseudonym.startswith("anon-")
                )
                .limit(BATCH)
                .with_for_update()
            ).all()
            if not ids:
                # Texts deleted today (erasures, OUBLIER) leave no trace in SQLite's search index.
                compact(session)
                return counts
            session.execute(
                update(Participant),
                [
                    {
                        "id": pid,
                        "pseudonym": anonymous_pseudonym(),
                        "address_enc": "",
                        "address_mask": "",
                        "state": {},
                    }
                    for pid in ids
                ],
            )
            session.execute(
                update(Message)
                .where(Message.participant_id.in_(ids), Message.status == "pending")
                .values(status="cancelled", last_error="retention period over")
                .execution_options(synchronize_session=False)
            )
            session.execute(
                update(Message)
                .where(Message.participant_id.in_(ids))
                .values(participant_id=None, address_enc=None)
                .execution_options(synchronize_session=False)
            )
            counts["participants"] += len(ids)


def purge_journal(runtime: Runtime, now: datetime) -> int:
    """Delete the journal entries older than the journal's retention; returns how many."""
    cutoff = now - timedelta(days=runtime.settings.journal_retention_days)
    with transaction(runtime.sessions) as session:
        result = session.execute(
            delete(AuditEntry)
            .where(AuditEntry.at < cutoff)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _remove_old_media(runtime: Runtime, cutoff: datetime) -> int:
    """Delete the files of attachments older than ``cutoff``, a batch per transaction."""
    root = runtime.settings.media_dir
    deleted = 0
    # JSON is text on SQLite and JSONB on PostgreSQL; both print `"kind": "x"` and
    # `"removed": "retention"` the same way (see web/filters.py).
    # A contribution's own attachments, and those sent in its conversation.
    models: tuple[type[Contribution] | type[ThreadMessage], ...] = (Contribution, ThreadMessage)
    for model in models:
        as_text = cast(model.media, String)
        pending = (
            model.created_at < cutoff,
            as_text.like('%"kind"%'),
            as_text.not_like(f'%"removed": "{REMOVED}"%'),
        )
        last_id = 0
        while True:
            with transaction(runtime.sessions) as session:
                found = session.scalars(
                    select(model)
                    .where(*pending, model.id > last_id)
                    .order_by(model.id)
                    .limit(BATCH)
                    .with_for_update()
                ).all()
                rows = typing.cast(Sequence[Contribution | ThreadMessage], found)
                if not rows:
                    break
                for row in rows:
                    deleted += remove_media_files(root, row.media)
                    row.media = [
                        {"kind": str(item.get("kind") or ""), "removed": REMOVED}
                        for item in row.media
                    ]
                last_id = rows[-1].id
    with transaction(runtime.sessions) as session:
        # Inbound messages keep attachments only until they are attached to a contribution
        # (photos held before consent): their files go with them.
        old_inbound = (Message.created_at < cutoff, Message.direction == "in")
        for media in session.scalars(
            select(Message.media).where(*old_inbound, cast(Message.media, String).like('%"kind"%'))
        ):
            deleted += remove_media_files(root, media)
    return deleted


def _unlink(
    session: Session, model: Any, older: ColumnElement[bool], values: dict[str, None]
) -> int:
    result = session.execute(
        update(model)
        .where(older, model.participant_id.is_not(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
