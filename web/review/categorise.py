"""Giving thèmes and statuses to contributions, and what the inbox shows about them.

A contribution may carry thèmes from three sources (`Categorisation.source`): `habitant` (what
they chose on their phone), `suggestion` (the suggestion engine, with a confidence) and `staff`
(confirmed or corrected by the team). Only `staff` thèmes count as confirmed; the others are
shown so that accepting them is one click. Every change is written to the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import Categorisation, Contribution, Theme
from web.audit_log import audit
from web.theme_state import STATUSES, theme_view


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
