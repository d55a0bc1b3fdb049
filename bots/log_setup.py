"""Logging for every Paroles process, with no secret in any log line.

The Bot API puts the bot's token in every URL (`.../bot<TOKEN>/sendMessage`), and HTTP clients
log their URLs: httpx at INFO, python-telegram-bot its parameters at DEBUG (a webhook's secret
token among them). Two layers keep secrets out:

- the clients' request-by-request lines are turned down to WARNING (they also carry habitants'
  numbers and messages, which have no place in a log either);
- whatever still gets logged, at any level and through any handler (the console, gunicorn's,
  pytest's), has each configured secret replaced by `[secret]` when the record is made: in the
  message, in the text of an exception and in a stack. Doing it in the record factory rather than
  in a handler's filter is what makes it hold for handlers added later by someone else.

The same factory writes a logged exception without its message (`storage.errors`): frames,
class and database code only. A database error's message repeats the row it failed on, and a
habitant's words with it; so may any error that quotes the value it choked on.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.config import Settings
from storage.errors import safe_traceback

MARK = "[secret]"
MIN_LENGTH = 8  # shorter values would blank out ordinary words; no real secret is this short

# Loggers that write one line per HTTP request, with its URL (or its body) in the line.
CHATTY = ("httpx", "httpcore", "twilio.http_client")

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_installed = False


def set_up_logging(settings: Settings) -> None:
    """Log at INFO to stderr (unless the host set handlers up), never with a secret in it."""
    logging.basicConfig(level=logging.INFO)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per migration, every start
    _install()
    hide(*secrets_of(settings))


def secrets_of(settings: Settings) -> list[str]:
    """The configured values that would give access if read in a log."""
    values = [
        settings.secret_key,
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.twilio_auth_token,
        _password_in(settings.database_url),
    ]
    # The part of a bot token after the bot's id is the secret part, and is sometimes split off.
    values.append(settings.telegram_bot_token.partition(":")[2])
    return [value for value in values if len(value) >= MIN_LENGTH]


def _password_in(url: str) -> str:
    try:
        return make_url(url).password or ""
    except ArgumentError:
        return ""


def hide(*values: str) -> None:
    """From now on, replace these values in every log record of this process."""
    global _pattern
    with _lock:
        for value in values:
            if len(value) >= MIN_LENGTH:
                # As typed, and as a URL carries it (a bot token's colon becomes %3A).
                _secrets.update({value, quote(value, safe=""), quote(value, safe="/:")})
        if not _secrets:
            return
        # Longest first, so a token wins over the part of it that is also a secret.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(value) for value in ordered))
    _install()


def _install() -> None:
    global _installed
    with _lock:
        if not _installed:
            logging.setLogRecordFactory(_redacting(logging.getLogRecordFactory()))
            _installed = True


def redact(text: str) -> str:
    """`text` with each secret replaced by `[secret]`."""
    pattern = _pattern
    return pattern.sub(MARK, text) if pattern is not None else text


def _redacting(make_record: Any) -> Any:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = make_record(*args, **kwargs)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = safe_traceback(record.exc_info[1])  # formatters use it
        pattern = _pattern
        if pattern is None:
            return record
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  a bad format or __str__: logging itself reports it at
            return record  # emit time (Handler.handleError), where a log call must never raise
        # Frozen now, not at emit time: an argument may change in between (python-telegram-bot
        # completes a file's path into its download URL, token included, after logging it).
        record.msg, record.args = pattern.sub(MARK, message), None
        if record.exc_text:
            record.exc_text = pattern.sub(MARK, record.exc_text)
        if record.stack_info:
            record.stack_info = pattern.sub(MARK, record.stack_info)
        return record

    return factory
