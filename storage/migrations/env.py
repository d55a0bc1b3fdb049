"""Alembic environment: the engine comes from `storage.migrate`, never from an ini file."""

from alembic import context

from storage.models import Base
from storage.search import include_name

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    context.run_migrations()
