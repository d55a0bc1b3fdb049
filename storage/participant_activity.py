"""What each habitant did in each UTC month: `participant_activity`, kept current by triggers.

The tableau de bord counts distinct habitants over a period (`web.activity`): who wrote a
contribution or gave an understood survey answer, per quartier, written language and action.
Read from `contributions` and `answers`, that is a year of rows grouped on every page. Read
from here, it is one row per habitant and year for most of them: what a distinct count over a
period needs (did they do something in one of its months?), and no more.

A row is (`participant_id`, `kind`, `quartier_id`, `language`, `action_id`, `year`, `m01` ...
`m12`), where `m01` ... `m12` count what the habitant did in each UTC month of `year`:

- `kind` "c": their contributions written in `quartier_id` (0: not known), in `language`
  (`Contribution.language`), during the action `action_id` (0: none);
- `kind` "a": their understood answers (`Answer.understood`, what campaign results call
  "started") in conversations of the action `action_id` (0: none); `quartier_id` is 0 and
  `language` "": an answer counts in its author's quartier, read from `participants` when
  counting, since a habitant may move.

Only what is linked to a habitant is here: a contribution whose link was cut (retention period,
erasure) counts nobody. Who is a test phone, which quartier a habitant lives in and what a join
code brought are read from their own tables when counting. Months are UTC (`created_at` is
stored naive UTC): the reader handles the few hours between a month's beginning in the territory
and in UTC itself (`web.activity`). A row whose twelve months fall to 0 is deleted: nothing of
what a habitant did stays here once it is gone (an erasure, the retention period).

How it stays true: triggers on `contributions` (insert, delete, a change of author, quartier,
language, action or date), on `answers` (insert, delete, a change of conversation,
understanding or date) and on `conversations` (a change of habitant or action, and before a
delete), on SQLite and PostgreSQL, as `storage.contribution_months` does: every writer keeps it
current without knowing of it, the retention purge, an erasure, a join code deleted (`ON DELETE
SET NULL`) and raw SQL included. A conversation deleted takes its answers out before it goes;
its answers, deleted by the cascade after it, find no conversation and change nothing. On
PostgreSQL the counts are upserts (`ON CONFLICT DO UPDATE`), so two transactions adding to one
row wait for each other and neither loses its count.

A migration that rebuilds one of these tables on SQLite drops its triggers: call `create()`
again after it (it also recounts every row, `refresh_all()`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

TABLE = "participant_activity"
MONTHS = tuple(f"m{n:02d}" for n in range(1, 13))
KEY = ("participant_id", "kind", "quartier_id", "language", "action_id", "year")
CONTRIBUTION, ANSWER = "c", "a"
PG_FUNCTIONS = {
    "contributions": "paroles_participant_activity_contributions",
    "answers": "paroles_participant_activity_answers",
    "conversations": "paroles_participant_activity_conversations",
}


# --- the SQL both databases share ----------------------------------------------------------------


class _Dialect:
    """The two expressions SQLite and PostgreSQL spell differently."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def year(self, column: str) -> str:
        if self.postgres:
            return f"CAST(extract(year FROM {column}) AS integer)"
        return f"CAST(strftime('%Y', {column}) AS INTEGER)"

    def month(self, column: str) -> str:
        if self.postgres:
            return f"CAST(extract(month FROM {column}) AS integer)"
        return f"CAST(strftime('%m', {column}) AS INTEGER)"


def _count(sql: _Dialect, source: str, sign: int, *, many: bool = False) -> str:
    """Add `sign` for the row of `source`, a SELECT giving (participant_id, kind, quartier_id,
    language, action_id, created_at); with `many`, for each of its rows, grouped first, since
    one statement may not update a row twice on PostgreSQL."""
    month = sql.month("r.created_at")
    months = [f"CASE WHEN {month} = {n} THEN {sign} ELSE 0 END" for n in range(1, 13)]
    year = sql.year("r.created_at")
    key = f"r.participant_id, r.kind, r.quartier_id, r.language, r.action_id, {year}"
    update = ", ".join(f"{m} = {TABLE}.{m} + excluded.{m}" for m in MONTHS)
    counts = ", ".join(f"sum({m})" for m in months) if many else ", ".join(months)
    return (
        f"INSERT INTO {TABLE} ({', '.join(KEY)}, {', '.join(MONTHS)}) "
        f"SELECT {key}, {counts} FROM ({source}) AS r WHERE r.participant_id IS NOT NULL "
        + (f"GROUP BY {key} " if many else "")
        + f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {update}; "
        + (_forget(source) if sign < 0 else "")
    )


def _forget(source: str) -> str:
    """Delete the rows of `source`'s habitant left with nothing: no trace of what a habitant
    did stays once it is gone (an erasure, the retention period)."""
    return (
        f"DELETE FROM {TABLE} WHERE participant_id IN "
        f"(SELECT r.participant_id FROM ({source}) AS r) AND "
        + " AND ".join(f"{m} = 0" for m in MONTHS)
        + "; "
    )


def _contribution(row: str) -> str:
    """Contribution `row` (new or old) as a source row."""
    return (
        f"SELECT {row}.participant_id AS participant_id, '{CONTRIBUTION}' AS kind, "
        f"coalesce({row}.quartier_id, 0) AS quartier_id, {row}.language AS language, "
        f"coalesce({row}.action_id, 0) AS action_id, {row}.created_at AS created_at"
    )


def _answer(row: str) -> str:
    """Answer `row`, if understood, in its conversation (if it is still there)."""
    return (
        f"SELECT v.participant_id AS participant_id, '{ANSWER}' AS kind, 0 AS quartier_id, "
        f"'' AS language, coalesce(v.action_id, 0) AS action_id, {row}.created_at AS created_at "
        f"FROM conversations AS v WHERE v.id = {row}.conversation_id AND {row}.understood"
    )


def _conversation(row: str, joined: str = "") -> str:
    """The understood answers of conversation `row` (`joined`: how `row` is found, when it is
    not a trigger's row)."""
    return (
        f"SELECT {row}.participant_id AS participant_id, '{ANSWER}' AS kind, 0 AS quartier_id, "
        f"'' AS language, coalesce({row}.action_id, 0) AS action_id, a.created_at AS created_at "
        f"FROM answers AS a {joined} WHERE a.conversation_id = {row}.id AND a.understood"
    )


def _sqlite_statements() -> tuple[str, ...]:
    sql = _Dialect(postgres=False)

    def trigger(name: str, when: str, body: str) -> str:
        return f"CREATE TRIGGER IF NOT EXISTS {TABLE}_{name} {when} BEGIN {body} END"

    def changed(columns: tuple[str, ...]) -> str:
        return " OR ".join(f"old.{c} IS NOT new.{c}" for c in columns)

    contribution = ("participant_id", "quartier_id", "language", "action_id", "created_at")
    answer = ("conversation_id", "understood", "created_at")
    conversation = ("participant_id", "action_id")
    return (
        trigger("ci", "AFTER INSERT ON contributions", _count(sql, _contribution("new"), 1)),
        trigger("cd", "AFTER DELETE ON contributions", _count(sql, _contribution("old"), -1)),
        trigger(
            "cu",
            f"AFTER UPDATE OF {', '.join(contribution)} ON contributions "
            f"WHEN {changed(contribution)}",
            _count(sql, _contribution("old"), -1) + _count(sql, _contribution("new"), 1),
        ),
        trigger("ai", "AFTER INSERT ON answers", _count(sql, _answer("new"), 1)),
        trigger("ad", "AFTER DELETE ON answers", _count(sql, _answer("old"), -1)),
        trigger(
            "au",
            f"AFTER UPDATE OF {', '.join(answer)} ON answers WHEN {changed(answer)}",
            _count(sql, _answer("old"), -1) + _count(sql, _answer("new"), 1),
        ),
        trigger(
            "vd", "BEFORE DELETE ON conversations", _count(sql, _conversation("old"), -1, many=True)
        ),
        trigger(
            "vu",
            f"AFTER UPDATE OF {', '.join(conversation)} ON conversations "
            f"WHEN {changed(conversation)}",
            _count(sql, _conversation("old"), -1, many=True)
            + _count(sql, _conversation("new"), 1, many=True),
        ),
    )


SQLITE_TRIGGERS = ("ci", "cd", "cu", "ai", "ad", "au", "vd", "vu")


def _postgres_statements() -> tuple[str, ...]:
    sql = _Dialect(postgres=True)

    def changed(columns: tuple[str, ...]) -> str:
        return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)

    def function(table: str, source: Any, columns: tuple[str, ...], many: bool = False) -> str:
        def count(row: str, sign: int) -> str:
            return _count(sql, source(row), sign, many=many)

        return (
            f"CREATE OR REPLACE FUNCTION {PG_FUNCTIONS[table]}() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP = 'INSERT' THEN {count('NEW', 1)} RETURN NULL; END IF; "
            f"IF TG_OP = 'DELETE' THEN {count('OLD', -1)} RETURN OLD; END IF; "
            f"IF {changed(columns)} THEN {count('OLD', -1)} {count('NEW', 1)} END IF; "
            "RETURN NULL; END $$"
        )

    contribution = ("participant_id", "quartier_id", "language", "action_id", "created_at")
    answer = ("conversation_id", "understood", "created_at")
    conversation = ("participant_id", "action_id")
    return (
        function("contributions", _contribution, contribution),
        function("answers", _answer, answer),
        function("conversations", _conversation, conversation, many=True),
        *_pg_drops(),
        f"CREATE TRIGGER {TABLE} AFTER INSERT OR DELETE OR UPDATE OF {', '.join(contribution)} "
        f"ON contributions FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTIONS['contributions']}()",
        f"CREATE TRIGGER {TABLE} AFTER INSERT OR DELETE OR UPDATE OF {', '.join(answer)} "
        f"ON answers FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTIONS['answers']}()",
        f"CREATE TRIGGER {TABLE}_changed AFTER UPDATE OF {', '.join(conversation)} "
        f"ON conversations FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTIONS['conversations']}()",
        f"CREATE TRIGGER {TABLE}_deleted BEFORE DELETE ON conversations "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTIONS['conversations']}()",
    )


def _pg_drops() -> tuple[str, ...]:
    return (
        f"DROP TRIGGER IF EXISTS {TABLE} ON contributions",
        f"DROP TRIGGER IF EXISTS {TABLE} ON answers",
        f"DROP TRIGGER IF EXISTS {TABLE}_changed ON conversations",
        f"DROP TRIGGER IF EXISTS {TABLE}_deleted ON conversations",
    )


# --- creating, dropping, recounting --------------------------------------------------------------


def create(connection: Connection) -> None:
    """Create the triggers (the migration calls it once `contributions`, `answers`,
    `conversations` and `participant_activity` exist), and count what is there."""
    postgres = connection.dialect.name == "postgresql"
    for statement in _postgres_statements() if postgres else _sqlite_statements():
        connection.execute(text(statement))
    refresh_all(connection)


def drop(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        for statement in _pg_drops():
            connection.execute(text(statement))
        for function in PG_FUNCTIONS.values():
            connection.execute(text(f"DROP FUNCTION IF EXISTS {function}()"))
        return
    for suffix in SQLITE_TRIGGERS:
        connection.execute(text(f"DROP TRIGGER IF EXISTS {TABLE}_{suffix}"))


Row = tuple[Any, ...]  # the key, then the twelve months


def _live(connection: Connection) -> str:
    """What `participant_activity` must hold, as one SELECT over contributions and answers."""
    sql = _Dialect(connection.dialect.name == "postgresql")
    year = sql.year("r.created_at")
    months = ", ".join(
        f"sum(CASE WHEN {sql.month('r.created_at')} = {n} THEN 1 ELSE 0 END)" for n in range(1, 13)
    )
    contributions = f"{_contribution('c')} FROM contributions AS c"
    answers = _conversation("v", "JOIN conversations AS v ON v.id = a.conversation_id")
    return (
        f"SELECT r.participant_id, r.kind, r.quartier_id, r.language, r.action_id, {year}, "
        f"{months} FROM ({contributions} UNION ALL {answers}) AS r "
        "WHERE r.participant_id IS NOT NULL "
        f"GROUP BY r.participant_id, r.kind, r.quartier_id, r.language, r.action_id, {year}"
    )


def _rows(connection: Connection, select_sql: str) -> set[Row]:
    """The rows of `select_sql` (the key, then the months) whose months are not all 0."""
    return {tuple(row) for row in connection.execute(text(select_sql)) if any(row[6:])}


def live_rows(connection: Connection) -> set[Row]:
    """What `participant_activity` must hold, counted from the contributions and answers."""
    return _rows(connection, _live(connection))


def stored_rows(connection: Connection) -> set[Row]:
    """What `participant_activity` holds (rows of zeros included: there should be none)."""
    found = connection.execute(text(f"SELECT {', '.join(KEY)}, {', '.join(MONTHS)} FROM {TABLE}"))
    return {tuple(row) for row in found}


def refresh_all(connection: Connection) -> None:
    """Recount every row from the contributions and answers (after a repair, or when the
    triggers were missing)."""
    connection.execute(text(f"DELETE FROM {TABLE}"))
    columns = f"{', '.join(KEY)}, {', '.join(MONTHS)}"
    connection.execute(text(f"INSERT INTO {TABLE} ({columns}) {_live(connection)}"))
