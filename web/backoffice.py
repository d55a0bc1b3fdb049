"""The back-office blueprints, registered in one call from the app factory."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from web import (
        accounts,
        audit,
        campaigns,
        contributions,
        dashboard,
        exports,
        posters,
        replies,
        survey_trial,
        surveys,
        themes,
    )

    for module in (contributions, replies, themes, exports, audit, accounts):
        app.register_blueprint(module.bp)
    for module in (surveys, survey_trial, campaigns, posters, dashboard):
        app.register_blueprint(module.bp)
