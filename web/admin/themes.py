"""The thèmes of the contrat de ville, managed by the team (seeded from `prompts/themes.toml`).

At most `MAX_OFFERED` active thèmes are offered to habitants: a phone menu longer than that is
not read. Every change is written to the audit log. Colours reach the pages through a small
generated stylesheet, because the Content-Security-Policy forbids inline styles.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from storage.models import Theme
from web.audit_log import audit
from web.auth import permission_required
from web.db import get_session

bp = Blueprint("themes", __name__, url_prefix="/themes")
MAX_OFFERED = 6
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,58}$")


@bp.route("/")
@permission_required("manage_themes")
def index() -> Any:
    rows = get_session().scalars(select(Theme).order_by(Theme.position, Theme.name))
    return render_template("admin/themes.html", themes=list(rows), max_offered=MAX_OFFERED)


@bp.route("/nouveau", methods=["GET", "POST"])
@permission_required("manage_themes")
def create() -> Any:
    db = get_session()
    theme = Theme(code="", name="", colour="#5a6b7b", active=True, labels={}, keywords=[])
    if request.method == "POST":
        code = request.form.get("code", "").strip().lower()
        if not CODE.match(code):
            flash(_("Le code : lettres minuscules, chiffres et tirets (ex. sante-acces)."), "error")
        elif db.scalars(select(Theme.id).where(Theme.code == code)).first() is not None:
            flash(_("Ce code existe déjà."), "error")
        else:
            theme.code = code
            theme.position = (db.scalar(select(func.max(Theme.position))) or 0) + 1
            if _update_from_form(theme):
                db.add(theme)
                db.flush()
                audit(db, current_user.id, "theme_def.create", f"theme:{code}", **_snapshot(theme))
                db.commit()
                flash(_("Thème ajouté."), "success")
                return redirect(url_for("themes.index"))
    return render_template("admin/theme_edit.html", theme=theme, new=True, max_offered=MAX_OFFERED)


@bp.route("/<int:theme_id>", methods=["GET", "POST"])
@permission_required("manage_themes")
def edit(theme_id: int) -> Any:
    db = get_session()
    theme = db.get(Theme, theme_id)
    if theme is None:
        abort(404)
    if request.method == "POST":
        before = _snapshot(theme)
        if _update_from_form(theme):
            after = _snapshot(theme)
            changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
            audit(db, current_user.id, "theme_def.update", f"theme:{theme.code}", changed=changed)
            db.commit()
            flash(_("Thème enregistré."), "success")
            return redirect(url_for("themes.index"))
        db.rollback()
    return render_template("admin/theme_edit.html", theme=theme, new=False, max_offered=MAX_OFFERED)


def _snapshot(theme: Theme) -> dict[str, Any]:
    return {
        "name": theme.name,
        "description": theme.description,
        "keywords": list(theme.keywords),
        "colour": theme.colour,
        "active": theme.active,
        "offered_to_habitants": theme.offered_to_habitants,
        "label_en": (theme.labels or {}).get("en", ""),
    }


def _update_from_form(theme: Theme) -> bool:
    """Copy the form into `theme`; flash what is wrong and return False if anything is."""
    form = request.form
    name = form.get("name", "").strip()[:200]
    colour = form.get("colour", "").strip()
    offered = form.get("offered") == "on"
    active = form.get("active") == "on"
    errors = []
    if not name:
        errors.append(_("Donnez un nom au thème."))
    if not COLOUR.match(colour):
        errors.append(_("La couleur s'écrit #rrggbb."))
    if offered and active and _offered_elsewhere(theme) >= MAX_OFFERED:
        errors.append(
            _("Au plus %(n)d thèmes sont proposés aux habitants : retirez-en un.", n=MAX_OFFERED)
        )
    for error in errors:
        flash(error, "error")
    if errors:
        return False
    theme.name = name
    theme.description = form.get("description", "").strip()[:2000]
    theme.keywords = [k.strip() for k in form.get("keywords", "").split(",") if k.strip()][:50]
    theme.colour = colour.lower()
    theme.active = active
    theme.offered_to_habitants = offered
    labels = dict(theme.labels or {})
    labels["fr"] = form.get("label_fr", "").strip()[:60] or name
    english = form.get("label_en", "").strip()[:200]
    if english:
        labels["en"] = english
    else:
        labels.pop("en", None)
    theme.labels = labels
    return True


def _offered_elsewhere(theme: Theme) -> int:
    query = select(func.count(Theme.id)).where(
        Theme.active.is_(True), Theme.offered_to_habitants.is_(True)
    )
    if theme.id is not None:
        query = query.where(Theme.id != theme.id)
    return get_session().scalar(query) or 0


@bp.route("/couleurs.css")
@permission_required("read")
def colours() -> Response:
    """One class per thème, `.theme-<id>`, with its colour (validated again on the way out)."""
    rows = get_session().execute(select(Theme.id, Theme.colour))
    css = "".join(
        f".theme-{row.id}{{border-left-color:{row.colour}}}\n"
        for row in rows
        if COLOUR.match(row.colour or "")
    )
    return Response(css, mimetype="text/css", headers={"Cache-Control": "private, max-age=60"})
