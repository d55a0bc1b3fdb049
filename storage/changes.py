"""The reference version: what the bots keep in memory per process, and how every process learns
that it changed.

Every inbound message needs the offered thèmes, the quartiers, the join codes and the surveys in
play; they change a few times a week, in the back-office. Each process (each gunicorn worker, the
worker, the command line) keeps them in memory (`bots.reference`) with the version of the one
row of `reference_versions` it read them under, and reads that row again, one cheap statement,
for every message: when it moved, it reloads.

The version moves in the same transaction as the change, whoever makes it: a listener on every
ORM session bumps it when a flush writes a `Theme`, `Quartier`, `Survey`, `Question` or
`JoinCode`, or a `Campaign` whose status changes (new, launched, closed...), and when an
ORM-enabled bulk `update()` / `delete()` touches one of these tables. A change made outside the
ORM (raw SQL, another program) must call `bump()` itself.

Read the version before the data (`bots.reference` does): a change committed in between is then
loaded under the older version and simply loaded again at the next message.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from storage.models import Campaign, JoinCode, Quartier, Question, ReferenceVersion, Survey, Theme

WATCHED: tuple[type[Any], ...] = (Theme, Quartier, Survey, Question, JoinCode)
WATCHED_TABLES = frozenset(
    {"themes", "quartiers", "surveys", "questions", "join_codes", "campaigns"}
)
# One statement on SQLite (3.24+) and PostgreSQL alike; the row comes back if it was emptied.
BUMP = text(
    "INSERT INTO reference_versions (id, version) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET version = reference_versions.version + 1"
)
CURRENT = select(ReferenceVersion.version).where(ReferenceVersion.id == 1)


def current(session: Session) -> int | None:
    """The reference version now (None if its row is missing: then nothing is kept)."""
    value: int | None = session.execute(CURRENT).scalar_one_or_none()
    return value


PENDING = "paroles_reference_changed"


def bump(session: Session) -> None:
    """Tell every process that what they keep is stale, when this transaction commits."""
    session.connection().execute(BUMP)
    session.info[PENDING] = session.get_transaction()


def pending(session: Session) -> bool:
    """Whether this session's transaction changed the reference data, not yet committed: what it
    reads of them must not be kept for the others (it may still be rolled back)."""
    changed = session.info.get(PENDING)
    return changed is not None and changed is session.get_transaction()


def _changes_reference(obj: Any, status_only: bool) -> bool:
    if isinstance(obj, WATCHED):
        return True
    if isinstance(obj, Campaign):
        # A campaign row also moves for its texts and dates; only its status is cached around.
        return not status_only or inspect(obj).attrs.status.history.has_changes()
    return False


@event.listens_for(Session, "before_flush")
def _on_flush(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    new_or_gone = (*session.new, *session.deleted)
    if any(_changes_reference(o, False) for o in new_or_gone) or any(
        _changes_reference(o, True) for o in session.dirty if session.is_modified(o)
    ):
        bump(session)


@event.listens_for(Session, "do_orm_execute")
def _on_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in WATCHED_TABLES:
        bump(state.session)
