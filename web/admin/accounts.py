"""Staff accounts in the back-office: the administrateur manages them; everyone manages their
own language and password. Every change of account is written to the audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.security import check_password_hash

from storage.models import ROLES, Quartier, User
from web import LANGUAGES
from web.audit_log import audit
from web.auth import (
    ROLE_LABELS,
    SCOPED_ROLES,
    AccountError,
    check_new_password,
    create_user,
    end_sessions,
    hash_password,
    keep_this_session,
    login_required,
    permission_required,
)
from web.db import get_session

bp = Blueprint("accounts", __name__, url_prefix="/comptes")


@bp.route("/", methods=["GET", "POST"])
@permission_required("manage_accounts")
def index() -> Any:
    db = get_session()
    errors: dict[str, list[str]] = {}
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
        except AccountError as error:
            db.rollback()
            errors = {error.field: [str(error)]}
        else:
            audit(db, current_user.id, "account.create", f"user:{user.id}", role=user.role)
            db.commit()
            flash(_("Compte créé pour %(email)s.", email=user.email), "success")
            return redirect(url_for("accounts.index"))
    users = db.scalars(select(User).order_by(User.email))
    return render_template(
        "admin/accounts.html",
        users=list(users),
        roles=ROLE_LABELS,
        quartiers=_quartiers(),
        errors=errors,
        form=request.form,
    ), (422 if errors else 200)


def _quartiers() -> list[Quartier]:
    return list(get_session().scalars(select(Quartier).order_by(Quartier.name)))


def _quartier_codes(ids: list[str]) -> list[str]:
    wanted = [int(i) for i in ids if i.isdigit()]
    return list(get_session().scalars(select(Quartier.code).where(Quartier.id.in_(wanted))))


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@permission_required("manage_accounts")
def edit(user_id: int) -> Any:
    db = get_session()
    user = _get_user(user_id)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        role = request.form.get("role", "")
        wanted = {int(i) for i in request.form.getlist("quartiers") if i.isdigit()}
        quartiers = list(db.scalars(select(Quartier).where(Quartier.id.in_(wanted))))
        active = request.form.get("active") == "on"
        if role not in ROLES:
            abort(400)
        if role in SCOPED_ROLES and not quartiers:
            errors["quartiers"] = [
                _("Un compte conseil citoyen ou intervenant a besoin d'au moins un quartier.")
            ]
        elif user.id == current_user.id and (role != "administrateur" or not active):
            field = "role" if role != "administrateur" else "active"
            errors[field] = [_("Vous ne pouvez pas retirer vos propres droits d'administrateur.")]
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
        "admin/account_edit.html",
        user=user,
        roles=ROLE_LABELS,
        quartiers=_quartiers(),
        errors=errors,
    ), (422 if errors else 200)


@bp.route("/<int:user_id>/sessions", methods=["POST"])
@permission_required("manage_accounts")
def end_member_sessions(user_id: int) -> Any:
    """Log the member out everywhere (a lost phone, a shared computer, someone leaving)."""
    db = get_session()
    user = _get_user(user_id)
    end_sessions(db, user)
    if user.id == current_user.id:
        keep_this_session(user)  # the administrateur's other devices go, this page stays
    audit(db, current_user.id, "account.end_sessions", f"user:{user.id}")
    db.commit()
    flash(_("Toutes les sessions de %(email)s sont fermées.", email=user.email), "success")
    return redirect(url_for("accounts.edit", user_id=user.id))


def _get_user(user_id: int) -> User:
    """The account, or 404."""
    user = get_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


def _codes(user: User) -> list[str]:
    return sorted(q.code for q in user.quartiers)


@bp.route("/moi", methods=["GET", "POST"])
@login_required
def me() -> Any:
    """The account's own language and password (the current password is asked again)."""
    db = get_session()
    user = db.get(User, current_user.id)
    assert user is not None
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        language = request.form.get("language", "")
        if language in LANGUAGES:
            user.language = language
        new = request.form.get("new_password", "")
        if new:
            try:
                if not check_password_hash(user.password_hash, request.form.get("password", "")):
                    raise AccountError("password", _("Le mot de passe actuel n'est pas le bon."))
                check_new_password(new)
            except AccountError as error:
                db.rollback()
                errors = {error.field: [str(error)]}
                return render_template(
                    "admin/account_me.html", user=user, languages=LANGUAGES, errors=errors
                ), 422
            user.password_hash = hash_password(new)
            # A new password ends every other session of the account (a stolen cookie with it).
            end_sessions(db, user)
            keep_this_session(user)
            audit(db, current_user.id, "account.update", f"user:{user.id}", password=True)
        db.commit()
        flash(
            _("Préférences enregistrées.") if language != "en" else "Preferences saved.", "success"
        )
        return redirect(url_for("accounts.me"))
    return render_template("admin/account_me.html", user=user, languages=LANGUAGES, errors=errors)
