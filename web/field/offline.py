"""What lets the field pages work with no network: the service worker, and a fresh CSRF token
for the queue.

The worker is served from `/terrain/sw.js` so that its scope is `/terrain/` (a worker only
controls the pages under its own path); it caches the field pages and their assets as they are
visited (`static/field/sw.js` says how). Entries typed offline wait in IndexedDB; when the
network returns, the page asks `/terrain/jeton` for a token and sends them.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, send_from_directory
from flask_wtf.csrf import generate_csrf

from web.auth import permission_required
from web.field import bp


@bp.route("/sw.js", methods=["GET"])
def service_worker() -> Any:
    """Public like any static file: it holds no data, only the caching rules."""
    response = send_from_directory(current_app.static_folder or "static", "field/sw.js")
    response.headers["Service-Worker-Allowed"] = "/terrain/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/jeton", methods=["GET"])
@permission_required("field")
def token() -> Any:
    response = jsonify({"csrf_token": generate_csrf()})
    response.headers["Cache-Control"] = "no-store"
    return response
