"""Surveys: the editor, trying a survey, campaigns and their results, posters and join codes, and
the simulator where staff try the bot as a habitant."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the area's blueprints on the app."""
    from web.surveys import campaigns, editor, posters, quotes, simulator, trial

    for module in (
        editor,
        trial,
        campaigns,
        posters,
        quotes,
        simulator,
    ):
        app.register_blueprint(module.bp)
