"""Answering a habitant from a contribution's page, and the team's saved reply templates.

A reply is never sent from the web request: it is written to the outbox with
`bots.handler.enqueue_reply` (kind `staff_reply`), and the outbox worker sends it through the
channel the habitant used. The page then shows the outbox row's status. Nothing is written to
someone who said STOP, whose number no longer answers, or who erased their data.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bots import translations
from bots.engine import Reply
from bots.handler import enqueue_reply
from storage.models import Contribution, ReplyTemplate, StaffReply, User
from web.audit_log import audit
from web.auth import get_contribution, permission_required
from web.db import get_runtime, get_session

bp = Blueprint("replies", __name__, url_prefix="/reponses")
MAX_REPLY = 1000

DELIVERY = {
    "pending": _l("en attente d'envoi"),
    "sending": _l("en cours d'envoi"),
    "sent": _l("envoyé"),
    "delivered": _l("reçu par l'habitant"),
    "read": _l("lu par l'habitant"),
    "failed": _l("échec de l'envoi"),
    "cancelled": _l("annulé"),
}

DEFAULT_TEMPLATES = (
    ("Merci", "Merci pour votre message. L'équipe du quartier l'a bien lu."),
    (
        "Transmis",
        "Merci. Nous avons transmis votre message au service concerné. Nous revenons vers vous.",
    ),
    (
        "Précision",
        "Merci pour votre message. Pouvez-vous nous dire où cela se passe (rue, bâtiment) ?",
    ),
    ("Réglé", "Bonne nouvelle : le problème que vous avez signalé a été traité. Merci !"),
)


def seed_templates(session: Session) -> int:
    """A few French templates on a database that has none yet."""
    if session.scalars(select(ReplyTemplate.id).limit(1)).first() is not None:
        return 0
    for position, (name, text) in enumerate(DEFAULT_TEMPLATES):
        session.add(ReplyTemplate(name=name, text=text, language="fr", position=position))
    session.flush()
    return len(DEFAULT_TEMPLATES)


def reply_refusal(contribution: Contribution) -> str | None:
    """Why this habitant cannot be answered, or None when they can."""
    participant = contribution.participant
    if participant is None:
        return str(_("L'habitant a effacé ses données : on ne peut plus lui écrire."))
    if participant.opted_out_at is not None:
        return str(_("L'habitant a demandé à ne plus recevoir de messages (STOP)."))
    if participant.unreachable_at is not None:
        return str(_("Le numéro ou le compte de l'habitant ne répond plus."))
    if not participant.address_enc:
        return str(_("Rencontré sur le terrain, sans numéro : on ne peut pas lui écrire."))
    return None


def replies_of(contribution: Contribution) -> list[tuple[StaffReply, str | None]]:
    return list(
        get_session().execute(
            select(StaffReply, User.email)
            .outerjoin(User, User.id == StaffReply.user_id)
            .where(StaffReply.contribution_id == contribution.id)
            .options(selectinload(StaffReply.message))
            .order_by(StaffReply.id)
        )
    )


def templates_for(contribution: Contribution) -> list[ReplyTemplate]:
    """Active templates, those in the habitant's language first."""
    language = contribution.participant.language if contribution.participant else "fr"
    rows = get_session().scalars(
        select(ReplyTemplate)
        .where(ReplyTemplate.active.is_(True))
        .order_by(ReplyTemplate.position, ReplyTemplate.id)
    )
    return sorted(rows, key=lambda t: t.language != language)


@bp.route("/contribution/<int:contribution_id>", methods=["POST"])
@permission_required("reply")
def send(contribution_id: int) -> Any:
    contribution = get_contribution(contribution_id)
    page = url_for("contributions.detail", contribution_id=contribution.id) + "#repondre"
    refusal = reply_refusal(contribution)
    if refusal is not None:
        flash(refusal, "error")
        return redirect(page), 303
    text = request.form.get("text", "").strip()
    # Written in French and translated (shown, edited) on the page: what leaves is the
    # translation, in the habitant's language; the French is kept beside it.
    translated = request.form.get("translated", "").strip()
    if not text or len(text) > MAX_REPLY or len(translated) > MAX_REPLY:
        flash(_("Écrivez une réponse (%(max)d caractères au plus).", max=MAX_REPLY), "error")
        return redirect(page), 303
    db = get_session()
    assert contribution.participant is not None
    language = contribution.participant.language or "fr"
    if not translations.needs_translation(language):
        translated = ""
    body = translated or text
    message_id = enqueue_reply(db, contribution.participant, Reply(body), kind="staff_reply")
    db.add(
        StaffReply(
            contribution_id=contribution.id,
            message_id=message_id,
            user_id=current_user.id,
            original_text=text if translated else "",
            language=language if translated else "fr",
        )
    )
    detail: dict[str, Any] = {"message_id": message_id, "length": len(body)}
    if translated:
        detail["translated_to"] = language
    audit(db, current_user.id, "reply.send", f"contribution:{contribution.id}", **detail)
    db.commit()
    flash(_("Réponse enregistrée : elle part dans un instant."), "success")
    return redirect(page), 303


# --- saved templates -----------------------------------------------------------------------------


@bp.route("/modeles", methods=["GET", "POST"])
@permission_required("manage_templates")
def templates() -> Any:
    db = get_session()
    if request.method == "POST":
        template = _template_from_form(ReplyTemplate(position=99))
        if template is not None:
            db.add(template)
            db.flush()
            audit(db, current_user.id, "template.create", f"template:{template.id}")
            db.commit()
            flash(_("Modèle ajouté."), "success")
            return redirect(url_for("replies.templates"))
    rows = db.scalars(select(ReplyTemplate).order_by(ReplyTemplate.position, ReplyTemplate.id))
    return render_template("review/reply_templates.html", templates=list(rows), max=MAX_REPLY)


@bp.route("/modeles/<int:template_id>", methods=["POST"])
@permission_required("manage_templates")
def edit_template(template_id: int) -> Any:
    db = get_session()
    template = db.get(ReplyTemplate, template_id)
    if template is None:
        abort(404)
    if _template_from_form(template) is not None:
        audit(db, current_user.id, "template.update", f"template:{template.id}")
        db.commit()
        flash(_("Modèle enregistré."), "success")
    return redirect(url_for("replies.templates"))


def _template_from_form(template: ReplyTemplate) -> ReplyTemplate | None:
    name = request.form.get("name", "").strip()[:100]
    text = request.form.get("text", "").strip()
    language = request.form.get("language", "fr")
    languages = get_runtime().catalog.language_codes()
    if not name or not text or len(text) > MAX_REPLY or language not in languages:
        flash(_("Donnez un nom et un texte (%(max)d caractères au plus).", max=MAX_REPLY), "error")
        return None
    template.name, template.text, template.language = name, text, language
    template.active = request.form.get("active") == "on"
    return template
