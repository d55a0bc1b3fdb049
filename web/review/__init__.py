"""Review: the inbox, one contribution, thèmes and statuses, replies to habitants, exports of
contributions and answers."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the area's blueprints on the app."""
    from web.review import contributions, exports, inbox, personal_data, replies, translations

    for module in (
        inbox,
        contributions,
        personal_data,
        replies,
        translations,
        exports,
    ):
        app.register_blueprint(module.bp)
