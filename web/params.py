"""Query-string and form values read the same way on every page."""

from __future__ import annotations

from datetime import date


def parse_int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 10 else None


def parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
