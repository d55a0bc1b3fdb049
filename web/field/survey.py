"""A campaign's survey face to face: one question per screen, on the intervenant's phone.

Each screen posts the habitant's answer as they would have typed it to the bot (`2`, `1,3`,
`oui`, their words), and `bots.field` hands it to the dialogue engine: the same questions, the
same branching, the same validation and gentle retries. The run's id is made when the run
starts and each screen carries its number, so a double tap or a resent form counts once.

With no network, the start page (kept by the service worker) runs the survey on the phone
(`static/field/run.js`) from its definition (`questions.json`, where each answer leads as the
engine says), keeps the answers in IndexedDB under an id made on the phone, and sends the run
when the network is back to the paper quick entry's route, which checks it and replays it
through the engine (`web.field.paper`): each run recorded once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from bots.field import (
    Screen,
    answer_run,
    offline_survey,
    run_owner,
    run_screen,
    start_run,
)
from web.auth import permission_required
from web.db import end_write, get_runtime
from web.field import bp
from web.field.entries import languages
from web.field.forms import AGE_RANGES, CLIENT_ID, GENDERS, survey_run, value
from web.field.scope import (
    get_action,
    get_campaign,
    get_quartier,
    my_actions,
    my_campaigns,
    my_quartiers,
    quartier_in_campaign,
)

MAX_ANSWER = 1600


@bp.route("/enquetes", methods=["GET"])
@permission_required("field")
def surveys() -> Any:
    return render_template("field/surveys.html", campaigns=my_campaigns())


@bp.route("/enquetes/<int:campaign_id>", methods=["GET"])
@permission_required("field")
def survey_start(campaign_id: int) -> Any:
    campaign = get_campaign(campaign_id)
    return render_template(
        "field/survey_start.html",
        campaign=campaign,
        quartiers=[q for q in my_quartiers() if quartier_in_campaign(campaign, q)],
        actions=my_actions(),
        languages=languages(),
        ages=AGE_RANGES,
        genders=GENDERS,
        run_id=uuid.uuid4().hex,
    )


@bp.route("/enquetes/<int:campaign_id>/questions.json", methods=["GET"])
@permission_required("field")
def survey_definition(campaign_id: int) -> Any:
    """The survey for a run with no network (`bots.field.offline_survey`): the service worker
    keeps it with the start page, so a run can begin in a basement."""
    campaign = get_campaign(campaign_id)
    return jsonify(offline_survey(get_runtime(), campaign.id, list(languages())))


@bp.route("/enquetes/<int:campaign_id>/passages", methods=["POST"])
@permission_required("field")
def run_begin(campaign_id: int) -> Any:
    campaign = get_campaign(campaign_id)
    quartier = get_quartier(request.form.get("quartier"))
    if not quartier_in_campaign(campaign, quartier):
        abort(403)
    action = get_action(request.form.get("action"))
    run_id = value(request.form, "run_id")
    if not CLIENT_ID.match(run_id):
        abort(400)
    language = value(request.form, "langue") or "fr"
    if language not in languages():
        language = "fr"
    end_write()
    start_run(
        get_runtime(),
        survey_run(
            run_id, campaign.id, quartier.id, current_user.id, action, language, request.form
        ),
        datetime.now(UTC),
    )
    return redirect(url_for("field.run", run_id=run_id), 303)


def _own_run(run_id: str) -> None:
    """404 for an unknown run, 403 for someone else's (or outside the account's quartiers)."""
    if not CLIENT_ID.match(run_id):
        abort(404)
    owner = run_owner(get_runtime(), run_id)
    if owner is None:
        abort(404)
    intervenant_id, quartier_id = owner
    if intervenant_id != current_user.id:
        abort(403)
    if not current_user.sees_all_quartiers and quartier_id not in current_user.quartier_ids:
        abort(403)


def _render(run_id: str, screen: Screen) -> Any:
    question = None if screen.question is None else screen.survey.questions[screen.question]
    return render_template(
        "field/run.html",
        run_id=run_id,
        screen=screen,
        question=question,
        skip_word=_skip_word(),
    )


def _skip_word() -> str:
    keywords = get_runtime().catalog.keywords
    return next((word for word, kind in keywords.items() if kind == "skip"), "passer")


@bp.route("/passages/<run_id>", methods=["GET"])
@permission_required("field")
def run(run_id: str) -> Any:
    _own_run(run_id)
    screen = run_screen(get_runtime(), run_id)
    assert screen is not None
    return _render(run_id, screen)


@bp.route("/passages/<run_id>", methods=["POST"])
@permission_required("field")
def run_answer(run_id: str) -> Any:
    _own_run(run_id)
    number = value(request.form, "numero")
    if not number.isdigit():
        abort(400)
    if request.form.get("passer"):
        text = _skip_word()
    else:
        chosen = request.form.getlist("reponse")
        text = ",".join(v.strip() for v in chosen if v.strip())[:MAX_ANSWER]
    end_write()
    answer_run(get_runtime(), run_id, int(number), text, datetime.now(UTC))
    return redirect(url_for("field.run", run_id=run_id), 303)
