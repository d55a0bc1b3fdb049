"""SQL written once for SQLite and PostgreSQL, where the two planners want different words.

`among(column, ids)`: `column` is one of the values `ids` (a one-column SELECT) selects.

- SQLite: `column IN (SELECT ...)`; SQLite runs the subquery once into a temporary index and,
  when it is the most selective condition, drives the query from it.
- PostgreSQL: `column = ANY (ARRAY(SELECT ...))`. The subquery runs once (an InitPlan) and the
  condition is then an index condition on `column`: a handful of primary-key lookups for a few
  hundred ids, and usable inside an OR (a `BitmapOr`). Written `IN (SELECT ...)`, PostgreSQL
  plans a semi-join and, with no idea how few rows the subquery returns, often reads every
  contribution to probe a hash of them; inside an OR it always does.

Both mean the same rows: NULLs aside (none of our id columns holds one), `x IN (S)` and
`x = ANY(ARRAY(S))` are true for the same x.

`walked(column)`: the column, which SQLite must not read the rows through (`+column`, SQLite's
own way of saying it), written plain on PostgreSQL. A page of the inbox is the 50 newest rows
of a set (a search's, a thème's): SQLite, which knows nothing of how large the set is, reads
the whole set by id and sorts it (10,000 rows for a common word), where walking the date
index and testing each row against the set stops after a few hundred. PostgreSQL's planner
weighs both with its statistics and needs no hint.

`led_by(few, table, onclause)`: `few JOIN table ON onclause`, which SQLite must read in that
order (`CROSS JOIN`, SQLite's own way of saying it): for each of a few rows, the one row of
`table` it names. Else SQLite prefers any index whose first column another condition fixes
(a quartier, a thème state, a language), in date order, and walks most of the table to find
the few rows the join keeps. PostgreSQL's planner needs no hint.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, Join, Select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

ColumnLike = ColumnElement[Any] | QueryableAttribute[Any]


def _expression(column: ColumnLike) -> ColumnElement[Any]:
    return column.expression if isinstance(column, QueryableAttribute) else column


class among(ColumnElement[bool]):  # noqa: N801  (used like a function: `among(col, ids)`)
    """`column IN (ids)`, as each database plans best (see the module's docstring)."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it is: no `= 1` on SQLite
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnLike, ids: Select[Any]) -> None:
        self.column = _expression(column)
        self.ids = ids.scalar_subquery()

    @property
    def _from_objects(self) -> list[Any]:
        return list(self.column._from_objects)


@compiles(among)
def _among_default(element: among, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} IN {compiler.process(element.ids, **kw)}"


@compiles(among, "postgresql")
def _among_postgresql(element: among, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY (ARRAY{compiler.process(element.ids, **kw)})"


class walked(ColumnElement[Any]):  # noqa: N801  (used like a function: `walked(col).in_(...)`)
    """`column`, not to be read the rows through on SQLite (see the module's docstring)."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnLike) -> None:
        self.column = _expression(column)
        self.type = self.column.type

    @property
    def _from_objects(self) -> list[Any]:
        return list(self.column._from_objects)


@compiles(walked)
def _walked_default(element: walked, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(walked, "sqlite")
def _walked_sqlite(element: walked, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)


class led_by(Join):  # noqa: N801  (used like a function: `led_by(few, table, onclause)`)
    """`few JOIN table ON onclause`, read from `few` first (see the module's docstring)."""

    inherit_cache = True


@compiles(led_by)
def _led_by_default(element: led_by, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.visit_join(element, **kw))  # type: ignore[no-untyped-call]


@compiles(led_by, "sqlite")
def _led_by_sqlite(element: led_by, compiler: SQLCompiler, **kw: Any) -> str:
    kw.pop("asfrom", None)
    assert element.onclause is not None  # a join on a condition, always
    linter = kw.get("from_linter")
    if linter:
        linter.edges.update(
            (left, right)
            for left in element.left._from_objects
            for right in element.right._from_objects
        )
    return (
        element.left._compiler_dispatch(compiler, asfrom=True, **kw)
        + " CROSS JOIN "
        + element.right._compiler_dispatch(compiler, asfrom=True, **kw)
        + " ON "
        + element.onclause._compiler_dispatch(compiler, **kw)
    )
