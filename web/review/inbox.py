"""The inbox: contributions newest first, within the quartiers the account may see.

Filters come from the query string (`web.review.filters.Filters`), so a view is a shareable link and
an export of "what I see". Paging is by keyset (`?apres=<date>_<id>`): the 2,000th page is as
fast as the first, which OFFSET is not at 100,000 contributions.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bots.channels import channel_names
from storage.models import Categorisation, Contribution, Question, Survey, Theme
from storage.sql import led_by
from web.auth import permission_required, scoped, visible_quartiers, visible_surveys
from web.db import get_runtime, get_session
from web.params import parse_int
from web.review.filters import (
    MEDIA,
    FilterChoices,
    Filters,
    after_cursor,
    encode_cursor,
    in_waiting,
)
from web.review.rows import CHANNELS, line_kit, row_context, visible_survey_titles
from web.suivi import awaiting_answer, awaiting_ids
from web.texts import language_label, localised
from web.theme_state import STATUSES, THEME_STATES, state_counts

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
PAGE_SIZE = 50
# From this many rows in a view, its pages walk the date index (`page`): 20 pages or more, so
# that a page meets its 50 rows within a few thousand index entries.
WALK_FROM = 1000


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
        "line_kit": line_kit,
        "can": lambda permission: current_user.is_authenticated and current_user.can(permission),
    }


def filtered(filters: Filters, query: Any, *, walk: bool = False) -> Any:
    """`query` over contributions, limited to the account's scope and to `filters`; the
    search reads masked texts unless the account may reveal originals (chef de projet,
    administrateur), who search what they may see in one click. ``walk``: see `page`."""
    runtime = get_runtime()
    masked = not current_user.can("reveal_personal_data")
    dialect, timezone = runtime.engine.dialect.name, runtime.settings.timezone
    return filters.apply(scoped(query), dialect, timezone, masked=masked, walk=walk)


@bp.route("/")
@permission_required("read")
def index() -> Any:
    db = get_session()
    filters = Filters.from_args(request.args)
    problems = filters.problems(filter_choices(filters))
    cursor = request.args.get("apres", "")
    rows: list[Contribution] = []
    next_cursor = ""
    counts = {"a_trier": 0, "suggere": 0, "confirme": 0, "total": 0}
    if not problems:  # a filter not understood shows nothing, never more than was asked
        counts = state_counts(
            db, filtered(replace(filters, etat=""), select(func.count(Contribution.id)))
        )
        shown = counts[filters.etat] if filters.etat in counts else counts["total"]
        rows, next_cursor = page(filters, cursor, walk=shown >= WALK_FROM)
    waiting = db.scalar(scoped(select(func.count(Contribution.id)).where(awaiting_answer())))
    return render_template(
        "review/inbox.html",
        waiting=waiting or 0,
        filters=filters,
        counts=counts,
        total=counts[filters.etat] if filters.etat in counts else counts["total"],
        cursor=cursor,
        next_cursor=next_cursor,
        problems=problems,
        **row_context(rows, request.full_path.rstrip("?")),
        **filter_context(filters),
    ), (400 if problems else 200)


def page(filters: Filters, cursor: str, walk: bool = False) -> tuple[list[Contribution], str]:
    """One page of the inbox and the cursor of the next (empty on the last page).

    Conversations waiting for the team's answer come first, newest first, then every other
    contribution, newest first. Both parts are paged by keyset on (created_at, id); a cursor
    says which part it points into (`filters.encode_cursor`), so page 2,000 stays as fast as
    page 1 and no contribution is shown twice or skipped when the first part ends mid-page.

    ``walk``: the view has many rows (the counts said so), so the 50 newest are found along
    the date index, each row tested against what a search or a thème selects; with few, those
    are read first (`Filters.apply`). The rows are the same either way."""
    chosen = filtered(filters, select(Contribution), walk=walk)
    ordered = chosen.order_by(Contribution.created_at.desc(), Contribution.id.desc())
    rows: list[Contribution] = []
    split = filters.suite != "attente"  # with that filter every row waits: one part only
    if split and (not cursor or in_waiting(cursor)):
        # The waiting ones are few: read from their ids, then sorted (`led_by`: else SQLite
        # may walk an index in date order through most of the table to find them).
        few = awaiting_ids().distinct().subquery()
        waiting = chosen.select_from(
            led_by(few, Contribution.__table__, few.c.contribution_id == Contribution.id)
        ).order_by(Contribution.created_at.desc(), Contribution.id.desc())
        rows = _fetch(after_cursor(waiting, cursor), PAGE_SIZE + 1)
        if len(rows) > PAGE_SIZE:
            return rows[:PAGE_SIZE], encode_cursor(rows[PAGE_SIZE - 1], waiting=True)
        cursor = ""
    rest = ordered.where(Contribution.id.not_in(awaiting_ids())) if split else ordered
    more = _fetch(after_cursor(rest, cursor), PAGE_SIZE + 1 - len(rows))
    rows += more
    if len(rows) > PAGE_SIZE:
        return rows[:PAGE_SIZE], encode_cursor(rows[PAGE_SIZE - 1])
    return rows, ""


def _fetch(query: Any, limit: int) -> list[Contribution]:
    if limit <= 0:
        return []
    return list(
        get_session().scalars(
            query.options(
                selectinload(Contribution.categorisations).selectinload(Categorisation.theme),
                selectinload(Contribution.quartier),
            ).limit(limit)
        )
    )


def filter_context(filters: Filters) -> dict[str, Any]:
    return {
        "quartiers": visible_quartiers(),
        "channels": channel_names(),
        "languages": get_runtime().catalog.language_codes(),
        "questions": _questions(filters),
        "statuses": STATUSES,
        "theme_states": THEME_STATES,
        "media_kinds": MEDIA,
    }


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
        surveys=frozenset(visible_survey_titles()),
        questions=frozenset(question for question, _label in _questions(filters)),
        languages=frozenset(get_runtime().catalog.language_codes()),
    )
