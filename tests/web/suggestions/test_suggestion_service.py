"""Thème suggestions in the product: labels from the database, retraining, swap, pending texts.

Most tests train without the French word vectors (fast, and the same where they are not
installed); ``test_default_settings_use_the_word_vectors`` trains with the defaults.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Categorisation, Contribution, SuggestionModel, Theme
from tests.factories import make_contribution
from web.suggestions import service
from web.suggestions.service import (
    SUGGESTION_JOBS,
    active_model,
    examples_from,
    explain,
    retrain_if_needed,
    suggest_pending,
)
from web.suggestions.text import words as text_words

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

LOGEMENT = "Le bailleur ne répare pas l'ascenseur et il y a de l'humidité dans le logement"
DEVOIRS = "Mon fils a besoin d'aide aux devoirs après l'école, le collège ne répond pas"


def retrain(runtime: Runtime, now: datetime = NOW, **kwargs) -> str | None:
    kwargs.setdefault("word_vectors", False)
    return retrain_if_needed(runtime, now, **kwargs)


def add(runtime: Runtime, *texts: str) -> list[int]:
    with transaction(runtime.sessions) as session:
        return [make_contribution(session, text=text).id for text in texts]


def label(runtime: Runtime, contribution_id: int, code: str, source: str = "staff") -> None:
    with transaction(runtime.sessions) as session:
        theme_id = session.scalar(select(Theme.id).where(Theme.code == code))
        session.add(
            Categorisation(contribution_id=contribution_id, theme_id=theme_id, source=source)
        )


def suggestions(runtime: Runtime, contribution_id: int) -> list[tuple[str, float, str, dict]]:
    """(thème code, confidence, model version, detail) of a contribution's suggestions."""
    with runtime.sessions() as session:
        rows = session.execute(
            select(
                Theme.code,
                Categorisation.confidence,
                Categorisation.model_version,
                Categorisation.detail,
            )
            .join(Theme, Theme.id == Categorisation.theme_id)
            .where(
                Categorisation.contribution_id == contribution_id,
                Categorisation.source == "suggestion",
            )
            .order_by(Categorisation.confidence.desc())
        ).all()
    return [tuple(row) for row in rows]


def top(runtime: Runtime, contribution_id: int) -> str | None:
    rows = suggestions(runtime, contribution_id)
    return rows[0][0] if rows else None


def test_first_training_with_zero_labels_suggests_from_descriptions(runtime):
    logement, devoirs = add(runtime, LOGEMENT, DEVOIRS)
    assert suggest_pending(runtime, NOW) == 0  # no model yet: nothing, and no fake suggestion
    version = retrain(runtime)
    assert version is not None
    with runtime.sessions() as session:
        row = session.scalars(select(SuggestionModel)).one()
    assert (row.version, row.active, row.n_examples) == (version, True, 0)
    assert suggest_pending(runtime, NOW) == 2
    assert top(runtime, logement) == "cadre-de-vie"
    assert top(runtime, devoirs) == "scolarite"
    code, confidence, model_version, detail = suggestions(runtime, devoirs)[0]
    assert 0.5 <= confidence <= 1.0 and model_version == version
    assert detail["rank"] == 1 and detail["words"]
    assert suggest_pending(runtime, NOW) == 0  # done once per model version


def test_explain_returns_the_stored_words(runtime):
    (devoirs,) = add(runtime, DEVOIRS)
    retrain(runtime)
    suggest_pending(runtime, NOW)
    with runtime.sessions() as session:
        contribution = session.get(Contribution, devoirs)
        words = explain(contribution)
        assert words and set(words) <= set(text_words(DEVOIRS))
        assert explain(contribution, "scolarite") == words
        assert explain(contribution, "sante") == ()


def test_confirmations_retrain_and_change_suggestions(runtime):
    text = "Le local du rez-de-chaussée est fermé depuis des mois"
    first, *confirmed = add(runtime, text, *[f"{text}, bâtiment {n}" for n in range(6)])
    retrain(runtime)
    suggest_pending(runtime, NOW)
    before = top(runtime, first)
    target = "vieillissement" if before != "vieillissement" else "sante"
    for contribution_id in confirmed:
        label(runtime, contribution_id, target)
    assert retrain(runtime, after_labels=10) is None  # 6 new labels: not yet
    new_version = retrain(runtime, after_labels=6)
    assert new_version is not None
    assert suggest_pending(runtime, NOW) == 1  # only the one the team did not categorise
    assert top(runtime, first) == target
    assert {v for _, _, v, _ in suggestions(runtime, first)} == {new_version}
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).where(SuggestionModel.active)) == 1


def test_no_retraining_without_a_reason(runtime):
    assert retrain(runtime) is not None
    assert retrain(runtime) is None
    (one,) = add(runtime, DEVOIRS)
    label(runtime, one, "scolarite")
    assert retrain(runtime, NOW + timedelta(hours=1)) is None  # 1 label < 20
    assert retrain(runtime, NOW + timedelta(hours=25)) is not None  # but not forever


def test_a_removed_staff_label_no_longer_counts(runtime):
    ids = add(runtime, *[f"{DEVOIRS} {n}" for n in range(3)])
    for contribution_id in ids:
        label(runtime, contribution_id, "emploi")
    retrain(runtime, after_labels=1)
    assert len(examples_from_db(runtime)) == 3
    with transaction(runtime.sessions) as session:
        session.execute(delete(Categorisation).where(Categorisation.contribution_id == ids[0]))
    assert [e.text for e in examples_from_db(runtime)] == [f"{DEVOIRS} 1", f"{DEVOIRS} 2"]
    assert retrain(runtime, after_labels=1) is not None  # a removal is a change too


def examples_from_db(runtime: Runtime):
    with runtime.sessions() as session:
        return examples_from(session)


def test_habitant_choice_is_weaker_than_staff(runtime):
    mine, theirs, both = add(runtime, "ma phrase", "leur phrase", "notre phrase")
    label(runtime, mine, "sante", source="habitant")
    label(runtime, theirs, "emploi", source="staff")
    label(runtime, both, "sante", source="habitant")
    label(runtime, both, "emploi", source="staff")  # the team corrected the habitant
    label(runtime, mine, "emploi", source="suggestion")  # never an example
    got = sorted((e.text, e.theme, e.weight) for e in examples_from_db(runtime))
    assert got == [
        ("leur phrase", "emploi", 1.0),
        ("ma phrase", "sante", service.HABITANT_WEIGHT),
        ("notre phrase", "emploi", 1.0),
    ]
    assert service.HABITANT_WEIGHT < 1.0

    # The same words, chosen as often by habitants for one thème as by the team for another:
    # the team wins.
    text = "la salle du troisième étage"
    ids = add(runtime, *[f"{text} {n}" for n in range(8)])
    for contribution_id in ids[:4]:
        label(runtime, contribution_id, "sante", source="habitant")
    for contribution_id in ids[4:]:
        label(runtime, contribution_id, "emploi", source="staff")
    retrain(runtime, after_labels=1)
    (probe,) = add(runtime, text)
    suggest_pending(runtime, NOW)
    assert top(runtime, probe) == "emploi"


def test_abstention_is_recorded_as_a_trier(runtime):
    nothing, photo = add(runtime, "??? !!!", "")
    version = retrain(runtime)
    assert suggest_pending(runtime, NOW) == 2
    assert suggestions(runtime, nothing) == [] and suggestions(runtime, photo) == []
    with runtime.sessions() as session:
        recorded = session.scalars(select(Contribution.suggested_version)).all()
    assert recorded == [version, version]  # looked at, "à trier": not recomputed
    assert suggest_pending(runtime, NOW) == 0


def test_theme_list_change_resuggests_unconfirmed_contributions_only(runtime):
    confirmed, waiting = add(runtime, DEVOIRS, f"{DEVOIRS} !")
    old = retrain(runtime)
    suggest_pending(runtime, NOW)
    label(runtime, confirmed, "scolarite")
    assert top(runtime, waiting) == "scolarite"
    with transaction(runtime.sessions) as session:
        session.execute(update(Theme).where(Theme.code == "scolarite").values(active=False))
    assert suggest_pending(runtime, NOW) == 0  # no suggestion of a removed thème meanwhile
    new = retrain(runtime)
    assert new is not None and new != old
    assert suggest_pending(runtime, NOW) == 1
    assert all(v == new for _, _, v, _ in suggestions(runtime, waiting))
    assert "scolarite" not in {code for code, *_ in suggestions(runtime, waiting)}
    # The confirmed contribution keeps its staff thème, and its old suggestion is left alone.
    assert {v for _, _, v, _ in suggestions(runtime, confirmed)} == {old}


def test_a_description_change_retrains(runtime):
    old = retrain(runtime)
    with transaction(runtime.sessions) as session:
        session.execute(
            update(Theme).where(Theme.code == "sante").values(keywords=["médecin", "dentiste"])
        )
    assert retrain(runtime) not in (None, old)


def test_the_swap_is_atomic(runtime, monkeypatch):
    old = retrain(runtime)
    old_model = active_model(runtime)
    (one,) = add(runtime, DEVOIRS)
    label(runtime, one, "sante")

    # A failure in the middle of the swap leaves the old model active and whole.
    real_swap = service._swap

    def failing_swap(session, row):
        real_swap(session, row)
        raise RuntimeError("crash between the two halves of the swap")

    monkeypatch.setattr(service, "_swap", failing_swap)
    with pytest.raises(RuntimeError):
        retrain(runtime, after_labels=1)
    assert active_model(runtime) is old_model
    with runtime.sessions() as session:
        assert session.scalars(select(SuggestionModel.version)).all() == [old]
    monkeypatch.setattr(service, "_swap", real_swap)

    # A reader polling during retrains sees the old model or a new one, whole, never nothing.
    seen: list[tuple[str, bool]] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            model = active_model(runtime)
            assert model is not None
            seen.append((model.version, len(model.themes) > 0 and model.coef.size > 0))

    thread = threading.Thread(target=reader)
    thread.start()
    versions = [old]
    try:
        for n in range(2):
            (extra,) = add(runtime, f"{DEVOIRS} {n}")
            label(runtime, extra, "emploi")
            versions.append(retrain(runtime, after_labels=1))
    finally:
        stop.set()
        thread.join()
    assert None not in versions and len(set(versions)) == 3
    assert seen and {version for version, _ in seen} <= set(versions)
    assert all(whole for _, whole in seen)
    assert active_model(runtime).version == versions[-1]


def test_suggestions_skip_what_the_team_categorised_meanwhile(runtime, monkeypatch):
    a, b = add(runtime, DEVOIRS, LOGEMENT)
    retrain(runtime)
    model = active_model(runtime)
    real = model.suggest_many

    def slow_suggest_many(texts, languages=None):
        label(runtime, a, "emploi")  # the team acts while the model runs
        return real(texts, languages)

    monkeypatch.setattr(model, "suggest_many", slow_suggest_many)
    assert suggest_pending(runtime, NOW) == 1
    assert suggestions(runtime, a) == []
    assert top(runtime, b) == "cadre-de-vie"


def test_jobs_are_plain_functions_of_runtime_and_now(runtime):
    add(runtime, DEVOIRS)
    extra = {**runtime.settings.extra, "PAROLES_SUGGESTION_WORD_VECTORS": "0"}
    without_vectors = replace(runtime, settings=replace(runtime.settings, extra=extra))
    for job in SUGGESTION_JOBS:
        assert job.trigger == "interval" and job.trigger_args["seconds"] > 0
        job.function(without_vectors, NOW)
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SuggestionModel)) == 1
        assert session.scalar(select(func.count()).where(Categorisation.source == "suggestion"))


def test_old_models_are_pruned(runtime):
    for n in range(service.KEEP_MODELS + 2):
        (one,) = add(runtime, f"{DEVOIRS} {n}")
        label(runtime, one, "emploi")
        retrain(runtime, after_labels=1)
    with runtime.sessions() as session:
        rows = session.execute(select(SuggestionModel.id, SuggestionModel.active)).all()
    assert len(rows) == service.KEEP_MODELS
    assert [active for _, active in sorted(rows)] == [False] * (service.KEEP_MODELS - 1) + [True]


def test_default_settings_use_the_word_vectors(runtime):
    (devoirs,) = add(runtime, DEVOIRS)
    version = retrain_if_needed(runtime, NOW)
    assert version is not None
    assert active_model(runtime).vectors is not None
    suggest_pending(runtime, NOW)
    assert top(runtime, devoirs) == "scolarite"


def test_the_scheduler_runs_the_suggestion_jobs(runtime):
    from bots.scheduler import Service

    scheduler = Service(runtime, extra_jobs=SUGGESTION_JOBS)._make_scheduler()
    ids = {job.id for job in scheduler.get_jobs()}
    assert {"campaigns", "retention", "suggestions-retrain", "suggestions"} <= ids


def test_a_contribution_in_another_language_gets_a_french_theme(runtime):
    with transaction(runtime.sessions) as session:
        arabic = make_contribution(
            session, text="أبحث عن عمل منذ سنة ولا أجد شيئا", language="ar"
        ).id
        turkish = make_contribution(
            session, text="Çocuğum okulda ödevlerini yapamıyor", language="tr"
        ).id
    retrain(runtime)
    assert suggest_pending(runtime, NOW) == 2
    assert top(runtime, arabic) == "emploi"
    assert top(runtime, turkish) == "scolarite"
    assert suggestions(runtime, arabic)[0][3]["words"] == []  # French words cannot explain it


def test_embeddings_are_computed_by_the_job_once_and_reused_to_retrain(runtime, monkeypatch):
    from web.suggestions import embeddings

    (devoirs,) = add(runtime, DEVOIRS)
    retrain(runtime)
    suggest_pending(runtime, NOW)
    embedder = embeddings.load()
    with runtime.sessions() as session:
        stored = session.execute(
            select(Contribution.embedding, Contribution.embedding_model).where(
                Contribution.id == devoirs
            )
        ).one()
    assert stored.embedding_model == embedder.name and len(stored.embedding) == 2 * embedder.dim
    # Retraining on it as a label reads the stored vector: the model is not called for it.
    label(runtime, devoirs, "scolarite")
    embedder._cache.clear()
    seen: list[str] = []
    real = embedder._encode
    monkeypatch.setattr(embedder, "_encode", lambda texts: seen.extend(texts) or real(texts))
    assert retrain(runtime, after_labels=1) is not None
    assert DEVOIRS not in seen
