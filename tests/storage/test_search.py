"""French full-text search: accents, case and plurals don't matter, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, text, update

from bots.personal_data_job import detect_pending
from bots.runtime import Runtime
from storage import search
from storage.db import transaction
from storage.models import Contribution, ContributionTranslation
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


# -- masked search: what roles that cannot reveal an original search ----------------------------

NEIGHBOUR = "Mon voisin M. Dupont du 3e étage, 06 11 22 33 44, deale dans le hall"


def masked_found(runtime: Runtime, query: str, masked: bool = True) -> list[int]:
    with runtime.sessions() as session:
        condition = search.matches(runtime.engine.dialect.name, query, masked)
        assert condition is not None
        return list(session.scalars(select(Contribution.id).where(condition)))


def test_a_masked_search_never_finds_what_masking_hides(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        cid = make_contribution(session, text=NEIGHBOUR).id
        other = make_contribution(session, text="Les poubelles de Dupont-sur-Mer").id
        turkish = make_contribution(session, text="Asansör bozuk, kapıcıya sorun", language="tr")
        session.flush()
        session.add(
            ContributionTranslation(
                contribution_id=turkish.id,
                target="fr",
                source="tr",
                status="done",
                provider="libretranslate",
                attempts=1,
                error="",
                text="L'ascenseur est en panne, demandez à M. Martin",
            )
        )
    assert masked_found(runtime, "voisin") == []  # not read by the job yet: not searchable
    detect_pending(runtime, datetime.now(UTC))
    assert masked_found(runtime, "Dupont") == [other]  # visible there, masked in the other
    assert masked_found(runtime, "Dupont", masked=False) == [cid, other]  # the originals
    assert masked_found(runtime, "0611223344") == [] and masked_found(runtime, "hall") == [cid]
    assert masked_found(runtime, "voisin deale") == [cid]
    assert masked_found(runtime, "nom téléphone") == [cid]  # what a reader sees: the labels
    assert masked_found(runtime, "ascenseurs") == [turkish.id]  # the translation, masked
    assert masked_found(runtime, "Martin") == []
    with transaction(runtime.sessions) as session:  # erased: gone from the masked index too
        session.execute(delete(Contribution).where(Contribution.id == cid))
    assert masked_found(runtime, "voisin") == []
    with runtime.sessions() as session:
        left = session.scalar(text(f"SELECT count(*) FROM {search.MASKED}"))
        assert left == 2
