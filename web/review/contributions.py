"""One contribution: its page, its attachments, and the actions on it (thème, status, in bulk).

Every view reaches a contribution through `web.auth.get_contribution(id)`, which checks the
account's quartier scope: changing the id in the URL never shows another quartier's contribution.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from storage.models import AuditEntry, Categorisation, Contribution, Question, Survey, Theme, User
from web.auth import get_contribution, permission_required, safe_path, scoped
from web.db import get_runtime, get_session
from web.review import replies
from web.review.categorise import change_status, change_theme
from web.theme_state import STATUSES, theme_view

bp = Blueprint("contributions", __name__, url_prefix="/contributions")
THEME_ACTIONS = ("confirm", "set", "add", "remove")
MAX_BULK = 500

# Shown in the page (inline); anything else is only offered as a download.
INLINE_MEDIA = {
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "audio/ogg",
    "audio/mpeg",
    "audio/mp4",
    "audio/aac",
    "audio/wav",
    "audio/webm",
}


def get_theme(theme_id: Any) -> Theme:
    """An active thème by id; aborts with 400 if the form sent none or an unknown one."""
    theme = get_session().get(Theme, theme_id) if str(theme_id).isdigit() else None
    if theme is None or not theme.active:
        abort(400)
    return theme


def back(default_focus: int | None = None) -> Any:
    """Back to the page the form came from (same filters), focused on the next item."""
    target = safe_path(request.form.get("next", ""), url_for("inbox.index"))
    focus = request.form.get("focus", "") or (str(default_focus) if default_focus else "")
    if focus.isdigit():
        target = f"{target.split('#')[0]}#c-{focus}"
    return redirect(target)


@bp.route("/<int:contribution_id>")
@permission_required("read")
def detail(contribution_id: int) -> Any:
    contribution = get_contribution(contribution_id)
    db = get_session()
    survey = db.get(Survey, contribution.survey_id) if contribution.survey_id else None
    question = db.get(Question, contribution.question_id) if contribution.question_id else None
    history = db.execute(
        select(AuditEntry, User.email)
        .outerjoin(User, User.id == AuditEntry.user_id)
        .where(AuditEntry.target == f"contribution:{contribution.id}")
        .order_by(AuditEntry.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "review/contribution.html",
        c=contribution,
        themes_of=theme_view(contribution),
        survey=survey,
        question=question,
        history=history,
        themes=active_themes(),
        statuses=STATUSES,
        replies=replies.replies_of(contribution),
        templates=replies.templates_for(contribution),
        refusal=replies.reply_refusal(contribution),
        delivery=replies.DELIVERY,
    )


def active_themes() -> list[Theme]:
    return list(
        get_session().scalars(
            select(Theme).where(Theme.active.is_(True)).order_by(Theme.position, Theme.name)
        )
    )


@bp.route("/<int:contribution_id>/theme", methods=["POST"])
@permission_required("categorise")
def theme(contribution_id: int) -> Any:
    contribution = get_contribution(contribution_id)
    action = request.form.get("action", "")
    if action not in THEME_ACTIONS:
        abort(400)
    chosen = None if action == "confirm" else get_theme(request.form.get("theme_id"))
    db = get_session()
    if change_theme(db, contribution, action, chosen, current_user.id):
        db.commit()
        flash(_("Thème enregistré."), "success")
    else:
        flash(_("Aucun thème suggéré à confirmer : choisissez-en un."), "error")
    return back()


@bp.route("/<int:contribution_id>/status", methods=["POST"])
@permission_required("categorise")
def status(contribution_id: int) -> Any:
    contribution = get_contribution(contribution_id)
    value = request.form.get("status", "")
    if value not in STATUSES:
        abort(400)
    db = get_session()
    change_status(db, contribution, value, current_user.id)
    db.commit()
    flash(_("Statut enregistré."), "success")
    return back()


@bp.route("/bulk", methods=["POST"])
@permission_required("categorise")
def bulk() -> Any:
    """One action on a selection; refused as a whole if one id is outside the account's scope."""
    ids = sorted({int(i) for i in request.form.getlist("ids") if i.isdigit()})
    action = request.form.get("action", "")
    if not ids:
        flash(_("Cochez au moins une contribution."), "error")
        return back()
    if len(ids) > MAX_BULK or action not in (*THEME_ACTIONS, "status"):
        abort(400)
    db = get_session()
    rows = db.scalars(
        scoped(select(Contribution).where(Contribution.id.in_(ids))).options(
            selectinload(Contribution.categorisations).selectinload(Categorisation.theme)
        )
    ).all()
    if len(rows) != len(ids):
        abort(404)
    done = 0
    if action == "status":
        value = request.form.get("status", "")
        if value not in STATUSES:
            abort(400)
        for row in rows:
            change_status(db, row, value, current_user.id, bulk=True)
            done += 1
    else:
        chosen = None if action == "confirm" else get_theme(request.form.get("theme_id"))
        for row in rows:
            done += change_theme(db, row, action, chosen, current_user.id, bulk=True)
    db.commit()
    flash(
        _("%(done)d contribution(s) mise(s) à jour sur %(total)d.", done=done, total=len(ids)),
        "success",
    )
    return back()


@bp.route("/<int:contribution_id>/media/<int:index>")
@permission_required("read")
def media(contribution_id: int, index: int) -> Any:
    """An attachment, after the same scope check as the contribution itself."""
    contribution = get_contribution(contribution_id)
    if index >= len(contribution.media):
        abort(404)
    item = contribution.media[index]
    root = get_runtime().settings.media_dir.resolve()
    path = (root / str(item.get("path") or "")).resolve()
    if not item.get("path") or not path.is_relative_to(root) or not path.is_file():
        abort(404)
    mime = item.get("mime") or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    inline = mime in INLINE_MEDIA
    response = send_file(
        Path(path),
        mimetype=mime if inline else "application/octet-stream",
        as_attachment=not inline,
        download_name=f"contribution-{contribution.id}-{index}{path.suffix}",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
