"""Paper too: a printable A4 questionnaire for a campaign's survey, and a quick entry page to
type the sheets back in, one after the other.

A typed-in sheet goes through the dialogue engine like a conversation (`bots.field`): it is
first checked without recording anything, so a required question left blank is said next to
that question and nothing is half recorded. Each sheet gets its own id when the page is drawn:
sending the same sheet twice (a double tap, the offline queue) records it once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from bots.field import check_sheet, record_sheet, run_owner
from bots.survey_store import spec_from_row
from storage.models import Campaign, Quartier
from web.auth import permission_required
from web.db import end_write, get_runtime, get_session
from web.field import bp
from web.field.forms import AGE_RANGES, CLIENT_ID, GENDERS, survey_run, value
from web.field.scope import (  # noqa: I001
    get_action,
    get_campaign,
    get_quartier,
    my_actions,
    my_quartiers,
    quartier_in_campaign,
)


def _all_quartiers() -> list[Quartier]:
    """The engine's list for a "quartier" question: every quartier, by name."""
    return list(get_session().scalars(select(Quartier).order_by(Quartier.name)))


@bp.route("/enquetes/<int:campaign_id>/papier", methods=["GET"])
@permission_required("field")
def paper(campaign_id: int) -> Any:
    campaign = get_campaign(campaign_id)
    action = get_action(request.args.get("action"))
    settings = get_runtime().settings
    return render_template(
        "field/paper.html",
        campaign=campaign,
        spec=spec_from_row(campaign.survey),
        action=action,
        all_quartiers=_all_quartiers(),
        ages=AGE_RANGES,
        genders=GENDERS,
        organisation=settings.organisation,
        contact=settings.contact,
        months=max(1, round(settings.retention_days / 30.4)),
    )


def _answers(data: Any, campaign: Campaign) -> dict[int, str]:
    """{position: the answer as a habitant would type it}: choice numbers, or the text."""
    found: dict[int, str] = {}
    for question in campaign.survey.questions:
        key = f"q{question.position}"
        if hasattr(data, "getlist"):
            raw = [v for v in data.getlist(key) if isinstance(v, str)]
        else:
            item = data.get(key, [])
            raw = item if isinstance(item, list) else [item]
        chosen = [str(v).strip() for v in raw if str(v).strip()]
        if chosen:
            found[question.position] = ",".join(chosen)[:1600]
    return found


def _entry_page(campaign: Campaign, form: Any, errors: dict[str, str], status: int) -> Any:
    return (
        render_template(
            "field/paper_entry.html",
            campaign=campaign,
            spec=spec_from_row(campaign.survey),
            quartiers=[q for q in my_quartiers() if quartier_in_campaign(campaign, q)],
            actions=my_actions(),
            all_quartiers=_all_quartiers(),
            ages=AGE_RANGES,
            genders=GENDERS,
            sheet_id=uuid.uuid4().hex,
            form=form,
            errors=errors,
        ),
        status,
    )


@bp.route("/enquetes/<int:campaign_id>/saisie", methods=["GET"])
@permission_required("field")
def paper_entry(campaign_id: int) -> Any:
    campaign = get_campaign(campaign_id)
    form = {k: request.args.get(k, "") for k in ("quartier", "action")}
    return _entry_page(campaign, form, {}, 200)


@bp.route("/enquetes/<int:campaign_id>/saisie", methods=["POST"])
@permission_required("field")
def paper_entry_post(campaign_id: int) -> Any:
    campaign = get_campaign(campaign_id)
    data: Any = request.get_json(silent=True) if request.is_json else request.form
    if not isinstance(data, dict) and request.is_json:
        return jsonify({"errors": {"sheet": _("Feuille illisible : rien n'a été reçu.")}}), 400
    quartier = get_quartier(value(data, "quartier"))
    if not quartier_in_campaign(campaign, quartier):
        abort(403)
    action = get_action(value(data, "action"))
    sheet_id = value(data, "client_id")
    errors: dict[str, str] = {}
    if not CLIENT_ID.match(sheet_id):
        errors["sheet"] = _("Identifiant de feuille manquant : rechargez la page.")
    if not errors and run_owner(get_runtime(), f"sheet-{sheet_id}") is not None:
        if request.is_json:
            return jsonify({"status": "duplicate"}), 200
        flash(_("Cette feuille était déjà enregistrée."), "status")
        return redirect(url_for("field.paper_entry", campaign_id=campaign.id), 303)
    answers = _answers(data, campaign)
    # A run made on the phone with no network (`static/field/run.js`) comes here too, in the
    # language it was asked in, and may have stopped halfway.
    language = value(data, "langue") or "fr"
    if language not in get_runtime().catalog.languages:
        language = "fr"
    complete = value(data, "partiel") != "1"
    if not answers:
        errors["sheet"] = _("Cette feuille est vide : cochez ou écrivez au moins une réponse.")
    if not errors:
        problems = check_sheet(get_runtime(), campaign.id, answers, language, complete=complete)
        errors = {f"q{position}": text for position, text in problems.items()}
    if errors:
        if request.is_json:
            return jsonify({"errors": errors}), 400
        form = {k: value(data, k) for k in data} | {f"q{p}": data.getlist(f"q{p}") for p in answers}
        return _entry_page(campaign, form, errors, 400)
    end_write()
    screen = record_sheet(
        get_runtime(),
        survey_run(
            f"sheet-{sheet_id}", campaign.id, quartier.id, current_user.id, action, language, data
        ),
        answers,
        datetime.now(UTC),
        complete=complete,
    )
    if request.is_json:
        return jsonify({"status": "recorded", "finished": screen.question is None}), 201
    flash(_("Feuille enregistrée. La suivante :"), "status")
    return redirect(
        url_for(
            "field.paper_entry",
            campaign_id=campaign.id,
            quartier=quartier.id,
            action=action.id if action else "",
        ),
        303,
    )
