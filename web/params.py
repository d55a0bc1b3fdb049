"""Query-string and form values read the same way on every page.

A value that is none of the choices offered (an unknown id, a code where an id is expected, a
day that is no date) raises `BadValue`: the page says so next to the field and shows nothing
rather than more than was asked.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date


def parse_int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 10 else None


def parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class BadValue(ValueError):
    """A value that is none of the choices a page offers: said to the person, never ignored
    (ignoring it would show or export more than was asked for)."""


def chosen_id(value: str, allowed: Collection[int]) -> int | None:
    """`None` when nothing was chosen, the id when it is one of `allowed`, else BadValue."""
    if not value:
        return None
    number = parse_int(value)
    if number is None or number not in allowed:
        raise BadValue(value)
    return number


def chosen(value: str, allowed: Collection[str]) -> str:
    """`value` when empty or one of `allowed`, else BadValue."""
    if value and value not in allowed:
        raise BadValue(value)
    return value


def chosen_date(value: str) -> date | None:
    """`None` when empty, the day of `2026-11-23`, else BadValue."""
    if not value:
        return None
    day = parse_date(value)
    if day is None:
        raise BadValue(value)
    return day
