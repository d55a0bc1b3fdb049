"""Personal data in a contribution: reveal the original, mark a missed span, undo a wrong one.

Texts are masked for every role (`bots.personal_data_job.Masker`). A chef de projet or an
administrateur may read one contribution's original on its page: one click, written in the
journal with who and when; conseils citoyens and lecteurs never can. The team's corrections
become marks the detector applies everywhere (`PersonalDataMark`): a phrase marked as missed is
masked in every text, a span undone is never masked again. Undoing needs the original, so it is
offered only to those who may reveal it, on the revealed page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import delete

from bots.personal_data import KINDS, normalise_phrase
from storage.models import PersonalDataMark, PersonalDataSpan
from web.audit_log import audit
from web.auth import get_contribution, permission_required
from web.db import get_session
from web.review.contributions import render_detail

bp = Blueprint("personal_data", __name__, url_prefix="/contributions")
MAX_PHRASE = 200


@bp.route("/<int:contribution_id>/original", methods=["POST"])
@permission_required("reveal_personal_data")
def reveal(contribution_id: int) -> Any:
    """The original texts of one contribution, for this response only; journaled."""
    contribution = get_contribution(contribution_id)
    db = get_session()
    audit(db, current_user.id, "personal_data.reveal", f"contribution:{contribution.id}")
    db.commit()
    return render_detail(contribution, revealed=True)


@bp.route("/<int:contribution_id>/donnees-personnelles", methods=["POST"])
@permission_required("mark_personal_data")
def mark(contribution_id: int) -> Any:
    """A span the detector missed: the phrase is masked here and everywhere from now on."""
    contribution = get_contribution(contribution_id)
    phrase = " ".join(request.form.get("phrase", "").split())[:MAX_PHRASE]
    kind = request.form.get("kind", "")
    if kind not in KINDS:
        abort(400)
    wanted = normalise_phrase(phrase)
    if len(wanted) < 2 or wanted not in normalise_phrase(contribution.text or ""):
        flash(_("Recopiez exactement les mots à masquer, tels qu'ils sont dans le texte."), "error")
        return redirect(url_for("contributions.detail", contribution_id=contribution.id))
    db = get_session()
    db.add(
        PersonalDataMark(
            phrase=phrase,
            kind=kind,
            verdict="mask",
            contribution_id=contribution.id,
            user_id=current_user.id,
        )
    )
    audit(db, current_user.id, "personal_data.mark", f"contribution:{contribution.id}", kind=kind)
    db.commit()
    flash(_("C'est masqué, ici et dans tous les textes où ces mots reviennent."), "success")
    return redirect(url_for("contributions.detail", contribution_id=contribution.id))


@bp.route("/<int:contribution_id>/donnees-personnelles/<int:span_id>/retirer", methods=["POST"])
@permission_required("reveal_personal_data")
def keep(contribution_id: int, span_id: int) -> Any:
    """A wrong span: shown again here, and never masked again anywhere."""
    contribution = get_contribution(contribution_id)
    db = get_session()
    span = db.get(PersonalDataSpan, span_id)
    if span is None or span.contribution_id != contribution.id:
        abort(404)
    phrase = (contribution.text or "")[span.start : span.end]
    db.add(
        PersonalDataMark(
            phrase=phrase[:MAX_PHRASE],
            kind=span.kind,
            verdict="keep",
            contribution_id=contribution.id,
            user_id=current_user.id,
        )
    )
    db.execute(delete(PersonalDataSpan).where(PersonalDataSpan.id == span.id))
    audit(
        db, current_user.id, "personal_data.keep", f"contribution:{contribution.id}", kind=span.kind
    )
    db.commit()
    flash(_("Le masque est retiré ; ces mots ne seront plus masqués."), "success")
    return redirect(url_for("contributions.detail", contribution_id=contribution.id))
