"""What reaching habitants costs this month, per paid channel, against the territory's budget.

SMS is paid by the segment, WhatsApp by the conversation (24 hours opened by a message of ours).
Each sent outbox row records what it counted (`Message.units`: Twilio's segment count when it
gives one, ours otherwise; the conversations a WhatsApp message opened) and, when Twilio's status
callback reports it, what Twilio charged (`Message.price`). The month's spend is read from those
rows, so it is what was actually sent, never what was planned.

Configuration (environment, all optional; no budget means no limit):
- `PAROLES_BUDGET_SMS_SEGMENTS`, `PAROLES_BUDGET_WHATSAPP_CONVERSATIONS`: the monthly budget;
- `PAROLES_PRICE_SMS_SEGMENT`, `PAROLES_PRICE_WHATSAPP_CONVERSATION`: a price in euros, to show
  euros where Twilio did not report one;
- `PAROLES_BUDGET_APPROVAL=1`: a campaign whose estimate exceeds what is left waits for a chef de
  projet's approval instead of being refused.

Replies to habitants who write are never held back by the budget (they are the conversation the
habitant started) but they are counted like anything else. Staff see a banner at 80 % and 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bots.prompts import Catalog
from bots.survey_preview import run_segments
from bots.surveys import SurveySpec
from storage.config import ConfigError, Settings
from storage.models import Campaign, Message

Level = Literal["ok", "warning", "exhausted"]
WARNING_AT = 0.8


@dataclass(frozen=True)
class PaidChannel:
    channel: str
    unit: str  # what the budget counts, in English (for code); French names are in web/
    budget_variable: str
    price_variable: str


PAID = {
    "sms": PaidChannel(
        "sms", "segments", "PAROLES_BUDGET_SMS_SEGMENTS", "PAROLES_PRICE_SMS_SEGMENT"
    ),
    "whatsapp": PaidChannel(
        "whatsapp",
        "conversations",
        "PAROLES_BUDGET_WHATSAPP_CONVERSATIONS",
        "PAROLES_PRICE_WHATSAPP_CONVERSATION",
    ),
}


def _number(settings: Settings, name: str, kind: type[int] | type[float]) -> float | None:
    raw = settings.extra.get(name, "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError as error:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from error
    if value < 0:
        raise ConfigError(f"{name} cannot be negative")
    return value


def monthly_budget(settings: Settings, channel: str) -> int | None:
    paid = PAID.get(channel)
    if paid is None:
        return None
    value = _number(settings, paid.budget_variable, int)
    return None if value is None else int(value)


def unit_price(settings: Settings, channel: str) -> float | None:
    paid = PAID.get(channel)
    return None if paid is None else _number(settings, paid.price_variable, float)


def approval_allowed(settings: Settings) -> bool:
    """Whether an over-budget campaign may wait for a chef de projet (else it is refused)."""
    value = settings.extra.get("PAROLES_BUDGET_APPROVAL", "").strip().lower()
    return value in {"1", "true", "yes", "oui"}


def month_start(now: datetime, timezone: str) -> datetime:
    """Midnight on the first of the month, in the territory's time zone, as UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return first.astimezone(UTC)


@dataclass(frozen=True)
class Spend:
    """One paid channel this month: units used, the budget, and euros when they can be told."""

    channel: str
    used: int
    budget: int | None
    euros: float | None
    messages: int

    @property
    def unit(self) -> str:
        return PAID[self.channel].unit

    @property
    def left(self) -> int | None:
        return None if self.budget is None else max(0, self.budget - self.used)

    @property
    def ratio(self) -> float | None:
        if self.budget is None:
            return None
        return 1.0 if self.budget == 0 else self.used / self.budget

    @property
    def level(self) -> Level:
        ratio = self.ratio
        if ratio is None or ratio < WARNING_AT:
            return "ok"
        return "exhausted" if ratio >= 1 else "warning"

    @property
    def percent(self) -> int:
        return int(round((self.ratio or 0) * 100))


def _spend_rows(
    session: Session, since: datetime, group: Iterable[object]
) -> list[tuple[Any, ...]]:
    """Units, the price Twilio reported, units without such a price and messages, per group."""
    priced = Message.price.is_not(None)
    query = (
        select(
            *group,  # type: ignore[call-overload]
            func.coalesce(func.sum(Message.units), 0),
            func.coalesce(func.sum(Message.price), 0.0),
            func.coalesce(func.sum(case((priced, 0), else_=Message.units)), 0),
            func.count(Message.id),
        )
        .where(
            Message.direction == "out",
            Message.channel.in_(list(PAID)),
            Message.units.is_not(None),
            Message.sent_at >= since,
        )
        .group_by(*group)
    )
    return [tuple(row) for row in session.execute(query)]


def _euros(
    settings: Settings, channel: str, reported: float, unpriced: int, has_price: bool
) -> float | None:
    price = unit_price(settings, channel)
    if price is None:
        return reported if has_price else None
    return reported + unpriced * price


def month_spend(
    session: Session, settings: Settings, now: datetime, channels: Iterable[str]
) -> list[Spend]:
    """This month's spend of each paid channel among `channels` (the configured ones)."""
    since = month_start(now, settings.timezone)
    found = {row[0]: row[1:] for row in _spend_rows(session, since, (Message.channel,))}
    spends = []
    for channel in channels:
        if channel not in PAID:
            continue
        used, reported, unpriced, count = found.get(channel, (0, 0.0, 0, 0))
        euros = _euros(settings, channel, float(reported), int(unpriced), unpriced < used)
        spends.append(Spend(channel, int(used), monthly_budget(settings, channel), euros, count))
    return spends


@dataclass(frozen=True)
class CampaignSpend:
    campaign_id: int | None  # None: replies and messages of no campaign
    name: str
    channel: str
    used: int
    euros: float | None
    messages: int


def campaign_spend(session: Session, settings: Settings, now: datetime) -> list[CampaignSpend]:
    """This month's spend per campaign and channel; replies (no campaign) come last."""
    since = month_start(now, settings.timezone)
    rows = _spend_rows(session, since, (Message.campaign_id, Message.channel))
    names = dict(
        session.execute(
            select(Campaign.id, Campaign.name).where(
                Campaign.id.in_([r[0] for r in rows if r[0] is not None])
            )
        ).all()
    )
    spends = [
        CampaignSpend(
            campaign_id,
            names.get(campaign_id, "") if campaign_id is not None else "",
            channel,
            int(used),
            _euros(settings, channel, float(reported), int(unpriced), unpriced < used),
            count,
        )
        for campaign_id, channel, used, reported, unpriced, count in rows
    ]
    spends.sort(key=lambda s: (s.campaign_id is None, -(s.campaign_id or 0), s.channel))
    return spends


@dataclass(frozen=True)
class Check:
    """A campaign's estimate against what is left: the channels it would overrun."""

    needed: Mapping[str, int]
    left: Mapping[str, int | None]
    approval_allowed: bool

    @property
    def over(self) -> dict[str, tuple[int, int]]:
        """`{channel: (needed, left)}` where the estimate exceeds what is left."""
        return {
            channel: (need, left)
            for channel, need in self.needed.items()
            if (left := self.left.get(channel)) is not None and need > left
        }


def needed(
    spec: SurveySpec,
    catalog: Catalog,
    counts: Mapping[tuple[str, str], int],
    left_out: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """The units a campaign would spend: on SMS, the segments of a full run in each habitant's
    language (the longest path, first tries); on WhatsApp, one conversation each (a run fits
    in one). Habitants left out (`bots.routing.left_out`) cost nothing: nothing goes to them."""
    units: dict[str, int] = {}
    per_run: dict[str, int] = {}
    for (channel, language), n in counts.items():
        if channel == "sms":
            if language not in per_run:
                known = language if language in catalog.language_codes() else "fr"
                per_run[language] = run_segments(spec, catalog, known)
            units["sms"] = units.get("sms", 0) + n * per_run[language]
        elif channel == "whatsapp":
            units["whatsapp"] = units.get("whatsapp", 0) + n
    if left_out and "whatsapp" in units:
        units["whatsapp"] = max(0, units["whatsapp"] - sum(left_out.values()))
    return units


def check(session: Session, settings: Settings, units: Mapping[str, int], now: datetime) -> Check:
    """What `units` per channel would leave of this month's budgets."""
    spends = {s.channel: s for s in month_spend(session, settings, now, units)}
    return Check(
        {c: n for c, n in units.items() if c in PAID},
        {c: s.left for c, s in spends.items()},
        approval_allowed(settings),
    )


def alert_level(spends: Iterable[Spend]) -> Level:
    """The worst level among the channels: what the staff banner shows."""
    levels = {s.level for s in spends}
    return "exhausted" if "exhausted" in levels else "warning" if "warning" in levels else "ok"
