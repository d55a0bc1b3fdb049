"""Giving thèmes and statuses to contributions, and what the inbox shows about them.

A contribution may carry thèmes from three sources (`Categorisation.source`): `habitant` (what
they chose on their phone), `suggestion` (the suggestion engine, with a confidence) and `staff`
(confirmed or corrected by the team). Only `staff` thèmes count as confirmed; the others are
shown so that accepting them is one click. Every change is written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import AuditEntry, Categorisation, Contribution, Theme
from web.review.filters import STATUSES


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


def theme_view(contribution: Contribution) -> ThemeView:
    view = ThemeView()
    for cat in contribution.categorisations:
        if cat.source == "staff":
            view.confirmed.append(cat.theme)
        elif cat.source == "suggestion":
            words = tuple((cat.detail or {}).get("words", ()))
            view.suggestions.append(Suggested(cat.theme, cat.confidence, words))
        elif cat.source == "habitant":
            view.habitant.append(cat.theme)
    view.suggestions.sort(key=lambda suggested: -(suggested.confidence or 0.0))
    view.confirmed.sort(key=lambda theme: theme.position)
    return view


def audit(db: Session, user_id: int | None, action: str, target: str, **detail: Any) -> None:
    db.add(AuditEntry(user_id=user_id, action=action, target=target, detail=detail))


def _staff_codes(db: Session, contribution: Contribution) -> list[str]:
    return list(
        db.scalars(
            select(Theme.code)
            .join(Categorisation, Categorisation.theme_id == Theme.id)
            .where(
                Categorisation.contribution_id == contribution.id,
                Categorisation.source == "staff",
            )
            .order_by(Theme.position)
        )
    )


def _add_staff(db: Session, contribution: Contribution, theme: Theme, user_id: int) -> None:
    exists = db.scalars(
        select(Categorisation.id).where(
            Categorisation.contribution_id == contribution.id,
            Categorisation.theme_id == theme.id,
            Categorisation.source == "staff",
        )
    ).first()
    if exists is None:
        db.add(
            Categorisation(
                contribution_id=contribution.id,
                theme_id=theme.id,
                source="staff",
                user_id=user_id,
                created_at=datetime.now(UTC),
            )
        )


def change_theme(
    db: Session,
    contribution: Contribution,
    action: str,
    theme: Theme | None,
    user_id: int,
    **detail: Any,
) -> bool:
    """`confirm` the candidate, `set` one thème instead of the others, `add` a second one, or
    `remove` one. Returns False when there was nothing to do (nothing to confirm)."""
    before = _staff_codes(db, contribution)
    if action == "confirm":
        theme = theme_view(contribution).candidate
        if theme is None:
            return False
        _add_staff(db, contribution, theme, user_id)
    elif theme is None:
        raise ValueError("a thème is needed for " + action)
    elif action == "set":
        db.execute(
            delete(Categorisation).where(
                Categorisation.contribution_id == contribution.id,
                Categorisation.source == "staff",
                Categorisation.theme_id != theme.id,
            )
        )
        _add_staff(db, contribution, theme, user_id)
    elif action == "add":
        _add_staff(db, contribution, theme, user_id)
    elif action == "remove":
        db.execute(
            delete(Categorisation).where(
                Categorisation.contribution_id == contribution.id,
                Categorisation.source == "staff",
                Categorisation.theme_id == theme.id,
            )
        )
    else:
        raise ValueError("unknown thème action " + action)
    db.flush()
    db.expire(contribution, ["categorisations"])
    audit(
        db,
        user_id,
        f"theme.{action}",
        f"contribution:{contribution.id}",
        theme=theme.code,
        before=before,
        after=_staff_codes(db, contribution),
        **detail,
    )
    return True


def change_status(
    db: Session, contribution: Contribution, status: str, user_id: int, **detail: Any
) -> None:
    if status not in STATUSES:
        raise ValueError("unknown status " + status)
    if contribution.status != status:
        audit(
            db,
            user_id,
            "status.set",
            f"contribution:{contribution.id}",
            before=contribution.status,
            after=status,
            **detail,
        )
        contribution.status = status
