"""`GET /sante` for monitoring probes, and the banner that tells staff when messages wait.

The probe needs no login and shows counts only: 200 when the scheduler runs, the outbox
moves and received messages are processed, 503 otherwise (or when the database does not
answer), with the reasons in JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from bots import health
from web.db import get_runtime

bp = Blueprint("health", __name__)


@bp.get("/sante")
def probe() -> Any:
    try:
        state = health.check(get_runtime(), datetime.now(UTC))
    except SQLAlchemyError:
        return jsonify(ok=False, database=False), 503
    body = {
        "ok": state.ok,
        "database": True,
        "scheduler": state.scheduler_alive,
        "outbox": {
            "due": state.due,
            "waiting_minutes": state.waiting_minutes,
            "stuck": state.outbox_stuck,
        },
        "inbound": {
            "waiting": state.received_waiting,
            "waiting_minutes": state.received_minutes,
            "stuck": state.inbound_stuck,
            "failed_last_7_days": state.received_failed,
        },
    }
    return jsonify(body), 200 if state.ok else 503


@bp.app_context_processor
def _banner() -> dict[str, Any]:
    def service_health() -> health.Health | None:
        """For logged-in staff only: the login page stays one query. The banner does not show
        the messages given up on (the home page does): not counted on every page."""
        if not current_user.is_authenticated:
            return None
        return health.check(get_runtime(), datetime.now(UTC), count_failed=False)

    return {"service_health": service_health}
