"""The public results of a campaign (`/resultats/<slug>`), their index, and `/suivi/`.

What is shown is what the back-office shows a conseil citoyen, for the whole territory: the
counts of `web.results.protected` (1 to 4 shown "< 5", complementary suppression), the
free-text answers a staff member chose to publish, never a test phone. The page carries no
script: the bars are `<meter>` elements next to the numbers, readable on an old phone and by a
screen reader, and the Content-Security-Policy stays the back-office's.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from storage.models import (
    Campaign,
    Engagement,
    Publication,
    Quartier,
    Theme,
    engagement_campaigns,
    engagement_contributions,
)
from web.counts import Scope, small
from web.db import get_session
from web.results import campaign_results, protected
from web.suivi import ENGAGEMENT_LABELS, engagements
from web.texts import localised

bp = Blueprint("public", __name__)


def _published() -> list[Publication]:
    return list(
        get_session().scalars(
            select(Publication)
            .options(selectinload(Publication.campaign).selectinload(Campaign.survey))
            .order_by(Publication.published_at.desc())
        )
    )


def _quartier_names(campaign: Campaign) -> list[str]:
    codes = campaign.target.get("quartiers") or []
    if not codes:
        return []
    rows = get_session().scalars(
        select(Quartier.name).where(Quartier.code.in_(codes)).order_by(Quartier.name)
    )
    return list(rows)


@bp.route("/resultats/")
def index() -> Any:
    return render_template(
        "public/index.html",
        publications=[(p, _quartier_names(p.campaign)) for p in _published()],
    )


@bp.route("/resultats/<slug>")
def campaign(slug: str) -> Any:
    db = get_session()
    publication = db.scalars(select(Publication).where(Publication.slug == slug)).one_or_none()
    if publication is None:
        abort(404)
    row = publication.campaign
    results = protected(campaign_results(db, row, Scope(), quoted_only=True))
    linked = list(
        db.scalars(
            select(Engagement)
            .join(engagement_campaigns, engagement_campaigns.c.engagement_id == Engagement.id)
            .where(engagement_campaigns.c.campaign_id == row.id)
            .order_by(Engagement.id)
        )
    )
    return render_template(
        "public/campaign.html",
        campaign=row,
        publication=publication,
        title=localised(row.survey.title) or row.name,
        results=results,
        quartiers=_quartier_names(row),
        engagements=linked,
        labels=ENGAGEMENT_LABELS,
    )


@bp.route("/suivi/")
def suivi() -> Any:
    db = get_session()
    quartiers = list(db.scalars(select(Quartier).order_by(Quartier.name)))
    themes = list(db.scalars(select(Theme).where(Theme.active.is_(True)).order_by(Theme.position)))
    chosen_quartier = next((q for q in quartiers if q.code == request.args.get("quartier")), None)
    chosen_theme = next((t for t in themes if t.code == request.args.get("theme")), None)
    rows = engagements(db, quartier_ids=[chosen_quartier.id] if chosen_quartier else None)
    if chosen_theme is not None:
        rows = [e for e in rows if e.theme_id == chosen_theme.id]
    counts: dict[int, int] = dict(
        db.execute(
            select(engagement_contributions.c.engagement_id, func.count()).group_by(
                engagement_contributions.c.engagement_id
            )
        ).all()
    )
    groups: dict[str, list[Engagement]] = {}
    for engagement in rows:
        name = engagement.quartier.name if engagement.quartier else ""
        groups.setdefault(name, []).append(engagement)
    return render_template(
        "public/suivi.html",
        groups=sorted(groups.items(), key=lambda item: (item[0] == "", item[0])),
        quartiers=quartiers,
        themes=themes,
        chosen_quartier=chosen_quartier,
        chosen_theme=chosen_theme,
        contributions={e.id: small(counts.get(e.id, 0)).shown for e in rows},
        labels=ENGAGEMENT_LABELS,
    )
