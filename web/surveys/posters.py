"""Recruiting: join codes and the printable A4 poster that hands them out.

A join code tells which quartier and which action (immersion, temps fort...) brought a habitant,
and may start a campaign's survey. The poster carries a QR code to the Telegram deep link
(`t.me/<bot>?start=<code>`), the SMS number and the keyword (the code itself), and two lines of
text. It shows only the channels this deployment really has, and tells the staff what is missing.
"""

from __future__ import annotations

import re
from typing import Any

import segno
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from bots.channels.telegram import deep_link
from bots.channels.whatsapp import wa_me
from storage.models import Campaign, JoinCode, Participant, Publication, Survey
from web.audit_log import audit
from web.auth import campaign_visible, permission_required, visible_quartiers, visible_surveys
from web.counts import Cell, protect
from web.db import get_runtime, get_session
from web.params import BadValue, chosen_id
from web.suivi import public_link
from web.texts import localised

bp = Blueprint("posters", __name__, url_prefix="/affiches")
CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _codes_query() -> Any:
    query = select(JoinCode).order_by(JoinCode.active.desc(), JoinCode.code)
    if not current_user.sees_all_quartiers:
        query = query.where(JoinCode.quartier_id.in_(current_user.quartier_ids))
    return query


def get_code(code_id: int) -> JoinCode:
    """The join code, or 404 if it does not exist or belongs to another quartier."""
    code: JoinCode | None = (
        get_session().scalars(_codes_query().where(JoinCode.id == code_id)).first()
    )
    if code is None:
        abort(404)
    return code


def _campaigns() -> list[tuple[int, str]]:
    rows = get_session().scalars(
        select(Campaign)
        .where(Campaign.status.not_in(("closed", "cancelled")))
        .order_by(Campaign.id.desc())
    )
    return [(c.id, c.name) for c in rows if campaign_visible(c)]


def _surveys() -> list[tuple[int, str]]:
    rows = get_session().scalars(select(Survey).where(visible_surveys()).order_by(Survey.id.desc()))
    return [(s.id, localised(s.title) or s.slug) for s in rows]


@bp.route("/", methods=["GET", "POST"])
@permission_required("read")
def index() -> Any:
    db = get_session()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not current_user.can("manage_join_codes"):
            abort(403)
        errors = _create(request.form)
        if errors:
            db.rollback()
        else:
            db.commit()
            flash(_("Code créé : imprimez son affiche."), "success")
            return redirect(url_for("posters.index"))
    codes = list(db.scalars(_codes_query()))
    return render_template(
        "surveys/posters.html",
        codes=codes,
        brought=brought_by_channel(db, [c.code for c in codes]),
        quartiers=visible_quartiers(),
        campaigns=_campaigns(),
        surveys=_surveys(),
        form=request.form,
        whatsapp_link=lambda code: wa_me(get_runtime().settings, code),
        errors=errors,
    ), (422 if errors else 200)


def brought_by_channel(db: Any, codes: list[str]) -> dict[str, list[tuple[str, Cell]]]:
    """How many people each code brought, per channel (a poster's QR code, an SMS keyword, an
    action in the field); small counts hidden as on the tableau de bord, trials never counted."""
    counts: dict[str, dict[str, int]] = {}
    for code, channel, n in db.execute(
        select(Participant.joined_via, Participant.channel, func.count(Participant.id))
        .where(Participant.joined_via.in_(codes), Participant.is_test.is_(False))
        .group_by(Participant.joined_via, Participant.channel)
    ):
        counts.setdefault(code, {})[channel] = n
    found = {}
    for code, channels in counts.items():
        ordered = sorted(channels.items(), key=lambda item: (-item[1], item[0]))
        cells = protect([n for _channel, n in ordered])
        found[code] = [(channel, cell) for (channel, _n), cell in zip(ordered, cells, strict=True)]
    return found


def _create(form: Any) -> dict[str, list[str]]:
    """Add the join code of the form; returns what is wrong, in French, by field, if anything."""
    db = get_session()
    code = form.get("code", "").strip()
    if not CODE.match(code):
        return {
            "code": [_("Le code : 1 à 64 lettres sans accent, chiffres, - ou _ (ex. ECOLE-NORD).")]
        }
    if db.scalar(select(JoinCode.id).where(JoinCode.code == code)) is not None:
        return {"code": [_("Ce code existe déjà.")]}
    quartier = form.get("quartier", "")
    quartiers = {str(q.id): q for q in visible_quartiers()}
    if quartier and quartier not in quartiers:
        abort(403)
    if not quartier and not current_user.sees_all_quartiers:
        return {"quartier": [_("Choisissez votre quartier.")]}
    try:
        campaign = chosen_id(form.get("campaign", ""), {c for c, _n in _campaigns()})
    except BadValue:
        return {"campaign": [_("Choisissez une campagne de la liste (ou aucune).")]}
    try:
        survey = chosen_id(form.get("survey", ""), {s for s, _n in _surveys()})
    except BadValue:
        return {"survey": [_("Choisissez une enquête de la liste (ou aucune).")]}
    row = JoinCode(
        code=code,
        quartier_id=int(quartier) if quartier else None,
        campaign_id=campaign,
        survey_id=survey,
        action=form.get("action", "").strip()[:200],
    )
    db.add(row)
    db.flush()
    audit(db, current_user.id, "join_code.create", f"join_code:{row.id}", code=code)
    return {}


@bp.route("/<int:code_id>/actif", methods=["POST"])
@permission_required("manage_join_codes")
def toggle(code_id: int) -> Any:
    code = get_code(code_id)
    code.active = not code.active
    db = get_session()
    audit(db, current_user.id, "join_code.update", f"join_code:{code.id}", active=code.active)
    db.commit()
    return redirect(url_for("posters.index"))


@bp.route("/<int:code_id>")
@permission_required("read")
def poster(code_id: int) -> Any:
    code = get_code(code_id)
    settings = get_runtime().settings
    link = qr = None
    if settings.telegram_bot_username:
        link = deep_link(settings.telegram_bot_username, code.code)
        qr = segno.make(link, error="m").svg_data_uri(scale=10, border=2)
    whatsapp = wa_me(settings, code.code)
    whatsapp_qr = (
        segno.make(whatsapp, error="m").svg_data_uri(scale=10, border=2) if whatsapp else None
    )
    quartier = code.quartier.name if code.quartier else ""
    published = get_session().get(Publication, code.campaign_id) if code.campaign_id else None
    results_link = public_link("public.campaign", slug=published.slug) if published else None
    return render_template(
        "surveys/poster.html",
        code=code,
        link=link,
        qr=qr,
        results_link=results_link,
        results_qr=segno.make(results_link, error="m").svg_data_uri(scale=6, border=2)
        if results_link
        else None,
        whatsapp=whatsapp,
        whatsapp_qr=whatsapp_qr,
        sms_number=settings.twilio_from,
        line1=request.args.get("ligne1", _("Votre avis compte : répondez en 2 minutes.")),
        line2=request.args.get(
            "ligne2",
            _("Paroles, %(quartier)s : gratuit, anonyme, STOP pour arrêter.", quartier=quartier)
            if quartier
            else _("Paroles : gratuit, anonyme, STOP pour arrêter."),
        ),
    )


@bp.route("/resultats/<int:campaign_id>")
@permission_required("read")
def results(campaign_id: int) -> Any:
    """A printable poster with a QR code to the campaign's public results (once published)."""
    campaign = get_session().get(Campaign, campaign_id)
    if campaign is None or not campaign_visible(campaign):
        abort(404)
    publication = get_session().get(Publication, campaign.id)
    if publication is None:
        abort(404)
    link = public_link("public.campaign", slug=publication.slug)
    return render_template(
        "surveys/results_poster.html",
        campaign=campaign,
        link=link,
        qr=segno.make(link, error="m").svg_data_uri(scale=10, border=2),
        line1=request.args.get("ligne1", _("Vous avez répondu : voici les résultats.")),
        line2=request.args.get("ligne2", _("Et ce qui va être fait : scannez le code.")),
    )
