"""Donner suite, on the habitants' side: what SUIVI answers, which staff reply a message
answers, and the one short message each habitant gets when an engagement changes status.

The engine stays pure: the handler reads `followup_for` and `open_thread` here and hands the
engine plain values (`engine.Followup`, `Context.thread_open`).

A change of status writes, in the transaction that changes it, one message per habitant whose
contribution is linked to the engagement (several linked contributions: still one message), in
their language, on their channel, through the outbox. Only habitants still reachable are
written to (consent, no STOP, not unreachable, contact kept); the messages wait for the end of
quiet hours and go after the replies, like campaign messages; the outbox drops any whose
habitant says STOP before it leaves. A status set twice is one change: the second is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bots.audience import CAMPAIGN_PRIORITY, reachable
from bots.engine import Followup, engagement_status
from bots.prompts import Catalog
from storage.models import (
    ENGAGEMENT_STATUSES,
    Contribution,
    Engagement,
    EngagementUpdate,
    Message,
    Participant,
    StaffReply,
    engagement_contributions,
)

THREAD_WINDOW = timedelta(days=7)
SUIVI_LAST = 20  # SUIVI speaks of the habitant's last 20 contributions
ENGAGEMENT_KIND = "engagement"  # outbox kind of a change-of-status message


class FollowupError(ValueError):
    """An engagement cannot change as asked; the message says why, in French."""


def followup_for(session: Session, participant_id: int) -> Followup:
    """The state of the habitant's last contributions, for SUIVI."""
    rows = session.execute(
        select(Contribution.id, Contribution.status)
        .where(Contribution.participant_id == participant_id)
        .order_by(Contribution.id.desc())
        .limit(SUIVI_LAST)
    ).all()
    ids = [row.id for row in rows]
    linked: dict[int, tuple[str, str, set[int]]] = {}
    for engagement_id, title, status, contribution_id in session.execute(
        select(
            Engagement.id,
            Engagement.title,
            Engagement.status,
            engagement_contributions.c.contribution_id,
        )
        .join(engagement_contributions, engagement_contributions.c.engagement_id == Engagement.id)
        .where(engagement_contributions.c.contribution_id.in_(ids))
        .order_by(Engagement.id)
    ):
        linked.setdefault(engagement_id, (title, status, set()))[2].add(contribution_id)
    taken = {cid for _title, _status, cids in linked.values() for cid in cids}
    others = [row for row in rows if row.id not in taken]
    return Followup(
        total=len(rows),
        linked=tuple((title, status, len(cids)) for title, status, cids in linked.values()),
        read=sum(row.status != "nouveau" for row in others),
        unread=sum(row.status == "nouveau" for row in others),
    )


def open_thread(session: Session, participant_id: int, now: datetime) -> int | None:
    """The contribution the team last replied to, if that reply is less than 7 days old."""
    return session.scalars(
        select(StaffReply.contribution_id)
        .join(Contribution, Contribution.id == StaffReply.contribution_id)
        .where(
            Contribution.participant_id == participant_id,
            StaffReply.created_at >= now - THREAD_WINDOW,
            StaffReply.created_at <= now,
        )
        .order_by(StaffReply.created_at.desc(), StaffReply.id.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class Change:
    update: EngagementUpdate
    notified: int


def change_status(
    session: Session,
    catalog: Catalog,
    engagement: Engagement,
    status: str,
    *,
    now: datetime,
    text: str = "",
    reason: str = "",
    user_id: int | None = None,
) -> Change:
    """Move the engagement to `status`, note it in its history and tell the habitants."""
    if status not in ENGAGEMENT_STATUSES:
        raise FollowupError(f"statut inconnu : {status}")
    if status == engagement.status:
        raise FollowupError("l'engagement a déjà ce statut")
    if status == "non_retenu" and not reason.strip():
        raise FollowupError("dites pourquoi l'engagement n'est pas retenu")
    engagement.status = status
    engagement.reason = reason.strip() if status == "non_retenu" else ""
    engagement.updated_at = now
    update = EngagementUpdate(
        engagement_id=engagement.id,
        at=now,
        status=status,
        text=(text or reason).strip(),
        user_id=user_id,
    )
    session.add(update)
    update.notified = _notify(session, catalog, engagement, now)
    session.flush()
    return Change(update, update.notified)


def add_note(
    session: Session, engagement: Engagement, text: str, *, now: datetime, user_id: int | None
) -> EngagementUpdate:
    """A dated step without a change of status: nobody is written to."""
    if not text.strip():
        raise FollowupError("la mise à jour est vide")
    engagement.updated_at = now
    update = EngagementUpdate(
        engagement_id=engagement.id, at=now, text=text.strip(), user_id=user_id
    )
    session.add(update)
    session.flush()
    return update


def _notify(session: Session, catalog: Catalog, engagement: Engagement, now: datetime) -> int:
    linked = select(Contribution.participant_id).where(
        Contribution.id.in_(
            select(engagement_contributions.c.contribution_id).where(
                engagement_contributions.c.engagement_id == engagement.id
            )
        )
    )
    people = session.execute(
        select(Participant.id, Participant.channel, Participant.address_enc, Participant.language)
        .where(Participant.id.in_(linked), *reachable())
        .order_by(Participant.id)
    ).all()
    rows: list[dict[str, Any]] = []
    for person in people:
        body = catalog.text(
            person.language,
            "engagement_changed",
            title=engagement.title,
            status=engagement_status(engagement.status, catalog, person.language),
        )
        rows.append(
            {
                "direction": "out",
                "channel": person.channel,
                "participant_id": person.id,
                "address_enc": person.address_enc,
                "body": body,
                "choices": [],
                "expects": "none",
                "media": [],
                "kind": ENGAGEMENT_KIND,
                "status": "pending",
                "priority": CAMPAIGN_PRIORITY,
                "wait_quiet_hours": True,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    if rows:
        session.execute(insert(Message), rows)
    return len(rows)
