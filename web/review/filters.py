"""The inbox's filters, read from the query string; the exports apply exactly the same ones.

Every filter is a plain query-string value, so a filtered view is a link that can be shared,
bookmarked, or turned into an export. Unknown or malformed values are ignored, never an error.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    exists,
    not_,
    select,
    tuple_,
    union,
)
from werkzeug.datastructures import MultiDict

from storage import search
from storage.models import Categorisation, Contribution, Theme
from web.params import parse_date, parse_int
from web.theme_state import STATUSES

MEDIA = {"any": _l("Avec pièce jointe"), "photo": _l("Photo"), "voice": _l("Message vocal")}
FREE = "libre"


def _staff_theme() -> ColumnElement[bool]:
    return exists().where(
        Categorisation.contribution_id == Contribution.id, Categorisation.source == "staff"
    )


def _suggested_theme() -> ColumnElement[bool]:
    return exists().where(
        Categorisation.contribution_id == Contribution.id, Categorisation.source == "suggestion"
    )


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

    def apply(self, query: Select[Any], dialect: str, timezone: str) -> Select[Any]:
        """Add this filter's conditions to a query over contributions."""
        conditions = [c for c in self._conditions(dialect, timezone) if c is not None]
        return query.where(*conditions) if conditions else query

    def _conditions(self, dialect: str, timezone: str) -> list[ColumnElement[bool] | None]:
        found: list[ColumnElement[bool] | None] = [search.matches(dialect, self.q)]
        quartier = parse_int(self.quartier)
        if quartier is not None:
            found.append(Contribution.quartier_id == quartier)
        if self.canal:
            found.append(Contribution.channel == self.canal)
        if self.langue:
            found.append(Contribution.language == self.langue)
        found.append(self._status())
        found.append(self._theme())
        found.append(self._theme_state())
        found.append(self._origin())
        found.append(self._media())
        found.extend(self._dates(timezone))
        return found

    def _status(self) -> ColumnElement[bool] | None:
        if self.statut in STATUSES:
            return Contribution.status == self.statut
        if self.statut == "tous":
            return None
        return Contribution.status != "archive"  # archived items only when asked for

    def _theme(self) -> ColumnElement[bool] | None:
        """A thème confirmed by the team, or suggested / chosen by the habitant if none is.

        Written as `id IN (...)` over the (theme_id, contribution_id) index, so that counting
        the matches reads the thème's categorisations, not every contribution."""
        if not self.theme:
            return None
        theme_id = select(Theme.id).where(Theme.code == self.theme).scalar_subquery()
        of_theme = select(Categorisation.contribution_id).where(Categorisation.theme_id == theme_id)
        confirmed = of_theme.where(Categorisation.source == "staff")
        staff = select(Categorisation.contribution_id).where(Categorisation.source == "staff")
        proposed = of_theme.where(
            Categorisation.source.in_(("suggestion", "habitant")),
            Categorisation.contribution_id.not_in(staff),
        )
        return Contribution.id.in_(union(confirmed, proposed))

    def _theme_state(self) -> ColumnElement[bool] | None:
        if self.etat == "confirme":
            return _staff_theme()
        if self.etat == "suggere":
            return and_(not_(_staff_theme()), _suggested_theme())
        if self.etat == "a_trier":
            return and_(not_(_staff_theme()), not_(_suggested_theme()))
        return None

    def _origin(self) -> ColumnElement[bool] | None:
        if self.enquete == FREE:
            return Contribution.kind == "free"
        survey = parse_int(self.enquete)
        conditions = []
        if survey is not None:
            conditions.append(Contribution.survey_id == survey)
        question = parse_int(self.question)
        if question is not None:
            conditions.append(Contribution.question_id == question)
        return and_(*conditions) if conditions else None

    def _media(self) -> ColumnElement[bool] | None:
        # JSON is stored as text on SQLite and JSONB on PostgreSQL; both print `"kind": "x"`.
        as_text = cast(Contribution.media, String)
        if self.pj == "any":
            return as_text.like('%"kind"%')
        if self.pj in ("photo", "voice"):
            return as_text.like(f'%"kind": "{self.pj}"%')
        return None

    def _dates(self, timezone: str) -> list[ColumnElement[bool]]:
        return self.period(Contribution.created_at, timezone)

    def period(self, column: Any, timezone: str) -> list[ColumnElement[bool]]:
        """`du` and `au` are days in the territory's time zone, both included."""
        zone = ZoneInfo(timezone)
        found = []
        start = parse_date(self.du)
        if start is not None:
            found.append(column >= _day_start(start, zone))
        end = parse_date(self.au)
        if end is not None:
            found.append(column < _day_start(end + timedelta(days=1), zone))
        return found


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


# --- keyset paging ----------------------------------------------------------------------------


def encode_cursor(contribution: Contribution) -> str:
    return f"{contribution.created_at.isoformat()}_{contribution.id}"


def after_cursor(query: Select[Any], cursor: str) -> Select[Any]:
    """Rows older than the cursor's, newest first: fast at any depth with the (created_at, id)
    index, unlike OFFSET which reads and throws away every row before the page."""
    at_text, _sep, id_text = cursor.rpartition("_")
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError:
        return query
    if at.tzinfo is None or not id_text.isdigit():
        return query
    return query.where(tuple_(Contribution.created_at, Contribution.id) < tuple_(at, int(id_text)))
