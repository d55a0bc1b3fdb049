"""Staff accounts in the back-office: the administrateur manages them; everyone manages their
own language and password. Every change of account is written to the audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.security import check_password_hash

from storage.models import ROLES, Quartier, User
from web import LANGUAGES
from web.audit_log import audit
from web.auth import (
    ROLE_LABELS,
    check_new_password,
    create_user,
    hash_password,
    permission_required,
)
from web.db import get_session

bp = Blueprint("accounts", __name__, url_prefix="/comptes")


@bp.route("/", methods=["GET", "POST"])
@permission_required("manage_accounts")
def index() -> Any:
    db = get_session()
    if request.method == "POST":
        codes = tuple(_quartier_codes(request.form.getlist("quartiers")))
        try:
            user = create_user(
                db,
                request.form.get("email", ""),
                request.form.get("password", ""),
                request.form.get("role", ""),
                codes,
                request.form.get("name", "").strip()[:200],
            )
        except ValueError as error:
            flash(str(error), "error")
        else:
            audit(db, current_user.id, "account.create", f"user:{user.id}", role=user.role)
            db.commit()
            flash(_("Compte créé pour %(email)s.", email=user.email), "success")
            return redirect(url_for("accounts.index"))
    users = db.scalars(select(User).order_by(User.email))
    return render_template(
        "admin/accounts.html", users=list(users), roles=ROLE_LABELS, quartiers=_quartiers()
    )


def _quartiers() -> list[Quartier]:
    return list(get_session().scalars(select(Quartier).order_by(Quartier.name)))


def _quartier_codes(ids: list[str]) -> list[str]:
    wanted = [int(i) for i in ids if i.isdigit()]
    return list(get_session().scalars(select(Quartier.code).where(Quartier.id.in_(wanted))))


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@permission_required("manage_accounts")
def edit(user_id: int) -> Any:
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    if request.method == "POST":
        role = request.form.get("role", "")
        wanted = {int(i) for i in request.form.getlist("quartiers") if i.isdigit()}
        quartiers = list(db.scalars(select(Quartier).where(Quartier.id.in_(wanted))))
        active = request.form.get("active") == "on"
        if role not in ROLES:
            abort(400)
        if role == "conseil_citoyen" and not quartiers:
            flash(_("Un compte conseil citoyen a besoin d'au moins un quartier."), "error")
        elif user.id == current_user.id and (role != "administrateur" or not active):
            flash(_("Vous ne pouvez pas retirer vos propres droits d'administrateur."), "error")
        else:
            before = {"role": user.role, "active": user.active, "quartiers": _codes(user)}
            user.role, user.active, user.quartiers = role, active, quartiers
            after = {"role": role, "active": active, "quartiers": _codes(user)}
            audit(
                db, current_user.id, "account.update", f"user:{user.id}", before=before, after=after
            )
            db.commit()
            flash(_("Compte enregistré."), "success")
            return redirect(url_for("accounts.index"))
    return render_template(
        "admin/account_edit.html", user=user, roles=ROLE_LABELS, quartiers=_quartiers()
    )


def _codes(user: User) -> list[str]:
    return sorted(q.code for q in user.quartiers)


@bp.route("/moi", methods=["GET", "POST"])
@login_required
def me() -> Any:
    """The account's own language and password (the current password is asked again)."""
    db = get_session()
    user = db.get(User, current_user.id)
    assert user is not None
    if request.method == "POST":
        language = request.form.get("language", "")
        if language in LANGUAGES:
            user.language = language
        new = request.form.get("new_password", "")
        if new:
            try:
                check_new_password(new)
                if not check_password_hash(user.password_hash, request.form.get("password", "")):
                    raise ValueError(_("Le mot de passe actuel n'est pas le bon."))
            except ValueError as error:
                db.rollback()
                flash(str(error), "error")
                return redirect(url_for("accounts.me"))
            user.password_hash = hash_password(new)
            audit(db, current_user.id, "account.update", f"user:{user.id}", password=True)
        db.commit()
        flash(
            _("Préférences enregistrées.") if language != "en" else "Preferences saved.", "success"
        )
        return redirect(url_for("accounts.me"))
    return render_template("admin/account_me.html", user=user, languages=LANGUAGES)
