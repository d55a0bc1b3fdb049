"""Machine translations of contributions into French, stored beside them, and of replies.

The original text is never changed: a translation is a ``ContributionTranslation`` row (target
``fr``), shown labelled "traduction automatique" and searched with the contributions.

- **On request** (``translate_now``, the "Traduire" button): the row is created, one try is
  made at once with the client's short timeouts; if the server fails, the row stays
  ``pending`` with the reason and the background job tries again. The page never waits longer
  than one try, and never fails because of the server.
- **In the background** (``translate_pending``, a scheduler job every minute): with
  ``PAROLES_TRANSLATE_AUTO`` on, every new contribution not in French gets a row; then the rows
  that are due are tried, a few per run, HTTP calls made with no transaction open. A failure
  waits longer each time (1, 2, 4... minutes, at most 6 hours; a refusal that will not fix
  itself, such as a wrong key, waits 6 hours at once); after ``MAX_ATTEMPTS`` the row is
  ``failed`` and a new "Traduire" starts again.
- **Replies** (``translate_reply``): the French a team member wrote, into the habitant's
  language, for them to read and edit before it leaves; a failure is theirs to see, the reply
  can still go in French.

Without ``PAROLES_TRANSLATE_URL`` nothing is translated and nothing is queued: the pages say how
to set up a server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from bots.runtime import Runtime
from bots.translate import TranslationError, Translator, translator_from
from storage.db import transaction
from storage.models import Contribution, ContributionTranslation

__all__ = [
    "FRENCH",
    "Outcome",
    "needs_translation",
    "request",
    "translate_now",
    "translate_pending",
    "translate_reply",
]

log = logging.getLogger(__name__)

FRENCH = "fr"
PROVIDER = "libretranslate"
# Rows tried per run of the background job (each try may take the client's whole timeout).
BATCH = 20
# New contributions queued per run when automatic translation is on.
QUEUE_BATCH = 200
MAX_ATTEMPTS = 8
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)


@dataclass(frozen=True)
class Outcome:
    """What became of one try: the row's status and, on failure, why."""

    status: str  # "done", "pending" (will be tried again), "failed" (gave up), "off"
    text: str = ""
    error: str = ""
    away: bool = False  # the server did not answer at all


def needs_translation(language: str | None) -> bool:
    """Whether a contribution in ``language`` is translated for the team (anything but French)."""
    return bool(language) and (language or "").split("-")[0].lower() != FRENCH


def request(session: Session, contribution: Contribution, now: datetime) -> ContributionTranslation:
    """The French translation row of ``contribution``, created or put back in the queue."""
    row = session.scalars(
        select(ContributionTranslation).where(
            ContributionTranslation.contribution_id == contribution.id,
            ContributionTranslation.target == FRENCH,
        )
    ).one_or_none()
    if row is None:
        row = ContributionTranslation(
            contribution_id=contribution.id,
            target=FRENCH,
            source=_source(contribution.language),
            status="pending",
            provider=PROVIDER,
            attempts=0,
            error="",
            text="",
            requested_at=now,
            next_attempt_at=now,
        )
        session.add(row)
        session.flush()
    elif row.status != "done":
        row.status, row.attempts, row.next_attempt_at = "pending", 0, now
    return row


def translate_now(runtime: Runtime, contribution_id: int, now: datetime) -> Outcome:
    """Ask for the French translation of one contribution and try once, now."""
    translator = translator_from(runtime.settings)
    if translator is None:
        return Outcome("off")
    with transaction(runtime.sessions) as session:
        contribution = session.get(Contribution, contribution_id)
        if contribution is None:
            return Outcome("failed", error="contribution introuvable")
        row = request(session, contribution, now)
        if row.status == "done":
            return Outcome("done", row.text)
        row_id = row.id
    return _try(runtime, translator, row_id, now)


def translate_pending(runtime: Runtime, now: datetime, limit: int = BATCH) -> int:
    """The background job: queue new contributions (automatic mode), then try what is due.

    Returns how many translations were done in this run.
    """
    translator = translator_from(runtime.settings)
    if translator is None:
        return 0
    if runtime.settings.translate_auto:
        _queue_new(runtime, now)
    with runtime.sessions() as session:
        due = list(
            session.scalars(
                select(ContributionTranslation.id)
                .where(
                    ContributionTranslation.status == "pending",
                    or_(
                        ContributionTranslation.next_attempt_at.is_(None),
                        ContributionTranslation.next_attempt_at <= now,
                    ),
                )
                .order_by(ContributionTranslation.next_attempt_at, ContributionTranslation.id)
                .limit(limit)
            )
        )
    done = 0
    for row_id in due:
        outcome = _try(runtime, translator, row_id, now)
        done += outcome.status == "done"
        if outcome.away:
            break  # the server is down or too slow: the next run tries the rest
    return done


def translate_reply(runtime: Runtime, text: str, language: str) -> str:
    """``text`` (French, written by the team) in ``language``; raises ``TranslationError``."""
    translator = translator_from(runtime.settings)
    if translator is None:
        raise TranslationError("aucun serveur de traduction configuré", retry=False)
    return translator.translate(text, target=language, source=FRENCH)


# -- one try ---------------------------------------------------------------------------------


def _try(runtime: Runtime, translator: Translator, row_id: int, now: datetime) -> Outcome:
    """Translate row ``row_id``: read it, call the server with no transaction open, store."""
    with runtime.sessions() as session:
        found = session.execute(
            select(
                Contribution.text, ContributionTranslation.source, ContributionTranslation.status
            )
            .join(Contribution, Contribution.id == ContributionTranslation.contribution_id)
            .where(ContributionTranslation.id == row_id)
        ).first()
    if found is None:
        return Outcome("failed", error="contribution effacée")
    text, source, status = found
    if status == "done":
        return Outcome("done")
    try:
        translated = translator.translate(text or "", target=FRENCH, source=source or "auto")
        error: TranslationError | None = None
    except TranslationError as failure:
        translated, error = "", failure
    with transaction(runtime.sessions) as session:
        row = session.get(ContributionTranslation, row_id)
        if row is None:  # erased in the meantime: nothing to keep
            return Outcome("failed", error="contribution effacée")
        row.attempts += 1
        if error is None:
            row.text, row.status, row.error = translated, "done", ""
            row.translated_at, row.next_attempt_at = now, None
            row.personal_data_version = row.personal_data_spans = None  # read again
            # The personal-data job reads the contribution again, so that the masked search
            # index (storage/search.py) holds the translation, masked, too.
            session.execute(
                update(Contribution)
                .where(Contribution.id == row.contribution_id)
                .values(personal_data_version=None)
            )
            return Outcome("done", translated)
        row.error = str(error)[:300]
        if row.attempts >= MAX_ATTEMPTS:
            row.status, row.next_attempt_at = "failed", None
        else:
            row.next_attempt_at = now + _wait(row.attempts, error.retry)
        log.warning(
            "translation of contribution %s failed (try %d): %s",
            row.contribution_id,
            row.attempts,
            error,
        )
        return Outcome(row.status, error=row.error, away=error.away)


def _wait(attempts: int, retry: bool) -> timedelta:
    if not retry:
        return LONGEST_WAIT
    wait: timedelta = FIRST_WAIT * 2 ** (attempts - 1)
    return min(LONGEST_WAIT, wait)


def _source(language: str | None) -> str:
    """The source language to give the server: the stored one, or let it detect."""
    return language.split("-")[0].lower() if needs_translation(language) and language else "auto"


def _queue_new(runtime: Runtime, now: datetime) -> int:
    """Give every contribution not in French, with a text and no translation row, one."""
    has_row = exists().where(ContributionTranslation.contribution_id == Contribution.id)
    with transaction(runtime.sessions) as session:
        waiting = list(
            session.scalars(
                select(Contribution)
                .where(
                    and_(
                        Contribution.language != FRENCH,
                        Contribution.text != "",
                        ~has_row,
                    )
                )
                .order_by(Contribution.id.desc())
                .limit(QUEUE_BATCH)
            )
        )
        for contribution in waiting:
            request(session, contribution, now)
    return len(waiting)
