"""Home: the "À faire" page a staff member lands on after logging in."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the area's blueprint and the site's root ("/" is the home)."""
    from web.home import todo

    app.register_blueprint(todo.bp)
    app.add_url_rule("/", endpoint="index", view_func=todo.index)
