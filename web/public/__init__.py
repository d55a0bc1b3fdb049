"""Public pages, without login: the results a chef de projet published, and the suivi of the
engagements. Nothing here needs an account, loads a script, or shows a count of 1 to 4."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the area's blueprints on the app."""
    from web.public import pages

    app.register_blueprint(pages.bp)
