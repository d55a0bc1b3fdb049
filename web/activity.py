"""Who was active in a period, counted once for the whole tableau de bord.

The participants of `web.indicators` and the field figures of `web.field_figures` are counts of
distinct habitants over the same activity: the contributions of the period and its understood
survey answers. They are counted here once, per group of habitants alike (channel, language,
new or not, declared age and gender), per quartier, per written language and per action, and
each module sums what it shows from these counts.

The counts are read from `participant_activity` (`storage.participant_activity`: what each
habitant did per UTC month, kept by triggers), one grouped statement per breakdown, so the
database counts distinct habitants over a few tens of thousands of small rows rather than a
year of contributions and answers. The period's months are the territory's, and begin a few
hours before or after the UTC ones. The habitants who did something in those few hours at
either end of the period (`edge`) are left out of these statements and counted exactly from
their own contributions and answers, as the definitions say; the two sets of habitants are
apart, so their counts add.

The definitions stay those of the modules' docstrings: a staff member's test phone never
counts; a contribution counts where it was written, an answer in its author's quartier; a
contribution whose link to its author was cut counts nobody.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from storage.bulk import among
from storage.models import (
    Answer,
    Contribution,
    Conversation,
    JoinCode,
    Participant,
    ParticipantActivity,
)
from storage.participant_activity import ANSWER, CONTRIBUTION, MONTHS
from web.counts import Scope


class Group(NamedTuple):
    """What the breakdowns read of a habitant: participants alike in all of it are one group."""

    channel: str
    language: str  # the language they talk to the bot in
    new: bool  # first seen in the period
    age_range: str | None
    gender: str | None


@dataclass
class Brought:
    """The habitants an action brought in the period (`web.field_figures`), and their
    contributions."""

    participants: int = 0
    new: int = 0
    contributions: int = 0


@dataclass(frozen=True)
class Activity:
    start: datetime
    end: datetime
    scope: Scope
    people: Counter[Group]  # participants per group: each participant is in one group
    quartiers: Counter[int | None]  # participants per quartier of what they did
    written: Counter[str]  # participants per language their contributions are written in
    # Per join code's id; None when not asked for (`read_activity`'s `actions`).
    actions: dict[int, Brought] | None = field(default_factory=dict)

    @property
    def participants(self) -> int:
        return sum(self.people.values())


def within(scope: Scope, column: Any) -> list[ColumnElement[bool]]:
    """The scope's quartier conditions on the column that says where something happened."""
    where: list[ColumnElement[bool]] = []
    if scope.quartier_ids is not None:
        where.append(column.in_(scope.quartier_ids))
    if scope.quartier is not None:
        where.append(column == scope.quartier)
    return where


def utc_month(bound: datetime) -> datetime:
    """The UTC month that begins nearest to `bound` (a month's beginning in the territory,
    a few hours away from it)."""
    near = bound.astimezone(UTC) + timedelta(days=15)
    return datetime(near.year, near.month, 1, tzinfo=UTC)


def read_activity(
    session: Session, start: datetime, end: datetime, scope: Scope, *, actions: bool = True
) -> Activity:
    """The period's activity within `scope` (its `channel` is unused); `start` and `end` are
    the beginnings of two months in the territory. Without `actions`, what each action brought
    (the field figures) is not counted."""
    utc = (utc_month(start), utc_month(end))
    windows = [(min(a, b), max(a, b)) for a, b in zip((start, end), utc, strict=True) if a != b]
    edge = sorted(_edge(session, windows))
    found = Activity(start, end, scope, Counter(), Counter(), Counter(), {} if actions else None)
    _count_from_months(session, found, utc, edge)
    if edge:
        _count_exactly(session, found, edge)
    return found


def _edge(session: Session, windows: list[tuple[datetime, datetime]]) -> set[int]:
    """Habitants who wrote or answered in one of `windows` (wherever, test phones included:
    counting one exactly that needed not be changes nothing)."""
    if not windows:
        return set()
    written = select(Contribution.participant_id).where(
        Contribution.participant_id.is_not(None),
        or_(*(and_(Contribution.created_at >= a, Contribution.created_at < b) for a, b in windows)),
    )
    answered = (
        select(Conversation.participant_id)
        .select_from(Answer)
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .where(
            Conversation.participant_id.is_not(None),
            or_(*(and_(Answer.created_at >= a, Answer.created_at < b) for a, b in windows)),
        )
    )
    return set(session.scalars(written.union(answered)))


# --- from the monthly activity -------------------------------------------------------------------


def _months(first: datetime, end: datetime) -> dict[int, list[str]]:
    """The month columns of each year, for the UTC months from `first` to `end` excluded."""
    found: dict[int, list[str]] = {}
    index, stop = first.year * 12 + first.month - 1, end.year * 12 + end.month - 1
    for n in range(index, stop):
        found.setdefault(n // 12, []).append(MONTHS[n % 12])
    return found


def _count_from_months(
    session: Session, found: Activity, utc: tuple[datetime, datetime], edge: list[int]
) -> None:
    """The counts of every habitant active in the UTC months `utc`, but those of `edge`."""
    row, person = ParticipantActivity, Participant
    months = _months(*utc)
    if not months:
        return
    column = {name: getattr(row, name) for name in MONTHS}
    active = or_(
        *(
            and_(row.year == year, or_(*(column[m] > 0 for m in names)))
            for year, names in months.items()
        )
    )
    in_period = case(
        *(
            (row.year == year, sum((column[m] for m in names[1:]), column[names[0]]))
            for year, names in months.items()
        ),
        else_=0,
    )
    scope = found.scope
    # Test phones are a short list, read once; with `edge`, the habitants left out here.
    tests = session.scalars(select(person.id).where(person.is_test.is_(True)))
    left_out = sorted({*tests, *edge})
    where = [row.year.in_(list(months)), active]
    if left_out:
        where.append(~among(session, row.participant_id, left_out))
    # Where it counts (0: not known): a contribution's quartier, an answer's author's.
    place = case((row.kind == ANSWER, func.coalesce(person.quartier_id, 0)), else_=row.quartier_id)
    joined = [person.id == row.participant_id, *within(scope, place)]
    new = person.first_seen_at >= found.start

    def ids(kind: str | None, *extra: ColumnElement[bool]) -> Any:
        kinds = [] if kind is None else [row.kind == kind]
        return select(row.participant_id).where(*where, *kinds, *extra)

    # Each habitant once: those who wrote in the scope, or answered and live in it.
    active_people: ColumnElement[bool]
    if scope.quartier_ids is None and scope.quartier is None:
        active_people = person.id.in_(ids(None))
    else:
        active_people = or_(
            person.id.in_(ids(CONTRIBUTION, *within(scope, row.quartier_id))),
            and_(*within(scope, person.quartier_id), person.id.in_(ids(ANSWER))),
        )
    key = (person.channel, person.language, new, person.age_range, person.gender)
    for channel, language, is_new, age, gender, n in session.execute(
        select(*key, func.count()).where(active_people).group_by(*key)
    ):
        found.people[Group(channel, language, bool(is_new), age, gender)] += n

    def per(key: Any, *conditions: ColumnElement[bool]) -> Any:
        """Habitants per value of `key`: each (value, habitant) once, then counted (hash
        aggregates on both databases, where `count(DISTINCT ...)` would sort)."""
        pairs = select(key.label("key"), row.participant_id).where(*where, *conditions)
        counted = pairs.distinct().subquery()
        return session.execute(select(counted.c.key, func.count()).group_by(counted.c.key))

    for quartier_id, n in per(place, *joined):
        found.quartiers[quartier_id or None] += n
    written_in_scope = within(scope, row.quartier_id)
    for language, n in per(row.language, row.kind == CONTRIBUTION, *written_in_scope):
        found.written[language] += n
    if found.actions is None:
        return
    # An action: the one on the row (written down in the field, a survey run face to face),
    # else the join code the habitant came by. Each (action, habitant) once, with their
    # contributions of the period under it, then per action.
    action = func.coalesce(func.nullif(row.action_id, 0), JoinCode.id)
    brought = (
        select(
            action.label("action"),
            func.max(case((new, 1), else_=0)).label("new"),
            func.sum(case((row.kind == CONTRIBUTION, in_period), else_=0)).label("contributions"),
        )
        .select_from(row)
        .join(person, and_(*joined))
        .outerjoin(JoinCode, JoinCode.code == person.joined_via)
        .where(*where, or_(row.action_id != 0, JoinCode.id.is_not(None)))
        .group_by(row.participant_id, action)
        .subquery()
    )
    for action_id, n, newcomers, contributions in session.execute(
        select(
            brought.c.action,
            func.count(),
            func.sum(brought.c.new),
            func.sum(brought.c.contributions),
        ).group_by(brought.c.action)
    ):
        counted = found.actions.setdefault(action_id, Brought())
        counted.participants += n
        counted.new += int(newcomers)
        counted.contributions += int(contributions or 0)


# --- exactly, for a few habitants ----------------------------------------------------------------


def _count_exactly(session: Session, found: Activity, ids: list[int]) -> None:
    """The counts of the habitants `ids`, from their own contributions and answers of the
    period."""
    start, end, scope = found.start, found.end, found.scope
    codes = dict(session.execute(select(JoinCode.code, JoinCode.id)).all())
    people = {
        pid: (Group(channel, language, first_seen >= start, age, gender), quartier, joined)
        for pid, channel, language, first_seen, age, gender, quartier, joined in session.execute(
            select(
                Participant.id,
                Participant.channel,
                Participant.language,
                Participant.first_seen_at,
                Participant.age_range,
                Participant.gender,
                Participant.quartier_id,
                Participant.joined_via,
            ).where(Participant.is_test.is_(False), among(session, Participant.id, ids))
        )
    }
    columns = (
        Contribution.participant_id,
        Contribution.quartier_id,
        Contribution.language,
        Contribution.action_id,
    )
    written = session.execute(
        select(*columns, func.count())
        .where(
            among(session, Contribution.participant_id, ids),
            Contribution.created_at >= start,
            Contribution.created_at < end,
            *within(scope, Contribution.quartier_id),
        )
        .group_by(*columns)
    ).all()
    answered = session.execute(
        select(Conversation.participant_id, Conversation.action_id)
        .distinct()
        .select_from(Answer)
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .where(
            among(session, Conversation.participant_id, ids),
            Answer.understood.is_(True),  # what campaign results call "started"
            Answer.created_at >= start,
            Answer.created_at < end,
        )
    ).all()
    active: set[int] = set()
    places: set[tuple[int | None, int]] = set()
    languages: set[tuple[str, int]] = set()
    brought: dict[int, tuple[set[int], int]] = {}

    def bring(action_id: int | None, pid: int, contributions: int) -> None:
        action = action_id if action_id is not None else codes.get(people[pid][2] or "")
        if action is not None:
            pids, n = brought.get(action, (set(), 0))
            brought[action] = (pids | {pid}, n + contributions)

    for pid, quartier_id, language, action_id, n in written:
        if pid in people:
            active.add(pid)
            places.add((quartier_id, pid))
            languages.add((str(language), pid))
            bring(action_id, pid, n)
    for pid, action_id in answered:
        if pid in people and in_scope(scope, people[pid][1]):
            active.add(pid)
            places.add((people[pid][1], pid))
            bring(action_id, pid, 0)
    found.people.update(people[pid][0] for pid in active)
    found.quartiers.update(quartier_id for quartier_id, _pid in places)
    found.written.update(language for language, _pid in languages)
    if found.actions is None:
        return
    for action, (pids, n) in brought.items():
        counted = found.actions.setdefault(action, Brought())
        counted.participants += len(pids)
        counted.new += sum(1 for pid in pids if people[pid][0].new)
        counted.contributions += n


def in_scope(scope: Scope, quartier_id: int | None) -> bool:
    """`within` in Python (a NULL quartier is in no list and equals nothing)."""
    if scope.quartier_ids is not None and quartier_id not in scope.quartier_ids:
        return False
    return scope.quartier is None or quartier_id == scope.quartier
