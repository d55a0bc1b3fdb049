"""French full-text search of contributions, where accents and plurals don't matter.

One function for the inbox: `matches(dialect_name, query)` returns a condition on
`Contribution.id` (or None for an empty query).

- **PostgreSQL**: a text search configuration `paroles_french` (a copy of `french` that
  removes accents with the `unaccent` dictionary before the French Snowball stemmer) and a GIN
  index on `to_tsvector('paroles_french', text)`. "écoles", "ecole" and "École" are one lexeme.
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
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import snowballstemmer
from sqlalchemy import ColumnElement, Select, func, literal_column, or_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from storage.models import Contribution, ContributionTranslation

FTS_TABLE = "contributions_fts"
FTS_TRANSLATIONS = "contribution_translations_fts"
PG_CONFIG = "paroles_french"
PG_INDEX = "ix_contributions_search"
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
)
_SQLITE_DROP = (
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
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON contributions "
    f"USING gin (to_tsvector('{PG_CONFIG}'::regconfig, text))",
    f"CREATE INDEX IF NOT EXISTS {PG_TRANSLATIONS_INDEX} ON contribution_translations "
    f"USING gin (to_tsvector('{PG_CONFIG}'::regconfig, text))",
)
_PG_DROP = (
    f"DROP INDEX IF EXISTS {PG_TRANSLATIONS_INDEX}",
    f"DROP INDEX IF EXISTS {PG_INDEX}",
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
    if type_ == "table" and name is not None and name.startswith((FTS_TABLE, FTS_TRANSLATIONS)):
        return False
    return not (type_ == "index" and name in (PG_INDEX, PG_TRANSLATIONS_INDEX))


def compact(session: Session) -> None:
    """Merge the SQLite index so deleted texts leave no tombstone behind (no-op on PostgreSQL)."""
    if session.get_bind().dialect.name == "sqlite":
        for table in (FTS_TABLE, FTS_TRANSLATIONS):
            session.execute(text(f"INSERT INTO {table}({table}) VALUES ('optimize')"))


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


def matches(dialect_name: str, query: str) -> ColumnElement[bool] | None:
    """A condition keeping the contributions whose text, or one of its machine translations,
    matches `query`; None if it is empty."""
    if not words(query):
        return None
    if dialect_name == "postgresql":
        config: ColumnElement[Any] = literal_column(f"'{PG_CONFIG}'::regconfig")
        wanted = func.plainto_tsquery(config, " ".join(words(query)))
        own = func.to_tsvector(config, Contribution.text).bool_op("@@")(wanted)
        translated = select(ContributionTranslation.contribution_id).where(
            func.to_tsvector(config, ContributionTranslation.text).bool_op("@@")(wanted)
        )
        return or_(own, Contribution.id.in_(translated))
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
    return or_(Contribution.id.in_(rows), Contribution.id.in_(translated_ids))
