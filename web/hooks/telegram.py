"""POST /hooks/telegram: the Bot API's webhook.

Telegram sends the secret given to `setWebhook` in `X-Telegram-Bot-Api-Secret-Token`; anything
without the right one is refused (403) before the body is read. A valid update goes through
`bots.channels.telegram.receive()`, the same path as polling, which only records it
(`bots.inbound`), and the view answers at once: the drain steps it, the replies wait in the
outbox. Telegram retries an update until it gets a 2xx, for a day, so an
update we do not handle or cannot read (not JSON, nested too deep, fields of the wrong type) is
logged and still acknowledged (200); only a database failure answers 500 (the update comes
again later and is recorded once).
"""

from __future__ import annotations

import hmac
import logging

from flask import request

from bots.channels.telegram import Unreadable, client_for, parse_body, parse_update, receive
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
    client = client_for(settings)
    try:
        update = parse_update(parse_body(request.get_data(cache=False)), client.bot)
    except Unreadable as error:
        log.warning("telegram webhook: update skipped, %s", error)
        return "", 200
    receive(runtime, client, update)
    return "", 200
