"""Statements for thousands of rows at once: what a campaign launch writes.

- `among`: `column IN ids` for a long list of ids, without a placeholder per id.
- `insert_from`: one INSERT ... SELECT writing a row per selected row, the values that are the
  same for all bound once, the others read by the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def among(session: Session, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """`column IN ids`: one array parameter on PostgreSQL (`= ANY(...)`), whose driver would
    otherwise parse a query of thousands of placeholders every time; a plain IN on SQLite,
    which has no arrays and parses in the process."""
    if session.connection().dialect.name == "postgresql":
        return column == any_(literal(list(ids), ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(ids)  # type: ignore[no-any-return]


def insert_from(
    session: Session,
    table: Table,
    same: Mapping[str, Any],
    read: Mapping[str, Any],
    *where: ColumnElement[bool],
) -> None:
    """INSERT INTO `table` one row for each row matching `where`: the values of `same` bound
    once, each with the type of its column (so they are stored as an INSERT would store them:
    JSON, UTC times), and those of `read` (column expressions) read from each row."""
    columns = {name: literal(value, table.c[name].type) for name, value in same.items()}
    columns |= read
    rows = select(*columns.values()).where(*where)
    session.execute(insert(table).from_select(list(columns), rows))
