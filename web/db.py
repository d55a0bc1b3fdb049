"""Per-request database session and the runtime shared with the bots."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session

from bots.runtime import Runtime


def get_runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["paroles"]
    return runtime


def get_session() -> Session:
    """The request's session; closed (and rolled back if unfinished) at teardown."""
    if "db_session" not in g:
        g.db_session = get_runtime().sessions()
    session: Session = g.db_session
    return session
