"""What the benches share: a PostgreSQL database emptied before a bench fills it.

The benches run as scripts (`python bench/X.py`), so this folder is first on `sys.path`; each
bench puts the code it measures (this checkout, or a baseline's) on `sys.path` before importing
this module (which needs only SQLAlchemy)."""

from __future__ import annotations

from sqlalchemy import create_engine, text


def empty_postgres(url: str) -> None:
    """Drop and recreate the public schema of `url`: every table, row and sequence goes."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
