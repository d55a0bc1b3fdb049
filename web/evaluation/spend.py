"""What reaching habitants cost this month: the tableau de bord's spend section and the banner.

The figures come from `bots.budget` (what was actually sent). The tableau de bord shows them per
paid channel and per campaign to staff who see the whole territory (campaign names are not a
conseil citoyen's business outside its quartiers); every logged-in staff member sees a banner
once a channel has used 80 % of its monthly budget, and another at 100 %, like the health banner
(`web/admin/health.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Session

from bots import budget
from bots.channels import configured_channels
from web.db import get_runtime, get_session

bp = Blueprint("spend", __name__)

UNITS = {"sms": _l("segments SMS"), "whatsapp": _l("conversations WhatsApp")}


def euros(value: float | None) -> str:
    return "" if value is None else f"{value:.2f} €".replace(".", ",")


@dataclass(frozen=True)
class MonthSpend:
    channels: list[budget.Spend]
    campaigns: list[budget.CampaignSpend]
    since: str  # the first of the month, as staff read dates


def month_spend(db: Session, now: datetime) -> MonthSpend:
    """The paid channels this deployment sends on, and any other that spent this month."""
    settings = get_runtime().settings
    configured = configured_channels(settings)
    spends = budget.month_spend(db, settings, now, budget.PAID)
    return MonthSpend(
        [s for s in spends if s.channel in configured or s.messages],
        budget.campaign_spend(db, settings, now),
        str(
            format_date(
                now.astimezone(ZoneInfo(settings.timezone)).date().replace(day=1), "d MMMM y"
            )
        ),
    )


@bp.app_context_processor
def _banner() -> dict[str, Any]:
    def budget_alerts() -> list[budget.Spend]:
        """The paid channels at 80 % of their budget or more; for logged-in staff only."""
        if not current_user.is_authenticated:
            return []
        settings = get_runtime().settings
        spends = budget.month_spend(
            get_session(), settings, datetime.now(UTC), configured_channels(settings)
        )
        return [s for s in spends if s.level != "ok"]

    return {"budget_alerts": budget_alerts, "budget_units": UNITS}
