"""One participant's data, on request (RGPD articles 15, 17 and 20): find, export, erase.

Only an administrateur, and never from a list: the person gives their pseudonym, their phone
number or the one-time code MES DONNEES gave them. Every search, export and erasure is written
in the journal. Erasing does what OUBLIER does (`bots.handler.erase_participant`), then removes
the participant.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from bots.handler import access_summary, erase_participant
from bots.participant_data import COPY_COLUMNS, copy_rows, find_participant, full_copy
from storage.models import Participant
from web.audit_log import audit
from web.auth import permission_required
from web.db import get_runtime, get_session
from web.tables import send_table

bp = Blueprint("participants", __name__, url_prefix="/participants")


def _participant(pseudonym: str) -> Participant:
    found = (
        get_session()
        .scalars(select(Participant).where(Participant.pseudonym == pseudonym))
        .one_or_none()
    )
    if found is None:
        abort(404)
    return found


@bp.route("/", methods=["GET", "POST"])
@permission_required("manage_participants")
def find() -> Any:
    """A search form; a POST shows the one participant found, or says none was."""
    if request.method == "GET":
        return render_template("admin/participants.html", found=None, searched=False)
    db = get_session()
    now = datetime.now(UTC)
    result = find_participant(db, get_runtime(), request.form.get("q", ""), now)
    target = f"participant:{result.participant.pseudonym}" if result.participant else ""
    audit(db, current_user.id, "participant.find", target, how=result.how or "none")
    if result.code is not None:
        result.code.used_at, result.code.used_by_id = now, current_user.id
    db.commit()
    summary = access_summary(db, result.participant) if result.participant else None
    return render_template(
        "admin/participants.html",
        found=result.participant,
        how=result.how,
        summary=summary,
        searched=True,
    )


@bp.route("/<pseudonym>/export.<fmt>", methods=["POST"])
@permission_required("manage_participants")
def export(pseudonym: str, fmt: str) -> Any:
    """The full copy, as JSON or CSV; journaled."""
    if fmt not in ("json", "csv"):
        abort(404)
    db = get_session()
    participant = _participant(pseudonym)
    copy = full_copy(db, participant)
    audit(db, current_user.id, "participant.export", f"participant:{pseudonym}", format=fmt)
    db.commit()
    if fmt == "csv":
        return send_table("csv", f"donnees-{pseudonym}", COPY_COLUMNS, copy_rows(copy))
    response = Response(json.dumps(copy, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="donnees-{pseudonym}.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<pseudonym>/effacer", methods=["POST"])
@permission_required("manage_participants")
def erase(pseudonym: str) -> Any:
    """Erase on request: the same effect as OUBLIER. Needs the confirmation box ticked."""
    db = get_session()
    participant = _participant(pseudonym)
    if request.form.get("confirm") != "oui":
        flash(_("Cochez la case pour confirmer l'effacement."), "error")
        return render_template(
            "admin/participants.html",
            found=participant,
            how="pseudonym",
            summary=access_summary(db, participant),
            searched=True,
        )
    erase_participant(db, get_runtime().settings.media_dir, participant.id)
    db.delete(participant)
    audit(db, current_user.id, "participant.erase", f"participant:{pseudonym}")
    db.commit()
    flash(_("Toutes les données de ce participant sont effacées."), "success")
    return redirect(url_for("participants.find"))
