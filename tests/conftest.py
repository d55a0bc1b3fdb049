"""Shared fixtures: a fresh database per test (SQLite always, PostgreSQL when configured),
the runtime, the Flask app, and a guard that fails any test reaching beyond loopback.

PostgreSQL runs when `PAROLES_TEST_DATABASE_URL` is set (CI sets it); under `CI=true` a missing
PostgreSQL is an error, never a silent skip.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import text
from sqlalchemy.orm import Session

from bots.runtime import Runtime
from bots.survey_store import seed_prompts
from storage.config import Settings, load_settings
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Base
from web import create_app
from web.cli.database import prepare_database
from web.cli.main import command_line
from web.review.replies import seed_templates

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_URL = os.environ.get("PAROLES_TEST_DATABASE_URL", "")
SECRET = "test-secret-key-0123456789abcdef"

# --- no network but loopback ---------------------------------------------------------------------

_real_connect = socket.socket.connect


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # unix sockets (PostgreSQL's local socket)
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise RuntimeError(f"test tried to reach {address!r}: only loopback is allowed")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


# --- databases -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    # Seeded as `prepare_database` seeds (it finds everything there, and adds nothing): saves
    # inserting the thèmes, reply models and ready-made surveys again in every test.
    with Session(engine) as session, session.begin():
        seed_templates(session)
        seed_prompts(session)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def _postgres_ready() -> str:
    if not PG_URL:
        if IN_CI:
            pytest.fail("CI=true but PAROLES_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL not configured: set PAROLES_TEST_DATABASE_URL to run these")
    engine = make_engine(PG_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    engine.dispose()
    return PG_URL


@functools.cache
def _emptying_sql(url: str) -> str:
    """DELETE every table, children first, and restart every sequence, in one round trip.

    Ten times faster than `TRUNCATE ... RESTART IDENTITY` on tables this small (TRUNCATE swaps
    each table's files: 33 tables, about 1 s a test on a loaded 2-core machine)."""
    engine = make_engine(url)
    with engine.connect() as connection:
        sequences = connection.scalars(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
        ).all()
    engine.dispose()
    deletes = [f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables)]
    restarts = [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
    return "; ".join(deletes + restarts)


def _truncate_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(_emptying_sql(url))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database test runs on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "paroles.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("_postgres_ready")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        {
            "PAROLES_DATABASE_URL": database_url,
            "PAROLES_SECRET_KEY": SECRET,
            "PAROLES_DATA_DIR": str(tmp_path / "data"),
        }
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.from_settings(settings)
    prepare_database(runtime)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def app(settings: Settings, runtime: Runtime) -> Any:
    return create_app({"TESTING": True}, settings=settings, runtime=runtime)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


class ParolesRunner(FlaskCliRunner):
    """Runs the `paroles` command line (which the app itself does not know) on the test app."""

    def invoke(self, cli: Any = None, args: Any = None, **kwargs: Any) -> Any:
        return super().invoke(cli or command_line(), args, **kwargs)


@pytest.fixture
def runner(app: Any) -> Any:
    return ParolesRunner(app)
