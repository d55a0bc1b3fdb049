"""Staff accounts: log in, log out, roles, and the quartier scope of each account."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email

from storage.models import ROLES, Quartier, User
from web import login_manager
from web.db import get_session

bp = Blueprint("auth", __name__, url_prefix="/auth")
F = TypeVar("F", bound=Callable[..., Any])


class StaffUser:
    """What Flask-Login holds for the request: the row's id, role, quartiers and language."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.email = user.email
        self.name = user.name or user.email
        self.role = user.role
        self.language = user.language
        self.quartier_ids = frozenset(q.id for q in user.quartiers)

    def get_id(self) -> str:
        return str(self.id)

    @property
    def sees_all_quartiers(self) -> bool:
        return self.role in ("administrateur", "chef_de_projet", "lecteur")


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    user = get_session().get(User, int(user_id)) if user_id.isdigit() else None
    return StaffUser(user) if user is not None and user.active else None


def hash_password(password: str) -> str:
    """scrypt, Werkzeug's default: a modern memory-hard hash."""
    return generate_password_hash(password)


def create_user(
    db: Any,
    email: str,
    password: str,
    role: str,
    quartier_codes: tuple[str, ...] = (),
    name: str = "",
) -> User:
    """Create a staff account; raises ValueError with a message for the person typing it."""
    email = email.strip().lower()
    if role not in ROLES:
        raise ValueError(f"rôle inconnu : {role} (possibles : {', '.join(ROLES)})")
    if len(password) < 10:
        raise ValueError("le mot de passe doit avoir au moins 10 caractères")
    if db.scalars(select(User).where(User.email == email)).first() is not None:
        raise ValueError(f"un compte existe déjà pour {email}")
    quartiers = []
    for code in quartier_codes:
        quartier = db.scalars(select(Quartier).where(Quartier.code == code)).one_or_none()
        if quartier is None:
            raise ValueError(f"quartier inconnu : {code}")
        quartiers.append(quartier)
    if role == "conseil_citoyen" and not quartiers:
        raise ValueError("un compte conseil citoyen a besoin d'au moins un quartier (--quartier)")
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password),
        role=role,
        quartiers=quartiers,
    )
    db.add(user)
    db.flush()
    return user


def role_required(*roles: str) -> Callable[[F], F]:
    """Allow only these roles; any other logged-in account gets 403."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


class LoginForm(FlaskForm):
    email = EmailField(validators=[DataRequired(), Email()])
    password = PasswordField(validators=[DataRequired()])


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        db = get_session()
        user = db.scalars(select(User).where(User.email == form.email.data.strip().lower())).first()
        if (
            user is not None
            and user.active
            and check_password_hash(user.password_hash, form.password.data)
        ):
            user.last_login_at = datetime.now(UTC)
            db.commit()
            session.clear()
            session.permanent = True
            login_user(StaffUser(user))
            target = request.args.get("next", "")
            if not target.startswith("/") or target.startswith("//"):
                target = url_for("inbox.index")
            return redirect(target)
        flash(_("Adresse ou mot de passe incorrect."), "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
