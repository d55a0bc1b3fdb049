"""Per-request database session and the runtime shared with the bots."""

from __future__ import annotations

from flask import current_app, g, request
from sqlalchemy.orm import Session

from bots.runtime import Runtime
from storage.db import begin_write


def get_runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["paroles"]
    return runtime


def get_session() -> Session:
    """The request's session; closed (and rolled back if unfinished) at teardown.

    A request that may write (POST...) begins a writing transaction; a GET only reads and
    never holds SQLite's write lock, so the bots keep recording messages meanwhile.
    """
    if "db_session" not in g:
        session = get_runtime().sessions()
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            begin_write(session)
        g.db_session = session
    result: Session = g.db_session
    return result
