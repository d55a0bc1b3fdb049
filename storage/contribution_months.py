"""How many contributions each UTC month has, per quartier, thème state and confirmed thème:
`contribution_months`, kept current by triggers.

The tableau de bord's thème table (`web.indicators`) counts, per month of a period, the
contributions of each thème state and those of each confirmed thème (a categorisation of source
`staff`). Read from `contributions` and `categorisations`, that is two GROUP BYs over a year of
contributions on every page. Read from here, it is a sum over a few hundred rows.

A row is (`month`, `quartier_id`, `theme_id`, `theme_state`, `contributions`):

- `theme_id` 0 and `theme_state` a state (`storage.theme_state.STATES`): the contributions of
  that month and quartier in that state; every contribution is in exactly one such row;
- `theme_id` a thème and `theme_state` "": the contributions of that month and quartier that
  thème was confirmed for (one per `staff` categorisation);
- `quartier_id` 0: contributions whose quartier is not known.

`month` is the first day of the UTC month of `created_at` (stored naive UTC): no time zone in
SQL. The territory's months begin a few hours before or after the UTC ones; the reader counts
the contributions of those few hours from the contributions themselves, and moves them to their
month (`web.indicators._themes`). A count may reach 0 and stay as a row. What the dashboard
leaves out (a staff member's test phone) is not known here: the reader takes the test phones'
few contributions back out.

How it stays true: triggers on `contributions` (insert; before a delete; a change of
`created_at`, `quartier_id` or `theme_state`, which the triggers of `storage.theme_state` make)
and on `categorisations` (a `staff` one inserted, deleted, or changed), on SQLite and on
PostgreSQL. So every writer keeps it current without knowing of it, including an erasure, the
retention purge, a thème deleted (its categorisations cascade) and raw SQL. A contribution
deleted takes its own rows out before it goes (BEFORE DELETE, while its categorisations are
still there); its categorisations, deleted by the cascade after it, find no contribution and
change nothing. On PostgreSQL, the counts are upserts (`ON CONFLICT DO UPDATE`): two
transactions adding to one row wait for each other, neither loses its count.

Like `storage.theme_state`, the SQL lives here so that the migration and the tests agree. A
migration that rebuilds one of the two tables on SQLite drops its triggers: call `create()`
again after it (it also recounts every row, `refresh_all()`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, cast, delete, func, insert, select, text
from sqlalchemy.engine import Connection

from storage.models import Categorisation, Contribution, ContributionMonth

TRIGGER = "contribution_months"
PG_CONTRIBUTIONS_FUNCTION = "paroles_contribution_months_contributions"
PG_CATEGORISATIONS_FUNCTION = "paroles_contribution_months_categorisations"
KEY = "(month, quartier_id, theme_id, theme_state)"
UPSERT = (
    f"ON CONFLICT {KEY} DO UPDATE "
    "SET contributions = contribution_months.contributions + excluded.contributions"
)


def month_of(connection: Connection, column: Any) -> Any:
    """The first day of the UTC month of a naive UTC timestamp column, as the triggers compute
    it."""
    if connection.dialect.name == "postgresql":
        return cast(func.date_trunc("month", column), Date)
    return func.date(column, "start of month", type_=Date)


# --- SQLite --------------------------------------------------------------------------------------

INSERT = f"INSERT INTO contribution_months {KEY[:-1]}, contributions)"


def _sqlite_month(column: str) -> str:
    return f"date({column}, 'start of month')"


def _sqlite_add(row: str, sign: int) -> str:
    """Count contribution `row` (`new` or `old`) in its state."""
    month, quartier = _sqlite_month(f"{row}.created_at"), f"coalesce({row}.quartier_id, 0)"
    return f"{INSERT} VALUES ({month}, {quartier}, 0, {row}.theme_state, {sign}) {UPSERT}; "


def _sqlite_themes(row: str, sign: int) -> str:
    """Count contribution `row` in its confirmed thèmes."""
    month, quartier = _sqlite_month(f"{row}.created_at"), f"coalesce({row}.quartier_id, 0)"
    return (
        f"{INSERT} SELECT {month}, {quartier}, theme_id, '', {sign} FROM categorisations "
        f"WHERE contribution_id = {row}.id AND source = 'staff' {UPSERT}; "
    )


def _sqlite_confirmed(row: str, sign: int) -> str:
    """Count categorisation `row` for its contribution if it is a `staff` one and the
    contribution is still there."""
    return (
        f"{INSERT} SELECT {_sqlite_month('created_at')}, coalesce(quartier_id, 0), "
        f"{row}.theme_id, '', {sign} FROM contributions "
        f"WHERE {row}.source = 'staff' AND id = {row}.contribution_id {UPSERT}; "
    )


def _sqlite_statements() -> tuple[str, ...]:
    moved = "old.created_at IS NOT new.created_at OR old.quartier_id IS NOT new.quartier_id"
    return (
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGER}_ci AFTER INSERT ON contributions "
        f"BEGIN {_sqlite_add('new', 1)} END",
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGER}_cd BEFORE DELETE ON contributions "
        f"BEGIN {_sqlite_add('old', -1)} {_sqlite_themes('old', -1)} END",
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGER}_cu AFTER UPDATE OF created_at, quartier_id, "
        f"theme_state ON contributions WHEN {moved} OR old.theme_state IS NOT new.theme_state "
        f"BEGIN {_sqlite_add('old', -1)} {_sqlite_add('new', 1)} END",
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGER}_cm AFTER UPDATE OF created_at, quartier_id "
        f"ON contributions WHEN {moved} "
        f"BEGIN {_sqlite_themes('old', -1)} {_sqlite_themes('new', 1)} END",
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGER}_ai AFTER INSERT ON categorisations "
        f"WHEN new.source = 'staff' BEGIN {_sqlite_confirmed('new', 1)} END",
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGER}_ad AFTER DELETE ON categorisations "
        f"WHEN old.source = 'staff' BEGIN {_sqlite_confirmed('old', -1)} END",
        f"CREATE TRIGGER IF NOT EXISTS {TRIGGER}_au AFTER UPDATE OF source, theme_id, "
        "contribution_id ON categorisations WHEN old.source = 'staff' OR new.source = 'staff' "
        f"BEGIN {_sqlite_confirmed('old', -1)} {_sqlite_confirmed('new', 1)} END",
    )


# --- PostgreSQL ----------------------------------------------------------------------------------


def _pg_month(column: str) -> str:
    return f"date_trunc('month', {column})::date"


def _pg_add(row: str, sign: int) -> str:
    month, quartier = _pg_month(f"{row}.created_at"), f"coalesce({row}.quartier_id, 0)"
    return f"{INSERT} VALUES ({month}, {quartier}, 0, {row}.theme_state, {sign}) {UPSERT}; "


def _pg_themes(row: str, sign: int) -> str:
    month, quartier = _pg_month(f"{row}.created_at"), f"coalesce({row}.quartier_id, 0)"
    return (
        f"{INSERT} SELECT {month}, {quartier}, theme_id, '', {sign} FROM categorisations "
        f"WHERE contribution_id = {row}.id AND source = 'staff' {UPSERT}; "
    )


def _pg_confirmed(row: str, sign: int) -> str:
    return (
        f"{INSERT} SELECT {_pg_month('created_at')}, coalesce(quartier_id, 0), "
        f"{row}.theme_id, '', {sign} FROM contributions "
        f"WHERE id = {row}.contribution_id {UPSERT}; "
    )


def _postgres_statements() -> tuple[str, ...]:
    moved = (
        "OLD.created_at IS DISTINCT FROM NEW.created_at "
        "OR OLD.quartier_id IS DISTINCT FROM NEW.quartier_id"
    )
    return (
        f"CREATE OR REPLACE FUNCTION {PG_CONTRIBUTIONS_FUNCTION}() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP = 'INSERT' THEN {_pg_add('NEW', 1)} RETURN NULL; "
        f"ELSIF TG_OP = 'DELETE' THEN {_pg_add('OLD', -1)} {_pg_themes('OLD', -1)} RETURN OLD; "
        "END IF; "
        f"IF {moved} OR OLD.theme_state IS DISTINCT FROM NEW.theme_state THEN "
        f"  {_pg_add('OLD', -1)} {_pg_add('NEW', 1)} END IF; "
        f"IF {moved} THEN {_pg_themes('OLD', -1)} {_pg_themes('NEW', 1)} END IF; "
        "RETURN NULL; END $$",
        f"CREATE OR REPLACE FUNCTION {PG_CATEGORISATIONS_FUNCTION}() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.source = 'staff' THEN "
        f"  {_pg_confirmed('OLD', -1)} END IF; "
        "IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.source = 'staff' THEN "
        f"  {_pg_confirmed('NEW', 1)} END IF; "
        "RETURN NULL; END $$",
        f"DROP TRIGGER IF EXISTS {TRIGGER}_changed ON contributions",
        f"DROP TRIGGER IF EXISTS {TRIGGER}_deleted ON contributions",
        f"DROP TRIGGER IF EXISTS {TRIGGER} ON categorisations",
        f"CREATE TRIGGER {TRIGGER}_changed AFTER INSERT OR UPDATE OF created_at, quartier_id, "
        f"theme_state ON contributions FOR EACH ROW EXECUTE FUNCTION {PG_CONTRIBUTIONS_FUNCTION}()",
        f"CREATE TRIGGER {TRIGGER}_deleted BEFORE DELETE ON contributions "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_CONTRIBUTIONS_FUNCTION}()",
        f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR DELETE OR UPDATE OF source, theme_id, "
        f"contribution_id ON categorisations "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_CATEGORISATIONS_FUNCTION}()",
    )


# --- creating, dropping, recounting --------------------------------------------------------------


def create(connection: Connection) -> None:
    """Create the triggers (the migration calls it once `contributions`, `categorisations` and
    `contribution_months` exist, after `storage.theme_state.create`), and count what is there."""
    if connection.dialect.name == "postgresql":
        statements = _postgres_statements()
    else:
        statements = _sqlite_statements()
    for statement in statements:
        connection.execute(text(statement))
    refresh_all(connection)


def drop(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        for statement in (
            f"DROP TRIGGER IF EXISTS {TRIGGER}_changed ON contributions",
            f"DROP TRIGGER IF EXISTS {TRIGGER}_deleted ON contributions",
            f"DROP TRIGGER IF EXISTS {TRIGGER} ON categorisations",
            f"DROP FUNCTION IF EXISTS {PG_CONTRIBUTIONS_FUNCTION}()",
            f"DROP FUNCTION IF EXISTS {PG_CATEGORISATIONS_FUNCTION}()",
        ):
            connection.execute(text(statement))
        return
    for suffix in ("ci", "cd", "cu", "cm", "ai", "ad", "au"):
        connection.execute(text(f"DROP TRIGGER IF EXISTS {TRIGGER}_{suffix}"))


def live_rows(connection: Connection) -> dict[tuple[Any, int, int, str], int]:
    """What `contribution_months` must hold, counted from the contributions (no zero rows)."""
    month = month_of(connection, Contribution.created_at)
    quartier = func.coalesce(Contribution.quartier_id, 0)
    found: dict[tuple[Any, int, int, str], int] = {}
    for d, q, state, n in connection.execute(
        select(month, quartier, Contribution.theme_state, func.count()).group_by(
            month, quartier, Contribution.theme_state
        )
    ):
        found[(d, q, 0, state)] = n
    for d, q, theme_id, n in connection.execute(
        select(month, quartier, Categorisation.theme_id, func.count())
        .join(Contribution, Contribution.id == Categorisation.contribution_id)
        .where(Categorisation.source == "staff")
        .group_by(month, quartier, Categorisation.theme_id)
    ):
        found[(d, q, theme_id, "")] = n
    return found


def stored_rows(connection: Connection) -> dict[tuple[Any, int, int, str], int]:
    """What `contribution_months` holds, without its zero rows."""
    return {
        (row.month, row.quartier_id, row.theme_id, row.theme_state): row.contributions
        for row in connection.execute(
            select(ContributionMonth).where(ContributionMonth.contributions != 0)
        )
    }


def refresh_all(connection: Connection) -> None:
    """Recount every row from the contributions (after a repair, or when the triggers were
    missing)."""
    connection.execute(delete(ContributionMonth))
    rows = [
        {"month": d, "quartier_id": q, "theme_id": t, "theme_state": s, "contributions": n}
        for (d, q, t, s), n in live_rows(connection).items()
    ]
    if rows:
        connection.execute(insert(ContributionMonth), rows)
