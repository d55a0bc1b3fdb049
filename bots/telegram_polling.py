"""Long polling: Telegram without a public URL (a laptop, a server behind a firewall).

`Poller.poll()` asks the Bot API for new updates and passes each one to the same
`bots.channels.telegram.receive()` as the webhook (which records it; the drain of
`bots.inbound` answers). The offset only moves past an update once it is recorded, so a crash
or a database error makes Telegram hand the same update again; the unique update id then makes
the second handling a no-op. Telegram keeps unconfirmed updates for 24 hours, so the offset
needs no storage of its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import Conflict, InvalidToken, TelegramError

from bots.channels.telegram import TelegramClient, receive
from bots.runtime import Runtime

log = logging.getLogger(__name__)
# What we ask Telegram for, by polling and by `set-webhook`: messages, and the bot being blocked
# or unblocked (`my_chat_member`). The list replaces Telegram's default, so all we handle is in it.
ALLOWED_UPDATES = (Update.MESSAGE, Update.MY_CHAT_MEMBER)
MAX_BACKOFF = 60.0


@dataclass
class Poller:
    runtime: Runtime
    client: TelegramClient
    offset: int | None = None

    def poll(self, timeout: int = 25) -> int:
        """Fetch and handle one batch of updates (waiting up to `timeout` s); return its size."""
        updates = self.client.run(
            lambda bot: bot.get_updates(
                offset=self.offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES
            ),
            timeout=timeout + 30,
        )
        for update in updates:
            receive(self.runtime, self.client, update)
            self.offset = update.update_id + 1
        return len(updates)

    def run(
        self,
        stop: threading.Event,
        *,
        timeout: int = 25,
        after_batch: Callable[[], object] = lambda: None,
    ) -> None:
        """Poll until `stop` is set, backing off on network and database errors.

        A webhook still registered (409) or a refused token cannot heal by waiting: they raise.
        """
        backoff = 1.0
        while not stop.is_set():
            try:
                self.poll(timeout)
                after_batch()
            except (Conflict, InvalidToken):
                raise
            except (TelegramError, TimeoutError, SQLAlchemyError) as error:
                log.warning("telegram polling: %s; trying again in %.0f s", error, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
