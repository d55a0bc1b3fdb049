"""The back-office blueprints, registered in one call from the app factory."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from web.admin import accounts, themes
    from web.admin import journal as audit
    from web.evaluation import dashboard
    from web.review import contributions, exports, replies
    from web.surveys import campaigns, posters
    from web.surveys import editor as surveys
    from web.surveys import trial as survey_trial

    for module in (contributions, replies, themes, exports, audit, accounts):
        app.register_blueprint(module.bp)
    for module in (surveys, survey_trial, campaigns, posters, dashboard):
        app.register_blueprint(module.bp)
