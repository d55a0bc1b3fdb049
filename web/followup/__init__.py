"""Suivi des contributions (as Decidim's accountability): the engagements the team or a partner
takes on, their status and dated history, and the contributions and campaigns behind them.

A room of its own rather than a corner of `review/`: triage is about one message at a time,
while an engagement lives for months, gathers many contributions and campaigns, has a public
face (`web.public`) and writes to habitants when it moves. Keeping it apart keeps `review/`
about reading and answering.
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the area's blueprints on the app."""
    from web.followup import engagements

    app.register_blueprint(engagements.bp)
