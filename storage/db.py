"""One database URL picks the database: a SQLite file by default, PostgreSQL in production."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

import storage.changes  # noqa: F401  (every session bumps the reference version it changes)

WRITE_OPTION = "paroles_write"
READS_OPTION = "paroles_reads"
BUSY_TIMEOUT = 30  # seconds a SQLite writer waits for the write lock before giving up


def normalise_url(url: str) -> str:
    """Accept the usual `postgresql://` and `postgres://` forms and use psycopg 3 for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and IMMEDIATE writes."""
    url = normalise_url(url)
    parsed = make_url(url)
    # A statement's parameters are habitants' words and addresses: never in an error's text.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, **{"pool_pre_ping": True, **kwargs})
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # A writing transaction takes the write lock up front (IMMEDIATE), so two writers queue
        # on the busy timeout instead of failing when a read turns into a write. Reading ones
        # stay DEFERRED and never hold the lock (WAL: readers are never blocked).
        options = connection.get_execution_options()
        if options.get(WRITE_OPTION, False):
            _begin_immediate(connection.connection.driver_connection)
        elif not options.get(READS_OPTION, False):
            connection.exec_driver_sql("BEGIN")


def _begin_immediate(dbapi_connection: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting for the write lock by short sleeps.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25... ms between two tries: far longer
    than a message's write holds the lock (a fraction of a millisecond), so two gunicorn workers
    writing in turn spent much of their time asleep. Here the lock is tried again after 50 µs,
    then twice as long each time up to 2 ms, for the same `BUSY_TIMEOUT` in all.
    """
    cursor = dbapi_connection.cursor()
    deadline = time.monotonic() + BUSY_TIMEOUT
    delay = 0.00005
    cursor.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                cursor.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise OperationalError("BEGIN IMMEDIATE", (), error) from error
            time.sleep(delay)
            delay = min(2 * delay, 0.002)
    finally:
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writing one (SQLite: BEGIN IMMEDIATE).

    Call it before the first query of a unit of work that will write. On PostgreSQL it changes
    nothing: row locks and MVCC already do the right thing.
    """
    session.connection(execution_options={WRITE_OPTION: True})


def begin_reads(session: Session) -> None:
    """Let the session read statement by statement, each seeing the latest commit (SQLite: no
    BEGIN, no snapshot held), for a unit of work that reads first and checks again, in its
    writing transaction, whatever it relies on. It must not write. On PostgreSQL it changes
    nothing."""
    session.connection(execution_options={READS_OPTION: True})


@contextmanager
def transaction(
    factory: sessionmaker[Session], bind: Connection | None = None
) -> Iterator[Session]:
    """A writing session, committed at the end of the block, or rolled back on error; `bind`
    the connection to use (one the caller holds for several transactions), else the pool's."""
    with factory(bind=bind) if bind is not None else factory() as session, session.begin():
        begin_write(session)
        yield session


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def refresh_statistics(engine: Engine) -> None:
    """Bring the query planner's statistics up to date on SQLite, which has no autovacuum to do
    it: without them it plans the tableau de bord's scoped statements badly (3 to 10 times
    slower, `bench/indicators.py`). A whole `ANALYZE` (a sample misleads it as much): about
    0.1 s at 100,000 contributions. PostgreSQL's autovacuum keeps its own."""
    if is_postgres(engine):
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
