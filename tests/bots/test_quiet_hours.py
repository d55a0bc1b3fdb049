"""Quiet hours: 09:00-20:00 Europe/Paris, no Sundays, no French public holidays."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bots.quiet_hours import is_quiet, next_open

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (paris(2026, 11, 23, 9, 0), False),  # Monday, opening
        (paris(2026, 11, 23, 8, 59), True),
        (paris(2026, 11, 23, 19, 59), False),
        (paris(2026, 11, 23, 20, 0), True),  # closing is exclusive
        (paris(2026, 11, 28, 10, 0), False),  # Saturday morning is fine
        (paris(2026, 11, 29, 12, 0), True),  # Sunday
        (paris(2026, 7, 14, 11, 0), True),  # Fête nationale, a Tuesday
        (paris(2026, 4, 6, 11, 0), True),  # Easter Monday
        (paris(2026, 5, 25, 11, 0), True),  # Pentecost Monday
        (paris(2026, 12, 25, 11, 0), True),
    ],
)
def test_is_quiet(moment: datetime, quiet: bool) -> None:
    assert is_quiet(moment.astimezone(UTC)) is quiet


def test_the_window_follows_paris_time_across_daylight_saving() -> None:
    # 08:30 UTC is 09:30 in Paris in winter, 10:30 in summer: open both times.
    assert not is_quiet(datetime(2026, 1, 12, 8, 30, tzinfo=UTC))
    assert not is_quiet(datetime(2026, 7, 13, 8, 30, tzinfo=UTC))
    # 07:30 UTC is 08:30 in winter (quiet) but 09:30 in summer (open).
    assert is_quiet(datetime(2026, 1, 12, 7, 30, tzinfo=UTC))
    assert not is_quiet(datetime(2026, 7, 13, 7, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("moment", "opens"),
    [
        (paris(2026, 11, 23, 10, 0), paris(2026, 11, 23, 10, 0)),  # open: now
        (paris(2026, 11, 23, 6, 0), paris(2026, 11, 23, 9, 0)),  # early: this morning
        (paris(2026, 11, 23, 21, 0), paris(2026, 11, 24, 9, 0)),  # evening: tomorrow
        (paris(2026, 11, 28, 20, 30), paris(2026, 11, 30, 9, 0)),  # Saturday night: Monday
        (paris(2026, 4, 4, 20, 30), paris(2026, 4, 7, 9, 0)),  # Easter weekend: Tuesday
        (paris(2026, 12, 31, 22, 0), paris(2027, 1, 2, 9, 0)),  # New Year's Day skipped
        (paris(2026, 3, 29, 1, 0), paris(2026, 3, 30, 9, 0)),  # the night clocks go forward
    ],
)
def test_next_open(moment: datetime, opens: datetime) -> None:
    found = next_open(moment.astimezone(UTC))
    assert found == opens.astimezone(UTC)
    assert found.tzinfo is not None and not is_quiet(found)


def test_other_timezone() -> None:
    # 10:00 in Paris is 05:00 in Martinique... and 11:00 in La Réunion (UTC+4) is open.
    moment = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert is_quiet(moment, "America/Martinique")
    assert not is_quiet(moment, "Indian/Reunion")
