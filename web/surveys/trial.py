"""Try a survey before launching it, as a habitant would see it by SMS and on Telegram.

Each staff account has its own test phone: a simulator participant marked `is_test`, so that
campaigns never invite it and results never count it (and the handler files no contribution for
it). Starting a trial wipes that phone's earlier trial, then sends question 1 the way a campaign
invitation does; the answers go through the real handler and engine.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bots.channels import Outgoing, make_channel
from bots.channels import simulator as sms_view
from bots.channels import telegram as telegram_view
from bots.engine import State, start_survey
from bots.handler import (
    Inbound,
    build_context,
    enqueue_reply,
    find_or_create_participant,
)
from bots.inbound import receive_now
from bots.outbox import deliver
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Answer, Conversation, Message, Participant
from web.auth import permission_required
from web.db import end_write, get_runtime, get_session
from web.surveys.editor import get_survey, language_names

bp = Blueprint("survey_trial", __name__, url_prefix="/enquetes")
MAX_LENGTH = 1600


@dataclass(frozen=True)
class Shown:
    """One message of the trial, as the SMS and as Telegram show it."""

    direction: str
    sms: str
    telegram: str
    buttons: list[list[str]]


def test_address(user_id: int) -> str:
    return f"essai-{user_id}"


def _participant(session: Session, runtime: Runtime, now: datetime) -> Participant:
    participant = find_or_create_participant(
        session, runtime, sms_view.NAME, test_address(current_user.id), now
    )
    participant.is_test = True
    return participant


def _shown(row: Message) -> Shown:
    if row.direction == "in":
        return Shown("in", row.body, row.body, [])
    outgoing = Outgoing(row.id, "", row.body, tuple(row.choices), row.expects)
    text, markup = telegram_view.render(outgoing)
    keyboard = getattr(markup, "keyboard", ())
    buttons = [[button.text for button in line] for line in keyboard]
    return Shown("out", sms_view.render(outgoing), text, buttons)


@bp.route("/<int:survey_id>/essai", methods=["GET"])
@permission_required("manage_surveys")
def index(survey_id: int) -> Any:
    survey = get_survey(survey_id)
    runtime = get_runtime()
    db = get_session()
    pseudonym = runtime.vault.pseudonym(sms_view.NAME, test_address(current_user.id))
    participant = db.scalars(select(Participant).where(Participant.pseudonym == pseudonym)).first()
    messages: list[Shown] = []
    if participant is not None:
        rows = db.scalars(
            select(Message).where(Message.participant_id == participant.id).order_by(Message.id)
        ).all()
        messages = [_shown(row) for row in rows[-60:]]
    return render_template(
        "surveys/trial.html",
        survey=survey,
        messages=messages,
        languages=language_names(),
        language=participant.language if participant else "fr",
    )


@bp.route("/<int:survey_id>/essai/debut", methods=["POST"])
@permission_required("manage_surveys")
def start(survey_id: int) -> Any:
    """A fresh trial: the test phone's earlier messages and answers go, question 1 comes."""
    get_survey(survey_id)
    end_write()
    runtime = get_runtime()
    language = request.form.get("language", "fr")
    if language not in runtime.catalog.languages:
        language = "fr"
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        participant = _participant(session, runtime, now)
        _wipe(session, participant.id)
        participant.consent_at, participant.opted_out_at = now, None
        participant.language = language
        ctx = build_context(session, runtime, State(survey=str(survey_id)), None)
        spec = ctx.surveys[str(survey_id)]
        begun = start_survey(State(language=language, consent=True), spec, ctx)
        participant.state = begun.state.to_json()
        session.add(
            Conversation(
                participant_id=participant.id,
                survey_id=survey_id,
                status="active",
                started_at=now,
                updated_at=now,
            )
        )
        enqueue_reply(session, participant, begun.replies[0], now=now)
    deliver(runtime, make_channel(sms_view.NAME, runtime))
    return redirect(url_for("survey_trial.index", survey_id=survey_id) + "#fin")


@bp.route("/<int:survey_id>/essai", methods=["POST"])
@permission_required("manage_surveys")
def answer(survey_id: int) -> Any:
    get_survey(survey_id)
    end_write()
    runtime = get_runtime()
    text = request.form.get("text", "")[:MAX_LENGTH]
    receive_now(
        runtime,
        Inbound(
            channel=sms_view.NAME,
            address=test_address(current_user.id),
            text=text,
            external_id="essai-" + secrets.token_hex(8),
        ),
    )
    deliver(runtime, make_channel(sms_view.NAME, runtime))
    return redirect(url_for("survey_trial.index", survey_id=survey_id) + "#fin")


def _wipe(session: Session, participant_id: int) -> None:
    conversations = select(Conversation.id).where(Conversation.participant_id == participant_id)
    session.execute(delete(Answer).where(Answer.conversation_id.in_(conversations)))
    session.execute(delete(Conversation).where(Conversation.participant_id == participant_id))
    session.execute(delete(Message).where(Message.participant_id == participant_id))
