"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bots.runtime import Runtime
from storage.migrate import current_revision
from storage.models import Base
from storage.search import include_name


def test_migrations_match_models(runtime: Runtime) -> None:
    with runtime.engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"include_name": include_name}),
            Base.metadata,
        )
    assert diff == []


def test_database_is_at_head(runtime: Runtime) -> None:
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(runtime.engine)).get_current_head()
    assert current_revision(runtime.engine) == head
