"""French full-text search of contributions, where accents and plurals don't matter.

One function for the inbox: `matches(dialect_name, query)` returns a condition on
`Contribution.id` (or None for an empty query).

- **PostgreSQL**: a text search configuration `paroles_french` (a copy of `french` that
  removes accents with the `unaccent` dictionary before the French Snowball stemmer), a stored
  column `contributions.search_vector` (generated: `to_tsvector('paroles_french', text)`, so no
  writer can forget it) and a GIN index on it. "écoles", "ecole" and "École" are one lexeme.
  The condition is written so the planner can use that index for a count (a `BitmapOr` of the
  text's index and of the ids found in the translations or the masked index, `storage.sql.
  among`, never `id IN (...)` inside an OR, which forces reading every row) and so that a page
  of a frequent word walks the inbox's date index and stops at 50 rows, testing each row's
  stored vector instead of computing it again.
- **SQLite**: an FTS5 index with the `unicode61 remove_diacritics 2` tokenizer (accents removed),
  kept up to date by triggers, so every writer (bots, scheduler, a bulk import) is covered and an
  erased contribution leaves the index in the same transaction. FTS5 has no French stemmer, so
  the stemming happens on the query: each word becomes `stem* OR word` (Snowball's French
  stemmer, accents removed): "poubelles" searches `poubel*`, which finds "poubelle" and
  "Poubelles". This matches a little more than PostgreSQL does ("parc" also finds "parcours"),
  never less.

The SQL lives here so that the migration (`create`, `drop`) and the queries agree. A later
migration that rebuilds `contributions` on SQLite (batch mode copies the table) drops its
triggers: call `create()` again after it. Deleted rows leave FTS5 tombstones until the index is
merged; `compact()` merges it (the retention job can call it after purging).

Machine translations (`contribution_translations`, see `bots/translations.py`) are searched
too, the same way (a second FTS5 index, a second GIN index): a reviewer who types "ascenseur"
finds the Turkish message about the "asansör" once it has been translated into French.

**Masked search** (`masked=True`): a search must not reveal what masking hides. A conseil
citoyen who types "Dupont" must not learn that the contribution showing "M. [nom]" names him,
so roles that cannot reveal an original search a third index holding each contribution's text
*as they read it*: its personal data masked (`[nom]`, `[téléphone]`…) followed by its masked
machine translations. The personal-data job (`bots.personal_data_job`) writes it with the
spans it stores (`index_masked`), in the same transaction; an erased contribution leaves it
with its row (a trigger on SQLite, a cascading foreign key on PostgreSQL). On SQLite it is an
FTS5 table that keeps the masked text (FTS5 needs the text to delete an entry); on PostgreSQL a
table of `tsvector` only (lexemes, no text). Neither holds a detected span. Consequences, said
in the AIPD: a contribution the job has not read yet (about a minute) is not found by a masked
search, and a phrase the team has just marked as missed stays findable until the job has read
the text again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import snowballstemmer
from sqlalchemy import (
    ColumnElement,
    Select,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from storage import theme_state
from storage.models import Contribution, ContributionTranslation
from storage.sql import among, walked

FTS_TABLE = "contributions_fts"
FTS_TRANSLATIONS = "contribution_translations_fts"
MASKED = "contributions_masked_fts"
PG_MASKED_INDEX = "ix_contributions_masked_search"
PG_CONFIG = "paroles_french"
PG_INDEX = "ix_contributions_search"
PG_VECTOR = "search_vector"  # a stored column of contributions, on PostgreSQL only
PG_TRANSLATIONS_INDEX = "ix_contribution_translations_search"
MAX_TERMS = 8

_SQLITE_CREATE = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(text, content='contributions', "
    "content_rowid='id', tokenize=\"unicode61 remove_diacritics 2\")",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON contributions BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON contributions BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF text ON contributions BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
    # Index what is already there (a no-op on a new database).
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TRANSLATIONS} USING fts5(text, "
    "content='contribution_translations', content_rowid='id', "
    'tokenize="unicode61 remove_diacritics 2")',
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TRANSLATIONS}_ai AFTER INSERT ON contribution_translations "
    f"BEGIN INSERT INTO {FTS_TRANSLATIONS}(rowid, text) VALUES (new.id, new.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TRANSLATIONS}_ad AFTER DELETE ON contribution_translations "
    f"BEGIN INSERT INTO {FTS_TRANSLATIONS}({FTS_TRANSLATIONS}, rowid, text) "
    "VALUES ('delete', old.id, old.text); END",
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TRANSLATIONS}_au AFTER UPDATE OF text "
    f"ON contribution_translations BEGIN INSERT INTO {FTS_TRANSLATIONS}({FTS_TRANSLATIONS}, "
    "rowid, text) VALUES ('delete', old.id, old.text); "
    f"INSERT INTO {FTS_TRANSLATIONS}(rowid, text) VALUES (new.id, new.text); END",
    f"INSERT INTO {FTS_TRANSLATIONS}({FTS_TRANSLATIONS}) VALUES ('rebuild')",
    # What roles that cannot reveal search: rowid = contribution id, text = as they read it.
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {MASKED} USING fts5(text, "
    'tokenize="unicode61 remove_diacritics 2")',
    f"CREATE TRIGGER IF NOT EXISTS {MASKED}_ad AFTER DELETE ON contributions BEGIN "
    f"DELETE FROM {MASKED} WHERE rowid = old.id; END",
)
_SQLITE_DROP = (
    f"DROP TRIGGER IF EXISTS {MASKED}_ad",
    f"DROP TABLE IF EXISTS {MASKED}",
    f"DROP TRIGGER IF EXISTS {FTS_TRANSLATIONS}_au",
    f"DROP TRIGGER IF EXISTS {FTS_TRANSLATIONS}_ad",
    f"DROP TRIGGER IF EXISTS {FTS_TRANSLATIONS}_ai",
    f"DROP TABLE IF EXISTS {FTS_TRANSLATIONS}",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_au",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ad",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_ai",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
)
_PG_CREATE = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {PG_CONFIG} CASCADE",
    f"CREATE TEXT SEARCH CONFIGURATION {PG_CONFIG} (COPY = french)",
    f"ALTER TEXT SEARCH CONFIGURATION {PG_CONFIG} "
    "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem",
    f"ALTER TABLE contributions ADD COLUMN IF NOT EXISTS {PG_VECTOR} tsvector "
    f"GENERATED ALWAYS AS (to_tsvector('{PG_CONFIG}'::regconfig, text)) STORED",
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON contributions USING gin ({PG_VECTOR})",
    f"CREATE INDEX IF NOT EXISTS {PG_TRANSLATIONS_INDEX} ON contribution_translations "
    f"USING gin (to_tsvector('{PG_CONFIG}'::regconfig, text))",
    f"CREATE TABLE IF NOT EXISTS {MASKED} (contribution_id integer PRIMARY KEY "
    "REFERENCES contributions (id) ON DELETE CASCADE, vector tsvector NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {PG_MASKED_INDEX} ON {MASKED} USING gin (vector)",
)
_PG_DROP = (
    f"DROP TABLE IF EXISTS {MASKED}",
    f"DROP INDEX IF EXISTS {PG_TRANSLATIONS_INDEX}",
    f"DROP INDEX IF EXISTS {PG_INDEX}",
    f"ALTER TABLE contributions DROP COLUMN IF EXISTS {PG_VECTOR}",
    f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {PG_CONFIG}",
)


def create(connection: Connection) -> None:
    """Create the search index of the connection's database (called by the migration)."""
    for statement in _PG_CREATE if connection.dialect.name == "postgresql" else _SQLITE_CREATE:
        connection.execute(text(statement))


def drop(connection: Connection) -> None:
    for statement in _PG_DROP if connection.dialect.name == "postgresql" else _SQLITE_DROP:
        connection.execute(text(statement))


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic filter: the search objects are made by hand, not described by the models."""
    searching = (FTS_TABLE, FTS_TRANSLATIONS, MASKED)
    if type_ == "table" and name is not None and name.startswith(searching):
        return False
    if (
        type_ == "column"
        and name == PG_VECTOR
        and parent_names.get("table_name") == "contributions"
    ):
        return False
    by_hand = (PG_INDEX, PG_TRANSLATIONS_INDEX, PG_MASKED_INDEX, theme_state.PG_COUNTED_INDEX)
    return not (type_ == "index" and name in by_hand)


def compact(session: Session) -> None:
    """Merge the SQLite index so deleted texts leave no tombstone behind (no-op on PostgreSQL)."""
    if session.get_bind().dialect.name == "sqlite":
        for name in (FTS_TABLE, FTS_TRANSLATIONS, MASKED):
            session.execute(text(f"INSERT INTO {name}({name}) VALUES ('optimize')"))


def index_masked(session: Session, texts: Mapping[int, str]) -> None:
    """Put each contribution's masked text (by id) in the masked index, replacing what it
    held. The caller makes sure the contributions still exist, in the same transaction."""
    if not texts:
        return
    ids = [{"id": i} for i in texts]
    rows = [{"id": i, "text": t} for i, t in texts.items()]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"DELETE FROM {MASKED} WHERE contribution_id = :id"), ids)
        session.execute(
            text(
                f"INSERT INTO {MASKED} (contribution_id, vector) "
                f"VALUES (:id, to_tsvector('{PG_CONFIG}'::regconfig, :text))"
            ),
            rows,
        )
        return
    session.execute(text(f"DELETE FROM {MASKED} WHERE rowid = :id"), ids)
    session.execute(text(f"INSERT INTO {MASKED} (rowid, text) VALUES (:id, :text)"), rows)


_stemmer = snowballstemmer.stemmer("french")
_WORD = re.compile(r"\w+", re.UNICODE)


def strip_accents(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(query: str) -> list[str]:
    """The query's words, lower case, at most MAX_TERMS of them."""
    return [w.lower() for w in _WORD.findall(query)][:MAX_TERMS]


def fts5_query(query: str) -> str:
    """The FTS5 MATCH expression for a typed query: every word, in any inflection."""
    terms = []
    for word in words(query):
        plain = strip_accents(word)
        stems = {strip_accents(_stemmer.stemWord(word)), strip_accents(_stemmer.stemWord(plain))}
        options = [f'"{plain}"'] + [f'"{stem}"*' for stem in sorted(stems) if len(stem) >= 2]
        terms.append("(" + " OR ".join(options) + ")")
    return " AND ".join(terms)


_PG_CONFIG: ColumnElement[Any] = literal_column(f"'{PG_CONFIG}'::regconfig")


def _pg_query(query: str) -> ColumnElement[Any]:
    return func.plainto_tsquery(_PG_CONFIG, " ".join(words(query)))


def matches(
    dialect_name: str, query: str, masked: bool = False, *, walk: bool = False
) -> ColumnElement[bool] | None:
    """A condition keeping the contributions whose text, or one of its machine translations,
    matches `query`; None if it is empty. ``masked``: search the texts as they read with their
    personal data masked (see the module's docstring), for roles that cannot reveal them.
    ``walk``: the query walks the date index for a page of a view with many rows, and tests
    each row (`storage.sql.walked`; on PostgreSQL the stored vector, not its index); else the
    rows found are read first, through the search's index (a count, a view with few rows)."""
    if not words(query):
        return None
    key: ColumnElement[Any] = walked(Contribution.id) if walk else Contribution.id.expression
    if masked:
        return _masked_matches(dialect_name, query, key)
    if dialect_name == "postgresql":
        wanted = _pg_query(query)
        vector: ColumnElement[Any] = literal_column(f"contributions.{PG_VECTOR}")
        translated = select(ContributionTranslation.contribution_id).where(
            func.to_tsvector(_PG_CONFIG, ContributionTranslation.text).bool_op("@@")(wanted)
        )
        if walk:  # `vector || ''`: the same lexemes, which the planner cannot look up
            unindexed = vector.op("||")(literal_column("''::tsvector"))
            return or_(unindexed.bool_op("@@")(wanted), Contribution.id.in_(translated))
        return or_(vector.bool_op("@@")(wanted), among(Contribution.id, translated))
    expression = fts5_query(query)
    rows: Select[Any] = select(literal_column("rowid")).select_from(text(FTS_TABLE))
    rows = rows.where(text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=expression))
    hits: Select[Any] = select(literal_column("rowid")).select_from(text(FTS_TRANSLATIONS))
    hits = hits.where(
        text(f"{FTS_TRANSLATIONS} MATCH :fts_translated").bindparams(fts_translated=expression)
    )
    translated_ids = select(ContributionTranslation.contribution_id).where(
        ContributionTranslation.id.in_(hits)
    )
    return or_(key.in_(rows), key.in_(translated_ids))


def _masked_matches(dialect_name: str, query: str, key: ColumnElement[Any]) -> ColumnElement[bool]:
    if dialect_name == "postgresql":
        index = table(MASKED, column("contribution_id"), column("vector"))
        found = select(index.c.contribution_id).where(
            index.c.vector.bool_op("@@")(_pg_query(query))
        )
        return key.in_(found)
    rows: Select[Any] = select(literal_column("rowid")).select_from(text(MASKED))
    rows = rows.where(text(f"{MASKED} MATCH :fts_masked").bindparams(fts_masked=fts5_query(query)))
    return key.in_(rows)
