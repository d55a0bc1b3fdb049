"""What went wrong, told without the words of a habitant.

An exception's message is not safe to keep: PostgreSQL's `DETAIL: Failing row contains (…)`
repeats the row, a habitant's message among its columns; SQLAlchemy appends the statement's
parameters (unless the engine hides them, which `storage.db.make_engine` does); and Python's own
errors quote the value they choke on (`invalid literal for int() with base 10: 'Mon voisin…'`).
Such a text would end up in a log, kept for months, or in a `last_error` column that staff read.

`describe` keeps what the people running the service need to find the cause, and nothing of the
message: the error's class, the database's own code (SQLSTATE on PostgreSQL, the error name on
SQLite), and the line of our code where it was raised.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from sqlalchemy.exc import DBAPIError

# Our packages: the frame named is the last one inside them, not a line deep in a library.
ROOT = Path(__file__).resolve().parent.parent
OURS = tuple(str(ROOT / package) + "/" for package in ("storage", "bots", "web"))


def describe(error: BaseException) -> str:
    """`IntegrityError [23505] at bots/inbound.py:210 (record)`: no message, ever."""
    parts = [type(error).__name__]
    code = database_code(error)
    if code:
        parts.append(f"[{code}]")
    place = raised_at(error)
    if place:
        parts.append(f"at {place}")
    return " ".join(parts)


def database_code(error: BaseException) -> str:
    """The database's own code for the error, when it is a database's error."""
    original = error.orig if isinstance(error, DBAPIError) else error
    for attribute in ("sqlstate", "sqlite_errorname"):  # psycopg, sqlite3
        value = getattr(original, attribute, None)
        if isinstance(value, str) and value:
            return value
    return ""


def raised_at(error: BaseException) -> str:
    """`path:line (function)` of the last frame in our code (else the last frame at all)."""
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
    if not frames:
        return ""
    ours = [frame for frame in frames if frame.filename.startswith(OURS)]
    frame = (ours or frames)[-1]
    path = Path(frame.filename)
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else Path(path.name)
    return f"{shown}:{frame.lineno} ({frame.name})"


def safe_traceback(error: BaseException) -> str:
    """The traceback of `error` and of its causes, each exception's message replaced by
    `describe`: the frames (file, line, function, source line) say where, never what."""
    blocks: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        blocks.append(f"Traceback (most recent call last):\n{frames}{describe(current)}")
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    between = "\n\nThe above exception caused, or was being handled when, the following:\n\n"
    return between.join(reversed(blocks))
