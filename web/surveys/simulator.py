"""The web simulator: play a habitant in the browser, seeing exactly what an SMS would show.

Open to anyone in demo mode (so a visitor can try Paroles), staff-only otherwise. Each visitor
gets their own simulated phone number, kept in their session cookie.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from bots.channels import Outgoing, make_channel
from bots.channels.simulator import NAME, render
from bots.handler import Inbound, find_or_create_participant
from bots.inbound import receive_now
from bots.outbox import deliver
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Message
from web.db import get_runtime, get_session

bp = Blueprint("simulator", __name__, url_prefix="/simulateur")
MAX_LENGTH = 1600


def _allowed() -> None:
    if not current_app.config["PAROLES_DEMO"] and not current_user.is_authenticated:
        abort(403)


def _address() -> str:
    if "simulator_address" not in session:
        session["simulator_address"] = "sim-" + secrets.token_hex(6)
    return str(session["simulator_address"])


@bp.route("/", methods=["GET"])
def index() -> Any:
    _allowed()
    runtime = get_runtime()
    pseudonym = runtime.vault.pseudonym(NAME, _address())
    from storage.models import Participant

    db = get_session()
    participant = db.scalars(
        select(Participant).where(Participant.pseudonym == pseudonym)
    ).one_or_none()
    messages: list[tuple[str, str]] = []
    if participant is not None:
        rows = db.scalars(
            select(Message).where(Message.participant_id == participant.id).order_by(Message.id)
        ).all()
        for row in rows[-60:]:
            if row.direction == "in":
                messages.append(("in", row.body))
            else:
                text = render(Outgoing(row.id, "", row.body, tuple(row.choices), row.expects))
                messages.append(("out", text))
    return render_template("surveys/simulator.html", messages=messages)


def _mark_as_trial(runtime: Runtime) -> None:
    """The simulator's phone is a trial, like the survey editor's: it never counts as
    participation (indicators, results, campaigns) and files nothing in the inbox."""
    with transaction(runtime.sessions) as session:
        participant = find_or_create_participant(
            session, runtime, NAME, _address(), datetime.now(UTC)
        )
        participant.is_test = True


@bp.route("/", methods=["POST"])
def send() -> Any:
    _allowed()
    text = request.form.get("text", "")[:MAX_LENGTH]
    runtime = get_runtime()
    _mark_as_trial(runtime)
    receive_now(
        runtime,
        Inbound(
            channel=NAME, address=_address(), text=text, external_id="web-" + secrets.token_hex(8)
        ),
    )
    deliver(runtime, make_channel(NAME, runtime))
    return redirect(url_for("simulator.index") + "#fin")


@bp.route("/nouveau", methods=["POST"])
def restart() -> Any:
    _allowed()
    session.pop("simulator_address", None)
    return redirect(url_for("simulator.index"))
