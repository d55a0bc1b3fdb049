"""A database error never carries a habitant's words into a log or a `last_error` column."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bots.log_setup import set_up_logging
from bots.runtime import Runtime
from storage.config import Settings
from storage.db import transaction
from storage.errors import describe, safe_traceback

WORDS = "Mon voisin Karim Benali du 3e bat sa femme"


def failed_insert(runtime: Runtime) -> IntegrityError:
    """An INSERT of a habitant's message that the database refuses (a required column left
    empty): PostgreSQL's DETAIL repeats the whole row, the words among its columns."""
    with pytest.raises(IntegrityError) as caught:  # noqa: PT012  the transaction is the subject
        with transaction(runtime.sessions) as session:
            session.execute(
                text("INSERT INTO messages (direction, channel, body) VALUES ('in', NULL, :body)"),
                {"body": WORDS},
            )
    return caught.value


def test_a_refused_insert_is_described_without_the_row(runtime: Runtime) -> None:
    error = failed_insert(runtime)
    described = describe(error)
    assert described.startswith("IntegrityError [")
    assert "23502" in described or "SQLITE_CONSTRAINT_NOTNULL" in described
    assert "at tests/" not in described  # the line named is ours, or the library's last one
    for shown in (described, safe_traceback(error)):
        assert "Karim" not in shown and "voisin" not in shown
    # The raw text: parameters hidden by the engine, but PostgreSQL's DETAIL repeats the row.
    assert "hide_parameters" in str(error)
    assert ("Karim" in str(error)) == (runtime.engine.dialect.name == "postgresql")


def test_a_logged_database_error_keeps_its_frames_and_drops_the_row(
    runtime: Runtime, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    set_up_logging(settings)
    error = failed_insert(runtime)
    try:
        raise RuntimeError(f"could not store {WORDS!r}") from error
    except RuntimeError:
        logging.getLogger("paroles.test").exception("message not stored")
    logged = caplog.text
    assert "message not stored" in logged
    assert "IntegrityError" in logged and "RuntimeError" in logged and "failed_insert" in logged
    assert "Karim" not in logged and "voisin" not in logged
