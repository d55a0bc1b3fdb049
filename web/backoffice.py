"""The back-office blueprints, registered in one call from the app factory."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale


def register(app: Flask) -> None:
    from web import accounts, audit, contributions, exports, replies, themes

    for module in (contributions, replies, themes, exports, audit, accounts):
        app.register_blueprint(module.bp)
    # The layout writes <html lang="...">; Flask-Babel 4 does not give templates get_locale.
    app.jinja_env.globals.setdefault("get_locale", get_locale)
