"""The field pages (`/terrain/`): for médiateurs, adultes relais and animateurs on their phone.

Mobile first (one hand, 360 px, large targets) and offline: a service worker serves the pages,
entries wait in the browser (IndexedDB) with an identifier made on the device, and the server
records each identifier once (`bots.field`). Every route checks the account's scope: a quartier,
an action or a campaign outside it is refused with 403.
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("field", __name__, url_prefix="/terrain")


def register(app: Flask) -> None:
    """Register the area's blueprint (its modules add their routes to it) on the app."""
    from web.field import entries, offline, paper, survey  # noqa: F401  (adds the routes)

    app.register_blueprint(bp)
