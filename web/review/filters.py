"""The inbox's filters, read from the query string; the exports apply exactly the same ones.

Every filter is a plain query-string value, so a filtered view is a link that can be shared,
bookmarked, or turned into an export. A value that is none of the choices the page offers (an
unknown id, a quartier's code where its id is expected, another quartier's survey, a day that is
no date) is said next to its field by `problems()`, and the query matches nothing rather than
more than was asked: a bad filter is never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    exists,
    false,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import aliased
from werkzeug.datastructures import MultiDict

from storage import search
from storage.models import Categorisation, Contribution, Theme
from storage.theme_state import CONFIRMED
from web.params import BadValue, chosen, chosen_date, chosen_id, parse_date, parse_int
from web.suivi import awaiting_answer
from web.theme_state import STATUSES, THEME_STATES

ALL_STATUSES = "tous"
MEDIA = {"any": _l("Avec pièce jointe"), "photo": _l("Photo"), "voice": _l("Message vocal")}
FREE = "libre"


@dataclass(frozen=True)
class Filters:
    """What the person chose to see. Field names are the query-string keys (French, short)."""

    q: str = ""
    quartier: str = ""
    canal: str = ""
    theme: str = ""
    etat: str = ""
    statut: str = ""
    enquete: str = ""
    question: str = ""
    pj: str = ""
    langue: str = ""  # the language a text is written in (ISO 639-1)
    du: str = ""
    au: str = ""
    suite: str = ""  # "attente": a habitant's answer in the thread waits for the team

    def problems(self, choices: FilterChoices) -> dict[str, list[str]]:
        """What is wrong with each filter, in French, by field: empty when all are understood."""
        found: dict[str, list[str]] = {}
        checks: list[tuple[str, Callable[[], object]]] = [
            ("quartier", lambda: chosen_id(self.quartier, choices.quartiers)),
            ("canal", lambda: chosen(self.canal, choices.channels)),
            ("theme", lambda: chosen(self.theme, choices.themes)),
            ("etat", lambda: chosen(self.etat, THEME_STATES)),
            ("statut", lambda: chosen(self.statut, (*STATUSES, ALL_STATUSES))),
            ("enquete", lambda: self.enquete == FREE or chosen_id(self.enquete, choices.surveys)),
            ("question", lambda: chosen_id(self.question, choices.questions)),
            ("pj", lambda: chosen(self.pj, MEDIA)),
            ("langue", lambda: chosen(self.langue, choices.languages)),
            ("du", lambda: chosen_date(self.du)),
            ("au", lambda: chosen_date(self.au)),
            ("suite", lambda: chosen(self.suite, ("attente",))),
        ]
        for name, check in checks:
            try:
                check()
            except BadValue:
                found[name] = [_problem(name, getattr(self, name))]
        return found

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> Filters:
        values = {f.name: args.get(f.name, "").strip()[:200] for f in fields(cls)}
        return cls(**values)

    def to_args(self, **changes: str) -> dict[str, str]:
        """The non-empty filters as query-string arguments, for links and forms."""
        values = {**asdict(self), **changes}
        return {key: value for key, value in values.items() if value}

    @property
    def active(self) -> bool:
        return bool(self.to_args())

    def apply(
        self,
        query: Select[Any],
        dialect: str,
        timezone: str,
        *,
        masked: bool = True,
        walk: bool = False,
    ) -> Select[Any]:
        """Add this filter's conditions to a query over contributions. ``masked``: the search
        reads the texts with their personal data masked (for whoever cannot reveal them: a
        search must not find "Dupont" behind "[nom]"); only a role that may reveal an original
        searches the originals. ``walk``: the query reads a page, newest first, of a view with
        many rows: each row met along the date index is tested against what a search or a
        thème selects, instead of those rows being read first (`storage.sql.walked`). The
        rows are the same."""
        conditions = [c for c in self._conditions(dialect, timezone, masked, walk) if c is not None]
        return query.where(*conditions) if conditions else query

    def _conditions(
        self, dialect: str, timezone: str, masked: bool, walk: bool
    ) -> list[ColumnElement[bool] | None]:
        found: list[ColumnElement[bool] | None] = [
            search.matches(dialect, self.q, masked, walk=walk)
        ]
        if self.quartier:
            found.append(Contribution.quartier_id == (parse_int(self.quartier) or -1))
        if self.canal:
            found.append(Contribution.channel == self.canal)
        if self.langue:
            found.append(Contribution.language == self.langue)
        found.append(self._status())
        found.append(self._theme(walk))
        found.append(self._theme_state())
        found.append(self._origin())
        found.append(self._media())
        found.append(awaiting_answer() if self.suite == "attente" else None)
        found.extend(self._dates(timezone))
        return found

    def _status(self) -> ColumnElement[bool] | None:
        if self.statut in STATUSES:
            return Contribution.status == self.statut
        if self.statut == ALL_STATUSES:
            return None
        if self.statut:
            return false()  # none of the statuses: nothing, rather than everything
        return Contribution.status != "archive"  # archived items only when asked for

    def _theme(self, walk: bool = False) -> ColumnElement[bool] | None:
        """A thème confirmed by the team, or suggested / chosen by the habitant if none is.

        Counting, the matches are read from the categorisations alone (their indexes), then
        found by id: the thème's categorisations are read, not every contribution. Walking
        (`walk`), each row met along the date index is looked up, whether the team confirmed
        a thème being the state kept on the row: no set is built for a page of 50."""
        if not self.theme:
            return None
        theme_id = select(Theme.id).where(Theme.code == self.theme).scalar_subquery()
        proposed = Categorisation.source.in_(("suggestion", "habitant"))
        if walk:
            return exists().where(
                Categorisation.contribution_id == Contribution.id,
                Categorisation.theme_id == theme_id,
                or_(
                    Categorisation.source == "staff",
                    and_(proposed, Contribution.theme_state != CONFIRMED),
                ),
            )
        staff = aliased(Categorisation)
        confirmed = exists().where(
            staff.contribution_id == Categorisation.contribution_id, staff.source == "staff"
        )
        given = select(Categorisation.contribution_id).where(
            Categorisation.theme_id == theme_id,
            or_(Categorisation.source == "staff", and_(proposed, ~confirmed)),
        )
        return Contribution.id.in_(given)

    def _theme_state(self) -> ColumnElement[bool] | None:
        if self.etat in THEME_STATES:
            return Contribution.theme_state == self.etat
        return false() if self.etat else None

    def _origin(self) -> ColumnElement[bool] | None:
        if self.enquete == FREE:
            return Contribution.kind == "free"
        conditions = []
        if self.enquete:
            conditions.append(Contribution.survey_id == (parse_int(self.enquete) or -1))
        if self.question:
            conditions.append(Contribution.question_id == (parse_int(self.question) or -1))
        return and_(*conditions) if conditions else None

    def _media(self) -> ColumnElement[bool] | None:
        # JSON is stored as text on SQLite and JSONB on PostgreSQL; both print `"kind": "x"`.
        as_text = cast(Contribution.media, String)
        if self.pj == "any":
            return as_text.like('%"kind"%')
        if self.pj in ("photo", "voice"):
            return as_text.like(f'%"kind": "{self.pj}"%')
        return false() if self.pj else None

    def _dates(self, timezone: str) -> list[ColumnElement[bool]]:
        return self.period(Contribution.created_at, timezone)

    def period(self, column: Any, timezone: str) -> list[ColumnElement[bool]]:
        """`du` and `au` are days in the territory's time zone, both included."""
        zone = ZoneInfo(timezone)
        found: list[ColumnElement[bool]] = []
        start, end = parse_date(self.du), parse_date(self.au)
        if (self.du and start is None) or (self.au and end is None):
            return [false()]  # a day that is no date: nothing, rather than every day
        if start is not None:
            found.append(column >= _day_start(start, zone))
        if end is not None:
            found.append(column < _day_start(end + timedelta(days=1), zone))
        return found


@dataclass(frozen=True)
class FilterChoices:
    """What the filters may be, for the current account: what its page offers in each list."""

    quartiers: frozenset[int]
    channels: frozenset[str]
    themes: frozenset[str]
    surveys: frozenset[int]
    questions: frozenset[int]  # those of the chosen survey
    languages: frozenset[str] = frozenset()  # the catalogue's


def _problem(name: str, value: str) -> str:
    if name == "quartier":
        return str(_("« %(value)s » n'est pas un des quartiers proposés.", value=value))
    if name == "enquete":
        return str(_("« %(value)s » n'est pas une des enquêtes proposées.", value=value))
    if name == "question":
        return str(_("« %(value)s » n'est pas une question de l'enquête choisie.", value=value))
    if name in ("du", "au"):
        return str(_("« %(value)s » n'est pas une date (par exemple 2026-11-23).", value=value))
    return str(_("« %(value)s » n'est pas un des choix proposés.", value=value))


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


# --- keyset paging ----------------------------------------------------------------------------


WAITING = "r"  # a cursor within the conversations waiting for the team (shown first)


def encode_cursor(contribution: Contribution, waiting: bool = False) -> str:
    return f"{WAITING if waiting else ''}{contribution.created_at.isoformat()}_{contribution.id}"


def in_waiting(cursor: str) -> bool:
    """Whether the page continues among the waiting conversations (the dates start with a
    digit, so the prefix cannot be mistaken for one)."""
    return cursor.startswith(WAITING)


def after_cursor(query: Select[Any], cursor: str) -> Select[Any]:
    """Rows older than the cursor's, newest first: fast at any depth with the (created_at, id)
    index, unlike OFFSET which reads and throws away every row before the page."""
    at_text, _sep, id_text = cursor.removeprefix(WAITING).rpartition("_")
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError:
        return query
    if at.tzinfo is None or not id_text.isdigit():
        return query
    return query.where(tuple_(Contribution.created_at, Contribution.id) < tuple_(at, int(id_text)))
