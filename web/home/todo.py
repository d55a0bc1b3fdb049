""" "À faire": what waits for this account, each item a link to the view where it is done.

Per role, only what it may act on or needs to know: contributions to sort and suggestions to
confirm (who may categorise), habitants' messages waiting for an answer (who may reply),
campaigns waiting for approval (who approves them; a conseil citoyen sees its own waiting),
campaigns closing within seven days, whether messages go out, and what is left of each paid
channel's monthly budget when budgets are set. Every figure is counted in the account's
quartiers, by the same definitions as the inbox's filters (one link away), and each query is
indexed: the page stays fast at 100,000 contributions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import format_datetime
from flask_login import current_user
from sqlalchemy import func, select

from bots import budget, health
from bots.campaigns import AWAITING, LIVE
from bots.channels import configured_channels
from storage.models import Campaign, Contribution
from web.auth import campaign_visible, scoped
from web.db import get_runtime, get_session
from web.suivi import awaiting_answer
from web.theme_state import state_counts

bp = Blueprint("home", __name__)
SOON = timedelta(days=7)


@dataclass(frozen=True)
class Ending:
    campaign: Campaign
    closes: str  # as staff read dates, in the territory's time zone


def index() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if not current_user.can("read"):
        return redirect(url_for("field.index"))  # an intervenant works in the field pages
    now = datetime.now(UTC)
    db = get_session()
    runtime = get_runtime()
    not_archived = Contribution.status != "archive"
    counts = state_counts(db, scoped(select(func.count(Contribution.id)).where(not_archived)))
    waiting = 0
    if current_user.can("reply"):
        waiting = db.scalar(scoped(select(func.count(Contribution.id)).where(awaiting_answer())))
    held = [c for c in _campaigns(Campaign.status == AWAITING) if _sees_hold(c)]
    ending = [
        Ending(c, _local(c.closes_at))
        for c in _campaigns(
            Campaign.status.in_(LIVE),
            Campaign.closes_at.is_not(None),
            Campaign.closes_at >= now,
            Campaign.closes_at < now + SOON,
        )
    ]
    spends = budget.month_spend(db, runtime.settings, now, configured_channels(runtime.settings))
    return render_template(
        "home/todo.html",
        counts=counts,
        waiting=waiting or 0,
        held=held,
        ending=ending,
        health=health.check(runtime, now),
        budgets=[s for s in spends if s.budget is not None],
    )


def _campaigns(*conditions: Any) -> list[Campaign]:
    query = select(Campaign).where(*conditions).order_by(Campaign.closes_at, Campaign.id)
    return [c for c in get_session().scalars(query.limit(50)) if campaign_visible(c)]


def _sees_hold(campaign: Campaign) -> bool:
    """A chef de projet approves any; a conseil citoyen is told about its own that wait."""
    return bool(current_user.can("approve_campaigns")) or campaign.created_by_id == current_user.id


def _local(value: datetime | None) -> str:
    """A date in the territory's time zone (Flask-Babel's), as staff read it."""
    return "" if value is None else str(format_datetime(value, "EEEE d MMMM, HH:mm"))
