"""The contrat de ville's evaluation indicators, for a period and a quartier scope.

Participants are the distinct habitants who wrote a contribution or answered a survey question
in the period; a staff member's test phone never counts, and a contribution whose link to its
author was cut (retention period) counts as a contribution, not as a participant. A
participant counts in the quartier of what they did: the contribution's quartier, or for a
survey answer their own. That is the scope rule of the inbox (contributions) and of the campaign
results (answers), so a conseil citoyen counts exactly what it may read elsewhere.

The counts are four SQL `GROUP BY` queries (`COUNT(DISTINCT ...)` wherever one habitant may
appear twice), the same statements on SQLite and PostgreSQL; each campaign's funnel is the one
its results page computes (`web.counts.campaign_funnel`). Months are the territory's months:
their boundaries are computed here, in its time zone, and the database only compares
timestamps with them.

A participant count below `SMALL` in a breakdown (a quartier, a channel, a language, a campaign)
is shown as "< 5": it could point at a person. Headline totals stay exact; so that a hidden
cell cannot be worked out as "total minus the others", a table with a single hidden cell also
blurs its next smallest one into a lower bound ("≥ 130" for 135) that says nothing of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, distinct, func, or_, select, union
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
from web.counts import Cell, Scope, campaign_funnel, protect, small
from web.theme_state import theme_state

MAX_MONTHS = 36
UNCONFIRMED = ("suggere", "a_trier")  # web.theme_state.THEME_STATES, as the inbox reads them


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
    by_language: Breakdown  # the language each habitant talks to the bot in
    by_written_language: Breakdown  # the languages their contributions are written in
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
    campaign_visible: Callable[[Campaign], bool] = lambda campaign: True,
) -> Indicators:
    """Everything the dashboard shows, for `period`, within `scope` (its `channel` is unused).

    `campaign_visible` tells which campaigns the account may open (the campaigns page's rule).
    """
    bounds = period.bounds(timezone)
    activity = _activity(scope, bounds[0], bounds[-1])
    people = _people(session, activity, bounds[0])
    themes = _themes(session, scope, bounds)
    return Indicators(
        period=period,
        participants=sum(n for *_, n in people),
        new_participants=sum(n for *_, new, n in people if new),
        contributions=themes[-1].total,
        by_quartier=_by_quartier(session, activity),
        by_channel=_breakdown("channel", people, 0),
        by_language=_breakdown("language", people, 1),
        by_written_language=_by_written_language(session, scope, bounds[0], bounds[-1]),
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


def _people(session: Session, activity: Any, start: datetime) -> list[tuple[str, str, int, int]]:
    """(channel, language, new or not, participants): each participant is in one group only,
    so every figure that is not per quartier is a sum of these groups."""
    new = case((Participant.first_seen_at >= start, 1), else_=0)
    each = (
        select(
            activity.c.participant_id, Participant.channel, Participant.language, new.label("new")
        )
        .distinct()
        .join(Participant, Participant.id == activity.c.participant_id)
        .where(Participant.is_test.is_(False))
        .subquery()
    )
    groups = select(each.c.channel, each.c.language, each.c.new, func.count()).group_by(
        each.c.channel, each.c.language, each.c.new
    )
    return [(channel, language, new, n) for channel, language, new, n in session.execute(groups)]


def _breakdown(dimension: str, people: list[tuple[str, str, int, int]], column: int) -> Breakdown:
    counts: dict[str, int] = {}
    for group in people:
        key = str(group[column])
        counts[key] = counts.get(key, 0) + group[3]
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    cells = protect([n for _, n in rows])
    return Breakdown(dimension, [(key, cell) for (key, _), cell in zip(rows, cells, strict=True)])


def _by_quartier(session: Session, activity: Any) -> Breakdown:
    """Per quartier by name; "" for contributions whose quartier is not known. One habitant may
    count in two quartiers: these rows are not a partition, unlike the others."""
    names = dict(session.execute(select(Quartier.id, Quartier.name)).all())
    count = func.count(distinct(activity.c.participant_id))
    query = (
        select(activity.c.quartier_id, count)
        .join(Participant, Participant.id == activity.c.participant_id)
        .where(Participant.is_test.is_(False))
        .group_by(activity.c.quartier_id)
    )
    rows = sorted(
        (
            (names.get(quartier_id, "") if quartier_id is not None else "", n)
            for quartier_id, n in session.execute(query)
        ),
        key=lambda item: (-item[1], item[0]),
    )
    cells = protect([n for _, n in rows])
    return Breakdown(
        "quartier", [(name, cell) for (name, _), cell in zip(rows, cells, strict=True)]
    )


def _by_written_language(
    session: Session, scope: Scope, start: datetime, end: datetime
) -> Breakdown:
    """Participants per language their contributions and free answers are written in (as
    identified, `bots.language_id`): one who writes in two languages counts in both."""
    count = func.count(distinct(Contribution.participant_id))
    query = (
        select(Contribution.language, count)
        .join(Participant, Participant.id == Contribution.participant_id)
        .where(
            Participant.is_test.is_(False),
            Contribution.created_at >= start,
            Contribution.created_at < end,
            *_within(scope, Contribution.quartier_id),
        )
        .group_by(Contribution.language)
    )
    rows = sorted(
        ((str(lang), n) for lang, n in session.execute(query)), key=lambda r: (-r[1], r[0])
    )
    cells = protect([n for _, n in rows])
    return Breakdown(
        "written_language", [(key, cell) for (key, _), cell in zip(rows, cells, strict=True)]
    )


# --- contributions per thème per month -----------------------------------------------------------


def _themes(session: Session, scope: Scope, bounds: list[datetime]) -> list[ThemeRow]:
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
    states = base.add_columns(theme_state().label("state")).subquery()
    unconfirmed = {state: [0] * months for state in UNCONFIRMED}
    total = [0] * months
    for index, state, n in session.execute(
        select(states.c.month, states.c.state, func.count()).group_by(
            states.c.month, states.c.state
        )
    ):
        total[index] += n
        if state in unconfirmed:
            unconfirmed[state][index] = n
    rows += [ThemeRow(state, "", "", counts) for state, counts in unconfirmed.items()]
    rows.append(ThemeRow("total", "", "", total))
    return rows


# --- surveys -------------------------------------------------------------------------------------


def _campaigns(
    session: Session,
    scope: Scope,
    bounds: list[datetime],
    visible: Callable[[Campaign], bool],
) -> list[CampaignRate]:
    """Campaigns that ran during the period and reached someone in the scope, with the same
    funnel as their results page (`web.counts.campaign_funnel`)."""
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
