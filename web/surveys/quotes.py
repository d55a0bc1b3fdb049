"""Publishing a free-text answer: a staff member chooses it, after a check for names and numbers.

Nothing a habitant wrote reaches the public page unless a staff member selected it here and the
check in `web.publication` (shared with the engagements of /suivi/) found no phone number, no
e-mail address and no capitalised name after a civility (M., Mme, Madame...). It is a first
line, not a full personal-data detector: a name without a civility passes, which is why a
person, not the machine, chooses what is published.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from storage.models import Campaign, Contribution, PublicQuote
from web.audit_log import audit
from web.auth import campaign_visible, permission_required, scoped
from web.db import get_session
from web.publication import problems as quote_problems

bp = Blueprint("quotes", __name__, url_prefix="/campagnes")


@bp.route("/<int:campaign_id>/citations/<int:contribution_id>", methods=["POST"])
@permission_required("publish_results")
def toggle(campaign_id: int, contribution_id: int) -> Any:
    """Publish or withdraw one free-text answer of the campaign."""
    db = get_session()
    contribution = db.scalars(
        scoped(select(Contribution).where(Contribution.id == contribution_id))
    ).one_or_none()
    if contribution is None or contribution.campaign_id != campaign_id:
        abort(404)
    campaign = db.get(Campaign, campaign_id)
    if campaign is None or not campaign_visible(campaign):
        abort(404)
    page = url_for("campaigns.results", campaign_id=campaign_id) + f"#q-text-{contribution.id}"
    quote = db.get(PublicQuote, contribution.id)
    if quote is not None:
        db.delete(quote)
        audit(db, current_user.id, "quote.withdraw", f"contribution:{contribution.id}")
        db.commit()
        flash(_("Réponse retirée de la page publique."), "success")
        return redirect(page)
    problems = quote_problems(contribution.text)
    if problems:
        flash(
            _(
                "Pas publiée : elle contient %(what)s. Une réponse publiée ne doit désigner"
                " personne.",
                what=", ".join(problems),
            ),
            "error",
        )
        return redirect(page)
    db.add(PublicQuote(contribution_id=contribution.id, selected_by_id=current_user.id))
    audit(db, current_user.id, "quote.publish", f"contribution:{contribution.id}")
    db.commit()
    flash(_("Réponse publiée sur la page des résultats."), "success")
    return redirect(page)
