"""The one short message each habitant gets when an engagement changes status.

A change of status writes, in the transaction that changes it, one message per habitant whose
contribution is linked to the engagement (several linked contributions: still one message), in
their language, through the outbox. Only habitants still reachable are written to (consent, no
STOP, not unreachable, contact kept); the messages wait for the end of quiet hours and go after
the replies, like campaign messages; the outbox drops any whose habitant says STOP before it
leaves. A status set twice is one change: the second is refused.

It is news the team sends, not a reply, so it follows the campaign retour's rules:
- the channel is the retour's (`bots.routing.route`: WhatsApp first when it can take it);
  outside WhatsApp's 24-hour window it needs the approved `retour` template in the habitant's
  language (the WhatsApp channel sends an `engagement` row with it); a habitant no channel can
  reach with it is left out and counted (`Change.left_out`), never sent a message that would
  fail;
- what it would cost is checked against the month's budget (`bots.budget`): over what is left,
  the status still changes (it is public) but nobody is written to, and `Change.over_budget`
  says why, in French.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from bots import budget, routing
from bots.audience import CAMPAIGN_PRIORITY, reachable
from bots.campaigns import RETOUR, over_budget_fr
from bots.engine import engagement_status
from bots.prompts import Catalog
from bots.sms_text import render_sms, segments
from storage.config import Settings
from storage.models import (
    ENGAGEMENT_STATUSES,
    Contribution,
    Engagement,
    EngagementUpdate,
    Message,
    Participant,
    engagement_contributions,
)

ENGAGEMENT_KIND = "engagement"  # outbox kind of a change-of-status message


class FollowupError(ValueError):
    """An engagement cannot change as asked; the message says why, in French."""


@dataclass(frozen=True)
class Change:
    update: EngagementUpdate
    notified: int
    left_out: int = 0  # WhatsApp only, outside the window, no `retour` template in their language
    over_budget: str = ""  # why nobody was written to, when the budget would be overrun


def change_status(
    session: Session,
    catalog: Catalog,
    settings: Settings,
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
    change = _notify(session, catalog, settings, engagement, update, now)
    update.notified = change.notified
    session.flush()
    return change


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


def _notify(
    session: Session,
    catalog: Catalog,
    settings: Settings,
    engagement: Engagement,
    update: EngagementUpdate,
    now: datetime,
) -> Change:
    linked = Participant.id.in_(
        select(Contribution.participant_id).where(
            Contribution.id.in_(
                select(engagement_contributions.c.contribution_id).where(
                    engagement_contributions.c.engagement_id == engagement.id
                )
            )
        )
    )
    left_out = session.scalar(
        select(func.count(Participant.id)).where(
            linked, *reachable(), routing.left_out(settings, now, RETOUR)
        )
    )
    channel = routing.route(settings, now, RETOUR).label("channel")
    people = session.execute(
        select(Participant.id, channel, Participant.address_enc, Participant.language)
        .where(linked, *reachable(), ~routing.left_out(settings, now, RETOUR))
        .order_by(Participant.id)
    ).all()
    rows: list[dict[str, Any]] = []
    units: dict[str, int] = {}
    for person in people:
        body = catalog.text(
            person.language,
            "engagement_changed",
            title=engagement.title,
            status=engagement_status(engagement.status, catalog, person.language),
        )
        if person.channel == "sms":
            units["sms"] = units.get("sms", 0) + segments(render_sms(body, (), numbered=True))
        elif person.channel == "whatsapp":
            units["whatsapp"] = units.get("whatsapp", 0) + 1  # at most one conversation each
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
    check = budget.check(session, settings, units, now)
    if check.over:
        return Change(update, 0, left_out or 0, over_budget_fr(check))
    if rows:
        session.execute(insert(Message), rows)
    return Change(update, len(rows), left_out or 0)
