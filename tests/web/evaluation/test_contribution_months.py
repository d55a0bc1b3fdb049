"""`contribution_months` is always what the contributions say, whoever wrote them, and the
tableau de bord's thème table read from it is the live definition.

After random sequences of every operation of the thème state test (the suggestion job, the
inbox's confirmations, field entries, raw SQL, an erasure, the retention purge, a thème deleted:
`tests.web.review.test_theme_state_column`) and of those that move a contribution in the table
(a new one at any hour around a month's first day, a test phone's, archived, moved to another
quartier or none, redated, deleted through the ORM or in SQL, its quartier deleted), the monthly
counts equal the live GROUP BY (`storage.contribution_months.live_rows`), and the thème table of
a random period, time zone and scope equals the definition worked out here row by row. On
SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text, update

from bots.runtime import Runtime
from bots.survey_store import seed_prompts
from storage import contribution_months
from storage.db import transaction
from storage.models import Categorisation, Contribution, Participant, Quartier, Theme
from tests.factories import make_contribution, make_participant, make_quartier
from tests.web.conftest import Territory
from tests.web.review.test_theme_state_column import OPERATIONS, SEQUENCES, World
from web.counts import Scope
from web.indicators import Period, _themes, add_months

# Fewer sequences than the thème state test (the suite's time budget): every trigger path is
# also run once, in order, by `test_each_trigger_keeps_the_counts`.
FEWER = settings(SEQUENCES, max_examples=15)
ZONES = ("Europe/Paris", "UTC", "Asia/Kolkata", "America/St_Johns")
MONTHS = [date(2026, m, 1) for m in range(8, 13)]
MORE = st.sampled_from(
    [
        "new_at_month_start",
        "new_at_month_start",
        "test_phone",
        "archive",
        "move",
        "redate",
        "orm_delete",
        "sql_delete",
        "delete_quartier",
    ]
)


class Months(World):
    """The thème state test's operations, and those that move a contribution in the table."""

    def _when(self, data: st.DataObject) -> datetime:
        zone = ZONES[data.draw(st.integers(0, len(ZONES) - 1))]
        month = MONTHS[data.draw(st.integers(0, len(MONTHS) - 1))]
        start = Period(month, month).bounds(zone)[0]
        return start + timedelta(minutes=data.draw(st.integers(-26 * 60, 26 * 60)))

    def _quartier(self, data: st.DataObject) -> int | None:
        with self.runtime.sessions() as session:
            quartiers = list(session.scalars(select(Quartier.id).order_by(Quartier.id)))
        return self._pick(data, [None, *quartiers])

    def new_at_month_start(self, data: st.DataObject, test: bool = False) -> None:
        at, quartier = self._when(data), self._quartier(data)
        with transaction(self.runtime.sessions) as session:
            participant = make_participant(session, self.runtime, is_test=test)
            make_contribution(
                session, participant_id=participant.id, quartier_id=quartier, created_at=at
            )

    def test_phone(self, data: st.DataObject) -> None:
        self.new_at_month_start(data, test=True)

    def _contribution(self, data: st.DataObject) -> int | None:
        return self._pick(data, self.ids())

    def archive(self, data: st.DataObject) -> None:
        contribution = self._contribution(data)
        if contribution is None:
            return
        form = {"ids": [str(contribution)], "action": "status", "status": "archive"}
        self.post("/contributions/bulk", form)

    def move(self, data: st.DataObject) -> None:
        contribution, quartier = self._contribution(data), self._quartier(data)
        with transaction(self.runtime.sessions) as session:
            session.execute(
                update(Contribution)
                .where(Contribution.id == contribution)
                .values(quartier_id=quartier)
            )

    def redate(self, data: st.DataObject) -> None:
        contribution, at = self._contribution(data), self._when(data)
        with transaction(self.runtime.sessions) as session:
            found = session.get(Contribution, contribution) if contribution else None
            if found is not None:
                found.created_at = at

    def orm_delete(self, data: st.DataObject) -> None:
        contribution = self._contribution(data)
        with transaction(self.runtime.sessions) as session:
            found = session.get(Contribution, contribution) if contribution else None
            if found is not None:
                session.delete(found)  # the ORM deletes its categorisations first

    def sql_delete(self, data: st.DataObject) -> None:
        contribution = self._contribution(data)
        with self.runtime.engine.begin() as connection:  # the foreign keys' cascade
            connection.execute(text("DELETE FROM contributions WHERE id = :c"), {"c": contribution})

    def delete_quartier(self, data: st.DataObject) -> None:
        with transaction(self.runtime.sessions) as session:
            spare = make_quartier(session, code=f"QP-{len(self.ids())}-{data.draw(st.integers())}")
            session.execute(
                update(Contribution)
                .where(Contribution.id == self._contribution(data))
                .values(quartier_id=spare.id)
            )
        with transaction(self.runtime.sessions) as session:  # ON DELETE SET NULL
            session.execute(delete(Quartier).where(Quartier.id == spare.id))


def expected_themes(runtime: Runtime, period: Period, zone: str, scope: Scope) -> dict[str, Any]:
    """The thème table by its definition, from every row: confirmed thèmes (by code), the two
    states not confirmed, and the total, per month of the territory; test phones left out."""
    bounds = period.bounds(zone)
    months = len(bounds) - 1
    with runtime.sessions() as session:
        tests = set(session.scalars(select(Participant.id).where(Participant.is_test.is_(True))))
        codes = dict(session.execute(select(Theme.id, Theme.code)).all())
        sources: dict[int, list[tuple[str, int]]] = {}
        for cid, source, theme_id in session.execute(
            select(Categorisation.contribution_id, Categorisation.source, Categorisation.theme_id)
        ):
            sources.setdefault(cid, []).append((source, theme_id))
        rows = session.execute(
            select(
                Contribution.id,
                Contribution.created_at,
                Contribution.quartier_id,
                Contribution.participant_id,
            )
        ).all()
    found: dict[str, list[int]] = {"total": [0] * months}
    for cid, at, quartier, pid in rows:
        if not bounds[0] <= at < bounds[-1] or pid in tests:
            continue
        if scope.quartier_ids is not None and quartier not in scope.quartier_ids:
            continue
        if scope.quartier is not None and quartier != scope.quartier:
            continue
        month = next(n for n, bound in enumerate(bounds[1:]) if at < bound)
        given = {source for source, _ in sources.get(cid, [])}
        for source, theme_id in sources.get(cid, []):
            if source == "staff":
                found.setdefault(codes[theme_id], [0] * months)[month] += 1
        if "staff" not in given:
            state = "suggere" if "suggestion" in given else "a_trier"
            found.setdefault(state, [0] * months)[month] += 1
        found["total"][month] += 1
    return found


def assert_months_are_live(world: Months, data: st.DataObject, after: str) -> None:
    with world.runtime.engine.connect() as connection:
        assert contribution_months.stored_rows(connection) == contribution_months.live_rows(
            connection
        ), after
    zone = ZONES[data.draw(st.integers(0, len(ZONES) - 1))]
    first = MONTHS[data.draw(st.integers(0, len(MONTHS) - 1))]
    period = Period(first, add_months(first, data.draw(st.integers(0, 2))))
    with world.runtime.sessions() as session:
        quartiers = list(session.scalars(select(Quartier.id).order_by(Quartier.id)))
    scope = data.draw(
        st.sampled_from(
            [
                Scope(),
                Scope(None, quartiers[0]),
                Scope(frozenset(quartiers[:1])),
                Scope(frozenset(quartiers), quartiers[-1]),
            ]
        )
    )
    with world.runtime.sessions() as session:
        rows = _themes(session, scope, period.bounds(zone))
    shown = {row.key: row.per_month for row in rows if any(row.per_month) or row.key == "total"}
    assert shown == expected_themes(world.runtime, period, zone, scope), (after, period, zone)


@pytest.fixture
def months(runtime: Runtime, client: Any, territory: Territory) -> Months:
    return Months(runtime, client, territory)


@FEWER
@given(operations=st.lists(st.one_of(OPERATIONS, MORE), min_size=1, max_size=10), data=st.data())
def test_the_monthly_counts_follow_every_writer(
    months: Months, operations: list[str], data: st.DataObject
) -> None:
    months.reset()
    done = []
    for operation in operations:
        months.run(operation, data)
        done.append(operation)
        assert_months_are_live(months, data, " → ".join(done))


def test_a_recount_gives_what_the_triggers_keep(runtime: Runtime, territory: Territory) -> None:
    """`refresh_all` (a repair) counts what the triggers counted, month by month."""
    with transaction(runtime.sessions) as session:
        participant = make_participant(session, runtime)
        for n in range(6):
            make_contribution(
                session,
                participant_id=participant.id,
                quartier_id=territory.nord if n % 2 else None,
                created_at=datetime(2026, 10, 31, 22, tzinfo=UTC) + timedelta(hours=n),
            )
    with runtime.engine.begin() as connection:
        kept = contribution_months.stored_rows(connection)
        contribution_months.refresh_all(connection)
        assert contribution_months.stored_rows(connection) == kept
        assert sum(kept.values()) == 6


def test_each_trigger_keeps_the_counts(runtime: Runtime, territory: Territory) -> None:
    """Every path of the triggers once, in order, the counts checked after each: a
    contribution in, a thème confirmed, another suggested, the contribution moved and redated,
    a categorisation changed in SQL (thème, then source), one deleted, a thème deleted, the
    contribution deleted in SQL (its categorisations by the cascade)."""
    with transaction(runtime.sessions) as session:
        seed_prompts(session)
        themes = list(session.scalars(select(Theme.id).order_by(Theme.id)))
        participant = make_participant(session, runtime)
        contribution = make_contribution(
            session,
            participant_id=participant.id,
            quartier_id=territory.nord,
            created_at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC),
        ).id
    steps = [
        "INSERT INTO categorisations (contribution_id, theme_id, source, created_at, detail) "
        "VALUES (:c, :t0, 'staff', '2026-11-01 00:00:00', '{}')",
        "INSERT INTO categorisations (contribution_id, theme_id, source, created_at, detail) "
        "VALUES (:c, :t1, 'suggestion', '2026-11-01 00:00:00', '{}')",
        "INSERT INTO categorisations (contribution_id, theme_id, source, created_at, detail) "
        "VALUES (:c, :t2, 'staff', '2026-11-01 00:00:00', '{}')",
        "UPDATE contributions SET quartier_id = :q WHERE id = :c",
        "UPDATE contributions SET quartier_id = NULL WHERE id = :c",
        "UPDATE contributions SET created_at = '2026-09-15 12:00:00' WHERE id = :c",
        "UPDATE categorisations SET theme_id = :t3 WHERE contribution_id = :c AND theme_id = :t0",
        "UPDATE categorisations SET source = 'staff' WHERE contribution_id = :c "
        "AND source = 'suggestion'",
        "UPDATE categorisations SET source = 'habitant' WHERE contribution_id = :c "
        "AND theme_id = :t3",
        "DELETE FROM categorisations WHERE contribution_id = :c AND theme_id = :t1",
        "DELETE FROM themes WHERE id = :t2",
        "DELETE FROM contributions WHERE id = :c",
    ]
    values = {"c": contribution, "q": territory.sud, **{f"t{n}": themes[n] for n in range(4)}}
    for step in steps:
        with runtime.engine.begin() as connection:
            connection.execute(text(step), values)
        with runtime.engine.connect() as connection:
            live = contribution_months.live_rows(connection)
            assert contribution_months.stored_rows(connection) == live, step
            assert live or step.startswith("DELETE FROM contributions"), step
