"""What an account may reach in the field: its quartiers, their actions, their campaigns.

Each `get_*` helper aborts with 404 when the thing does not exist and 403 when it exists outside
the account's scope: an intervenant learns nothing more than "not yours".
"""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from storage.models import Campaign, JoinCode, Quartier
from web.db import get_session


def my_quartiers() -> list[Quartier]:
    query = select(Quartier).order_by(Quartier.name)
    if not current_user.sees_all_quartiers:
        query = query.where(Quartier.id.in_(current_user.quartier_ids))
    return list(get_session().scalars(query))


def get_quartier(value: Any) -> Quartier:
    """The quartier named by a form value (its id): 404 if unknown, 403 outside the scope."""
    text = str(value or "").strip()
    quartier = get_session().get(Quartier, int(text)) if text.isdigit() else None
    if quartier is None:
        abort(404)
    if not current_user.sees_all_quartiers and quartier.id not in current_user.quartier_ids:
        abort(403)
    return quartier


def my_actions() -> list[JoinCode]:
    """Active join codes of the account's quartiers (all of them for the team)."""
    query = select(JoinCode).where(JoinCode.active.is_(True)).order_by(JoinCode.code)
    if not current_user.sees_all_quartiers:
        query = query.where(JoinCode.quartier_id.in_(current_user.quartier_ids))
    return list(get_session().scalars(query))


def get_action(value: Any) -> JoinCode | None:
    """The action named by a form value, None when none is given; 404 unknown, 403 outside."""
    text = str(value or "").strip()
    if not text:
        return None
    action = get_session().get(JoinCode, int(text)) if text.isdigit() else None
    if action is None:
        abort(404)
    if not current_user.sees_all_quartiers and action.quartier_id not in current_user.quartier_ids:
        abort(403)
    return action


def campaign_in_scope(campaign: Campaign) -> bool:
    """A campaign the account may run in the field: running, and aimed at one of its quartiers
    (or at everyone) — the campaigns page's rule, plus "everyone" for the field."""
    if campaign.status != "running":
        return False
    if current_user.sees_all_quartiers:
        return True
    targeted = set(campaign.target.get("quartiers", ()))
    return not targeted or bool(targeted & _my_codes())


def quartier_in_campaign(campaign: Campaign, quartier: Quartier) -> bool:
    targeted = set(campaign.target.get("quartiers", ()))
    return not targeted or quartier.code in targeted


def my_campaigns() -> list[Campaign]:
    rows = get_session().scalars(
        select(Campaign).where(Campaign.status == "running").order_by(Campaign.id.desc())
    )
    return [c for c in rows if campaign_in_scope(c)]


def get_campaign(campaign_id: int) -> Campaign:
    """A running campaign of the account's scope: 404 unknown, 403 outside or not running."""
    campaign = get_session().get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    if not campaign_in_scope(campaign):
        abort(403)
    return campaign


def _my_codes() -> set[str]:
    return {q.code for q in my_quartiers()}
