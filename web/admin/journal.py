"""The audit log, readable by the administrateur: exports, thème changes, replies, accounts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from storage.models import AuditEntry, User
from web.auth import permission_required
from web.db import get_session

bp = Blueprint("audit", __name__, url_prefix="/journal")
PAGE_SIZE = 100

ACTIONS = {
    "export": _l("export"),
    "theme.confirm": _l("thème confirmé"),
    "theme.set": _l("thème choisi"),
    "theme.add": _l("thème ajouté"),
    "theme.remove": _l("thème retiré"),
    "status.set": _l("statut changé"),
    "reply.send": _l("réponse envoyée"),
    "translation.request": _l("traduction demandée"),
    "theme_def.create": _l("thème créé"),
    "theme_def.update": _l("thème modifié"),
    "template.create": _l("modèle de réponse créé"),
    "template.update": _l("modèle de réponse modifié"),
    "account.create": _l("compte créé"),
    "account.update": _l("compte modifié"),
    "personal_data.reveal": _l("texte original affiché"),
    "personal_data.mark": _l("donnée personnelle masquée à la main"),
    "personal_data.keep": _l("masque retiré"),
    "participant.find": _l("participant recherché"),
    "participant.export": _l("données d'un participant exportées"),
    "participant.erase": _l("participant effacé"),
    "quote.set": _l("retenue « à citer » pour le rapport"),
    "quote.unset": _l("retirée des citations du rapport"),
    "report.download": _l("rapport téléchargé"),
    "report_model.save": _l("modèle de rapport enregistré"),
    "report_model.delete": _l("modèle de rapport supprimé"),
}


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"action_label": lambda action: ACTIONS.get(action, action)}


@bp.route("/")
@permission_required("read_audit")
def index() -> Any:
    """Newest first, by pages of PAGE_SIZE (keyset on the id), optionally one kind of action."""
    action = request.args.get("action", "")
    before = request.args.get("avant", type=int)
    query = (
        select(AuditEntry, User.email)
        .outerjoin(User, User.id == AuditEntry.user_id)
        .order_by(AuditEntry.id.desc())
    )
    if action in ACTIONS:
        query = query.where(AuditEntry.action == action)
    if before:
        query = query.where(AuditEntry.id < before)
    rows = get_session().execute(query.limit(PAGE_SIZE + 1)).all()
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render_template(
        "admin/journal.html",
        entries=rows,
        actions=ACTIONS,
        action=action,
        next_before=rows[-1][0].id if more else None,
    )
