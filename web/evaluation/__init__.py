"""Evaluation of the contrat de ville: the indicators and the tableau de bord."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the area's blueprints on the app."""
    from web.evaluation import dashboard, spend

    for module in (dashboard, spend):
        app.register_blueprint(module.bp)
