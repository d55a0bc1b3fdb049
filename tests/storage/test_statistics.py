"""The nightly statistics job gives SQLite's planner what it needs; on PostgreSQL autovacuum
does it, and the job changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from bots.runtime import Runtime
from bots.scheduler import refresh_statistics
from storage.db import is_postgres, transaction
from tests.factories import make_contribution, make_participant


def test_the_planner_has_statistics_after_the_nightly_job(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        participant = make_participant(session, runtime)
        for day in (1, 2, 3):
            make_contribution(
                session,
                participant_id=participant.id,
                created_at=datetime(2026, 3, day, tzinfo=UTC),
            )
    refresh_statistics(runtime, datetime(2026, 3, 4, 4, tzinfo=UTC))
    if is_postgres(runtime.engine):
        return
    with runtime.engine.connect() as connection:
        analysed = set(connection.scalars(text("SELECT DISTINCT tbl FROM sqlite_stat1")))
    assert {"contributions", "participant_activity", "participants"} <= analysed
