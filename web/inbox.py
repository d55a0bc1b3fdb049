"""The inbox: contributions newest first, within the quartiers the account may see."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from storage.models import Categorisation, Contribution
from web.db import get_session

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
PAGE_SIZE = 50


def home() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    return redirect(url_for("auth.login"))


def scoped(query: Select[Any]) -> Select[Any]:
    """Limit a contributions query to the quartiers of the current account."""
    if current_user.sees_all_quartiers:
        return query
    return query.where(Contribution.quartier_id.in_(current_user.quartier_ids))


@bp.route("/")
@login_required
def index() -> Any:
    db = get_session()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = scoped(select(Contribution)).order_by(
        Contribution.created_at.desc(), Contribution.id.desc()
    )
    total = db.scalar(scoped(select(func.count(Contribution.id))))
    contributions = db.scalars(
        query.options(
            selectinload(Contribution.categorisations).selectinload(Categorisation.theme),
            selectinload(Contribution.quartier),
        )
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template(
        "inbox/index.html", contributions=contributions, page=page, total=total, page_size=PAGE_SIZE
    )
