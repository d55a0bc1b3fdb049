"""Engagements in the back-office: create, edit, move along, link contributions and campaigns.

Chefs de projet (and administrators) keep engagements; everyone reads them, a conseil citoyen
those of its quartiers and those for the whole territory. A change of status goes through
`bots.followup.change_status`, which writes the habitants' messages to the outbox in the same
transaction; the journal notes every change.

What staff write here is published as written on /suivi/: a title, description, status text,
reason or dated step holding a phone number, an e-mail address or a titled name is refused
(`web.publication`), the page saying next to the field what was found.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import selectinload

from bots.engagement_news import FollowupError, add_note, change_status
from storage.models import Campaign, Engagement, Theme
from web.audit_log import audit
from web.auth import campaign_visible, get_contribution, permission_required, visible_quartiers
from web.db import get_runtime, get_session
from web.publication import field_problems
from web.suivi import ENGAGEMENT_LABELS

bp = Blueprint("engagements", __name__, url_prefix="/engagements")

# The public texts of each form: field name -> input id (where the page shows what was found).
ENGAGEMENT_FIELDS = {"title": "title", "description": "description"}
STATUS_FIELDS = {"text": "status-text", "reason": "reason"}
NOTE_FIELDS = {"text": "note"}
# Each form's checkbox "the names found name no one" (web.publication.CONFIRM_FIELD), by input id.
CONFIRM_IDS = {"engagement": "engagement-names", "status": "status-names", "note": "note-names"}


def _visible() -> ColumnElement[bool] | None:
    if current_user.sees_all_quartiers:
        return None
    return or_(
        Engagement.quartier_id.is_(None), Engagement.quartier_id.in_(current_user.quartier_ids)
    )


def get_engagement(engagement_id: int) -> Engagement:
    """The engagement, or 404 when it does not exist or belongs to another quartier."""
    query = (
        select(Engagement)
        .where(Engagement.id == engagement_id)
        .options(selectinload(Engagement.updates), selectinload(Engagement.contributions))
    )
    visible = _visible()
    if visible is not None:
        query = query.where(visible)
    engagement = get_session().scalars(query).one_or_none()
    if engagement is None:
        abort(404)
    return engagement


def _themes() -> list[Theme]:
    return list(
        get_session().scalars(
            select(Theme).where(Theme.active.is_(True)).order_by(Theme.position, Theme.name)
        )
    )


def _refused() -> str:
    return str(_("Pas enregistré : ce texte sera public. Voyez ce qui est signalé ci-dessous."))


def _fill(engagement: Engagement, form: Any, errors: dict[str, str]) -> str | None:
    """Copy the form into the engagement; returns what is wrong, in French, if anything, and
    adds to ``errors`` what a public text holds (by input id)."""
    title = form.get("title", "").strip()[:200]
    if not title:
        return str(_("Donnez un titre à l'engagement."))
    errors.update(field_problems(form, ENGAGEMENT_FIELDS, CONFIRM_IDS["engagement"]))
    if errors:
        return _refused()
    quartier = form.get("quartier", "")
    quartiers = {str(q.id) for q in visible_quartiers()}
    if quartier and quartier not in quartiers:
        abort(403)
    theme = form.get("theme", "")
    if theme and theme not in {str(t.id) for t in _themes()}:
        abort(400)
    engagement.title = title
    engagement.description = form.get("description", "").strip()[:4000]
    engagement.partner = form.get("partner", "").strip()[:200]
    engagement.quartier_id = int(quartier) if quartier else None
    engagement.theme_id = int(theme) if theme else None
    return None


@bp.route("/", methods=["GET", "POST"])
@permission_required("read")
def index() -> Any:
    db = get_session()
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not current_user.can("manage_engagements"):
            abort(403)
        now = datetime.now(UTC)
        engagement = Engagement(
            status="etude", created_by_id=current_user.id, created_at=now, updated_at=now
        )
        error = _fill(engagement, request.form, errors)
        if error:
            flash(error, "error")
        else:
            db.add(engagement)
            db.flush()
            audit(db, current_user.id, "engagement.create", f"engagement:{engagement.id}")
            db.commit()
            flash(
                _("Engagement créé : liez-lui les contributions qui l'ont fait naître."), "success"
            )
            return redirect(url_for("engagements.detail", engagement_id=engagement.id))
    query = select(Engagement).order_by(Engagement.updated_at.desc(), Engagement.id.desc())
    visible = _visible()
    if visible is not None:
        query = query.where(visible)
    rows = list(
        db.scalars(
            query.options(
                selectinload(Engagement.quartier),
                selectinload(Engagement.theme),
                selectinload(Engagement.contributions),
            )
        )
    )
    return render_template(
        "followup/engagements.html",
        engagements=rows,
        quartiers=visible_quartiers(),
        themes=_themes(),
        labels=ENGAGEMENT_LABELS,
        form=request.form,
        errors=errors,
    )


@bp.route("/<int:engagement_id>", methods=["GET", "POST"])
@permission_required("read")
def detail(engagement_id: int) -> Any:
    engagement = get_engagement(engagement_id)
    db = get_session()
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not current_user.can("manage_engagements"):
            abort(403)
        error = _fill(engagement, request.form, errors)
        if error:
            flash(error, "error")
        else:
            engagement.updated_at = datetime.now(UTC)
            audit(db, current_user.id, "engagement.update", f"engagement:{engagement.id}")
            db.commit()
            flash(_("Engagement enregistré."), "success")
            return redirect(url_for("engagements.detail", engagement_id=engagement.id))
    return _detail_page(engagement, request.form, errors, {})


def _detail_page(
    engagement: Engagement, form: Any, errors: dict[str, str], kept: dict[str, str]
) -> str:
    """The engagement's page; ``errors`` by input id, ``kept``: a refused status or step's
    texts, by input id, written back into its form."""
    db = get_session()
    campaigns = [
        c
        for c in db.scalars(
            select(Campaign)
            .where(Campaign.status.in_(("running", "closed")))
            .order_by(Campaign.id.desc())
        )
        if campaign_visible(c)
    ]
    mine = {q.id for q in visible_quartiers()}
    contributions = [
        c
        for c in engagement.contributions
        if current_user.sees_all_quartiers or c.quartier_id in mine
    ]
    return render_template(
        "followup/engagement.html",
        e=engagement,
        contributions=sorted(contributions, key=lambda c: c.id),
        hidden=len(engagement.contributions) - len(contributions),
        campaigns=campaigns,
        quartiers=visible_quartiers(),
        themes=_themes(),
        labels=ENGAGEMENT_LABELS,
        form=form,
        errors=errors,
        kept=kept,
    )


def _refuse_public_texts(
    engagement: Engagement, fields: dict[str, str], confirm: str
) -> str | None:
    """The page again, the texts kept and what was found said next to them, when a public
    text of the form fails `web.publication`; None when they pass."""
    errors = field_problems(request.form, fields, confirm)
    if not errors:
        return None
    flash(_refused(), "error")
    kept = {input_id: request.form.get(name, "") for name, input_id in fields.items()}
    kept["status"] = request.form.get("status", engagement.status)
    return _detail_page(engagement, {}, errors, kept)


@bp.route("/<int:engagement_id>/statut", methods=["POST"])
@permission_required("manage_engagements")
def status(engagement_id: int) -> Any:
    """A new status: noted in the history, and one message to each habitant linked."""
    engagement = get_engagement(engagement_id)
    refused = _refuse_public_texts(engagement, STATUS_FIELDS, CONFIRM_IDS["status"])
    if refused is not None:
        return refused
    db = get_session()
    before = engagement.status
    try:
        change = change_status(
            db,
            get_runtime().catalog,
            get_runtime().settings,
            engagement,
            request.form.get("status", ""),
            now=datetime.now(UTC),
            text=request.form.get("text", "")[:2000],
            reason=request.form.get("reason", "")[:2000],
            user_id=current_user.id,
        )
    except FollowupError as error:
        db.rollback()
        flash(str(error), "error")
    else:
        audit(
            db,
            current_user.id,
            "engagement.status",
            f"engagement:{engagement.id}",
            before=before,
            after=engagement.status,
            notified=change.notified,
            left_out=change.left_out,
            over_budget=bool(change.over_budget),
        )
        db.commit()
        if change.over_budget:
            flash(
                _(
                    "Statut enregistré, mais aucun habitant prévenu : %(why)s.",
                    why=change.over_budget,
                ),
                "error",
            )
        else:
            flash(
                _(
                    "Statut enregistré : %(n)d habitant(s) prévenu(s), hors heures calmes.",
                    n=change.notified,
                ),
                "success",
            )
        if change.left_out:
            flash(
                _(
                    "%(n)d habitant(s) non prévenu(s) : ils n'utilisent que WhatsApp, ne lui "
                    "avaient pas écrit depuis plus de 24 heures, et aucun modèle WhatsApp "
                    "« retour » approuvé n'est déclaré dans leur langue.",
                    n=change.left_out,
                ),
                "error",
            )
    return redirect(url_for("engagements.detail", engagement_id=engagement_id))


@bp.route("/<int:engagement_id>/note", methods=["POST"])
@permission_required("manage_engagements")
def note(engagement_id: int) -> Any:
    engagement = get_engagement(engagement_id)
    refused = _refuse_public_texts(engagement, NOTE_FIELDS, CONFIRM_IDS["note"])
    if refused is not None:
        return refused
    db = get_session()
    try:
        add_note(
            db,
            engagement,
            request.form.get("text", "")[:2000],
            now=datetime.now(UTC),
            user_id=current_user.id,
        )
    except FollowupError as error:
        flash(str(error), "error")
    else:
        audit(db, current_user.id, "engagement.note", f"engagement:{engagement.id}")
        db.commit()
        flash(_("Mise à jour ajoutée à l'historique."), "success")
    return redirect(url_for("engagements.detail", engagement_id=engagement_id))


@bp.route("/<int:engagement_id>/campagnes", methods=["POST"])
@permission_required("manage_engagements")
def campaign(engagement_id: int) -> Any:
    """Link a campaign (its results led to the engagement), or unlink it."""
    engagement = get_engagement(engagement_id)
    db = get_session()
    value = request.form.get("campaign_id", "")
    found = db.get(Campaign, int(value)) if value.isdigit() else None
    if found is None or not campaign_visible(found):
        abort(404)
    if found in engagement.campaigns:
        engagement.campaigns.remove(found)
        action = "engagement.unlink_campaign"
    else:
        engagement.campaigns.append(found)
        action = "engagement.link_campaign"
    audit(db, current_user.id, action, f"engagement:{engagement.id}", campaign=found.id)
    db.commit()
    return redirect(url_for("engagements.detail", engagement_id=engagement_id))


@bp.route("/lier/<int:contribution_id>", methods=["POST"])
@permission_required("manage_engagements")
def link(contribution_id: int) -> Any:
    """Link a contribution to an engagement (from the contribution's page), or unlink it."""
    contribution = get_contribution(contribution_id)
    value = request.form.get("engagement_id", "")
    engagement = get_engagement(int(value)) if value.isdigit() else None
    if engagement is None:
        abort(400)
    db = get_session()
    target = f"contribution:{contribution.id}"
    if contribution in engagement.contributions:
        engagement.contributions.remove(contribution)
        audit(db, current_user.id, "engagement.unlink", target, engagement=engagement.id)
        flash(_("Contribution retirée de l'engagement."), "success")
    else:
        engagement.contributions.append(contribution)
        audit(db, current_user.id, "engagement.link", target, engagement=engagement.id)
        flash(
            _("Contribution liée : l'habitant sera prévenu quand l'engagement avancera."),
            "success",
        )
    db.commit()
    back = request.form.get("next", "")
    if back != "engagement":
        return redirect(url_for("contributions.detail", contribution_id=contribution.id))
    return redirect(url_for("engagements.detail", engagement_id=engagement.id))
