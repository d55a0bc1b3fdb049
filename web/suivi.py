"""What the back-office and the public pages share about "donner suite": the engagements'
statuses as people read them, the public address of a page, and the engagements as listed.

The public address is built from `PAROLES_PUBLIC_URL` when it is set (a retour SMS or a poster
goes out of the building: it must not carry `127.0.0.1`), else from the request's own host.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, exists, not_, select
from sqlalchemy.orm import Session, selectinload

from storage.models import (
    ENGAGEMENT_STATUSES,
    Contribution,
    Engagement,
    StaffReply,
    ThreadMessage,
)
from storage.sql import among
from web.db import get_runtime

ENGAGEMENT_LABELS: dict[str, Any] = {
    "etude": _l("à l'étude"),
    "decide": _l("décidé"),
    "en_cours": _l("en cours"),
    "realise": _l("réalisé"),
    "non_retenu": _l("non retenu"),
}
assert tuple(ENGAGEMENT_LABELS) == ENGAGEMENT_STATUSES


def public_link(endpoint: str, **values: Any) -> str:
    """The full address of a public page, for an SMS or a QR code."""
    base = get_runtime().settings.public_url
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def engagements(session: Session, *, quartier_ids: Sequence[int] | None = None) -> list[Engagement]:
    """Engagements with their quartier, thème and history, newest change first."""
    query = (
        select(Engagement)
        .options(
            selectinload(Engagement.updates),
            selectinload(Engagement.quartier),
            selectinload(Engagement.theme),
        )
        .order_by(Engagement.updated_at.desc(), Engagement.id.desc())
    )
    if quartier_ids is not None:
        query = query.where(Engagement.quartier_id.in_(quartier_ids))
    return list(session.scalars(query))


def awaiting_ids() -> Select[Any]:
    """The contributions with a habitant's message in the thread that no staff reply came after.

    Driven from the threads (a few hundred rows), not from every contribution: as a condition
    `id IN (...)` it costs the same at 100,000 contributions as at 1,000."""
    answered = exists().where(
        StaffReply.contribution_id == ThreadMessage.contribution_id,
        StaffReply.created_at >= ThreadMessage.created_at,
    )
    return select(ThreadMessage.contribution_id).where(not_(answered))


def awaiting_answer() -> ColumnElement[bool]:
    """A habitant's message in the thread that no staff reply came after (a condition, driven
    from those few ids: `storage.sql.among`)."""
    return among(Contribution.id, awaiting_ids())
