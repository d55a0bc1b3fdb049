"""The public results of a campaign (`/resultats/<slug>`), their index, and `/suivi/`.

What is shown is what the back-office shows a conseil citoyen, for the whole territory: the
counts of `web.results.protected` (1 to 4 shown "< 5", complementary suppression), the
free-text answers a staff member chose to publish, never a test phone. The page carries no
script: the bars are `<meter>` elements next to the numbers, readable on an old phone and by a
screen reader, and the Content-Security-Policy stays the back-office's.

Counting 10,000 answers takes several hundred milliseconds; a public page is read far more
often than answers arrive. So each process keeps the counted results of a page with a key of
what they were counted from (the campaign's answers and conversations — count, last id, last
change —, its chosen quotes, its retour, what masks its quotes): small aggregate queries tell
whether to count again. A new answer, an erasure, a quote chosen or withdrawn, a span found or
a team's mark changes the key.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bots.personal_data_job import marks_of, version_of
from storage.models import (
    Answer,
    Campaign,
    Contribution,
    Conversation,
    Engagement,
    PersonalDataSpan,
    Publication,
    PublicQuote,
    Quartier,
    Theme,
    engagement_campaigns,
    engagement_contributions,
)
from web.counts import Scope, small
from web.db import get_session
from web.results import Results, campaign_results, protected
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
    results = _counted(db, row)
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


_CACHE: dict[int, tuple[tuple[Any, ...], Results]] = {}
_CACHE_SIZE = 64


def _key(db: Session, campaign: Campaign) -> tuple[Any, ...]:
    answers = db.execute(
        select(func.count(Answer.id), func.max(Answer.id))
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .where(Conversation.campaign_id == campaign.id)
    ).one()
    conversations = db.execute(
        select(
            func.count(Conversation.id),
            func.count(Conversation.participant_id),
            func.max(Conversation.updated_at),
        ).where(Conversation.campaign_id == campaign.id)
    ).one()
    quotes = db.execute(
        select(func.count(PublicQuote.contribution_id), func.max(PublicQuote.selected_at))
        .join(Contribution, Contribution.id == PublicQuote.contribution_id)
        .where(Contribution.campaign_id == campaign.id)
    ).one()
    # The quotes are shown masked: a span found later or a team's mark changes them too.
    spans = db.execute(
        select(func.count(PersonalDataSpan.id), func.max(PersonalDataSpan.id))
        .join(Contribution, Contribution.id == PersonalDataSpan.contribution_id)
        .join(PublicQuote, PublicQuote.contribution_id == Contribution.id)
        .where(Contribution.campaign_id == campaign.id)
    ).one()
    masks = version_of(marks_of(db))
    return (*answers, *conversations, *quotes, *spans, masks, campaign.status, campaign.retour_text)


def _counted(db: Session, campaign: Campaign) -> Results:
    """The protected results of the public page, counted again only when their data moved."""
    key = _key(db, campaign)
    kept = _CACHE.get(campaign.id)
    if kept is not None and kept[0] == key:
        return kept[1]
    results = protected(campaign_results(db, campaign, Scope(), quoted_only=True))
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[campaign.id] = (key, results)
    return results


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
