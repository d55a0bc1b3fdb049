"""Who was active in a period, read once for the whole tableau de bord.

The participants of `web.indicators` and the field figures of
`web.field_figures` are counts of distinct habitants over the same activity: the
contributions of the period and its understood survey answers. Counting each breakdown with its
own `COUNT(DISTINCT ...)` over that activity read the year's contributions once per figure; here
three statements read it once, grouped as far as the database can (a habitant's contributions of
the period come back as a few groups, not one row each), and Python counts the distinct
habitants of every breakdown from those groups:

- the contributions of the period in the scope, grouped by author, quartier, written language
  and action (read from `ix_contributions_created_people` alone);
- the distinct (author, action) of the understood answers of the period;
- the habitants who are not a staff member's test phone, with what the breakdowns read of them.

The definitions stay those of the modules' docstrings: a contribution counts where it was
written, an answer in its author's quartier; a contribution whose link to its author was cut
counts nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from storage.models import Answer, Contribution, Conversation, JoinCode, Participant
from web.counts import Scope


class Person(NamedTuple):
    """What the breakdowns read of one habitant who is not a test phone."""

    channel: str
    language: str
    new: bool  # first seen in the period
    quartier_id: int | None
    age_range: str | None
    gender: str | None
    brought: int | None  # the join code they came by (a poster, an action), if any


class Written(NamedTuple):
    """Contributions of one habitant alike in quartier, written language and action."""

    participant_id: int
    quartier_id: int | None
    language: str
    action_id: int | None  # written down in the field during this action
    contributions: int


@dataclass(frozen=True)
class Activity:
    start: datetime
    end: datetime
    scope: Scope
    people: dict[int, Person]  # every habitant who is not a test phone
    written: list[Written]  # the period's contributions in the scope, by anyone linked
    answered: list[tuple[int, int | None]]  # (habitant, action) of understood answers, in scope

    def active(self) -> set[int]:
        """The participants of the period: who wrote or answered, test phones left out."""
        found = {w.participant_id for w in self.written if w.participant_id in self.people}
        found.update(pid for pid, _action in self.answered)
        return found


def within(scope: Scope, column: Any) -> list[ColumnElement[bool]]:
    """The scope's quartier conditions on the column that says where something happened."""
    where: list[ColumnElement[bool]] = []
    if scope.quartier_ids is not None:
        where.append(column.in_(scope.quartier_ids))
    if scope.quartier is not None:
        where.append(column == scope.quartier)
    return where


def in_scope(scope: Scope, quartier_id: int | None) -> bool:
    """`within` in Python (a NULL quartier is in no list and equals nothing)."""
    if scope.quartier_ids is not None and quartier_id not in scope.quartier_ids:
        return False
    return scope.quartier is None or quartier_id == scope.quartier


def read_activity(session: Session, start: datetime, end: datetime, scope: Scope) -> Activity:
    """The period's activity within `scope` (its `channel` is unused)."""
    connection = session.connection()  # plain rows: tens of thousands, no ORM entity among them
    codes = dict(connection.execute(select(JoinCode.code, JoinCode.id)).all())
    people = {
        row[0]: Person(
            row[1], row[2], bool(row[3]), row[4], row[5], row[6], codes.get(row[7] or "")
        )
        for row in connection.execute(
            select(
                Participant.id,
                Participant.channel,
                Participant.language,
                case((Participant.first_seen_at >= start, 1), else_=0),
                Participant.quartier_id,
                Participant.age_range,
                Participant.gender,
                Participant.joined_via,
            ).where(Participant.is_test.is_(False))
        )
    }
    columns = (
        Contribution.participant_id,
        Contribution.quartier_id,
        Contribution.language,
        Contribution.action_id,
    )
    written = [
        Written(pid or 0, quartier_id, str(language), action_id, n)
        for pid, quartier_id, language, action_id, n in connection.execute(
            select(*columns, func.count())
            .where(
                Contribution.participant_id.is_not(None),
                Contribution.created_at >= start,
                Contribution.created_at < end,
                *within(scope, Contribution.quartier_id),
            )
            .group_by(*columns)
        )
    ]
    answered = [
        (pid or 0, action_id)
        for pid, action_id in connection.execute(
            select(Conversation.participant_id, Conversation.action_id)
            .distinct()
            .select_from(Answer)
            .join(Conversation, Conversation.id == Answer.conversation_id)
            .where(
                Answer.understood.is_(True),  # what campaign results call "started"
                Answer.created_at >= start,
                Answer.created_at < end,
                Conversation.participant_id.is_not(None),
            )
        )
        if pid in people and in_scope(scope, people[pid].quartier_id)
    ]
    return Activity(start, end, scope, people, written, answered)
