"""One contribution: its page, its attachments, and the actions on it (thème, status, in bulk).

Every view reaches a contribution through `web.auth.get_contribution(id)`, which checks the
account's quartier scope: changing the id in the URL never shows another quartier's contribution.
"""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bots import translations as bot_translations
from bots.personal_data import KINDS
from bots.personal_data_job import Masker, health_flags, stored_spans
from bots.translate import TranslationError
from storage.models import (
    AuditEntry,
    Categorisation,
    Contribution,
    Engagement,
    JoinCode,
    Question,
    Survey,
    Theme,
    ThreadMessage,
    User,
    engagement_contributions,
)
from web.audit_log import audit
from web.auth import get_contribution, permission_required, safe_path, scoped
from web.db import get_runtime, get_session
from web.review import replies
from web.review.categorise import change_status, change_theme
from web.review.rows import active_themes, render_row
from web.review.translations import translation_view
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
    return render_detail(get_contribution(contribution_id))


def render_detail(
    contribution: Contribution, draft: dict[str, str] | None = None, revealed: bool = False
) -> str:
    """The contribution's page; ``draft``: a reply being written (French and its translation);
    its texts masked unless ``revealed`` (journaled by the caller)."""
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
    thread = _thread(contribution)
    linked, offered = _engagements(contribution)
    staff_replies = [item for _, who, item in thread if who == "staff"]
    masker = Masker(db)
    text = contribution.text if revealed else masker.contributions([contribution])[contribution.id]
    reply_texts = masker.replies(r for r, _ in staff_replies)
    answer_texts = masker.thread_answers(a for _, who, a in thread if who == "habitant")
    if revealed:
        reply_texts = {r.id: r.message.body if r.message else "" for r, _ in staff_replies}
        answer_texts = {a.id: a.text for _, who, a in thread if who == "habitant"}
    return render_template(
        "review/contribution.html",
        thread=thread,
        linked=linked,
        offered=offered,
        c=contribution,
        text=text,
        revealed=revealed,
        spans=stored_spans(db, contribution.id) if revealed else [],
        health_words=health_flags(db, contribution.id, contribution.text or ""),
        kinds=KINDS,
        reply_texts=reply_texts,
        answer_texts=answer_texts,
        field_source=_field_source(contribution),
        themes_of=theme_view(contribution, text),
        survey=survey,
        question=question,
        history=history,
        themes=active_themes(),
        statuses=STATUSES,
        replies=staff_replies,
        templates=replies.templates_for(contribution),
        refusal=replies.reply_refusal(contribution),
        delivery=replies.DELIVERY,
        translation=(view := translation_view(contribution)),
        translation_text=_translation_text(view, masker, revealed),
        draft=draft or {},
        max_reply=replies.MAX_REPLY,
    )


def _thread(contribution: Contribution) -> list[tuple[Any, str, Any]]:
    """The conversation after the first message, in order: staff replies and the habitant's
    answers. Opening the page marks the habitant's answers as seen (no longer new)."""
    db = get_session()
    answers = list(
        db.scalars(
            select(ThreadMessage)
            .where(ThreadMessage.contribution_id == contribution.id)
            .order_by(ThreadMessage.created_at, ThreadMessage.id)
        )
    )
    unseen = [a for a in answers if a.seen_at is None]
    if unseen:
        now = datetime.now(UTC)
        for answer in unseen:
            answer.seen_at = now
        db.commit()
    items: list[tuple[Any, str, Any]] = [(a.created_at, "habitant", a) for a in answers]
    items += [(r.created_at, "staff", (r, who)) for r, who in replies.replies_of(contribution)]
    return sorted(items, key=lambda item: item[0])


def _engagements(contribution: Contribution) -> tuple[list[Engagement], list[Engagement]]:
    """The engagements this contribution is linked to, and those it could be linked to."""
    db = get_session()
    linked_ids = set(
        db.scalars(
            select(engagement_contributions.c.engagement_id).where(
                engagement_contributions.c.contribution_id == contribution.id
            )
        )
    )
    query = select(Engagement).order_by(Engagement.title)
    if not current_user.sees_all_quartiers:
        query = query.where(
            (Engagement.quartier_id.is_(None))
            | Engagement.quartier_id.in_(current_user.quartier_ids)
        )
    rows = list(db.scalars(query))
    return [e for e in rows if e.id in linked_ids], rows


def _translation_text(view: Any, masker: Masker, revealed: bool) -> str:
    """The machine translation as staff read it: masked like the original, unless revealed."""
    if view.row is None or not view.row.text:
        return ""
    return view.row.text if revealed else masker.translation(view.row)


def _field_source(contribution: Contribution) -> dict[str, str] | None:
    """The action a field entry came from, and who wrote it down (for the team only: a
    conseil citoyen sees the action, not the intervenant)."""
    if contribution.action_id is None:
        return None
    db = get_session()
    action = db.get(JoinCode, contribution.action_id)
    intervenant = db.get(User, contribution.intervenant_id) if contribution.intervenant_id else None
    shown = intervenant is not None and current_user.sees_all_quartiers
    return {
        "code": action.code if action else "",
        "action": action.action if action else "",
        "intervenant": (intervenant.name or intervenant.email) if shown and intervenant else "",
    }


@bp.route("/<int:contribution_id>/reponse-traduite", methods=["POST"])
@permission_required("reply")
def translate_reply(contribution_id: int) -> Any:
    """The reply written in French, translated into the habitant's language, to read and edit
    before sending. If the server fails, the page says so and the French stays as written."""
    contribution = get_contribution(contribution_id)
    text = request.form.get("text", "").strip()[: replies.MAX_REPLY]
    view = translation_view(contribution)
    draft = {"text": text, "translated": "", "language": view.reply_language}
    if not text:
        flash(_("Écrivez d'abord la réponse en français."), "error")
    elif not view.reply_translated:
        flash(_("Pas de traduction pour cette réponse : elle partira en français."), "error")
    else:
        get_session().commit()  # no transaction open while the server translates
        try:
            draft["translated"] = bot_translations.translate_reply(
                get_runtime(), text, view.reply_language
            )[: replies.MAX_REPLY]
        except TranslationError as error:
            flash(
                _(
                    "La traduction n'a pas abouti (%(error)s) : vous pouvez réessayer, ou "
                    "envoyer la réponse en français.",
                    error=str(error),
                ),
                "error",
            )
    return render_detail(contribution, draft)


@bp.route("/<int:contribution_id>/theme", methods=["POST"])
@permission_required("categorise")
def theme(contribution_id: int) -> Any:
    contribution = get_contribution(contribution_id)
    action = request.form.get("action", "")
    if action not in THEME_ACTIONS:
        abort(400)
    chosen = None if action == "confirm" else get_theme(request.form.get("theme_id"))
    db = get_session()
    before = state_of(contribution)
    if change_theme(db, contribution, action, chosen, current_user.id):
        db.commit()
        return answered(contribution_id, before, _("Thème enregistré."), "success")
    return answered(
        contribution_id, before, _("Aucun thème suggéré à confirmer : choisissez-en un."), "error"
    )


@bp.route("/<int:contribution_id>/status", methods=["POST"])
@permission_required("categorise")
def status(contribution_id: int) -> Any:
    contribution = get_contribution(contribution_id)
    value = request.form.get("status", "")
    if value not in STATUSES:
        abort(400)
    db = get_session()
    before = state_of(contribution)
    change_status(db, contribution, value, current_user.id)
    db.commit()
    return answered(contribution_id, before, _("Statut enregistré."), "success")


def state_of(contribution: Contribution) -> str:
    view = theme_view(contribution)
    return "confirme" if view.confirmed else ("suggere" if view.suggestions else "a_trier")


def wants_json() -> bool:
    """The inbox's script asks for JSON (`Accept`); a plain form post gets a redirect."""
    return request.accept_mimetypes.best == "application/json"


def answered(contribution_id: int, before: str, message: str, category: str) -> Any:
    """After an action on one contribution: without JavaScript, back to the page it came from
    (focused on the next line) with the message; with it, the line redrawn as JSON."""
    if not wants_json():
        flash(message, category)
        return back()
    db = get_session()
    db.expire_all()
    contribution = get_contribution(contribution_id)
    here = safe_path(request.form.get("next", ""), url_for("inbox.index"))
    return jsonify(
        ok=category == "success",
        message=message,
        previous=before,
        state=state_of(contribution),
        row=render_row(contribution, here),
    ), (200 if category == "success" else 409)


@bp.route("/<int:contribution_id>/citer", methods=["POST"])
@permission_required("categorise")
def quote(contribution_id: int) -> Any:
    """Tick or untick "à citer": a parole d'habitant the report may quote, masked, with its
    quartier and month only. Written in the journal either way."""
    contribution = get_contribution(contribution_id)
    wanted = request.form.get("to_quote", "") == "1"
    db = get_session()
    if contribution.to_quote != wanted:
        contribution.to_quote = wanted
        action = "quote.set" if wanted else "quote.unset"
        audit(db, current_user.id, action, f"contribution:{contribution.id}")
        db.commit()
    flash(_("Retenue pour le rapport.") if wanted else _("Retirée du rapport."), "success")
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
    return _send_media(contribution.media, index, f"contribution-{contribution.id}-{index}")


@bp.route("/<int:contribution_id>/suite/<int:answer_id>/media/<int:index>")
@permission_required("read")
def thread_media(contribution_id: int, answer_id: int, index: int) -> Any:
    """An attachment sent in the conversation (a photo, a voice note answering the team),
    after the same scope check as the contribution; an answer of another contribution is 404."""
    contribution = get_contribution(contribution_id)
    answer = get_session().get(ThreadMessage, answer_id)
    if answer is None or answer.contribution_id != contribution.id:
        abort(404)
    name = f"contribution-{contribution.id}-suite-{answer.id}-{index}"
    return _send_media(answer.media, index, name)


def _send_media(items: list[Any], index: int, name: str) -> Any:
    """One stored attachment as a private, uncached response: shown inline when the browser
    can show it safely (images, sound), else downloaded; 404 for a path outside the folder."""
    if index >= len(items):
        abort(404)
    item = items[index]
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
        download_name=f"{name}{path.suffix}",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
