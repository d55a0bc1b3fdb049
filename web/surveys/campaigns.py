"""Campaigns in the back-office: launch a survey, approve, follow the results, send the retour.

Everything that happens to habitants goes through `bots.campaigns` (the same functions as the
scheduler and `paroles campaign`): this module checks who may do what, shows the figures, and
writes the audit log. A conseil citoyen launches only in its own quartiers (checked here, on the
server) and sees only the campaigns and the habitants of its quartiers. When the team asks for it
(a setting kept in the database), a conseil citoyen's campaign waits for a chef de projet's
approval before anything goes out.

The estimate is the launch's own selection, routed as the launch routes it (`bots.routing`: one
person on SMS and WhatsApp is counted once, on the channel that will write to them), with who
WhatsApp cannot reach (outside the 24-hour window, no approved template) and what the campaign
would spend against what is left of the month's budget (`bots.budget`). A campaign over that is
refused, or waits for a chef de projet when the territory allows it (`PAROLES_BUDGET_APPROVAL`).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from bots import budget, campaigns
from bots.campaigns import CampaignError, Target
from bots.channels import configured_channels
from bots.quiet_hours import CLOSES, OPENS, is_quiet, next_open
from bots.survey_preview import run_segments, sms_count
from bots.survey_store import spec_from_row
from bots.text import strip_accents
from storage.db import transaction
from storage.models import Campaign, JoinCode, Publication, SiteSetting, Survey
from web.audit_log import audit
from web.auth import (
    campaign_in_my_hands,
    campaign_visible,
    permission_required,
    visible_quartiers,
    visible_surveys,
)
from web.counts import Scope
from web.db import end_write, get_runtime, get_session
from web.params import BadValue, chosen, chosen_id
from web.results import campaign_results, protected
from web.suivi import public_link
from web.surveys.editor import language_names
from web.tables import FORMATS, audit_export, send_table
from web.texts import localised

bp = Blueprint("campaigns", __name__, url_prefix="/campagnes")
NEEDS_APPROVAL = "campaigns_need_approval"
RESULT_COLUMNS = ("question", "intitule", "reponse", "quartier", "canal", "nombre")


# --- settings and scope --------------------------------------------------------------------------


def approval_required(db: Session) -> bool:
    row = db.get(SiteSetting, NEEDS_APPROVAL)
    return bool(row and row.value)


def get_campaign(campaign_id: int, *, act: bool = False) -> Campaign:
    """The campaign, or 404 when it does not exist or targets none of the account's quartiers.

    With `act`, 403 unless the account has rights over every quartier it targets: cancelling,
    closing or sending the retour reaches all of its habitants (`campaign_in_my_hands`).
    """
    campaign = get_session().get(Campaign, campaign_id)
    if campaign is None or not campaign_visible(campaign):
        abort(404)
    if act and not campaign_in_my_hands(campaign):
        abort(403)
    return campaign


def _scope(args: Any) -> tuple[Scope, dict[str, list[str]]]:
    """The results' filters, and what is wrong with them by field: a quartier or a channel
    that is none of the page's choices is said, never ignored (that would count everyone)."""
    mine = None if current_user.sees_all_quartiers else frozenset(current_user.quartier_ids)
    problems: dict[str, list[str]] = {}
    quartier_value, channel = args.get("quartier", ""), args.get("canal", "")
    quartier = None
    try:
        quartier = chosen_id(quartier_value, {q.id for q in visible_quartiers()})
    except BadValue:
        problems["quartier"] = [
            _("« %(value)s » n'est pas un des quartiers proposés.", value=quartier_value)
        ]
    try:
        chosen(channel, configured_channels(get_runtime().settings))
    except BadValue:
        problems["canal"] = [_("« %(value)s » n'est pas un des choix proposés.", value=channel)]
    return Scope(mine, quartier, channel if "canal" not in problems else ""), problems


def _local(value: datetime | None) -> str:
    if value is None:
        return ""
    zone = ZoneInfo(get_runtime().settings.timezone)
    return value.astimezone(zone).strftime("%d/%m/%Y %H:%M")


# --- list and settings ---------------------------------------------------------------------------


@bp.route("/")
@permission_required("read")
def index() -> Any:
    db = get_session()
    query = select(Campaign).order_by(Campaign.id.desc())
    state = request.args.get("etat", "")
    if state == "running":  # what "À faire" links to: the campaigns that may still receive
        query = query.where(Campaign.status.in_(campaigns.LIVE))
    elif state:
        query = query.where(Campaign.status == state)
    rows = [c for c in db.scalars(query) if campaign_visible(c)]
    listed = []
    for campaign in rows:
        report = campaigns.campaign_status(db, campaign.id)
        listed.append(
            {
                "campaign": campaign,
                "status": report.status_fr,
                "survey": localised(campaign.survey.title) or campaign.survey.slug,
                "starts": _local(campaign.starts_at),
                "closes": _local(campaign.closes_at),
            }
        )
    return render_template(
        "surveys/campaigns.html", campaigns=listed, approval=approval_required(db)
    )


@bp.route("/reglages", methods=["POST"])
@permission_required("approve_campaigns")
def settings() -> Any:
    db = get_session()
    wanted = request.form.get("approval") == "on"
    row = db.get(SiteSetting, NEEDS_APPROVAL) or SiteSetting(key=NEEDS_APPROVAL)
    row.value, row.updated_by_id = wanted, current_user.id
    db.add(row)
    audit(db, current_user.id, "setting.update", NEEDS_APPROVAL, value=wanted)
    db.commit()
    flash(
        _("Les campagnes des conseils citoyens attendront votre validation.")
        if wanted
        else _("Les campagnes des conseils citoyens partent sans validation."),
        "success",
    )
    return redirect(url_for("campaigns.index"))


# --- launching -----------------------------------------------------------------------------------


def _parse_local(value: str) -> datetime | None:
    """`2026-11-28T10:00` (the browser's datetime-local), in the territory's time zone."""
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError as error:
        raise CampaignError(_("date illisible : %(value)s", value=value)) from error
    zone = ZoneInfo(get_runtime().settings.timezone)
    return local.replace(tzinfo=zone).astimezone(UTC) if local.tzinfo is None else local


def _target(form: Any) -> Target:
    """The form's target; a conseil citoyen may only name its own quartiers (else 403)."""
    quartiers = tuple(form.getlist("quartiers"))
    known = {q.code for q in visible_quartiers()}
    if any(code not in known for code in quartiers):
        abort(403)
    everyone = form.get("everyone") == "on" and current_user.sees_all_quartiers
    if not current_user.sees_all_quartiers and not quartiers:
        raise CampaignError(_("Choisissez au moins un de vos quartiers."))
    code = form.get("code", "")
    if code and code not in {c.code for c in _join_codes()}:
        abort(403)
    return Target(
        quartiers=quartiers,
        channels=tuple(form.getlist("channels")),
        languages=tuple(form.getlist("languages")),
        join_codes=(code,) if code else (),
        everyone=everyone,
    )


def _join_codes() -> list[JoinCode]:
    query = select(JoinCode).where(JoinCode.active.is_(True)).order_by(JoinCode.code)
    if not current_user.sees_all_quartiers:
        query = query.where(JoinCode.quartier_id.in_(current_user.quartier_ids))
    return list(get_session().scalars(query))


def estimate(db: Session, survey: Survey, target: Target, now: datetime) -> dict[str, Any]:
    """Habitants reached per channel (the launch's own selection and routing), those WhatsApp
    leaves out, SMS segments of a full run each, and the month's budget left per channel."""
    runtime = get_runtime()
    found = campaigns.estimate(db, runtime, target, now)
    spec = spec_from_row(survey)
    units = budget.needed(spec, runtime.catalog, found.counts, found.left_out)
    check = budget.check(db, runtime.settings, units, now)
    spends = budget.month_spend(db, runtime.settings, now, units)
    names = dict(language_names())
    return {
        "total": sum(found.counts.values()),
        "by_channel": sorted(found.by_channel.items()),
        "segments": units.get("sms", 0),
        "conversations": units.get("whatsapp", 0),
        "per_run": run_segments(spec, runtime.catalog, "fr"),
        "left_out": sum(found.left_out.values()),
        "left_out_languages": ", ".join(names.get(code, code) for code in sorted(found.left_out)),
        "budget": [
            {
                "channel": spend.channel,
                "needed": units.get(spend.channel, 0),
                "left": spend.left,
                "over": spend.channel in check.over,
                "euros": _euros(runtime.settings, spend.channel, units.get(spend.channel, 0)),
            }
            for spend in spends
            if spend.budget is not None
        ],
        "over_budget": bool(check.over),
        "approval_allowed": check.approval_allowed,
    }


def _euros(settings: Any, channel: str, units: int) -> str:
    price = budget.unit_price(settings, channel)
    return "" if price is None else f"{units * price:.2f}".replace(".", ",")


@bp.route("/nouvelle", methods=["GET", "POST"])
@permission_required("launch_campaigns")
def create() -> Any:
    db = get_session()
    surveys = list(db.scalars(select(Survey).where(visible_surveys()).order_by(Survey.id.desc())))
    form = request.form if request.method == "POST" else request.args
    chosen = next((s for s in surveys if str(s.id) == form.get("enquete")), None)
    figures, error = None, None
    if request.method == "POST" and chosen is None:
        error = _("Choisissez une enquête.")
    elif request.method == "POST":
        try:
            target = _target(form)
            figures = estimate(db, chosen, target, datetime.now(UTC))  # type: ignore[arg-type]
            if form.get("action") == "launch":
                return _launch(chosen, target, form)  # type: ignore[arg-type]
        except CampaignError as problem:
            error = str(problem)
    runtime = get_runtime()
    return render_template(
        "surveys/campaign_new.html",
        surveys=[(s.id, localised(s.title) or s.slug) for s in surveys],
        chosen=chosen,
        form=form,
        figures=figures,
        error=error,
        quartiers=visible_quartiers(),
        channels=configured_channels(runtime.settings),
        languages=language_names(),
        codes=_join_codes(),
        opens=OPENS.strftime("%H:%M"),
        closes=CLOSES.strftime("%H:%M"),
        needs_approval=approval_required(db) and current_user.role == "conseil_citoyen",
    ), (422 if error else 200)


def _launch(survey: Survey, target: Target, form: Any) -> Any:
    runtime = get_runtime()
    now = datetime.now(UTC)
    starts = _parse_local(form.get("starts", "")) if form.get("when") == "at" else None
    remind = form.get("remind_after", "").strip()
    needs_approval = approval_required(get_session()) and current_user.role == "conseil_citoyen"
    end_write()
    with transaction(runtime.sessions) as session:
        check = campaigns.budget_check(session, runtime, survey.slug, target, starts or now)
        campaign = campaigns.create_campaign(
            session,
            survey.slug,
            target,
            now=now,
            name=form.get("name", "").strip()[:200],
            starts_at=starts,
            closes_at=_parse_local(form.get("closes", "")),
            remind_after_hours=int(remind) if remind.isdigit() else None,
            allow_quiet_hours=form.get("allow_quiet_hours") == "on"
            and current_user.sees_all_quartiers,
            created_by_id=current_user.id,
            needs_approval=needs_approval,
            budget=check,
        )
        held_for_budget = "budget" in (campaign.hold_reason or "")
        audit(
            session,
            current_user.id,
            "campaign.create",
            f"campaign:{campaign.id}",
            survey=survey.slug,
            audience=target.to_json(),
            needs_approval=needs_approval,
            over_budget=held_for_budget,
        )
        campaign_id = campaign.id
    if held_for_budget:
        flash(
            _(
                "Campagne enregistrée, mais elle dépasse ce qui reste du budget du mois : "
                "elle partira si un chef de projet la valide."
            )
        )
    elif needs_approval:
        flash(_("Campagne enregistrée : elle partira quand un chef de projet l'aura validée."))
    else:
        _go(campaign_id, now)
    return redirect(url_for("campaigns.results", campaign_id=campaign_id))


def _go(campaign_id: int, now: datetime) -> None:
    """Launch at once if its time has come, and say when the invitations go."""
    runtime = get_runtime()
    with runtime.sessions() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.starts_at is not None
        starts, allow = campaign.starts_at, campaign.allow_quiet_hours
    timezone = runtime.settings.timezone
    if starts > now:
        flash(_("Campagne programmée pour le %(when)s.", when=_local(starts)), "success")
    elif not allow and is_quiet(now, timezone):
        opens = _local(next_open(now, timezone))
        flash(_("Heures calmes : les invitations partiront le %(when)s.", when=opens), "success")
    else:
        invited = campaigns.launch(runtime, campaign_id, now)
        flash(_("%(n)s invitations en file d'envoi.", n=invited), "success")


def _ready(campaign_id: int) -> None:
    """Check the account may act on it, then let the bots write (SQLite: one writer)."""
    get_campaign(campaign_id, act=True)
    end_write()


def _audited(action: str, campaign_id: int, **detail: Any) -> None:
    """Written once the action succeeded, in its own transaction."""
    with transaction(get_runtime().sessions) as session:
        audit(session, current_user.id, f"campaign.{action}", f"campaign:{campaign_id}", **detail)


@bp.route("/<int:campaign_id>/valider", methods=["POST"])
@permission_required("approve_campaigns")
def approve(campaign_id: int) -> Any:
    _ready(campaign_id)
    try:
        campaigns.approve_campaign(get_runtime(), campaign_id, current_user.id)
    except CampaignError as error:
        flash(str(error), "error")
        return redirect(url_for("campaigns.results", campaign_id=campaign_id))
    _audited("approve", campaign_id)
    flash(_("Campagne validée."), "success")
    _go(campaign_id, datetime.now(UTC))
    return redirect(url_for("campaigns.results", campaign_id=campaign_id))


def _change(campaign_id: int, action: str, change: Any, done: str) -> Any:
    """Cancel or close: the bots change the campaign, the journal notes it, the page says so."""
    _ready(campaign_id)
    try:
        change(get_runtime(), campaign_id, datetime.now(UTC))
    except CampaignError as error:
        flash(str(error), "error")
    else:
        _audited(action, campaign_id)
        flash(done, "success")
    return redirect(url_for("campaigns.results", campaign_id=campaign_id))


@bp.route("/<int:campaign_id>/annuler", methods=["POST"])
@permission_required("launch_campaigns")
def cancel(campaign_id: int) -> Any:
    done = _("Campagne annulée : les messages pas encore partis sont annulés.")
    return _change(campaign_id, "cancel", campaigns.cancel_campaign, done)


@bp.route("/<int:campaign_id>/clore", methods=["POST"])
@permission_required("launch_campaigns")
def close(campaign_id: int) -> Any:
    done = _("Campagne close : vous pouvez écrire le retour.")
    return _change(campaign_id, "close", campaigns.close_campaign, done)


# --- results -------------------------------------------------------------------------------------


@bp.route("/<int:campaign_id>")
@permission_required("read")
def results(campaign_id: int) -> Any:
    campaign = get_campaign(campaign_id)
    db = get_session()
    scope, problems = _scope(request.args)
    if problems:
        scope = dataclasses.replace(scope, quartier=-1)  # nothing rather than more than asked
    report = campaigns.campaign_status(db, campaign_id)
    found = campaign_results(db, campaign, scope)
    if not current_user.can("exact_counts"):
        found = protected(found)
    return render_template(
        "surveys/results.html",
        campaign=campaign,
        report=report,
        results=found,
        publication=db.get(Publication, campaign.id),
        scope=scope,
        quartiers=visible_quartiers(),
        channels=configured_channels(get_runtime().settings),
        title=localised(campaign.survey.title) or campaign.survey.slug,
        starts=_local(campaign.starts_at),
        closes=_local(campaign.closes_at),
        retour_sent=_local(campaign.retour_sent_at),
        in_my_hands=campaign_in_my_hands(campaign),
        problems=problems,
    ), (400 if problems else 200)


@bp.route("/<int:campaign_id>/resultats.<fmt>")
@permission_required("export")
def export(campaign_id: int, fmt: str) -> Any:
    if fmt not in FORMATS:
        abort(404)
    campaign = get_campaign(campaign_id)
    scope, problems = _scope(request.args)
    if problems:
        abort(400)  # the results page itself says which filter is wrong
    # An export leaves the back-office: its small counts are protected for every role.
    found = protected(campaign_results(get_session(), campaign, scope))
    filters = {"campagne": str(campaign_id), **{k: v for k, v in request.args.items() if v}}
    audit_export("campaign_results", fmt, filters, len(found.rows))
    return send_table(fmt, f"resultats-campagne-{campaign_id}", RESULT_COLUMNS, found.rows)


# --- publication ---------------------------------------------------------------------------------


def public_slug(db: Session, campaign: Campaign) -> str:
    """`conseil-de-quartier-3`: the name in plain letters, then the id, which makes it unique."""
    words = re.sub(r"[^a-z0-9]+", "-", strip_accents(campaign.name).lower()).strip("-")
    return f"{words[:60].rstrip('-') or 'campagne'}-{campaign.id}"


@bp.route("/<int:campaign_id>/publier", methods=["POST"])
@permission_required("publish_results")
def publish(campaign_id: int) -> Any:
    """Publish the results at /resultats/<slug>, or withdraw them."""
    campaign = get_campaign(campaign_id)
    db = get_session()
    row = db.get(Publication, campaign.id)
    if row is not None:
        db.delete(row)
        audit(db, current_user.id, "campaign.unpublish", f"campaign:{campaign.id}")
        flash(_("Les résultats ne sont plus publics."), "success")
    elif campaign.status not in ("running", "closed"):
        flash(_("Seule une campagne en cours ou close se publie."), "error")
        return redirect(url_for("campaigns.results", campaign_id=campaign.id))
    else:
        slug = public_slug(db, campaign)
        db.add(Publication(campaign_id=campaign.id, slug=slug, published_by_id=current_user.id))
        audit(db, current_user.id, "campaign.publish", f"campaign:{campaign.id}", slug=slug)
        flash(_("Résultats publiés : la page est publique, sans connexion."), "success")
    db.commit()
    return redirect(url_for("campaigns.results", campaign_id=campaign.id))


# --- retour --------------------------------------------------------------------------------------


def with_link(text: str, link: str) -> str:
    """The retour ends with the address of the public results, once."""
    text = text.strip()
    return text if link in text or not text else f"{text} {link}"


@bp.route("/<int:campaign_id>/retour", methods=["GET", "POST"])
@permission_required("launch_campaigns")
def retour(campaign_id: int) -> Any:
    campaign = get_campaign(campaign_id, act=True)
    db = get_session()
    text = request.form.get("text", campaign.retour_text or "")[:1000]
    publication = db.get(Publication, campaign.id)
    link = public_link("public.campaign", slug=publication.slug) if publication else ""
    if request.method == "POST" and link and request.form.get("link") == "on":
        text = with_link(text, link)
    if request.method == "POST":
        end_write()
        try:
            sent = campaigns.send_retour(get_runtime(), campaign_id, text, datetime.now(UTC))
        except CampaignError as error:
            flash(str(error), "error")
        else:
            _audited("retour", campaign_id, text=text, recipients=sent)
            flash(_("Retour mis en file d'envoi pour %(n)s habitants.", n=sent), "success")
            return redirect(url_for("campaigns.results", campaign_id=campaign_id))
    recipients = campaigns.retour_recipients(db, campaign_id)
    return render_template(
        "surveys/retour.html",
        campaign=campaign,
        text=text,
        count=sms_count(text) if text else None,
        recipients=recipients,
        sent=_local(campaign.retour_sent_at),
        link=link,
    )
