"""Record what was heard: one entry per habitant met, from the form or the offline queue.

The page works without JavaScript (a plain form that posts and redirects); with it, each entry
is first saved in the browser and sent when the network allows (`static/field/field.js`). Both
post to the same route, which records each client-made identifier once: JSON callers get
201 (recorded), 200 (already recorded) or 400 with `{"errors": {field: sentence}}`.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, select

from bots.field import Entry, record_entry
from storage.models import Categorisation, Contribution, JoinCode, Theme
from web.audit_log import audit
from web.auth import permission_required
from web.db import end_write, get_runtime, get_session
from web.field import bp
from web.field.forms import ACTION_KINDS, AGE_RANGES, GENDERS, MISSING_TEXT, read_entry, value
from web.field.scope import get_action, get_quartier, my_actions, my_quartiers

MY_ENTRIES = 30


def languages() -> dict[str, str]:
    return {code: lang.name for code, lang in get_runtime().catalog.languages.items()}


def themes() -> list[Theme]:
    return list(
        get_session().scalars(
            select(Theme).where(Theme.active.is_(True)).order_by(Theme.position, Theme.name)
        )
    )


def _wants_json() -> bool:
    return request.is_json


@bp.route("/", methods=["GET"])
@permission_required("field")
def index() -> Any:
    """The entry form; cached by the service worker, so it holds nobody's words."""
    return _entry_page(
        client_id=uuid.uuid4().hex,
        form={},
        errors={},
        chosen_action=request.args.get("action", ""),
        chosen_quartier=request.args.get("quartier", ""),
    )


@bp.route("/entrees", methods=["POST"])
@permission_required("field")
def add_entry() -> Any:
    data: Any = request.get_json(silent=True) if _wants_json() else request.form
    if not isinstance(data, dict) and _wants_json():
        return jsonify({"errors": {"texte": _("Entrée illisible : rien n'a été reçu.")}}), 400
    data = data or {}
    quartier = get_quartier(value(data, "quartier"))
    action = get_action(value(data, "action"))
    form, errors = read_entry(data, languages(), {t.code for t in themes()})
    if form is None:
        if _wants_json():
            return jsonify({"errors": errors}), 400
        return _form_again(data, errors)
    end_write()
    recorded = record_entry(
        get_runtime(),
        Entry(
            client_id=form.client_id,
            text=form.text,
            quartier_id=quartier.id,
            intervenant_id=current_user.id,
            at=datetime.now(UTC),
            action_id=action.id if action else None,
            action_code=action.code if action else None,
            language=form.language,
            theme_code=form.theme_code,
            age_range=form.age_range,
            gender=form.gender,
            phone=form.phone,
        ),
    )
    if _wants_json():
        status = "duplicate" if recorded.duplicate else "recorded"
        body = {"status": status, "invited": recorded.invited}
        return jsonify(body), 200 if recorded.duplicate else 201
    if recorded.duplicate:
        flash(_("Cette entrée était déjà enregistrée."), "status")
    else:
        flash(_("Entrée enregistrée. Merci !"), "status")
        if recorded.invited:
            flash(
                _("Un SMS demande son accord à la personne ; rien d'autre avant son oui."), "status"
            )
    return redirect(
        url_for("field.index", action=action.id if action else "", quartier=quartier.id)
    )


def _form_again(data: Any, errors: dict[str, str]) -> tuple[str, int]:
    page = _entry_page(
        client_id=value(data, "client_id") or uuid.uuid4().hex,
        form={k: value(data, k) for k in data},
        errors=errors,
        chosen_action=value(data, "action"),
        chosen_quartier=value(data, "quartier"),
    )
    return page, 400


def _entry_page(**state: Any) -> str:
    """The entry form with the intervenant's lists; ``state``: the form's own values."""
    return render_template(
        "field/index.html",
        quartiers=my_quartiers(),
        actions=my_actions(),
        languages=languages(),
        themes=themes(),
        ages=AGE_RANGES,
        genders=GENDERS,
        kinds=ACTION_KINDS,
        missing=MISSING_TEXT,
        **state,
    )


@bp.route("/actions", methods=["POST"])
@permission_required("field")
def add_action() -> Any:
    """A new action (a join code) in one of the account's quartiers: porte-à-porte, stand..."""
    quartier = get_quartier(request.form.get("quartier"))
    kind = request.form.get("type", "")
    label = request.form.get("libelle", "").strip()[:150]
    if kind not in ACTION_KINDS:
        flash(_("Choisissez le type d'action."), "error")
        return redirect(url_for("field.index", quartier=quartier.id)), 303
    db = get_session()
    today = datetime.now(UTC).strftime("%Y%m%d")
    slug = re.sub(r"[^a-z0-9]+", "-", quartier.code.lower()).strip("-")[:20] or "qp"
    code = f"{kind.replace('_', '-')}-{slug}-{today}-{secrets.token_hex(2)}"
    name = str(ACTION_KINDS[kind]) + (f" : {label}" if label else "")
    action = JoinCode(code=code, quartier_id=quartier.id, action=name[:200])
    db.add(action)
    db.flush()
    audit(db, current_user.id, "field_action", code, quartier=quartier.code)
    db.commit()
    flash(_("Action créée : %(name)s (code %(code)s).", name=name, code=code), "status")
    return redirect(url_for("field.index", action=action.id, quartier=quartier.id)), 303


@bp.route("/mes-entrees", methods=["GET"])
@permission_required("field")
def mine() -> Any:
    """The account's own latest entries (never other people's): what they wrote down."""
    db = get_session()
    rows = db.execute(
        select(Contribution, JoinCode.action)
        .outerjoin(JoinCode, JoinCode.id == Contribution.action_id)
        .where(Contribution.intervenant_id == current_user.id, Contribution.kind == "free")
        .order_by(Contribution.id.desc())
        .limit(MY_ENTRIES)
    ).all()
    # The thème each entry was given (by the intervenant or the team), else the one the model
    # suggested since (`source == "suggestion"`), which one tap confirms.
    given: dict[int, tuple[str, str, str]] = {}
    for contribution_id, code, name, source in db.execute(
        select(Categorisation.contribution_id, Theme.code, Theme.name, Categorisation.source)
        .join(Theme, Theme.id == Categorisation.theme_id)
        .where(
            Categorisation.contribution_id.in_([row[0].id for row in rows]),
            Categorisation.source.in_(("staff", "suggestion")),
        )
        .order_by(
            case((Categorisation.source == "staff", 0), else_=1),
            Categorisation.confidence.desc(),
            Categorisation.id,
        )
    ):
        given.setdefault(contribution_id, (code, name, source))
    response = make_response(
        render_template("field/mine.html", rows=rows, themes=given, choices=themes())
    )
    response.headers["Cache-Control"] = "no-store"  # never kept by the offline worker
    return response


@bp.route("/mes-entrees/<int:contribution_id>/theme", methods=["POST"])
@permission_required("field")
def choose_theme(contribution_id: int) -> Any:
    """One tap: the thème the model suggested for one of the account's own entries (or another
    one chosen instead), as a human's thème like the team's. 404 unknown, 403 someone else's."""
    db = get_session()
    contribution = db.get(Contribution, contribution_id)
    if contribution is None or contribution.kind != "free":
        abort(404)
    if contribution.intervenant_id != current_user.id:
        abort(403)
    theme = db.scalars(
        select(Theme).where(Theme.code == value(request.form, "theme"), Theme.active.is_(True))
    ).one_or_none()
    if theme is None:
        abort(400)
    chosen = db.scalars(
        select(Categorisation.id).where(
            Categorisation.contribution_id == contribution.id, Categorisation.source == "staff"
        )
    ).first()
    if chosen is not None:
        flash(_("Cette entrée a déjà un thème choisi."), "status")
        return redirect(url_for("field.mine"), 303)
    db.add(
        Categorisation(
            contribution_id=contribution.id,
            theme_id=theme.id,
            source="staff",
            user_id=current_user.id,
            created_at=datetime.now(UTC),
        )
    )
    audit(db, current_user.id, "theme.confirm", f"contribution:{contribution.id}", theme=theme.code)
    db.commit()
    flash(_("Thème « %(name)s » enregistré.", name=theme.name), "success")
    return redirect(url_for("field.mine"), 303)
