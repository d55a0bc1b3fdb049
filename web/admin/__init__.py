"""Administration: staff accounts, the journal (audit log), the thème taxonomy, health."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the area's blueprints on the app."""
    from web.admin import accounts, health, journal, participants, themes

    for module in (
        accounts,
        journal,
        themes,
        health,
        participants,
    ):
        app.register_blueprint(module.bp)
