"""Staff accounts: log in, log out, roles, what each role may do, and the quartier scope.

Every view states what it needs with `permission_required(...)`; the check runs on the server
for every request. Sessions expire after `SESSION_IDLE_SECONDS` without activity and
`SESSION_MAX_SECONDS` after login, whatever the browser does with its cookie. Failed logins are
counted in the database (per address and per IP), so the limit holds across gunicorn workers.
"""

from __future__ import annotations

import functools
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import flask_login
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import ColumnElement, Select, delete, func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, Field, PasswordField
from wtforms.validators import InputRequired, StopValidation

from storage.models import (
    ROLES,
    Campaign,
    Categorisation,
    Contribution,
    LoginAttempt,
    Quartier,
    Survey,
    User,
)
from web import login_manager
from web.db import get_runtime, get_session

bp = Blueprint("auth", __name__, url_prefix="/auth")
F = TypeVar("F", bound=Callable[..., Any])


def login_required(view: F) -> F:
    """Flask-Login's decorator with its type kept (Flask-Login ships no type hints)."""
    return cast(F, flask_login.login_required(view))


ROLE_LABELS = {
    "administrateur": _l("Administrateur"),
    "chef_de_projet": _l("Chef de projet"),
    "conseil_citoyen": _l("Conseil citoyen"),
    "lecteur": _l("Lecteur"),
    "intervenant": _l("Intervenant (terrain)"),
}
# Everyone but the intervenant, who sees the field pages and their own entries, nothing else.
STAFF_ROLES = frozenset(ROLES) - {"intervenant"}

# What each role may do. Reading is scoped to the account's quartiers for conseils citoyens.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": STAFF_ROLES,
    "export": STAFF_ROLES,
    "categorise": frozenset({"administrateur", "chef_de_projet", "conseil_citoyen"}),
    "reply": frozenset({"administrateur", "chef_de_projet"}),
    "manage_themes": frozenset({"administrateur", "chef_de_projet"}),
    "manage_templates": frozenset({"administrateur", "chef_de_projet"}),
    "manage_accounts": frozenset({"administrateur"}),
    "read_audit": frozenset({"administrateur"}),
    "manage_surveys": frozenset({"administrateur", "chef_de_projet", "conseil_citoyen"}),
    "launch_campaigns": frozenset({"administrateur", "chef_de_projet", "conseil_citoyen"}),
    "approve_campaigns": frozenset({"administrateur", "chef_de_projet"}),
    "manage_join_codes": frozenset({"administrateur", "chef_de_projet", "conseil_citoyen"}),
    # Donner suite: publishing results, keeping engagements, seeing exact small counts.
    "publish_results": frozenset({"administrateur", "chef_de_projet"}),
    "manage_engagements": frozenset({"administrateur", "chef_de_projet"}),
    "exact_counts": frozenset({"administrateur", "chef_de_projet"}),
    # The report (/rapport/): saving and deleting the named models everyone may regenerate.
    "manage_reports": frozenset({"administrateur", "chef_de_projet"}),
    # Personal data in texts: masked for everyone; only these see one original, journaled.
    "reveal_personal_data": frozenset({"administrateur", "chef_de_projet"}),
    "mark_personal_data": frozenset({"administrateur", "chef_de_projet", "conseil_citoyen"}),
    # A participant's own data (RGPD art. 15, 17, 20): found one at a time, never listed.
    "manage_participants": frozenset({"administrateur"}),
    # The field pages (/terrain/): record what was heard, a survey face to face, paper sheets.
    "field": frozenset({"administrateur", "chef_de_projet", "conseil_citoyen", "intervenant"}),
}
# Roles that must name their quartiers, and only ever see those.
SCOPED_ROLES = frozenset({"conseil_citoyen", "intervenant"})

_URL_IGNORED = re.compile(r"[\t\n\r]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 20
DEFAULT_IDLE_SECONDS = 2 * 3600
DEFAULT_MAX_SECONDS = 12 * 3600
GENERATION_KEY = "auth_generation"


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
        return self.role not in SCOPED_ROLES

    @property
    def role_label(self) -> str:
        return str(ROLE_LABELS.get(self.role, self.role))

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


def load_user(user_id: str) -> StaffUser | None:
    """Reloaded on every request: a deactivated account or a new role takes effect at once."""
    # Its own short session: the request's session must not be opened before the view decides
    # whether it writes (a view may hand work to the bots, which write in their own transaction).
    if not user_id.isdigit():
        return None
    with get_runtime().sessions() as db:
        user = db.get(User, int(user_id))
        if user is None or not user.active:
            return None
        if session.get(GENERATION_KEY, 0) != user.session_generation:
            return None  # a session of before a logout, a new password or "end sessions"
        return StaffUser(user)


login_manager.user_loader(load_user)


def end_sessions(db: Any, user: User) -> None:
    """End every session of this account, on every device, at its next request.

    Sessions live in signed cookies the server does not keep, so a copied cookie would outlive
    a logout; each one carries the account's generation, and a new generation refuses them all.
    """
    user.session_generation += 1


def keep_this_session(user: User) -> None:
    """After `end_sessions`, let the request's own session go on (a password just changed)."""
    session[GENERATION_KEY] = user.session_generation


def hash_password(password: str) -> str:
    """scrypt, Werkzeug's default: a modern memory-hard hash."""
    return generate_password_hash(password)


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password, made like a real one, checked when the address is unknown."""
    return hash_password(secrets.token_urlsafe(24))


class AccountError(ValueError):
    """A refused account value; `field` names the form field the message is shown next to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_email(value: str) -> str:
    """The address as it is stored and looked up, or AccountError("email", why not).

    The one rule for `paroles users add`, the Comptes page and the login form: a syntactically
    valid address (email-validator, without asking the DNS) outside the special-use domains
    (.test, .local, .invalid, .localhost, .onion, .arpa), which can never receive mail. Lower
    case, so `Chef@Ville.fr` and `chef@ville.fr` are one account.
    """
    value = value.strip()
    if not value:
        raise AccountError("email", _("Indiquez une adresse e-mail."))
    domain = value.rpartition("@")[2].rstrip(".").lower()
    if any(domain == name or domain.endswith("." + name) for name in SPECIAL_USE_DOMAIN_NAMES):
        raise AccountError(
            "email",
            _(
                "Le domaine « %(domain)s » est réservé et ne reçoit pas de courrier : "
                "indiquez une adresse réelle.",
                domain=domain,
            ),
        )
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise AccountError(
            "email",
            _(
                "« %(value)s » n'est pas une adresse e-mail valide (exemple : "
                "prenom.nom@ville.fr).",
                value=value,
            ),
        ) from error
    return checked.normalized.lower()


def check_new_password(password: str, field: str = "new_password") -> None:
    if len(password) < 10:
        raise AccountError(field, _("Le mot de passe doit avoir au moins 10 caractères."))


def create_user(
    db: Any,
    email: str,
    password: str,
    role: str,
    quartier_codes: tuple[str, ...] = (),
    name: str = "",
) -> User:
    """Create a staff account; raises AccountError (which field, what to change) if refused."""
    email = check_email(email)
    if role not in ROLES:
        raise AccountError(
            "role",
            _("rôle inconnu : %(role)s (possibles : %(roles)s)", role=role, roles=", ".join(ROLES)),
        )
    check_new_password(password, "password")
    if db.scalars(select(User).where(User.email == email)).first() is not None:
        raise AccountError("email", _("un compte existe déjà pour %(email)s", email=email))
    quartiers = []
    for code in quartier_codes:
        quartier = db.scalars(select(Quartier).where(Quartier.code == code)).one_or_none()
        if quartier is None:
            raise AccountError("quartiers", _("quartier inconnu : %(code)s", code=code))
        quartiers.append(quartier)
    if role in SCOPED_ROLES and not quartiers:
        raise AccountError(
            "quartiers",
            _("Un compte conseil citoyen ou intervenant a besoin d'au moins un quartier."),
        )
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


def permission_required(permission: str) -> Callable[[F], F]:
    """Allow only the roles holding `permission`; any other logged-in account gets 403."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


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


def scoped(query: Select[Any]) -> Select[Any]:
    """Limit a query on contributions to the quartiers of the current account."""
    if current_user.sees_all_quartiers:
        return query
    return query.where(Contribution.quartier_id.in_(current_user.quartier_ids))


def get_contribution(contribution_id: int) -> Contribution:
    """The contribution with this id, with its thèmes loaded.

    Aborts with 404 if it does not exist *or* lies outside the account's quartiers: a conseil
    citoyen learns nothing, not even that the id exists, by trying ids in the URL.
    """
    query = scoped(select(Contribution).where(Contribution.id == contribution_id)).options(
        selectinload(Contribution.categorisations).selectinload(Categorisation.theme),
        selectinload(Contribution.quartier),
        selectinload(Contribution.participant),
    )
    contribution: Contribution | None = get_session().scalars(query).one_or_none()
    if contribution is None:
        abort(404)
    return contribution


def visible_quartiers() -> list[Quartier]:
    query = select(Quartier).order_by(Quartier.name)
    if not current_user.sees_all_quartiers:
        query = query.where(Quartier.id.in_(current_user.quartier_ids))
    return list(get_session().scalars(query))


def visible_surveys() -> ColumnElement[bool]:
    """The surveys the current account may see (a condition on `Survey`): for a conseil
    citoyen, the shared and ready-made ones and those of its quartiers, never their titles or
    questions of another quartier's, wherever surveys are listed (editor, inbox, exports)."""
    if current_user.sees_all_quartiers:
        return Survey.id.is_not(None)
    return or_(
        Survey.quartier_id.is_(None),
        Survey.quartier_id.in_(current_user.quartier_ids),
        Survey.created_by_id == current_user.id,
    )


def campaign_in_my_hands(campaign: Campaign) -> bool:
    """Whether the account may act on this campaign (cancel, close, send its retour).

    Acting reaches every habitant the campaign targets, so it needs rights over every quartier
    it targets: a conseil citoyen may act on a campaign of its own quartiers only, never on one
    that also targets another quartier (or no quartier at all, which means everyone). Seeing is
    wider (`campaign_visible`) and its figures are limited to the account's quartiers.
    """
    if current_user.sees_all_quartiers:
        return True
    targeted = set(campaign.target.get("quartiers", ()))
    return bool(targeted) and targeted <= {q.code for q in visible_quartiers()}


def campaign_visible(campaign: Campaign) -> bool:
    """Whether the account may open this campaign: it targets one of its quartiers."""
    if current_user.sees_all_quartiers:
        return True
    mine = {q.code for q in visible_quartiers()}
    return bool(set(campaign.target.get("quartiers", ())) & mine)


# --- sessions that expire ------------------------------------------------------------------------


@bp.before_app_request
def _expire_session() -> Any:
    """Log out an idle session, or one older than the maximum, on the server side."""
    if not request.cookies:
        return None  # no session to expire (a provider's webhook): no account to load either
    if not current_user.is_authenticated:
        return None
    now = time.time()
    idle = current_app.config.get("SESSION_IDLE_SECONDS", DEFAULT_IDLE_SECONDS)
    longest = current_app.config.get("SESSION_MAX_SECONDS", DEFAULT_MAX_SECONDS)
    logged_in_at = session.get("auth_at", 0)
    seen_at = session.get("seen_at", 0)
    if now - logged_in_at > longest or now - seen_at > idle:
        logout_user()
        session.clear()
        flash(_("Votre session a expiré. Reconnectez-vous."), "error")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    session["seen_at"] = now
    return None


# --- login ---------------------------------------------------------------------------------------


def _valid_email(form: FlaskForm, field: Field) -> None:
    """The rule `paroles users add` applies: an address it accepts can always log in."""
    try:
        field.data = check_email(field.data or "")
    except AccountError as error:
        raise StopValidation(str(error)) from error


class LoginForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type hints
    email = EmailField(_l("Adresse e-mail"), validators=[_valid_email])
    password = PasswordField(
        _l("Mot de passe"), validators=[InputRequired(_l("Indiquez votre mot de passe."))]
    )


def _client_ip() -> str:
    """The client's address: the peer's, or behind `PAROLES_PROXIES` proxies the one they saw."""
    return (request.remote_addr or "unknown")[:45]


def login_blocked(db: Any, email: str, ip: str, now: datetime) -> bool:
    """Too many failures lately for this address or from this IP."""
    since = now - LOGIN_WINDOW
    failures = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False)
    )
    by_account = db.scalar(failures.where(LoginAttempt.email == email)) or 0
    by_ip = db.scalar(failures.where(LoginAttempt.ip == ip)) or 0
    return bool(by_account >= MAX_FAILURES_PER_ACCOUNT or by_ip >= MAX_FAILURES_PER_IP)


def _record_attempt(db: Any, email: str, ip: str, now: datetime, succeeded: bool) -> None:
    db.execute(delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(days=1)))
    db.add(LoginAttempt(at=now, email=email[:254], ip=ip, succeeded=succeeded))
    db.commit()


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        db = get_session()
        email: str = form.email.data or ""  # checked and lower-cased by check_email
        ip = _client_ip()
        now = datetime.now(UTC)
        if login_blocked(db, email, ip, now):
            flash(_("Trop d'essais. Attendez 15 minutes avant de réessayer."), "error")
            return render_template("auth/login.html", form=form), 429
        user = db.scalars(select(User).where(User.email == email)).first()
        # The same scrypt check whether the address exists, is inactive or not: a refusal takes
        # as long for an unknown address, so its timing does not tell which addresses have one.
        known_hash = user.password_hash if user is not None else _dummy_hash()
        password_ok = check_password_hash(known_hash, form.password.data or "")
        if user is not None and user.active and password_ok:
            user.last_login_at = now
            _record_attempt(db, email, ip, now, succeeded=True)
            session.clear()  # no session fixation: a fresh session for the logged-in account
            session.permanent = True
            keep_this_session(user)
            login_user(StaffUser(user))
            session["auth_at"] = session["seen_at"] = time.time()
            return redirect(_safe_next())
        _record_attempt(db, email, ip, now, succeeded=False)
        # Next to the password, but never saying which of the two was wrong.
        form.password.errors = [_("Adresse ou mot de passe incorrect.")]
        status = 401
    elif form.is_submitted():
        status = 400  # each refusal is said next to its field
    return render_template("auth/login.html", form=form), status


def _safe_next() -> str:
    # An intervenant works in the field pages; everyone else starts at "À faire".
    home = url_for("index" if current_user.can("read") else "field.index")
    return safe_path(request.args.get("next", ""), home)


def safe_path(target: str, default: str) -> str:
    """`target` if it is a path of this site, else `default`: never an open redirect.

    Checked the way a browser will read it (the WHATWG URL rules): tabs and newlines anywhere
    are dropped and spaces or control characters at either end trimmed, so `/<tab>/evil.example`
    is `//evil.example`, another host; a backslash counts as a slash. The cleaned path is what
    is returned, so the Location header says exactly what was checked.
    """
    cleaned = _URL_IGNORED.sub("", target).strip("".join(map(chr, range(0x21))))
    if (
        not cleaned.startswith("/")
        or cleaned.startswith("//")
        or "\\" in cleaned
        or _CONTROL.search(cleaned)
    ):
        return default
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc:
        return default
    return cleaned


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    """Ends every session of the account, not only this browser's: a copied cookie dies too."""
    db = get_session()
    user = db.get(User, current_user.id)
    if user is not None:
        end_sessions(db, user)
        db.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
