"""The tableau de bord's field figures: per action (a join code: porte-à-porte, stand, temps
fort...), and the declared age and gender of participants.

The contrats de ville ask for "le nombre d'actions ayant associé les habitants", "le nombre de
participants" and "la diversité des participants et nouveaux venus". The habitants an action
brought are those active in the period (a contribution, or a survey answer understood: the
participants of `web.indicators`) whose activity carries the action — written down in
the field, a survey run face to face — or who joined through its code (a poster's QR code, an
SMS keyword). An action was *held* on the days it met habitants face to face, in the territory's
time zone.

Counts of people go through `web.counts.protect`, as everywhere on the tableau de bord: 1 to 4 is
shown "< 5", and a lone hidden cell blurs its next smallest neighbour. Contributions are counts of
texts, exact like the thèmes table. A staff member's test phone never counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, case, distinct, func, literal, null, select, union_all
from sqlalchemy.orm import Session, aliased

from storage.models import Answer, Contribution, Conversation, JoinCode, Participant, Quartier
from web.counts import Cell, Scope, protect
from web.diversity import AGE_RANGES, GENDERS


@dataclass(frozen=True)
class ActionRow:
    code: str
    name: str
    quartier: str
    days: int  # days it met habitants face to face in the period
    participants: Cell
    new: Cell
    contributions: int


@dataclass(frozen=True)
class FieldFigures:
    actions: list[ActionRow]
    by_age: list[tuple[str, Cell]]  # (label, people), declared answers only
    by_gender: list[tuple[str, Cell]]

    @property
    def held(self) -> int:
        """Actions that associated habitants in the period."""
        return sum(1 for row in self.actions if row.participants.value)


def _within(scope: Scope, column: Any) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if scope.quartier_ids is not None:
        where.append(column.in_(scope.quartier_ids))
    if scope.quartier is not None:
        where.append(column == scope.quartier)
    return where


def _activity(scope: Scope, start: datetime, end: datetime) -> Any:
    """(participant, action, at, contribution, face to face) for every contribution and every
    understood answer of the period, in the scope."""
    brought = aliased(JoinCode)
    contributed: Select[Any] = (
        select(
            Contribution.participant_id.label("participant_id"),
            func.coalesce(Contribution.action_id, brought.id).label("action_id"),
            Contribution.created_at.label("at"),
            Contribution.id.label("contribution_id"),
            case((Contribution.action_id.is_not(None), 1), else_=0).label("face"),
        )
        .join(Participant, Participant.id == Contribution.participant_id)
        .outerjoin(brought, brought.code == Participant.joined_via)
        .where(
            Contribution.created_at >= start,
            Contribution.created_at < end,
            Participant.is_test.is_(False),
            *_within(scope, Contribution.quartier_id),
        )
    )
    answered: Select[Any] = (
        select(
            Conversation.participant_id,
            func.coalesce(Conversation.action_id, brought.id),
            Answer.created_at,
            null(),
            case((Conversation.action_id.is_not(None), 1), else_=0),
        )
        .select_from(Answer)
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .join(Participant, Participant.id == Conversation.participant_id)
        .outerjoin(brought, brought.code == Participant.joined_via)
        .where(
            Answer.understood.is_(True),
            Answer.created_at >= start,
            Answer.created_at < end,
            Participant.is_test.is_(False),
            *_within(scope, Participant.quartier_id),
        )
    )
    return union_all(contributed, answered).subquery("field_activity")


def compute(
    session: Session, start: datetime, end: datetime, scope: Scope, timezone: str
) -> FieldFigures:
    activity = _activity(scope, start, end)
    new = case((Participant.first_seen_at >= start, activity.c.participant_id))
    per_action = session.execute(
        select(
            activity.c.action_id,
            func.count(distinct(activity.c.participant_id)),
            func.count(distinct(new)),
            func.count(distinct(activity.c.contribution_id)),
        )
        .join(Participant, Participant.id == activity.c.participant_id)
        .where(activity.c.action_id.is_not(None))
        .group_by(activity.c.action_id)
    ).all()
    zone = ZoneInfo(timezone)
    days: dict[int, set[Any]] = {}
    for action_id, at in session.execute(
        select(activity.c.action_id, activity.c.at)
        .where(activity.c.action_id.is_not(None), activity.c.face == literal(1))
        .distinct()
    ):
        days.setdefault(action_id, set()).add(at.astimezone(zone).date())
    codes = {
        code.id: code
        for code in session.scalars(
            select(JoinCode).where(JoinCode.id.in_([row[0] for row in per_action]))
        )
    }
    names = dict(session.execute(select(Quartier.id, Quartier.name)).all())
    ordered = sorted(per_action, key=lambda row: (-row[1], codes[row[0]].code))
    people = protect([row[1] for row in ordered])
    newcomers = protect([row[2] for row in ordered])
    actions = [
        ActionRow(
            code=codes[action_id].code,
            name=codes[action_id].action,
            quartier=names.get(codes[action_id].quartier_id or 0, ""),
            days=len(days.get(action_id, ())),
            participants=people[i],
            new=newcomers[i],
            contributions=contributions,
        )
        for i, (action_id, _n, _new, contributions) in enumerate(ordered)
    ]
    return FieldFigures(
        actions,
        _declared(session, activity, Participant.age_range, AGE_RANGES),
        _declared(session, activity, Participant.gender, GENDERS),
    )


def _declared(
    session: Session, activity: Any, column: Any, labels: Mapping[str, Any]
) -> list[tuple[str, Cell]]:
    """People per declared value, in the order the question offers them; [] if none declared."""
    counts: dict[str, int] = dict(
        session.execute(
            select(column, func.count(distinct(activity.c.participant_id)))
            .join(Participant, Participant.id == activity.c.participant_id)
            .where(column.is_not(None))
            .group_by(column)
        ).all()
    )
    keys = [key for key in labels if counts.get(key)]
    cells = protect([counts[key] for key in keys])
    return [(str(labels[key]), cell) for key, cell in zip(keys, cells, strict=True)]
