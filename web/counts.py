"""Counting habitants without pointing at one: the scope of a count, campaign funnels, and the
protection of small counts that every page, export and public page applies.

A participant count below `SMALL` in a breakdown (a quartier, a channel, a language, a campaign)
is shown as "< 5": it could point at a person. Headline totals stay exact; so that a hidden
cell cannot be worked out as "total minus the others", a table with a single hidden cell also
blurs its next smallest one into a lower bound ("≥ 130" for 135) that says nothing of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.orm import Session

from storage.models import Answer, Campaign, Conversation, Participant

SMALL = 5
HIDDEN_SMALL = f"< {SMALL}"
INVITED = ("invited", "active", "finished", "stopped")


# --- small counts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A count of participants, and what is shown instead of it when it must not be."""

    value: int
    hidden: str = ""  # "", "< 5", or a lower bound like "≥ 130"

    @property
    def shown(self) -> int | str:
        return self.hidden or self.value


def small(value: int) -> Cell:
    return Cell(value, HIDDEN_SMALL if 0 < value < SMALL else "")


def lower_bound(value: int) -> str:
    """A multiple of 5 at least 3 below `value`: with the exact total, it leaves a hidden
    count of 1 to 4 beside it anywhere between 1 and 4."""
    return f"≥ {max(SMALL, (value - 3) // 5 * 5)}"


def protect(values: Sequence[int]) -> list[Cell]:
    """Hide the counts from 1 to 4; if only one is hidden, blur the smallest other one too."""
    cells = [small(v) for v in values]
    hidden = [i for i, cell in enumerate(cells) if cell.hidden]
    others = [i for i, cell in enumerate(cells) if not cell.hidden and cell.value > 0]
    if len(hidden) == 1 and others:
        smallest = min(others, key=lambda i: cells[i].value)
        cells[smallest] = Cell(cells[smallest].value, lower_bound(cells[smallest].value))
    return cells


# --- who counts, and how far they went in a campaign ---------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which habitants count: a conseil's quartiers (`None`: all), and the page's filters."""

    quartier_ids: frozenset[int] | None = None
    quartier: int | None = None
    channel: str = ""

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [Participant.is_test.is_(False)]
        if self.quartier_ids is not None:
            where.append(Participant.quartier_id.in_(self.quartier_ids))
        if self.quartier is not None:
            where.append(Participant.quartier_id == self.quartier)
        if self.channel:
            where.append(Participant.channel == self.channel)
        return where


@dataclass
class Funnel:
    """How far habitants went: invited, started (one answer at least), finished, stopped."""

    invited: int = 0
    started: int = 0
    finished: int = 0
    stopped: int = 0


def campaign_funnel(session: Session, campaign: Campaign, scope: Scope) -> Funnel:
    """The campaign's funnel alone, without the answers' values (the dashboard's survey rates).

    Row by row: for one campaign's few thousand conversations, two index lookups are cheaper on
    PostgreSQL than `funnel_groups`' EXISTS per conversation (measured, bench/indicators.py)."""
    return funnel_of(
        campaign_people(session, campaign, scope), started_conversations(session, campaign, scope)
    )


def campaign_funnels(
    session: Session, campaign_ids: Sequence[int], scope: Scope
) -> dict[int, Funnel]:
    """`campaign_funnel` of each of these campaigns, in one grouped statement (the dashboard's
    survey rates): the same conversations (`campaign_people`), "started" as in
    `started_conversations` (an understood answer). A campaign that reached nobody in the
    scope has an empty funnel."""
    found = {campaign_id: Funnel() for campaign_id in campaign_ids}
    if not found:
        return found
    # `id IN (...)`, not EXISTS: the understood answers are read once (a hash), not looked
    # up for each of the campaigns' conversations (measured, bench/indicators.py).
    started = Conversation.id.in_(select(Answer.conversation_id).where(Answer.understood.is_(True)))

    def tally(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = (
        select(
            Conversation.campaign_id,
            tally(Conversation.status.in_(INVITED)),
            tally(started),
            tally(Conversation.status == "finished"),
            tally(Conversation.status == "stopped"),
        )
        .join(Participant, Participant.id == Conversation.participant_id)
        .where(Conversation.campaign_id.in_(list(found)), *scope.conditions())
        .group_by(Conversation.campaign_id)
    )
    for campaign_id, invited, began, finished, stopped in session.execute(query):
        found[campaign_id or 0] = Funnel(int(invited), int(began), int(finished), int(stopped))
    return found


@dataclass(frozen=True)
class FunnelGroup:
    """Conversations of one campaign alike in the habitant's quartier and channel, their status
    and whether they started: what every funnel of a campaign is a sum of."""

    quartier_id: int | None
    channel: str
    status: str
    started: bool
    conversations: int


def funnel_groups(session: Session, campaign: Campaign, scope: Scope) -> list[FunnelGroup]:
    """One grouped statement instead of a row per conversation: the same conversations as
    `campaign_people`, "started" as in `started_conversations` (an understood answer)."""
    started = exists().where(
        and_(Answer.conversation_id == Conversation.id, Answer.understood.is_(True))
    )
    flag = started.label("started")
    query = (
        select(
            Participant.quartier_id, Participant.channel, Conversation.status, flag, func.count()
        )
        .select_from(Conversation)
        .join(Participant, Participant.id == Conversation.participant_id)
        .where(Conversation.campaign_id == campaign.id, *scope.conditions())
        .group_by(Participant.quartier_id, Participant.channel, Conversation.status, flag)
    )
    return [
        FunnelGroup(quartier_id, channel, status, bool(started), n)
        for quartier_id, channel, status, started, n in session.execute(query)
    ]


def add_groups(groups: Iterable[FunnelGroup]) -> Funnel:
    """The funnel of these groups, counted as `funnel_of` counts conversations."""
    result = Funnel()
    for group in groups:
        n = group.conversations
        result.invited += n if group.status in INVITED else 0
        result.started += n if group.started else 0
        result.finished += n if group.status == "finished" else 0
        result.stopped += n if group.status == "stopped" else 0
    return result


def campaign_people(session: Session, campaign: Campaign, scope: Scope) -> list[Any]:
    """The campaign's conversations with the habitant's quartier and channel, in the scope."""
    return list(
        session.execute(
            select(
                Conversation.id,
                Conversation.status,
                Participant.quartier_id,
                Participant.channel,
            )
            .join(Participant, Participant.id == Conversation.participant_id)
            .where(Conversation.campaign_id == campaign.id, *scope.conditions())
        ).all()
    )


def started_conversations(session: Session, campaign: Campaign, scope: Scope) -> set[int]:
    """Conversations with at least one understood answer (a skipped question counts)."""
    return set(
        session.scalars(
            select(Answer.conversation_id)
            .distinct()
            .join(Conversation, Conversation.id == Answer.conversation_id)
            .join(Participant, Participant.id == Conversation.participant_id)
            .where(Conversation.campaign_id == campaign.id, Answer.understood.is_(True))
            .where(*scope.conditions())
        )
    )


def funnel_of(rows: Iterable[Any], started: set[int]) -> Funnel:
    result = Funnel()
    for row in rows:
        result.invited += row.status in INVITED
        result.started += row.id in started
        result.finished += row.status == "finished"
        result.stopped += row.status == "stopped"
    return result
