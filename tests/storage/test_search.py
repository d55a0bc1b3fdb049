"""French full-text search: accents, case and plurals don't matter, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from bots.runtime import Runtime
from storage import search
from storage.db import transaction
from storage.models import Contribution
from tests.factories import make_contribution

TEXTS = {
    "poubelles": "Les poubelles débordent rue des Lilas depuis lundi",
    "ecole": "L'école du quartier manque de surveillants",
    "securite": "Pas de sécurité le soir près du parc",
    "ascenseur": "ASCENSEUR en panne au bâtiment C",
    "eclairage": "éclairage public cassé devant la pharmacie",
}


def found(runtime: Runtime, query: str) -> set[str]:
    with transaction(runtime.sessions) as session:
        condition = search.matches(runtime.engine.dialect.name, query)
        assert condition is not None
        texts = set(session.scalars(select(Contribution.text).where(condition)))
        return {key for key, text in TEXTS.items() if text in texts}


@pytest.fixture
def indexed(runtime: Runtime) -> Runtime:
    with transaction(runtime.sessions) as session:
        for text in TEXTS.values():
            make_contribution(session, text=text)
    return runtime


CASES = [
    ("poubelle", {"poubelles"}),  # singular finds plural
    ("POUBELLES", {"poubelles"}),  # case
    ("ecoles", {"ecole"}),  # no accent, plural
    ("École", {"ecole"}),
    ("securite", {"securite"}),  # accent typed or not
    ("sécurité soir", {"securite"}),  # every word must match
    ("ascenseurs", {"ascenseur"}),
    ("eclairages", {"eclairage"}),
    ("sécurité poubelles", set()),
    ("métro", set()),
]


def test_accents_case_and_plurals_do_not_matter(indexed: Runtime) -> None:
    results = {query: found(indexed, query) for query, _expected in CASES}
    assert results == dict(CASES)


def test_empty_or_punctuation_only_query_means_no_search() -> None:
    assert search.matches("sqlite", "  ") is None
    assert search.matches("postgresql", "?!") is None


def test_query_syntax_is_never_passed_through(indexed: Runtime) -> None:
    # FTS5 operators and quotes in what someone types are words, not syntax errors.
    assert found(indexed, 'poubelle" OR NEAR(x') == set()
    assert found(indexed, "poubelle*") == {"poubelles"}


def test_the_index_follows_updates_and_erasure(indexed: Runtime) -> None:
    with transaction(indexed.sessions) as session:
        session.execute(
            update(Contribution)
            .where(Contribution.text == TEXTS["ascenseur"])
            .values(text=TEXTS["ascenseur"] + " et les poubelles aussi")
        )
        after = TEXTS["ascenseur"] + " et les poubelles aussi"
        rows = session.scalars(
            select(Contribution.text).where(search.matches(indexed.engine.dialect.name, "poubelle"))
        ).all()
        assert after in rows
        session.execute(delete(Contribution))  # what OUBLIER does, in bulk
        search.compact(session)
    assert found(indexed, "poubelle") == set()


def test_fts5_query_offers_the_word_and_its_stems() -> None:
    assert search.fts5_query("Poubelles") == '("poubelles" OR "poubel"*)'
    assert search.fts5_query("sécurité") == '("securite" OR "secur"* OR "securit"*)'
