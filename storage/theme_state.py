"""A contribution's thème state, kept on its own row: `contributions.theme_state`.

The definition (the inbox's `etat` filter and counts, the tableau de bord's thème states):
`confirme` when a human gave the contribution a thème (a categorisation of source `staff`: the
team, or the médiateur who heard it), else `suggere` when the suggestion engine proposed one
(`suggestion`), else `a_trier`. What the habitant chose on their phone (`habitant`) does not
change it. `live_state()` is that definition in SQL, read from the categorisations.

Why on the row: the inbox counts the contributions of each state on every page, at 100,000
contributions. Read from the categorisations, that is three scans probing two sets; read from
the column, it is one GROUP BY over an index (`ix_contributions_state_status`, and per quartier
`ix_contributions_quartier_state`), and a state's page walks `ix_contributions_state_created`.
When a thème or a search chose the contributions, PostgreSQL reads their state by id from
`ix_contributions_id_counted` (made here, PostgreSQL only: SQLite's table is its id index).

How it stays true: triggers on `categorisations` (insert, delete, a change of source or of
contribution), on SQLite and on PostgreSQL, recompute the state of the contribution concerned
with `live_state()`, in the same statement. So every writer keeps it current without knowing of
it: the suggestion job, the inbox's confirmations (one, fetch, bulk), the field entries and the
"confirm" of the field pages, the demo seed, a bulk import in raw SQL, another program, and the
cascade when a thème is deleted. A contribution is inserted `a_trier` (it has no categorisation
yet); an erased one takes its row with it. On PostgreSQL the trigger first locks the
contribution's row (`FOR NO KEY UPDATE`, which the foreign-key checks of other writers do not
conflict with) and only then reads the categorisations, with a fresh snapshot: of two
transactions changing one contribution's thèmes at once, the second to commit has seen the
first's, so the stored state is the one of what both committed. SQLite has one writer at a time.

Like `storage.search`, the SQL lives here so that the migration (`create`, `drop`) and the tests
agree. A later migration that rebuilds `categorisations` on SQLite (batch mode copies the table)
drops its triggers: call `create()` again after it, then `refresh_all()`. The ORM's copy of
`Contribution.theme_state` in a session is not updated by the trigger: read the column in SQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, exists, literal_column, text, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import QueryableAttribute

from storage.models import Categorisation, Contribution

CONFIRMED, SUGGESTED, TO_SORT = "confirme", "suggere", "a_trier"
STATES = (CONFIRMED, SUGGESTED, TO_SORT)
SOURCES = ("staff", "suggestion")  # the only sources the state depends on
# PostgreSQL only: what the inbox's counts read of a contribution found by id (a thème's, a
# search's), from the index alone instead of the table's pages. SQLite's table is its id index.
PG_COUNTED_INDEX = "ix_contributions_id_counted"
PG_FUNCTION = "paroles_theme_state_of"
PG_TRIGGER_FUNCTION = "paroles_categorisations_theme_state"
TRIGGER = "categorisations_theme_state"


def live_state(contribution_id: ColumnElement[Any] | QueryableAttribute[Any]) -> ColumnElement[str]:
    """The state of the contribution `contribution_id`, by definition, from its categorisations."""

    def has(source: str) -> ColumnElement[bool]:
        return exists().where(
            Categorisation.contribution_id == contribution_id, Categorisation.source == source
        )

    return case((has("staff"), CONFIRMED), (has("suggestion"), SUGGESTED), else_=TO_SORT)


def _sql(dialect: Dialect, reference: str) -> str:
    """`live_state()` as SQL text, for the contribution whose id is `reference`."""
    expression = live_state(literal_column(reference))
    return str(expression.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _sqlite_statements(dialect: Dialect) -> tuple[str, ...]:
    def recompute(row: str) -> str:
        state = _sql(dialect, f"{row}.contribution_id")
        return f"UPDATE contributions SET theme_state = {state} WHERE id = {row}.contribution_id;"

    sources = "(" + ", ".join(f"'{s}'" for s in SOURCES) + ")"
    return (
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGER}_ai AFTER INSERT ON categorisations "
        f"WHEN new.source IN {sources} BEGIN {recompute('new')} END",
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGER}_ad AFTER DELETE ON categorisations "
        f"WHEN old.source IN {sources} BEGIN {recompute('old')} END",
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGER}_au AFTER UPDATE OF source, contribution_id "
        f"ON categorisations WHEN old.source IN {sources} OR new.source IN {sources} "
        f"BEGIN {recompute('old')} {recompute('new')} END",
    )


def _postgres_statements(dialect: Dialect) -> tuple[str, ...]:
    sources = "(" + ", ".join(f"'{s}'" for s in SOURCES) + ")"
    return (
        f"CREATE OR REPLACE FUNCTION {PG_FUNCTION}(target integer) RETURNS void "
        "LANGUAGE plpgsql AS $$ DECLARE state varchar; BEGIN "
        # Lock first, then read: the read's snapshot is taken once the lock is ours.
        "PERFORM 1 FROM contributions WHERE id = target FOR NO KEY UPDATE; "
        f"SELECT {_sql(dialect, 'target')} INTO state; "
        "UPDATE contributions SET theme_state = state "
        "WHERE id = target AND theme_state IS DISTINCT FROM state; END $$",
        f"CREATE OR REPLACE FUNCTION {PG_TRIGGER_FUNCTION}() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'INSERT' THEN "
        f"  IF NEW.source IN {sources} THEN PERFORM {PG_FUNCTION}(NEW.contribution_id); END IF; "
        "ELSIF TG_OP = 'DELETE' THEN "
        f"  IF OLD.source IN {sources} THEN PERFORM {PG_FUNCTION}(OLD.contribution_id); END IF; "
        f"ELSIF OLD.source IN {sources} OR NEW.source IN {sources} THEN "
        f"  PERFORM {PG_FUNCTION}(OLD.contribution_id); "
        "  IF NEW.contribution_id <> OLD.contribution_id THEN "
        f"    PERFORM {PG_FUNCTION}(NEW.contribution_id); END IF; "
        "END IF; RETURN NULL; END $$",
        f"DROP TRIGGER IF EXISTS {TRIGGER} ON categorisations",
        f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR DELETE OR UPDATE OF source, contribution_id "
        f"ON categorisations FOR EACH ROW EXECUTE FUNCTION {PG_TRIGGER_FUNCTION}()",
        f"CREATE INDEX IF NOT EXISTS {PG_COUNTED_INDEX} ON contributions (id) "
        "INCLUDE (quartier_id, status, theme_state)",
    )


def create(connection: Connection) -> None:
    """Create the triggers that keep `contributions.theme_state` current (the migration calls
    it once both tables exist), and set the state of the contributions already there."""
    dialect = connection.dialect
    if dialect.name == "postgresql":
        statements = _postgres_statements(dialect)
    else:
        statements = _sqlite_statements(dialect)
    for statement in statements:
        connection.execute(text(statement))
    refresh_all(connection)


def drop(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        for statement in (
            f"DROP TRIGGER IF EXISTS {TRIGGER} ON categorisations",
            f"DROP FUNCTION IF EXISTS {PG_TRIGGER_FUNCTION}()",
            f"DROP FUNCTION IF EXISTS {PG_FUNCTION}(integer)",
            f"DROP INDEX IF EXISTS {PG_COUNTED_INDEX}",
        ):
            connection.execute(text(statement))
        return
    for suffix in ("ai", "ad", "au"):
        connection.execute(text(f"DROP TRIGGER IF EXISTS {TRIGGER}_{suffix}"))


def refresh_all(connection: Connection) -> int:
    """Recompute every contribution's state from its categorisations (after a repair, or when
    the triggers were missing); returns how many rows changed."""
    state = live_state(Contribution.id)
    result = connection.execute(
        update(Contribution).where(Contribution.theme_state != state).values(theme_state=state)
    )
    return int(result.rowcount or 0)
