"""The Flask back-office and the HTTP endpoints the channels call. Nothing imports `web`."""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, g, render_template
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import Babel, get_locale
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from bots.log_setup import set_up_logging
from bots.runtime import Runtime
from storage.config import Settings, load_settings

csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
LANGUAGES = ("fr", "en")

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with nothing to verify on a request that brings no
    session cookie (every provider's webhook): the signing serializer is not even built."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def create_app(
    test_config: dict[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    runtime: Runtime | None = None,
) -> Flask:
    """Build the app. `test_config` overrides Flask settings; `settings` the product's."""
    app = Flask(__name__)
    app.session_interface = CookieSessions()
    settings = settings or (runtime.settings if runtime else load_settings())
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_SECURE=settings.production,
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        BABEL_DEFAULT_LOCALE="fr",
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        PAROLES_DEMO=settings.extra.get("PAROLES_DEMO", "") in {"1", "true", "yes"},
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["paroles"] = runtime or Runtime.from_settings(settings)
    if settings.proxies:
        # The client's address (login rate limits, audit) and the scheme of the request come
        # from the proxies' headers, trusting exactly as many hops as there are proxies.
        n = settings.proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    babel.init_app(app, locale_selector=_select_locale)
    app.jinja_env.globals["get_locale"] = get_locale  # base.html: <html lang=...>
    from web import nav

    app.jinja_env.globals["nav_menu"] = nav.menu  # base.html's top bar

    from web import (
        admin,
        auth,
        evaluation,
        field,
        followup,
        home,
        hooks,
        public,
        report,
        review,
        surveys,
    )
    from web.hooks import sms, telegram, whatsapp  # noqa: F401  (registers the routes)

    app.register_blueprint(auth.bp)
    app.register_blueprint(hooks.bp)
    csrf.exempt(hooks.bp)  # providers authenticate with a secret header or a signature
    for area in (home, review, surveys, evaluation, admin, field, public, followup, report):
        area.register(app)

    app.after_request(_security_headers)
    app.teardown_appcontext(_close_session)
    app.register_error_handler(500, _server_error)
    app.register_error_handler(404, _not_found)
    app.register_error_handler(403, _forbidden)
    set_up_logging(settings)
    return app


def _select_locale() -> str | None:
    from flask import has_request_context, request

    if not has_request_context():
        return None  # the command line: French, the default
    if current_user and getattr(current_user, "is_authenticated", False):
        return str(current_user.language)
    return request.accept_languages.best_match(LANGUAGES) or "fr"


def _security_headers(response: Any) -> Any:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    return response


def _close_session(exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def _server_error(error: Exception) -> tuple[str, int]:
    session = g.get("db_session")
    if session is not None:
        session.rollback()
    return render_template("error.html", code=500), 500


def _not_found(error: Exception) -> tuple[str, int]:
    return render_template("error.html", code=404), 404


def _forbidden(error: Exception) -> tuple[str, int]:
    return render_template("error.html", code=403), 403
