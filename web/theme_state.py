"""A contribution's status and thème state, as every page names and counts them.

A contribution may carry thèmes from three sources (`Categorisation.source`): `habitant` (what
they chose on their phone), `suggestion` (the suggestion engine, with a confidence) and `staff`
(confirmed or corrected by the team). Only `staff` thèmes count as confirmed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, case, select
from sqlalchemy.orm import Session

from storage.models import Categorisation, Contribution, Theme

STATUSES = {
    "nouveau": _l("Nouveau"),
    "a_traiter": _l("À traiter"),
    "traite": _l("Traité"),
    "archive": _l("Archivé"),
}
THEME_STATES = {
    "confirme": _l("Thème confirmé"),
    "suggere": _l("Thème suggéré, à confirmer"),
    "a_trier": _l("À trier (aucun thème)"),
}


def theme_state() -> ColumnElement[str]:
    """A contribution's `THEME_STATES` key in SQL, by the same rule as the `etat` filter.

    Written with `id IN (...)` rather than the filter's EXISTS: counting a whole year of
    contributions, each set is read once (a hash on PostgreSQL), not looked up row by row."""
    staff = select(Categorisation.contribution_id).where(Categorisation.source == "staff")
    suggested = select(Categorisation.contribution_id).where(Categorisation.source == "suggestion")
    return case(
        (Contribution.id.in_(staff), "confirme"),
        (Contribution.id.in_(suggested), "suggere"),
        else_="a_trier",
    )


def state_counts(session: Session, counted: Select[Any]) -> dict[str, int]:
    """How many contributions of `counted` (a `select(count(...))` over contributions, with its
    conditions) are in each `THEME_STATES`, and `"total"`.

    Three counts rather than one GROUP BY over `theme_state()`: the confirmed and suggested ones
    are read from the categorisations of that source (an index), each id looked up once, and
    "à trier" is what remains; the grouped CASE probes both sets for every contribution."""
    staff = select(Categorisation.contribution_id).where(Categorisation.source == "staff")
    suggested = select(Categorisation.contribution_id).where(Categorisation.source == "suggestion")
    total = session.scalar(counted) or 0
    confirmed = session.scalar(counted.where(Contribution.id.in_(staff))) or 0
    proposed = (
        session.scalar(counted.where(Contribution.id.in_(suggested), Contribution.id.not_in(staff)))
        or 0
    )
    return {
        "a_trier": total - confirmed - proposed,
        "suggere": proposed,
        "confirme": confirmed,
        "total": total,
    }


@dataclass(frozen=True)
class Suggested:
    """A thème the model suggests, how sure it is, and the words that weighed most."""

    theme: Theme
    confidence: float | None
    words: tuple[str, ...] = ()


@dataclass
class ThemeView:
    """The thèmes of one contribution, sorted for display."""

    confirmed: list[Theme] = field(default_factory=list)
    suggestions: list[Suggested] = field(default_factory=list)
    habitant: list[Theme] = field(default_factory=list)

    @property
    def candidate(self) -> Theme | None:
        """What "confirm" accepts: the best suggestion, else the habitant's own choice."""
        if self.confirmed:
            return None
        if self.suggestions:
            return self.suggestions[0].theme
        return self.habitant[0] if self.habitant else None

    @property
    def to_sort(self) -> bool:
        return not self.confirmed and not self.suggestions


_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*", re.UNICODE)


class Categorised(Protocol):
    """What a thème view reads of a categorisation: a `Categorisation`, or the same columns
    read without the ORM (the exports)."""

    @property
    def source(self) -> str: ...
    @property
    def theme(self) -> Theme: ...
    @property
    def confidence(self) -> float | None: ...
    @property
    def detail(self) -> dict[str, Any] | None: ...


def theme_view(contribution: Contribution, shown_text: str | None = None) -> ThemeView:
    """The thèmes of ``contribution``. The suggestion's explaining words are kept only when
    they can be read in ``shown_text``, the text as the reader sees it (personal data
    masked): a word inside a masked span ("Dupont" behind ``[nom]``) must not come back
    through the explanation. Without ``shown_text``, no word is shown."""
    return view_of(contribution.categorisations, shown_text)


def view_of(categorisations: Iterable[Categorised], shown_text: str | None = None) -> ThemeView:
    """`theme_view` of a contribution's categorisations, in the order they were read."""
    view = ThemeView()
    visible = {w.casefold() for w in _WORD.findall(shown_text or "")}
    for cat in categorisations:
        if cat.source == "staff":
            view.confirmed.append(cat.theme)
        elif cat.source == "suggestion":
            stored = (cat.detail or {}).get("words", ())
            words = tuple(w for w in stored if isinstance(w, str) and w.casefold() in visible)
            view.suggestions.append(Suggested(cat.theme, cat.confidence, words))
        elif cat.source == "habitant":
            view.habitant.append(cat.theme)
    view.suggestions.sort(key=lambda suggested: -(suggested.confidence or 0.0))
    view.confirmed.sort(key=lambda theme: theme.position)
    return view
