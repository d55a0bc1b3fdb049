"""The inbox: contributions newest first, within the quartiers the account may see.

Filters come from the query string (`web.review.filters.Filters`), so a view is a shareable link and
an export of "what I see". Paging is by keyset (`?apres=<date>_<id>`): the 2,000th page is as
fast as the first, which OFFSET is not at 100,000 contributions.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bots.channels import channel_names
from bots.personal_data_job import Masker
from storage.models import Categorisation, Contribution, Question, Survey, Theme, ThreadMessage
from web.auth import permission_required, scoped, visible_quartiers, visible_surveys
from web.db import get_runtime, get_session
from web.params import parse_int
from web.review.contributions import active_themes
from web.review.filters import (
    MEDIA,
    FilterChoices,
    Filters,
    after_cursor,
    awaiting_answer,
    encode_cursor,
)
from web.texts import language_label, localised, survey_title
from web.theme_state import STATUSES, THEME_STATES, theme_view

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
PAGE_SIZE = 50


CHANNELS = {
    "telegram": "Telegram",
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "simulator": _l("Simulateur"),
    "terrain": _l("Terrain"),
}
# Kinds of attachment as the channels name them (bots.handler.Media.kind).
ATTACHMENTS = {
    "photo": _l("photo"),
    "voice": _l("message vocal"),
    "audio": _l("son"),
    "video": _l("vidéo"),
    "document": _l("document"),
}


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {
        "channel_label": lambda name: CHANNELS.get(name, name),
        "language_label": language_label,
        "attachment_label": lambda kind: ATTACHMENTS.get(kind, kind),
        "status_labels": STATUSES,
        "can": lambda permission: current_user.is_authenticated and current_user.can(permission),
    }


def home() -> Any:
    if current_user.is_authenticated and not current_user.can("read"):
        return redirect(url_for("field.index"))  # an intervenant works in the field pages
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    return redirect(url_for("auth.login"))


def filtered(filters: Filters, query: Any) -> Any:
    """`query` over contributions, limited to the account's scope and to `filters`; the
    search reads masked texts unless the account may reveal originals (chef de projet,
    administrateur), who search what they may see in one click."""
    runtime = get_runtime()
    masked = not current_user.can("reveal_personal_data")
    dialect, timezone = runtime.engine.dialect.name, runtime.settings.timezone
    return filters.apply(scoped(query), dialect, timezone, masked=masked)


@bp.route("/")
@permission_required("read")
def index() -> Any:
    db = get_session()
    filters = Filters.from_args(request.args)
    problems = filters.problems(filter_choices(filters))
    cursor = request.args.get("apres", "")
    query = filtered(filters, select(Contribution)).order_by(
        Contribution.created_at.desc(), Contribution.id.desc()
    )
    if cursor:
        query = after_cursor(query, cursor)
    rows: list[Contribution] = []
    total = 0
    if not problems:  # a filter not understood shows nothing, never more than was asked
        rows = list(
            db.scalars(
                query.options(
                    selectinload(Contribution.categorisations).selectinload(Categorisation.theme),
                    selectinload(Contribution.quartier),
                ).limit(PAGE_SIZE + 1)
            )
        )
        total = db.scalar(filtered(filters, select(func.count(Contribution.id)))) or 0
    has_more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    question_ids = {c.question_id for c in rows if c.question_id}
    numbers = dict(
        db.execute(
            select(Question.id, Question.position).where(Question.id.in_(question_ids))
        ).all()
    )
    unseen = dict(
        db.execute(
            select(ThreadMessage.contribution_id, func.count())
            .where(
                ThreadMessage.contribution_id.in_([c.id for c in rows]),
                ThreadMessage.seen_at.is_(None),
            )
            .group_by(ThreadMessage.contribution_id)
        ).all()
    )
    waiting = db.scalar(scoped(select(func.count(Contribution.id)).where(awaiting_answer())))
    texts = Masker(db).contributions(rows)  # personal data masked, explaining words too
    return render_template(
        "review/inbox.html",
        unseen=unseen,
        waiting=waiting or 0,
        contributions=[(c, theme_view(c, texts[c.id])) for c in rows],
        texts=texts,
        filters=filters,
        total=total,
        cursor=cursor,
        next_cursor=encode_cursor(rows[-1]) if has_more else "",
        themes=active_themes(),
        quartiers=visible_quartiers(),
        channels=channel_names(),
        languages=get_runtime().catalog.language_codes(),
        surveys=_surveys(),
        questions=_questions(filters),
        question_numbers=numbers,
        statuses=STATUSES,
        theme_states=THEME_STATES,
        media_kinds=MEDIA,
        here=request.full_path.rstrip("?"),
        problems=problems,
    ), (400 if problems else 200)


def _surveys() -> dict[int, str]:
    """The surveys the account may see: never another quartier's title."""
    rows = get_session().execute(
        select(Survey.id, Survey.title, Survey.slug).where(visible_surveys()).order_by(Survey.id)
    )
    return {row.id: survey_title(row.title, row.slug) for row in rows}


def _questions(filters: Filters) -> list[tuple[int, str]]:
    """The questions of the chosen survey, for the question filter, if the account may see it."""
    survey = parse_int(filters.enquete)
    if survey is None:
        return []
    rows = get_session().execute(
        select(Question.id, Question.position, Question.text)
        .join(Survey, Survey.id == Question.survey_id)
        .where(Question.survey_id == survey, visible_surveys())
        .order_by(Question.position)
    )
    return [(row.id, f"{row.position}. {localised(row.text)}") for row in rows]


def filter_choices(filters: Filters) -> FilterChoices:
    """What each filter may be for this account: exactly what the inbox's lists offer."""
    db = get_session()
    return FilterChoices(
        quartiers=frozenset(q.id for q in visible_quartiers()),
        channels=frozenset((*channel_names(), *CHANNELS)),
        themes=frozenset(db.scalars(select(Theme.code))),
        surveys=frozenset(_surveys()),
        questions=frozenset(question for question, _label in _questions(filters)),
        languages=frozenset(get_runtime().catalog.language_codes()),
    )
