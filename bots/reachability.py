"""Whether we can write to a habitant, per channel address and in all: set and cleared here.

A provider refuses an address for good (a Telegram 403, a dead SMS number, a number not on
WhatsApp: `mark_unreachable`, called by the outbox and the Twilio status callbacks) or the
habitant blocks the bot (`record_block`, from Telegram's `my_chat_member` update). That marks
the address — the participant's `ParticipantChannel` row for that channel — and cancels what
was queued on it; routing (`bots.routing`) then takes their other channel, so a dead SMS number
does not stop WhatsApp from reaching the same person. Only when no channel of theirs is left is
the participant itself unreachable (`Participant.unreachable_at`): campaigns leave them out and
whatever was queued for them is cancelled. An address becomes reachable again when they
unblock the bot, or write to us on it (the handler does it: see `bots.handler`); the
participant, when they write on any channel. Indicators never read any of this.

Updates can arrive late or out of order (a webhook retried after an outage, Telegram's parallel
webhook connections), so a block or an unblock older than something we already know of the
habitant (a message they wrote since, a later block or unblock) is recorded but changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bots.handler import cancel_pending
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Message, Participant, ParticipantChannel

log = logging.getLogger(__name__)

BlockOutcome = Literal["blocked", "unblocked", "duplicate", "stale", "unknown"]


def mark_unreachable(
    session: Session, participant_id: int, now: datetime, channel: str | None = None
) -> None:
    """The provider says this habitant cannot be reached on `channel` (None: at all): stop
    writing to them there, and altogether once no channel of theirs is left."""
    rows = session.scalars(
        select(ParticipantChannel).where(ParticipantChannel.participant_id == participant_id)
    ).all()
    refused = next((row for row in rows if row.channel == channel), None)
    if refused is not None:
        if refused.unreachable_at is None:
            refused.unreachable_at = now
        if any(row.unreachable_at is None for row in rows if row is not refused):
            cancel_pending(session, participant_id, reason="unreachable", channel=channel)
            return
    participant = session.get(Participant, participant_id)
    if participant is not None and participant.unreachable_at is None:
        participant.unreachable_at = now
    cancel_pending(session, participant_id, reason="unreachable")


@dataclass(frozen=True)
class BlockChange:
    """A habitant blocked the bot (`blocked`) or unblocked it, as the channel told us."""

    channel: str
    address: str
    external_id: str
    blocked: bool
    at: datetime


def record_block(runtime: Runtime, change: BlockChange) -> BlockOutcome:
    """Record a block or an unblock once (unique provider id), and apply it unless stale.

    Someone who never wrote to us is unknown: nothing is created for them. Nothing is sent
    either way (a blocked bot cannot write, an unblocked one waits to be spoken to).
    """
    pseudonym = runtime.vault.pseudonym(change.channel, change.address)
    with transaction(runtime.sessions) as session:
        participant = session.scalars(
            select(Participant).where(Participant.pseudonym == pseudonym).with_for_update()
        ).one_or_none()
        if participant is None:
            log.info("%s %s of an unknown chat ignored", change.channel, change.external_id)
            return "unknown"
        row = Message(
            direction="in",
            channel=change.channel,
            provider_id=change.external_id,
            participant_id=participant.id,
            kind="blocked" if change.blocked else "unblocked",
            status="processed",
            created_at=change.at,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            log.info("duplicate %s update %s ignored", change.channel, change.external_id)
            return "duplicate"
        if _known_since(session, participant, row):
            log.info("%s update %s is older than what we know", change.channel, change.external_id)
            return "stale"
        if change.blocked:
            mark_unreachable(session, participant.id, change.at, change.channel)
            return "blocked"
        participant.unreachable_at = None
        channel_row = session.get(ParticipantChannel, (participant.id, change.channel))
        if channel_row is not None:
            channel_row.unreachable_at = None
        return "unblocked"


def _known_since(session: Session, participant: Participant, row: Message) -> bool:
    """The habitant wrote, blocked or unblocked after this change; or, for an unblock, a provider
    refused them since."""
    later = session.scalar(
        select(
            exists().where(
                Message.participant_id == participant.id,
                Message.direction == "in",
                Message.id != row.id,
                Message.created_at > row.created_at,
            )
        )
    )
    refused_since = (
        row.kind == "unblocked"
        and participant.unreachable_at is not None
        and participant.unreachable_at.replace(microsecond=0) > row.created_at  # whole seconds
    )
    return bool(later) or refused_since
