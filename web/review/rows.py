"""The inbox's lines: what one line needs to be drawn, for the whole page or for one line alone.

A line is drawn by `review/_row.html`, from the inbox's page and from the answer to an action
taken with JavaScript (`render_row`, sent back as JSON): after confirming a thème, the line is
replaced by the server's own rendering of it, the same masked text and the same badges, with no
page load. Both paths read the rows through the account's scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import render_template
from sqlalchemy import func, select

from bots.personal_data_job import Masker
from storage.models import Contribution, Question, Survey, Theme, ThreadMessage
from web.auth import visible_surveys
from web.db import get_session
from web.suivi import awaiting_ids
from web.texts import survey_title
from web.theme_state import theme_view


def active_themes() -> list[Theme]:
    return list(
        get_session().scalars(
            select(Theme).where(Theme.active.is_(True)).order_by(Theme.position, Theme.name)
        )
    )


def visible_survey_titles() -> dict[int, str]:
    """The surveys the account may see: never another quartier's title."""
    rows = get_session().execute(
        select(Survey.id, Survey.title, Survey.slug).where(visible_surveys()).order_by(Survey.id)
    )
    return {row.id: survey_title(row.title, row.slug) for row in rows}


def waiting_among(ids: Iterable[int]) -> set[int]:
    """Which of these contributions wait for the team's answer to a habitant's message."""
    ids = list(ids)
    if not ids:
        return set()
    chosen = awaiting_ids().where(ThreadMessage.contribution_id.in_(ids))
    return set(get_session().scalars(chosen))


def row_context(rows: list[Contribution], here: str) -> dict[str, Any]:
    """What the lines need beyond the rows: masked texts, survey names, new answers, thèmes.
    `here` is the page the lines' forms come back to without JavaScript."""
    db = get_session()
    ids = [c.id for c in rows]
    question_ids = {c.question_id for c in rows if c.question_id}
    numbers = dict(
        db.execute(
            select(Question.id, Question.position).where(Question.id.in_(question_ids))
        ).all()
    )
    unseen = dict(
        db.execute(
            select(ThreadMessage.contribution_id, func.count())
            .where(ThreadMessage.contribution_id.in_(ids), ThreadMessage.seen_at.is_(None))
            .group_by(ThreadMessage.contribution_id)
        ).all()
    )
    texts = Masker(db).contributions(rows)  # personal data masked, explaining words too
    return {
        "contributions": [(c, theme_view(c, texts[c.id])) for c in rows],
        "texts": texts,
        "unseen": unseen,
        "waiting_ids": waiting_among(ids),
        "question_numbers": numbers,
        "surveys": visible_survey_titles(),
        "themes": active_themes(),
        "here": here,
    }


def render_row(contribution: Contribution, here: str, focus: int | None = None) -> str:
    """One line, as the inbox draws it; `focus`: the line its forms move to without JavaScript."""
    context = row_context([contribution], here)
    c, view = context.pop("contributions")[0]
    return render_template(
        "review/_row.html", c=c, view=view, focus=focus or c.id, expanded=False, **context
    )
