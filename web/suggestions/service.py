"""Thème suggestions in the product: labels from the database, stored models, pending texts.

The model (``model.py``) is pure; this module connects it to storage:

- **Labels.** Every thème a chef de projet gave a contribution (``Categorisation`` source
  ``staff``: a confirmation, a correction, a second thème) is an example of weight 1; a
  habitant's own choice (source ``habitant``) is a weaker one (``HABITANT_WEIGHT``) and only
  counts while no one of the team has categorised that contribution. Suggestions never teach the
  model. A staff thème that was removed is deleted by the back-office, so it no longer counts.
- **Retraining** (``retrain_if_needed``) reads thèmes and labels in one short transaction,
  trains with no transaction open (seconds, in the scheduler's worker), then swaps the new model
  in with one short transaction: the old row stops being active and the new one starts, so every
  reader sees either the old model or the new one, never a mix. It retrains when there is no
  model, when the thèmes changed (name, description, keywords, list), after ``after_labels``
  label changes (added or removed), or when some labels changed and the model is a day old.
- **Readers** (``active_model``) keep models in an in-process cache keyed by version: a model
  is read from the database once per process and per version, and a version is never modified.
- **Languages.** Each contribution's stored language goes with its text: the French model reads
  French, a multilingual head on the sentence embeddings (``embeddings.py``) reads the rest
  (see ``model.is_french``), both against the same French thèmes.
- **Suggesting** (``suggest_pending``) gives each contribution not yet categorised by the team a
  suggestion from the active model: the top thème, and a second one when close, as
  ``Categorisation`` rows of source ``suggestion`` with the confidence, the model version and the
  explaining words in ``detail``. When the model abstains nothing is written but the version, on
  ``Contribution.suggested_version``, so the text is "à trier" and not looked at again by the
  same model. A new model (new labels, new thèmes) re-suggests the contributions the team has not
  categorised yet, replacing their old suggestions, newest first, a batch per run.

The scheduler lives in ``bots`` and cannot import ``web``: the jobs are listed in
``SUGGESTION_JOBS`` and handed to it by the commands that start it (plain functions of
``(runtime, now)``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from bots.runtime import Runtime
from bots.scheduler import Job
from storage.db import transaction
from storage.models import Categorisation, Contribution, SuggestionModel, Theme

from . import embeddings as embeddings_module
from .model import Example, Suggester, ThemeSpec, fingerprint

__all__ = [
    "HABITANT_WEIGHT",
    "SUGGESTION_JOBS",
    "active_model",
    "examples_from",
    "explain",
    "retrain_if_needed",
    "suggest_pending",
    "theme_specs",
]

log = logging.getLogger(__name__)

STAFF_WEIGHT = 1.0
HABITANT_WEIGHT = 0.5
LABEL_SOURCES = ("staff", "habitant")
# Retrain after this many labels added or removed (``PAROLES_RETRAIN_AFTER_LABELS``).
RETRAIN_AFTER_LABELS = 20
# ... or after any change once the model is this old, so a few labels are not left out.
RETRAIN_MAX_AGE = timedelta(hours=24)
# Contributions suggested per run of ``suggest_pending``.
SUGGEST_BATCH = 500
# Trained models kept in the database (the active one and the previous ones, for a look back).
KEEP_MODELS = 3
# Models kept in memory per process.
CACHE_SIZE = 3


# -- what the model learns from --------------------------------------------------------------


def theme_specs(session: Session) -> list[ThemeSpec]:
    """The active thèmes, in the back-office's order, as the model sees them."""
    themes = session.scalars(
        select(Theme).where(Theme.active.is_(True)).order_by(Theme.position, Theme.id)
    )
    return [
        ThemeSpec(
            t.code,
            t.name,
            t.description or "",
            tuple(str(k) for k in (t.keywords or []) if str(k).strip()),
        )
        for t in themes
    ]


def themes_key(specs: Sequence[ThemeSpec]) -> str:
    """A fingerprint of the thèmes: it changes when any name, description or keyword does."""
    payload = json.dumps([asdict(t) for t in specs], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:40]


def examples_from(session: Session) -> list[Example]:
    """The labelled examples: staff thèmes (weight 1), else the habitant's choice (weaker).

    Only active thèmes and contributions with a text; ordered by categorisation id so that the
    same labels always give the same model version.
    """
    rows = session.execute(
        select(Categorisation.contribution_id, Categorisation.source, Contribution.text, Theme.code)
        .join(Theme, Theme.id == Categorisation.theme_id)
        .join(Contribution, Contribution.id == Categorisation.contribution_id)
        .where(
            Categorisation.source.in_(LABEL_SOURCES),
            Theme.active.is_(True),
            Contribution.text != "",
        )
        .order_by(Categorisation.id)
    ).all()
    by_staff = {contribution_id for contribution_id, source, _, _ in rows if source == "staff"}
    out = []
    for contribution_id, source, text, code in rows:
        if source == "staff":
            out.append(Example(text, code, STAFF_WEIGHT))
        elif contribution_id not in by_staff:
            out.append(Example(text, code, HABITANT_WEIGHT))
    return out


@dataclass(frozen=True)
class _Labels:
    max_id: int
    count: int


def _labels(session: Session) -> _Labels:
    max_id, count = session.execute(
        select(func.coalesce(func.max(Categorisation.id), 0), func.count()).where(
            Categorisation.source.in_(LABEL_SOURCES)
        )
    ).one()
    return _Labels(int(max_id), int(count))


def _label_changes(session: Session, model: SuggestionModel) -> int:
    """Labels added plus labels removed since ``model`` was trained (an edit counts twice)."""
    newer, older = session.execute(
        select(
            func.count().filter(Categorisation.id > model.labels_max_id),
            func.count().filter(Categorisation.id <= model.labels_max_id),
        ).where(Categorisation.source.in_(LABEL_SOURCES))
    ).one()
    return int(newer) + max(0, model.labels_count - int(older))


# -- retraining ------------------------------------------------------------------------------


def _active_row(session: Session) -> SuggestionModel | None:
    return session.scalars(
        select(SuggestionModel)
        .where(SuggestionModel.active.is_(True))
        .order_by(SuggestionModel.id.desc())
        .limit(1)
    ).first()


def _why_retrain(
    session: Session, current: SuggestionModel | None, key: str, now: datetime, after: int
) -> str | None:
    if current is None:
        return "no model yet"
    if current.themes_key != key:
        return "thèmes changed"
    changes = _label_changes(session, current)
    if changes >= after:
        return f"{changes} label changes"
    if changes and now - current.created_at >= RETRAIN_MAX_AGE:
        return f"{changes} label changes, model older than {RETRAIN_MAX_AGE}"
    return None


def retrain_if_needed(
    runtime: Runtime,
    now: datetime,
    *,
    after_labels: int | None = None,
    word_vectors: bool | None = None,
    sentence_embeddings: bool | None = None,
) -> str | None:
    """Train and swap in a new model when needed; the new version, or ``None`` if not needed.

    ``after_labels`` defaults to ``PAROLES_RETRAIN_AFTER_LABELS`` (20); ``word_vectors`` to
    ``PAROLES_SUGGESTION_WORD_VECTORS`` (on; "0" turns the French word vectors off);
    ``sentence_embeddings`` to ``PAROLES_SUGGESTION_EMBEDDINGS`` (on; "0" turns the multilingual
    sentence embeddings off: French-only suggestions, about 100 MB less in the worker).
    """
    after = after_labels if after_labels is not None else _after_labels(runtime)
    vectors = word_vectors if word_vectors is not None else _word_vectors(runtime)
    embeddings = sentence_embeddings if sentence_embeddings is not None else _embeddings(runtime)
    usable = active_model(runtime) is not None
    # 1. Read, in one short transaction, what the model would learn from.
    with transaction(runtime.sessions) as session:
        specs = theme_specs(session)
        key = themes_key(specs)
        current = _active_row(session)
        reason = _why_retrain(session, current, key, now, after)
        if reason is None and not usable:
            reason = "the active model cannot be read here"
        if reason is None:
            return None
        labels = _labels(session)
        examples = examples_from(session)
    version = fingerprint(specs, examples, word_vectors=vectors, sentence_embeddings=embeddings)
    if current is not None and current.version == version and current.themes_key == key:
        # The labels moved but came back to the same set (an edit undone): nothing to learn.
        with transaction(runtime.sessions) as session:
            session.execute(
                update(SuggestionModel)
                .where(SuggestionModel.id == current.id)
                .values(labels_max_id=labels.max_id, labels_count=labels.count)
            )
        return None
    # 2. Train with no transaction open: nobody waits for it. The labels' sentence embeddings
    # stored by ``suggest_pending`` are reused rather than computed again.
    if embeddings:
        _reuse_embeddings(runtime)
    started = time.perf_counter()
    model = Suggester.train(specs, examples, word_vectors=vectors, sentence_embeddings=embeddings)
    seconds = time.perf_counter() - started
    row = SuggestionModel(
        version=model.version,
        created_at=now,
        n_examples=len(examples),
        themes_key=key,
        labels_max_id=labels.max_id,
        labels_count=labels.count,
        train_seconds=round(seconds, 3),
        data=model.to_bytes(),
        active=True,
    )
    # 3. Swap in one transaction.
    with transaction(runtime.sessions) as session:
        _swap(session, row)
    _remember(model)
    log.info(
        "thème model %s trained (%s) on %d examples in %.1f s",
        row.version,
        reason,
        len(examples),
        seconds,
    )
    return model.version


def _swap(session: Session, row: SuggestionModel) -> None:
    """Make ``row`` the only active model and drop the oldest ones, in the caller's transaction."""
    session.execute(
        update(SuggestionModel).where(SuggestionModel.active.is_(True)).values(active=False)
    )
    session.add(row)
    session.flush()
    keep = select(SuggestionModel.id).order_by(SuggestionModel.id.desc()).limit(KEEP_MODELS)
    session.execute(
        delete(SuggestionModel).where(SuggestionModel.id.not_in(keep.scalar_subquery()))
    )


# -- reading the active model ----------------------------------------------------------------

_cache: OrderedDict[str, Suggester] = OrderedDict()
_cache_lock = threading.Lock()


def _remember(model: Suggester) -> None:
    with _cache_lock:
        _cache[model.version] = model
        _cache.move_to_end(model.version)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def active_model(runtime: Runtime) -> Suggester | None:
    """The active model, read once per process and version; ``None`` when there is none (or it
    needs word vectors this process does not have)."""
    with runtime.sessions() as session:
        found = session.execute(
            select(SuggestionModel.id, SuggestionModel.version)
            .where(SuggestionModel.active.is_(True))
            .order_by(SuggestionModel.id.desc())
            .limit(1)
        ).first()
        if found is None:
            return None
        model_id, version = found
        with _cache_lock:
            cached = _cache.get(version)
        if cached is not None:
            return cached
        data = session.scalar(select(SuggestionModel.data).where(SuggestionModel.id == model_id))
    if data is None:  # swapped out and pruned in between: the next call reads the new one
        return None
    try:
        model = Suggester.from_bytes(data)
    except ValueError as error:
        log.warning("thème model %s cannot be used here: %s", version, error)
        return None
    _remember(model)
    return model


# -- suggesting ------------------------------------------------------------------------------


def _not_categorised_by_staff() -> Any:
    staff = exists().where(
        Categorisation.contribution_id == Contribution.id, Categorisation.source == "staff"
    )
    return ~staff


def _pending(version: str) -> Any:
    return and_(
        or_(Contribution.suggested_version.is_(None), Contribution.suggested_version != version),
        _not_categorised_by_staff(),
    )


def suggest_pending(runtime: Runtime, now: datetime, limit: int = SUGGEST_BATCH) -> int:
    """Suggest thèmes for up to ``limit`` contributions waiting for the active model, newest
    first; returns how many were looked at (suggested or left "à trier").

    Nothing happens while the thèmes changed since the active model was trained: the next
    retraining re-suggests with the new thèmes instead of suggesting removed ones.
    """
    model = active_model(runtime)
    if model is None:
        return 0
    version = model.version
    with transaction(runtime.sessions) as session:
        current = _active_row(session)
        if current is None or current.version != version:
            return 0  # swapped in between: the next run uses the new model
        if current.themes_key != themes_key(theme_specs(session)):
            return 0
        theme_ids = dict(
            session.execute(select(Theme.code, Theme.id).where(Theme.active.is_(True))).all()
        )
        waiting = session.execute(
            select(Contribution.id, Contribution.text, Contribution.language)
            .where(_pending(version))
            .order_by(Contribution.id.desc())
            .limit(limit)
        ).all()
    if not waiting:
        return 0
    # The model runs with no transaction open. This is where the sentence embeddings are
    # computed (in the scheduler's worker): never in a webhook or a page.
    suggestions = model.suggest_many(
        [text or "" for _, text, _ in waiting], [language for _, _, language in waiting]
    )
    embedded = _embeddings_of(model, [text or "" for _, text, _ in waiting])
    rows: dict[int, list[Categorisation]] = {}
    for (contribution_id, text, language), suggestion in zip(waiting, suggestions, strict=True):
        rows[contribution_id] = []
        picks = [(suggestion.theme, suggestion.confidence, suggestion.words)]
        if suggestion.second is not None:
            second_words = model.explain(text, suggestion.second, language=language)
            picks.append((suggestion.second, suggestion.second_confidence, second_words))
        for rank, (code, confidence, words) in enumerate(picks, start=1):
            if code is None or code not in theme_ids:
                continue
            rows[contribution_id].append(
                Categorisation(
                    contribution_id=contribution_id,
                    theme_id=theme_ids[code],
                    source="suggestion",
                    confidence=round(float(confidence), 4),
                    model_version=version,
                    detail={"rank": rank, "words": list(words)},
                    created_at=now,
                )
            )
    with transaction(runtime.sessions) as session:
        # Only those still waiting: the team may have categorised some in the meantime.
        still = list(
            session.scalars(
                select(Contribution.id).where(Contribution.id.in_(rows), _pending(version))
            )
        )
        if still:
            session.execute(
                delete(Categorisation).where(
                    Categorisation.contribution_id.in_(still),
                    Categorisation.source == "suggestion",
                )
            )
            session.add_all(row for cid in still for row in rows[cid])
            session.execute(
                update(Contribution)
                .where(Contribution.id.in_(still))
                .values(suggested_version=version)
            )
            if embedded is not None:
                name, vectors = embedded
                position = {cid: i for i, (cid, _, _) in enumerate(waiting)}
                stored = [
                    {
                        "id": cid,
                        "embedding": embeddings_module.to_bytes(vectors[position[cid]]),
                        "embedding_model": name,
                    }
                    for cid in still
                    if vectors[position[cid]].any()
                ]
                if stored:
                    session.execute(update(Contribution), stored)
    return len(still)


def _embeddings_of(model: Suggester, texts: list[str]) -> tuple[str, Any] | None:
    """The sentence embeddings of ``texts`` (already computed by the model: from its cache)."""
    if model.embedder is None:
        return None
    return model.embedder.name, model.embedder.transform(texts)


def _reuse_embeddings(runtime: Runtime) -> int:
    """Put the stored embeddings of labelled contributions in the embedder's cache."""
    embedder = embeddings_module.load()
    if embedder is None:
        return 0
    labelled = exists().where(
        Categorisation.contribution_id == Contribution.id,
        Categorisation.source.in_(LABEL_SOURCES),
    )
    with runtime.sessions() as session:
        rows = session.execute(
            select(Contribution.text, Contribution.embedding).where(
                labelled,
                Contribution.embedding_model == embedder.name,
                Contribution.embedding.is_not(None),
            )
        ).all()
    embedder.remember(
        [(text, embeddings_module.from_bytes(data)) for text, data in rows if data is not None]
    )
    return len(rows)


def explain(contribution: Contribution, theme_code: str | None = None) -> tuple[str, ...]:
    """The few words of the contribution that weighed most for its suggested thème (the first
    one, or ``theme_code``), as stored with the suggestion; ``()`` when there is none."""
    suggestions = sorted(
        (c for c in contribution.categorisations if c.source == "suggestion"),
        key=lambda c: (c.detail or {}).get("rank", 1),
    )
    for categorisation in suggestions:
        if theme_code is None or categorisation.theme.code == theme_code:
            return tuple((categorisation.detail or {}).get("words", ()))
    return ()


# -- settings and jobs -----------------------------------------------------------------------


def _after_labels(runtime: Runtime) -> int:
    raw = runtime.settings.extra.get("PAROLES_RETRAIN_AFTER_LABELS", "")
    try:
        return max(1, int(raw)) if raw else RETRAIN_AFTER_LABELS
    except ValueError:
        log.warning("PAROLES_RETRAIN_AFTER_LABELS=%r is not a whole number", raw)
        return RETRAIN_AFTER_LABELS


def _word_vectors(runtime: Runtime) -> bool:
    return _on(runtime, "PAROLES_SUGGESTION_WORD_VECTORS")


def _embeddings(runtime: Runtime) -> bool:
    return _on(runtime, "PAROLES_SUGGESTION_EMBEDDINGS")


def _on(runtime: Runtime, name: str) -> bool:
    raw = runtime.settings.extra.get(name, "1")
    return raw.strip().lower() not in {"0", "false", "no", "non"}


# For the scheduler (`paroles serve`, `paroles worker`): retrain first, then suggest.
SUGGESTION_JOBS = (
    Job("suggestions-retrain", retrain_if_needed, "interval", {"seconds": 300}),
    Job("suggestions", suggest_pending, "interval", {"seconds": 60}),
)
