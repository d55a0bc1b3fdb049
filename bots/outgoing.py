"""The row of one outgoing message, as every writer puts it in the outbox (`bots.outbox`).

The replies of the dialogue (`bots.handler.enqueue_reply`) and the campaign messages
(`bots.campaigns`: invitations, reminders, retours, one row at a time or by the thousand)
are built here, every column given (`insert_outgoing` writes the same row for thousands of
habitants in one statement), so that a new outbox column is set in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.orm import Session

from bots.engine import Reply
from storage.bulk import among, insert_from
from storage.models import Message, Participant


def outgoing_row(
    *,
    channel: str,
    participant_id: int | None,
    address_enc: str,
    reply: Reply,
    kind: str,
    now: datetime,
    priority: int = 0,
    wait_quiet_hours: bool = False,
    campaign_id: int | None = None,
    in_reply_to: int | None = None,
) -> dict[str, Any]:
    """A `pending` message due `now`; replies have priority 0, campaign messages more."""
    return {
        "direction": "out",
        "channel": channel,
        "participant_id": participant_id,
        "address_enc": address_enc,
        "body": reply.text,
        "choices": list(reply.choices),
        "expects": reply.expects,
        "media": [],
        "kind": kind,
        "status": "pending",
        "priority": priority,
        "wait_quiet_hours": wait_quiet_hours,
        "attempts": 0,
        "next_attempt_at": now,
        "in_reply_to_id": in_reply_to,
        "campaign_id": campaign_id,
        "created_at": now,
    }


def insert_outgoing(
    session: Session,
    participant_ids: Sequence[int],
    *,
    channel: ColumnElement[str],
    reply: Reply,
    kind: str,
    now: datetime,
    **options: Any,
) -> None:
    """The same message to each of `participant_ids`, in one statement: the row of
    `outgoing_row`, with the channel `channel` (e.g. `bots.routing.route`) and the address of
    each habitant read by the database (a launch writes 100,000 of them)."""
    if not participant_ids:
        return
    row = outgoing_row(
        channel="", participant_id=None, address_enc="", reply=reply, kind=kind, now=now, **options
    )
    read = {
        "channel": channel,
        "participant_id": Participant.id,
        "address_enc": Participant.address_enc,
    }
    same = {name: value for name, value in row.items() if name not in read}
    table = Message.__table__
    assert isinstance(table, Table)
    insert_from(session, table, same, read, among(session, Participant.id, participant_ids))
