"""POST /hooks/telegram: the Bot API's webhook.

Telegram sends the secret given to `setWebhook` in `X-Telegram-Bot-Api-Secret-Token`; anything
without the right one is refused (403) before the body is read. A valid update goes through
`bots.channels.telegram.receive()`, the same path as polling, and the view answers at once: the
replies wait in the outbox. Telegram retries an update until it gets a 2xx, so an update we do
not handle is still acknowledged (200), malformed JSON gets a 400, and a database failure a 500
(the update comes again later and is recorded once).
"""

from __future__ import annotations

import hmac
import logging

from flask import request

from bots.channels.telegram import client_for, parse_update, receive
from web.db import get_runtime
from web.hooks import bp

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _secret_ok(expected: str) -> bool:
    given = request.headers.get(SECRET_HEADER, "")
    return hmac.compare_digest(given.encode(), expected.encode())


@bp.route("/telegram", methods=["POST"])
def telegram() -> tuple[str, int]:
    runtime = get_runtime()
    settings = runtime.settings
    if not settings.telegram_bot_token:
        return "Telegram n'est pas configuré.\n", 404
    if not settings.telegram_webhook_secret:
        log.error("telegram webhook refused: TELEGRAM_WEBHOOK_SECRET is not set")
        return "Forbidden\n", 403
    if not _secret_ok(settings.telegram_webhook_secret):
        log.warning("telegram webhook refused: wrong secret from %s", request.remote_addr)
        return "Forbidden\n", 403
    data = request.get_json(force=True, silent=True)
    client = client_for(settings)
    try:
        update = parse_update(data, client.bot)
    except ValueError as error:
        log.warning("telegram webhook: %s", error)
        return "Bad Request\n", 400
    receive(runtime, client, update)
    return "", 200
