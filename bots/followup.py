"""Donner suite, on the habitants' side: what SUIVI answers, and which staff reply a message
answers. (The message each habitant gets when an engagement changes status is
`bots.engagement_news`: it routes and counts like a campaign, which the handler, reading this
module, must not depend on.)

The engine stays pure: the handler reads `followup_for` and `open_thread` here and hands the
engine plain values (`engine.Followup`, `Context.thread_open`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bots.engine import Followup
from storage.models import (
    Contribution,
    Engagement,
    StaffReply,
    UTCDateTime,
    engagement_contributions,
)

THREAD_WINDOW = timedelta(days=7)
SUIVI_LAST = 20  # SUIVI speaks of the habitant's last 20 contributions


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


# Built once: it is read for every free message of a habitant who has consented.
OPEN_THREAD = (
    select(StaffReply.contribution_id)
    .join(Contribution, Contribution.id == StaffReply.contribution_id)
    .where(
        Contribution.participant_id == bindparam("participant_id"),
        StaffReply.created_at >= bindparam("since", type_=UTCDateTime()),
        StaffReply.created_at <= bindparam("now", type_=UTCDateTime()),
    )
    .order_by(StaffReply.created_at.desc(), StaffReply.id.desc())
    .limit(1)
)


def open_thread(session: Session, participant_id: int, now: datetime) -> int | None:
    """The contribution the team last replied to, if that reply is less than 7 days old."""
    params = {"participant_id": participant_id, "since": now - THREAD_WINDOW, "now": now}
    found: int | None = session.connection().execute(OPEN_THREAD, params).scalar()
    return found
