"""SQLite's write lock: a second writer waits for the first (by short sleeps, not SQLite's own
1, 2, 5, 10 ms), and gives up after `BUSY_TIMEOUT` as before."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage import db
from storage.db import make_engine, make_sessionmaker, transaction


def _table(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    engine.dispose()


def test_a_second_writer_waits_for_the_first_then_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/lock.db"
    _table(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    held = threading.Event()
    seen: list[int] = []

    def second() -> None:
        held.wait()
        with transaction(sessions) as session:
            seen.append(session.execute(text("SELECT count(*) FROM t")).scalar_one())
            session.execute(text("INSERT INTO t VALUES (2)"))

    thread = threading.Thread(target=second)
    thread.start()
    with transaction(sessions) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        held.set()
        time.sleep(0.2)  # the second one is waiting for the lock meanwhile
    thread.join(timeout=10)
    assert seen == [1]  # it began once the first had committed
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 2]
    engine.dispose()


def test_a_writer_gives_up_after_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/lock.db"
    _table(url)
    monkeypatch.setattr(db, "BUSY_TIMEOUT", 0.3)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    holder = sqlite3.connect(tmp_path / "lock.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError), transaction(sessions) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
        holder.execute("ROLLBACK")
        with transaction(sessions) as session:  # and the connection works again
            session.execute(text("INSERT INTO t VALUES (1)"))
    finally:
        holder.close()
        engine.dispose()
