"""Quiet hours: when campaign messages may not go out.

By default a campaign writes to habitants only from 09:00 to 20:00 (Europe/Paris), Monday to
Saturday, and never on a French public holiday (the maintained `holidays` package knows them,
Easter Monday and Pentecost included). French operators filter marketing-routed SMS outside
such hours anyway, and nobody likes a survey at 22:00.

Quiet hours only hold *campaign* messages (invitations, reminders), and only those of a campaign
that does not allow them. They wait, they are not dropped: the campaign jobs simply do nothing
until the window opens, and the outbox leaves such rows pending. A reply to a habitant who is
writing right now is never held.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

OPENS = time(9, 0)
CLOSES = time(20, 0)
DEFAULT_TIMEZONE = "Europe/Paris"


@cache
def _french_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("FR", years=year)


def is_rest_day(day: date) -> bool:
    """Sunday or a French public holiday."""
    return day.weekday() == 6 or day in _french_holidays(day.year)


def is_quiet(now: datetime, timezone: str = DEFAULT_TIMEZONE) -> bool:
    """Whether a campaign message must wait at `now` (an aware datetime)."""
    local = now.astimezone(ZoneInfo(timezone))
    if is_rest_day(local.date()):
        return True
    return not (OPENS <= local.time() < CLOSES)


def next_open(now: datetime, timezone: str = DEFAULT_TIMEZONE) -> datetime:
    """The first moment at or after `now` when campaign messages may go out (in UTC)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if not is_quiet(now, timezone):
        return now
    day = local.date()
    if local.time() >= OPENS:
        day += timedelta(days=1)
    while is_rest_day(day):
        day += timedelta(days=1)
    # 09:00 exists every day in Europe/Paris: clocks change at 02:00 and 03:00.
    return datetime.combine(day, OPENS, tzinfo=zone).astimezone(UTC)
