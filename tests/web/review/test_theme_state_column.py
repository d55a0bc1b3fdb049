"""`contributions.theme_state` is always what the categorisations say, whoever wrote them.

The inbox counts and filters the thème states from the column (`storage.theme_state`): after
random sequences of every operation that gives, takes or moves a thème — the suggestion job,
the inbox's confirmations (a form post, the fetch "Confirmer", bulk actions, set / add /
remove), a field entry with its thème, the "Confirmer ce thème" of the field pages, the
habitant's own choice, a program writing SQL, an erasure, the retention purge, a thème
deleted — the column equals the live definition, read in SQL (`web.theme_state.theme_state`,
the tableau de bord's) and computed here from the rows. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text

from bots.field import Entry, record_entry
from bots.handler import erase_participant
from bots.retention import purge
from bots.runtime import Runtime
from bots.survey_store import seed_prompts
from storage.db import transaction
from storage.models import Categorisation, Contribution, Participant, Theme
from tests.factories import make_contribution, make_participant
from tests.web.conftest import Territory, csrf_token, login_as
from web.cli.demo import seed_demo
from web.suggestions.service import retrain_if_needed, suggest_pending
from web.theme_state import theme_state

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TEXTS = (
    "Les poubelles débordent encore rue des Lilas",
    "Mon fils a besoin d'aide aux devoirs après l'école",
    "L'ascenseur du bâtiment B est en panne depuis lundi",
    "Il faudrait plus de bancs dans le parc",
    "Personne ne répond au téléphone de la mairie annexe",
)
SEQUENCES = hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_client_ids = itertools.count(1)

OPERATIONS = st.sampled_from(
    [
        "new",
        "new_with_habitant_theme",
        "field_entry",
        "field_entry_with_theme",
        "suggest",
        "confirm",
        "fetch_confirm",
        "set",
        "add",
        "remove",
        "bulk_confirm",
        "bulk_set",
        "field_confirm",
        "habitant",
        "raw_suggestion",
        "raw_delete",
        "erase",
        "retention",
        "delete_theme",
    ]
)


def expected_states(runtime: Runtime) -> dict[int, str]:
    """Each contribution's state, by definition, from its categorisations (in Python)."""
    with runtime.sessions() as session:
        ids = session.scalars(select(Contribution.id)).all()
        sources: dict[int, set[str]] = defaultdict(set)
        for contribution_id, source in session.execute(
            select(Categorisation.contribution_id, Categorisation.source)
        ):
            sources[contribution_id].add(source)
    return {
        i: "confirme"
        if "staff" in sources[i]
        else ("suggere" if "suggestion" in sources[i] else "a_trier")
        for i in ids
    }


def assert_column_is_live(runtime: Runtime, after: str) -> None:
    expected = expected_states(runtime)
    with runtime.sessions() as session:
        stored = dict(session.execute(select(Contribution.id, Contribution.theme_state)).all())
        live = dict(session.execute(select(Contribution.id, theme_state())).all())
    assert stored == expected, after
    assert live == expected, after


class World:
    """The operations, each through the code path the product uses."""

    def __init__(self, runtime: Runtime, client: Any, territory: Territory) -> None:
        self.runtime = runtime
        self.client = client
        self.territory = territory
        self.chef = territory.users["chef_de_projet"]
        login_as(client, self.chef)
        self.token = csrf_token(client, "/terrain/")

    def ids(self) -> list[int]:
        with self.runtime.sessions() as session:
            return list(session.scalars(select(Contribution.id).order_by(Contribution.id)))

    def theme_ids(self) -> list[int]:
        with self.runtime.sessions() as session:
            return list(session.scalars(select(Theme.id).order_by(Theme.id)))

    def post(self, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
        response = self.client.post(url, data={**data, "csrf_token": self.token}, **kwargs)
        assert response.status_code < 500, (url, data)
        return response

    def run(self, operation: str, data: st.DataObject) -> None:
        getattr(self, operation)(data)

    def _pick(self, data: st.DataObject, values: list[Any]) -> Any:
        """One of `values` (None if there is none). What is drawn never depends on the
        database, so that hypothesis can replay and shrink a sequence."""
        n = data.draw(st.integers(0, 1000))
        return values[n % len(values)] if values else None

    def reset(self) -> None:
        """Each sequence starts from no contribution and every thème of `prompts/`."""
        with transaction(self.runtime.sessions) as session:
            session.execute(delete(Contribution))
            session.execute(delete(Participant))
            seed_prompts(session)

    # -- contributions arriving

    def new(self, data: st.DataObject) -> None:
        with transaction(self.runtime.sessions) as session:
            participant = make_participant(session, self.runtime)
            make_contribution(
                session, text=self._pick(data, list(TEXTS)), participant_id=participant.id
            )

    def new_with_habitant_theme(self, data: st.DataObject) -> None:
        self.new(data)
        self.habitant(data)

    def field_entry(self, data: st.DataObject, theme: bool = False) -> None:
        code = None
        if theme:
            with self.runtime.sessions() as session:
                codes = list(session.scalars(select(Theme.code).where(Theme.active.is_(True))))
            code = self._pick(data, codes)
        record_entry(
            self.runtime,
            Entry(
                client_id=f"{next(_client_ids):016x}",
                text=self._pick(data, list(TEXTS)),
                quartier_id=self.territory.nord,
                intervenant_id=self.chef,
                at=NOW,
                theme_code=code,
            ),
        )

    def field_entry_with_theme(self, data: st.DataObject) -> None:
        self.field_entry(data, theme=True)

    # -- the suggestion job

    def suggest(self, data: st.DataObject) -> None:
        retrain_if_needed(self.runtime, NOW, word_vectors=False)
        suggest_pending(self.runtime, NOW)

    # -- the inbox

    def _theme_action(self, data: st.DataObject, action: str, **kwargs: Any) -> None:
        contribution = self._pick(data, self.ids())
        theme = self._pick(data, self.theme_ids())
        if contribution is None or theme is None:
            return
        form = {"action": action, "theme_id": str(theme), "next": "/inbox/"}
        self.post(f"/contributions/{contribution}/theme", form, **kwargs)

    def confirm(self, data: st.DataObject) -> None:
        self._theme_action(data, "confirm")

    def fetch_confirm(self, data: st.DataObject) -> None:
        self._theme_action(data, "confirm", headers={"Accept": "application/json"})

    def set(self, data: st.DataObject) -> None:
        self._theme_action(data, "set")

    def add(self, data: st.DataObject) -> None:
        self._theme_action(data, "add")

    def remove(self, data: st.DataObject) -> None:
        self._theme_action(data, "remove")

    def _bulk(self, data: st.DataObject, action: str) -> None:
        ids = self.ids()
        theme = self._pick(data, self.theme_ids())
        picks = data.draw(st.lists(st.integers(0, 1000), min_size=1, max_size=5))
        if not ids or theme is None:
            return
        chosen = sorted({ids[n % len(ids)] for n in picks})
        form = {"ids": [str(i) for i in chosen], "action": action, "theme_id": str(theme)}
        self.post("/contributions/bulk", form)

    def bulk_confirm(self, data: st.DataObject) -> None:
        self._bulk(data, "confirm")

    def bulk_set(self, data: st.DataObject) -> None:
        self._bulk(data, "set")

    # -- the field pages

    def field_confirm(self, data: st.DataObject) -> None:
        with self.runtime.sessions() as session:
            mine = list(
                session.scalars(
                    select(Contribution.id).where(Contribution.intervenant_id.is_not(None))
                )
            )
            codes = list(session.scalars(select(Theme.code).where(Theme.active.is_(True))))
        contribution = self._pick(data, mine)
        code = self._pick(data, codes)
        if contribution is None or code is None:
            return
        self.post(f"/terrain/mes-entrees/{contribution}/theme", {"theme": code})

    # -- the habitant, another program

    def habitant(self, data: st.DataObject) -> None:
        contribution = self._pick(data, self.ids())
        theme = self._pick(data, self.theme_ids())
        if contribution is None or theme is None:
            return
        with transaction(self.runtime.sessions) as session:
            exists = session.scalar(
                select(Categorisation.id).where(
                    Categorisation.contribution_id == contribution,
                    Categorisation.theme_id == theme,
                    Categorisation.source == "habitant",
                )
            )
            if exists is None:
                session.add(
                    Categorisation(contribution_id=contribution, theme_id=theme, source="habitant")
                )

    def raw_suggestion(self, data: st.DataObject) -> None:
        contribution = self._pick(data, self.ids())
        theme = self._pick(data, self.theme_ids())
        if contribution is None or theme is None:
            return
        with self.runtime.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO categorisations (contribution_id, theme_id, source, confidence, "
                    "created_at, detail) SELECT :c, :t, 'suggestion', 0.5, :at, '{}' "
                    "WHERE NOT EXISTS (SELECT 1 FROM categorisations WHERE contribution_id = :c "
                    "AND theme_id = :t AND source = 'suggestion')"
                ),
                {"c": contribution, "t": theme, "at": NOW.replace(tzinfo=None)},
            )

    def raw_delete(self, data: st.DataObject) -> None:
        source = self._pick(data, ["staff", "suggestion", "habitant"])
        contribution = self._pick(data, self.ids())
        if contribution is None:
            return
        with self.runtime.engine.begin() as connection:
            connection.execute(
                text("DELETE FROM categorisations WHERE contribution_id = :c AND source = :s"),
                {"c": contribution, "s": source},
            )

    # -- erasure, retention, thèmes

    def erase(self, data: st.DataObject) -> None:
        with self.runtime.sessions() as session:
            people = list(session.scalars(select(Participant.id).order_by(Participant.id)))
        pid = self._pick(data, people)
        if pid is None:
            return
        with transaction(self.runtime.sessions) as session:
            erase_participant(session, self.runtime.settings.media_dir, pid)
            session.execute(delete(Participant).where(Participant.id == pid))

    def retention(self, data: st.DataObject) -> None:
        purge(self.runtime, NOW + timedelta(days=10_000))

    def delete_theme(self, data: st.DataObject) -> None:
        themes = self.theme_ids()
        theme = self._pick(data, themes)
        if len(themes) <= 3:
            return
        with transaction(self.runtime.sessions) as session:
            session.execute(delete(Theme).where(Theme.id == theme))


@pytest.fixture
def world(runtime: Runtime, client: Any, territory: Territory) -> World:
    return World(runtime, client, territory)


@SEQUENCES
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=12), data=st.data())
def test_the_stored_theme_state_follows_every_writer(
    world: World, operations: list[str], data: st.DataObject
) -> None:
    world.reset()
    done = []
    for operation in operations:
        world.run(operation, data)
        done.append(operation)
        assert_column_is_live(world.runtime, " → ".join(done))


def test_the_demo_seed_leaves_every_state_true(runtime: Runtime) -> None:
    seed_demo(runtime, now=NOW)
    assert_column_is_live(runtime, "demo seed")


def test_the_state_of_two_concurrent_writers_is_the_committed_one(runtime: Runtime) -> None:
    """Two transactions give one contribution its first suggestion and its first staff thème
    at the same time (PostgreSQL: both in flight; SQLite: one after the other): the stored
    state is what both committed say, whichever trigger ran first."""
    with transaction(runtime.sessions) as session:
        contribution = make_contribution(session).id
        themes = list(session.scalars(select(Theme.id).order_by(Theme.id).limit(2)))
    first, second = runtime.sessions(), runtime.sessions()
    staff = Categorisation(contribution_id=contribution, theme_id=themes[0], source="staff")
    suggested = Categorisation(
        contribution_id=contribution, theme_id=themes[1], source="suggestion"
    )
    try:
        first.add(staff)
        if runtime.engine.dialect.name != "postgresql":  # one writer at a time
            first.commit()
            second.add(suggested)
            second.commit()
        else:
            first.flush()  # its trigger has run: the contribution's row is locked
            worker = threading.Thread(target=lambda: (second.add(suggested), second.commit()))
            worker.start()
            waiting_for_lock(runtime)  # the second's trigger waits for the first's lock
            first.commit()
            worker.join(10)
            assert not worker.is_alive()
    finally:
        first.close()
        second.close()
    assert_column_is_live(runtime, "two writers")


def waiting_for_lock(runtime: Runtime) -> None:
    """Until another connection of this database waits for a lock (PostgreSQL)."""
    deadline = time.monotonic() + 10
    with runtime.engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            )
            if waiting:
                return
            connection.rollback()
            time.sleep(0.01)
    raise AssertionError("the second writer never waited for the first")
