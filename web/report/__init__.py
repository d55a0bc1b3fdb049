"""The report: one editable document (DOCX, PDF) for the COPIL and the evaluation of the
contrat de ville, built from the same counts as the tableau de bord."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the area's blueprints on the app."""
    from web.report import views

    app.register_blueprint(views.bp)
