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

The habitants each action brought and the groups of habitants are counted once for the whole
tableau de bord (`web.activity`); only the days an action was held are read apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Answer, Contribution, Conversation, JoinCode, Participant, Quartier
from web.activity import Activity, read_activity, within
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


def compute(
    session: Session,
    start: datetime,
    end: datetime,
    scope: Scope,
    timezone: str,
    *,
    activity: Activity | None = None,
) -> FieldFigures:
    """The field figures of the period; `activity`, when given, is `read_activity` of the same
    period and scope (the tableau de bord reads it once for all its figures)."""
    if activity is None:
        activity = read_activity(session, start, end, scope)
    assert (activity.start, activity.end, activity.scope) == (start, end, scope)
    assert activity.actions is not None, "read with actions=True"
    per_action = [
        (action_id, brought.participants, brought.new, brought.contributions)
        for action_id, brought in activity.actions.items()
        if brought.participants
    ]
    days = _days(session, activity, ZoneInfo(timezone))
    codes = {
        code.id: code
        for code in session.scalars(
            select(JoinCode).where(JoinCode.id.in_([row[0] for row in per_action]))
        )
    }
    names = dict(session.execute(select(Quartier.id, Quartier.name)).all())
    ordered = sorted(per_action, key=lambda row: (-row[1], codes[row[0]].code))
    counted = protect([row[1] for row in ordered])
    newcomers = protect([row[2] for row in ordered])
    actions = [
        ActionRow(
            code=codes[action_id].code,
            name=codes[action_id].action,
            quartier=names.get(codes[action_id].quartier_id or 0, ""),
            days=len(days.get(action_id, ())),
            participants=counted[i],
            new=newcomers[i],
            contributions=n,
        )
        for i, (action_id, _n, _new, n) in enumerate(ordered)
    ]
    ages: Counter[str | None] = Counter()
    genders: Counter[str | None] = Counter()
    for group, n in activity.people.items():
        ages[group.age_range] += n
        genders[group.gender] += n
    return FieldFigures(actions, _declared(ages, AGE_RANGES), _declared(genders, GENDERS))


def _days(session: Session, activity: Activity, zone: ZoneInfo) -> dict[int, set[date]]:
    """The days each action met habitants face to face: contributions written down in the
    field and surveys run face to face (the action on the row itself, not a join code)."""
    scope = activity.scope
    counted = Participant.is_test.is_(False)
    written = session.execute(
        select(Contribution.action_id, Contribution.created_at)
        .join(Participant, Participant.id == Contribution.participant_id)
        .where(
            Contribution.action_id.is_not(None),
            Contribution.created_at >= activity.start,
            Contribution.created_at < activity.end,
            counted,
            *within(scope, Contribution.quartier_id),
        )
        .distinct()
    )
    answered = session.execute(
        select(Conversation.action_id, Answer.created_at)
        .select_from(Answer)
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .join(Participant, Participant.id == Conversation.participant_id)
        .where(
            Conversation.action_id.is_not(None),
            Answer.understood.is_(True),
            Answer.created_at >= activity.start,
            Answer.created_at < activity.end,
            counted,
            # An answer counts in its author's quartier.
            *within(scope, Participant.quartier_id),
        )
        .distinct()
    )
    days: dict[int, set[date]] = {}
    for action_id, at in [*written, *answered]:
        days.setdefault(action_id, set()).add(at.astimezone(zone).date())
    return days


def _declared(
    counts: Mapping[str | None, int], labels: Mapping[str, Any]
) -> list[tuple[str, Cell]]:
    """People per declared value, in the order the question offers them; [] if none declared."""
    keys = [key for key in labels if counts.get(key)]
    cells = protect([counts[key] for key in keys])
    return [(str(labels[key]), cell) for key, cell in zip(keys, cells, strict=True)]
