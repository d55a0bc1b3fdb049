"""The contrat de ville's evaluation indicators, for a period and a quartier scope.

Participants are the distinct habitants who wrote a contribution or answered a survey question
in the period; a staff member's test phone never counts, and a contribution whose link to its
author was cut (retention period) counts as a contribution, not as a participant. A
participant counts in the quartier of what they did: the contribution's quartier, or for a
survey answer their own. That is the scope rule of the inbox (contributions) and of the campaign
results (answers), so a conseil citoyen counts exactly what it may read elsewhere.

The distinct habitants of every breakdown are counted once for the period (`web.activity`, from
the monthly activity kept by triggers, `storage.participant_activity`); the thèmes table is read
from monthly counts kept by triggers (`storage.contribution_months`), corrected from the few
contributions between a month's beginning in the territory and in UTC; the same statements on
SQLite and PostgreSQL. Each campaign's funnel is the one its results page computes
(`web.counts.campaign_funnel`), all campaigns in one statement. Months are the territory's
months: their boundaries are computed here, in its time zone, and the database only compares
timestamps with them.

A participant count below `SMALL` in a breakdown (a quartier, a channel, a language, a campaign)
is shown as "< 5": it could point at a person. Headline totals stay exact; so that a hidden
cell cannot be worked out as "total minus the others", a table with a single hidden cell also
blurs its next smallest one into a lower bound ("≥ 130" for 135) that says nothing of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from storage.models import (
    Campaign,
    Categorisation,
    Contribution,
    ContributionMonth,
    Participant,
    Quartier,
    Theme,
)
from web.activity import Activity, read_activity, utc_month, within
from web.counts import Cell, Scope, campaign_funnels, protect, small
from web.theme_state import THEME_STATES

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
    activity: Activity | None = None,
) -> Indicators:
    """Everything the dashboard shows, for `period`, within `scope` (its `channel` is unused).

    `campaign_visible` tells which campaigns the account may open (the campaigns page's rule).
    `activity`, when given, is `read_activity` of the same period and scope (the page reads it
    once for these figures and the field figures)."""
    bounds = period.bounds(timezone)
    if activity is None:
        activity = read_activity(session, bounds[0], bounds[-1], scope, actions=False)
    assert (activity.start, activity.end, activity.scope) == (bounds[0], bounds[-1], scope)
    people = _people(activity)
    themes = _themes(session, scope, bounds)
    return Indicators(
        period=period,
        participants=activity.participants,
        new_participants=sum(n for *_, new, n in people if new),
        contributions=themes[-1].total,
        by_quartier=_by_quartier(session, activity),
        by_channel=_breakdown("channel", people, 0),
        by_language=_breakdown("language", people, 1),
        by_written_language=_by_written_language(activity),
        themes=themes,
        campaigns=_campaigns(session, scope, bounds, campaign_visible),
    )


def _people(activity: Activity) -> list[tuple[str, str, int, int]]:
    """(channel, language, new or not, participants): each participant is in one group only,
    so every figure that is not per quartier is a sum of these groups."""
    groups: Counter[tuple[str, str, int]] = Counter()
    for group, n in activity.people.items():
        groups[(group.channel, group.language, int(group.new))] += n
    return [(channel, language, new, n) for (channel, language, new), n in groups.items()]


def _breakdown(dimension: str, people: list[tuple[str, str, int, int]], column: int) -> Breakdown:
    counts: dict[str, int] = {}
    for group in people:
        key = str(group[column])
        counts[key] = counts.get(key, 0) + group[3]
    return _protected(dimension, counts.items())


def _protected(dimension: str, counts: Iterable[tuple[str, int]]) -> Breakdown:
    """The rows, largest first, with small counts hidden (`web.counts.protect`)."""
    rows = sorted(counts, key=lambda item: (-item[1], item[0]))
    cells = protect([n for _, n in rows])
    return Breakdown(dimension, [(key, cell) for (key, _), cell in zip(rows, cells, strict=True)])


def _by_quartier(session: Session, activity: Activity) -> Breakdown:
    """Per quartier by name; "" for contributions whose quartier is not known. One habitant may
    count in two quartiers: these rows are not a partition, unlike the others. A contribution
    counts in its own quartier, an answer in its author's."""
    names = dict(session.execute(select(Quartier.id, Quartier.name)).all())
    return _protected(
        "quartier",
        (
            (names.get(quartier_id, "") if quartier_id is not None else "", n)
            for quartier_id, n in activity.quartiers.items()
        ),
    )


def _by_written_language(activity: Activity) -> Breakdown:
    """Participants per language their contributions and free answers are written in (as
    identified, `bots.language_id`): one who writes in two languages counts in both."""
    return _protected("written_language", activity.written.items())


# --- contributions per thème per month -----------------------------------------------------------


def _themes(session: Session, scope: Scope, bounds: list[datetime]) -> list[ThemeRow]:
    """Confirmed thèmes (the team's: `Categorisation.source == "staff"`), then the inbox's
    "suggested, to confirm" and "to sort" states, then all contributions; one column a month.

    A contribution with two confirmed thèmes counts under both; the last row counts it once.
    A test phone's contributions never count; one whose author was unlinked does. A thème is
    confirmed at most once per contribution (the unique `(contribution, thème, source)`), so
    its confirmed contributions are its staff categorisations; a contribution's state is the
    one kept on its row (`storage.theme_state`, equal to `web.theme_state.theme_state()`).

    Read from the monthly counts (`storage.contribution_months`), which count by UTC month.
    The territory's months begin a few hours away from the UTC ones: the contributions of those
    hours, and the test phones' few, are read one group at a time (`_corrections`) and moved to
    the month they belong to, or taken out."""
    months = len(bounds) - 1
    utc = [utc_month(bound) for bound in bounds]
    confirmed: dict[int, list[int]] = {}
    states = {state: [0] * months for state in THEME_STATES}

    def add(theme_id: int, state: str, index: int, n: int) -> None:
        if theme_id:
            confirmed.setdefault(theme_id, [0] * months)[index] += n
        else:
            states.setdefault(state, [0] * months)[index] += n

    index_of = {month.date(): n for n, month in enumerate(utc[:-1])}
    key = (ContributionMonth.month, ContributionMonth.theme_id, ContributionMonth.theme_state)
    for month, theme_id, state, n in session.execute(
        select(*key, func.sum(ContributionMonth.contributions))
        .where(
            ContributionMonth.month >= utc[0].date(),
            ContributionMonth.month < utc[-1].date(),
            *within(scope, ContributionMonth.quartier_id),
        )
        .group_by(*key)
    ):
        add(theme_id, state, index_of[month], int(n))
    for theme_id, state, local, counted, test, n in _corrections(session, scope, bounds, utc):
        if counted >= 0:  # what the monthly counts counted there ...
            add(theme_id, state, counted, -n)
        if local >= 0 and not test:  # ... and where it counts
            add(theme_id, state, local, n)
    rows = []
    for theme in session.scalars(select(Theme).order_by(Theme.position, Theme.name)):
        counts = confirmed.get(theme.id)
        if theme.active or (counts is not None and any(counts)):
            rows.append(ThemeRow(theme.code, theme.name, theme.colour, counts or [0] * months))
    rows += [ThemeRow(key, "", "", states[key]) for key in UNCONFIRMED]
    total = [sum(column) for column in zip(*states.values(), strict=True)]
    rows.append(ThemeRow("total", "", "", total))
    return rows


def _corrections(
    session: Session, scope: Scope, bounds: list[datetime], utc: list[datetime]
) -> list[tuple[int, str, int, int, int, int]]:
    """(thème or 0, state or "", month in the territory, month counted by
    `contribution_months`, test phone, contributions) for the contributions in the scope between
    each month's beginning in the territory and in UTC, and those of the test phones; a month is
    -1 outside the period. Found through the indexes on `created_at` and `participant_id`."""
    created = Contribution.created_at

    def month(starts: list[datetime]) -> ColumnElement[int]:
        return case(
            (created < starts[0], -1),
            *((created < start, n) for n, start in enumerate(starts[1:])),
            else_=-1,
        )

    # The test phones are a short list, read once.
    tests = list(session.scalars(select(Participant.id).where(Participant.is_test.is_(True))))
    test = case((Contribution.participant_id.in_(tests), 1), else_=0)
    windows = [(min(b, u), max(b, u)) for b, u in zip(bounds, utc, strict=True) if b != u]
    around = (min(bounds[0], utc[0]), max(bounds[-1], utc[-1]))
    where = [
        or_(
            *(and_(created >= a, created < b) for a, b in windows),
            and_(Contribution.participant_id.in_(tests), created >= around[0], created < around[1]),
        ),
        *within(scope, Contribution.quartier_id),
    ]
    local, counted = month(bounds), month(utc)
    found: list[tuple[int, str, int, int, int, int]] = [
        (theme_id, "", a, b, t, n)
        for theme_id, a, b, t, n in session.execute(
            select(Categorisation.theme_id, local, counted, test, func.count())
            .select_from(Categorisation)
            .join(Contribution, Contribution.id == Categorisation.contribution_id)
            .where(
                Categorisation.source == "staff",
                # Chosen by id first: the few contributions of the windows, then their thèmes.
                Categorisation.contribution_id.in_(
                    select(Contribution.id).where(*where).correlate(None)
                ),
            )
            .group_by(Categorisation.theme_id, local, counted, test)
        )
    ]
    found += [
        (0, state, a, b, t, n)
        for state, a, b, t, n in session.execute(
            select(Contribution.theme_state, local, counted, test, func.count())
            .where(*where)
            .group_by(Contribution.theme_state, local, counted, test)
        )
    ]
    return found


# --- surveys -------------------------------------------------------------------------------------


def _campaigns(
    session: Session,
    scope: Scope,
    bounds: list[datetime],
    visible: Callable[[Campaign], bool],
) -> list[CampaignRate]:
    """Campaigns that ran during the period and reached someone in the scope, with the same
    funnel as their results page (`web.counts.campaign_funnel`), all in one statement."""
    running = session.scalars(
        select(Campaign)
        .where(
            Campaign.launched_at.is_not(None),
            Campaign.launched_at < bounds[-1],
            or_(Campaign.closed_at.is_(None), Campaign.closed_at >= bounds[0]),
        )
        .order_by(Campaign.launched_at, Campaign.id)
    )
    shown = [campaign for campaign in running if visible(campaign)]
    funnels = campaign_funnels(
        session, [c.id for c in shown], Scope(scope.quartier_ids, scope.quartier)
    )
    found = []
    for campaign in shown:
        funnel = funnels[campaign.id]
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
