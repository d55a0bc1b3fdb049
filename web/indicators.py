"""The contrat de ville's evaluation indicators, for a period and a quartier scope.

Participants are the distinct habitants who wrote a contribution or answered a survey question
in the period; a staff member's test phone never counts, and a contribution whose link to its
author was cut (retention period) counts as a contribution, not as a participant. A
participant counts in the quartier of what they did: the contribution's quartier, or for a
survey answer their own. That is the scope rule of the inbox (contributions) and of the campaign
results (answers), so a conseil citoyen counts exactly what it may read elsewhere.

Every count is one SQL `GROUP BY` with `COUNT(DISTINCT ...)` over the indexed columns, the same
statement on SQLite and PostgreSQL. Months are the territory's months: their boundaries are
computed here, in its time zone, and the database only compares timestamps with them.

A participant count below `SMALL` in a breakdown (a quartier, a channel, a language, a campaign)
is shown as "< 5": it could point at a person. Headline totals stay exact; so that a hidden
cell cannot be worked out as "total minus the others", a table with a single hidden cell also
blurs its next smallest one into a lower bound ("≥ 130" for 135) that says nothing of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, or_, select, union
from sqlalchemy.orm import Session

from storage.models import (
    Answer,
    Campaign,
    Categorisation,
    Contribution,
    Conversation,
    Participant,
    Quartier,
    Theme,
)
from web.filters import Filters
from web.results import Scope, campaign_funnel

SMALL = 5
HIDDEN_SMALL = f"< {SMALL}"
MAX_MONTHS = 36
UNCONFIRMED = ("suggere", "a_trier")  # web.filters.THEME_STATES: the inbox's own definitions


# --- the period ----------------------------------------------------------------------------------


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Whole months, `first` to `last` included (both are first days of a month)."""

    first: date
    last: date

    @classmethod
    def last_twelve_months(cls, today: date) -> Period:
        """The month of `today` and the eleven before it."""
        this_month = today.replace(day=1)
        return cls(add_months(this_month, -11), this_month)

    @property
    def months(self) -> list[date]:
        count = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
        return [add_months(self.first, n) for n in range(count)]

    def bounds(self, timezone: str) -> list[datetime]:
        """The UTC instants at which each month begins in the territory, and the end."""
        zone = ZoneInfo(timezone)
        starts = [*self.months, add_months(self.last, 1)]
        return [datetime.combine(m, time(0), tzinfo=zone).astimezone(UTC) for m in starts]


def month_key(month: date) -> str:
    return month.strftime("%Y-%m")


def parse_month(value: str) -> date | None:
    """`2026-03` (what `<input type="month">` sends) as the first day of that month."""
    try:
        year, month = value.split("-")
        if len(year) != 4 or len(month) != 2:
            return None
        return date(int(year), int(month), 1)
    except ValueError:
        return None


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


# --- results -------------------------------------------------------------------------------------


@dataclass
class Breakdown:
    """Participants per value of one dimension (quartier, channel, language)."""

    dimension: str
    rows: list[tuple[str, Cell]] = field(default_factory=list)  # (key or name, count)


@dataclass
class ThemeRow:
    key: str  # a thème's code, or "suggere", "a_trier", "total"
    name: str
    colour: str
    per_month: list[int]

    @property
    def total(self) -> int:
        return sum(self.per_month)


@dataclass
class CampaignRate:
    campaign: Campaign
    invited: Cell
    started: Cell
    finished: Cell
    response_rate: float | None  # started / invited, None when it would reveal a small count
    completion_rate: float | None  # finished / invited, likewise


@dataclass
class Indicators:
    period: Period
    participants: int
    new_participants: int
    contributions: int
    by_quartier: Breakdown
    by_channel: Breakdown
    by_language: Breakdown
    themes: list[ThemeRow]
    campaigns: list[CampaignRate]

    @property
    def new_share(self) -> float | None:
        if not self.participants:
            return None
        return self.new_participants / self.participants


def compute(
    session: Session,
    period: Period,
    scope: Scope,
    timezone: str,
    *,
    dialect: str = "",
    campaign_visible: Callable[[Campaign], bool] = lambda campaign: True,
) -> Indicators:
    """Everything the dashboard shows, for `period`, within `scope` (its `channel` is unused).

    `campaign_visible` tells which campaigns the account may open (the campaigns page's rule).
    """
    bounds = period.bounds(timezone)
    dialect = dialect or session.get_bind().dialect.name
    activity = _activity(scope, bounds[0], bounds[-1])
    people = (
        select()
        .select_from(activity)
        .join(Participant, Participant.id == activity.c.participant_id)
        .where(Participant.is_test.is_(False))
    )
    total, new = session.execute(
        people.add_columns(
            func.count(distinct(activity.c.participant_id)),
            func.count(
                distinct(
                    case(
                        (Participant.first_seen_at >= bounds[0], activity.c.participant_id),
                    )
                )
            ),
        )
    ).one()
    themes = _themes(session, scope, bounds, dialect, timezone)
    return Indicators(
        period=period,
        participants=total,
        new_participants=new,
        contributions=themes[-1].total,
        by_quartier=_by_quartier(session, people, activity),
        by_channel=_breakdown(session, people, "channel", Participant.channel, activity),
        by_language=_breakdown(session, people, "language", Participant.language, activity),
        themes=themes,
        campaigns=_campaigns(session, scope, bounds, campaign_visible),
    )


def _within(scope: Scope, column: Any) -> list[ColumnElement[bool]]:
    """The scope's quartier conditions on the column that says where something happened."""
    where: list[ColumnElement[bool]] = []
    if scope.quartier_ids is not None:
        where.append(column.in_(scope.quartier_ids))
    if scope.quartier is not None:
        where.append(column == scope.quartier)
    return where


def _activity(scope: Scope, start: datetime, end: datetime) -> Any:
    """(participant, quartier) pairs active in the period: contributions and survey answers."""
    contributed = select(
        Contribution.participant_id.label("participant_id"),
        Contribution.quartier_id.label("quartier_id"),
    ).where(
        Contribution.participant_id.is_not(None),
        Contribution.created_at >= start,
        Contribution.created_at < end,
        *_within(scope, Contribution.quartier_id),
    )
    answered = (
        select(Conversation.participant_id, Participant.quartier_id)
        .select_from(Answer)
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .join(Participant, Participant.id == Conversation.participant_id)
        .where(
            Answer.understood.is_(True),  # what campaign results call "started"
            Answer.created_at >= start,
            Answer.created_at < end,
            *_within(scope, Participant.quartier_id),
        )
    )
    return union(contributed, answered).subquery("activity")


def _counted(session: Session, people: Select[Any], key: Any, activity: Any) -> list[Any]:
    count = func.count(distinct(activity.c.participant_id))
    return list(
        session.execute(people.add_columns(key, count).group_by(key).order_by(count.desc(), key))
    )


def _breakdown(
    session: Session, people: Select[Any], dimension: str, key: Any, activity: Any
) -> Breakdown:
    rows = [(str(value), n) for value, n in _counted(session, people, key, activity)]
    cells = protect([n for _, n in rows])
    return Breakdown(
        dimension, [(value, cell) for (value, _), cell in zip(rows, cells, strict=True)]
    )


def _by_quartier(session: Session, people: Select[Any], activity: Any) -> Breakdown:
    """Per quartier by name; "" for contributions whose quartier is not known."""
    names = dict(session.execute(select(Quartier.id, Quartier.name)).all())
    rows = [
        (names.get(quartier_id, "") if quartier_id is not None else "", n)
        for quartier_id, n in _counted(session, people, activity.c.quartier_id, activity)
    ]
    cells = protect([n for _, n in rows])
    return Breakdown(
        "quartier", [(name, cell) for (name, _), cell in zip(rows, cells, strict=True)]
    )


# --- contributions per thème per month -----------------------------------------------------------


def _themes(
    session: Session, scope: Scope, bounds: list[datetime], dialect: str, timezone: str
) -> list[ThemeRow]:
    """Confirmed thèmes (the team's: `Categorisation.source == "staff"`), then the inbox's
    "suggested, to confirm" and "to sort" states, then all contributions; one column a month.

    A contribution with two confirmed thèmes counts under both; the last row counts it once."""
    month = case(
        *((Contribution.created_at < bound, n) for n, bound in enumerate(bounds[1:])),
    ).label("month")
    base = (
        select(Contribution.id.label("contribution_id"), month)
        .outerjoin(Participant, Participant.id == Contribution.participant_id)
        .where(
            Contribution.created_at >= bounds[0],
            Contribution.created_at < bounds[-1],
            Participant.is_test.is_not(True),
            *_within(scope, Contribution.quartier_id),
        )
    )
    months = len(bounds) - 1
    inner = base.subquery()
    confirmed: dict[int, list[int]] = {}
    for theme_id, index, n in session.execute(
        select(
            Categorisation.theme_id, inner.c.month, func.count(distinct(inner.c.contribution_id))
        )
        .join(
            Categorisation,
            and_(
                Categorisation.contribution_id == inner.c.contribution_id,
                Categorisation.source == "staff",
            ),
        )
        .group_by(Categorisation.theme_id, inner.c.month)
    ):
        confirmed.setdefault(theme_id, [0] * months)[index] = n
    rows = []
    for theme in session.scalars(select(Theme).order_by(Theme.position, Theme.name)):
        if theme.active or theme.id in confirmed:
            counts = confirmed.get(theme.id, [0] * months)
            rows.append(ThemeRow(theme.code, theme.name, theme.colour, counts))
    for state in (*UNCONFIRMED, "total"):
        query = base
        if state != "total":
            query = Filters(etat=state, statut="tous").apply(base, dialect, timezone)
        grouped = query.subquery()
        counts = [0] * months
        for index, n in session.execute(
            select(grouped.c.month, func.count()).group_by(grouped.c.month)
        ):
            counts[index] = n
        rows.append(ThemeRow(state, "", "", counts))
    return rows


# --- surveys -------------------------------------------------------------------------------------


def _campaigns(
    session: Session,
    scope: Scope,
    bounds: list[datetime],
    visible: Callable[[Campaign], bool],
) -> list[CampaignRate]:
    """Campaigns that ran during the period and reached someone in the scope, with the same
    funnel as their results page (`web.results.campaign_funnel`)."""
    running = session.scalars(
        select(Campaign)
        .where(
            Campaign.launched_at.is_not(None),
            Campaign.launched_at < bounds[-1],
            or_(Campaign.closed_at.is_(None), Campaign.closed_at >= bounds[0]),
        )
        .order_by(Campaign.launched_at, Campaign.id)
    )
    found = []
    for campaign in running:
        if not visible(campaign):
            continue
        funnel = campaign_funnel(session, campaign, Scope(scope.quartier_ids, scope.quartier))
        if not funnel.invited:
            continue
        invited, started, finished = (
            small(n) for n in (funnel.invited, funnel.started, funnel.finished)
        )
        found.append(
            CampaignRate(
                campaign,
                invited,
                started,
                finished,
                _rate(started, invited),
                _rate(finished, invited),
            )
        )
    return found


def _rate(part: Cell, whole: Cell) -> float | None:
    if part.hidden or whole.hidden or not whole.value:
        return None
    return part.value / whole.value
