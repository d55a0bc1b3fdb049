"""Telegram: habitants answer and contribute from Telegram; python-telegram-bot is the transport.

Receiving. An update arrives as JSON, posted to the webhook (`web/hooks/telegram.py`) or fetched by
long polling (`bots/telegram_polling.py`). Both hand a `telegram.Update` to `receive()`, which
turns it into an `Inbound` (`to_inbound`) and records it (`bots.inbound.record`); the drain then
downloads a photo or voice note into the media folder (`fetch`) and steps the dialogue; a file
Telegram could not serve then is fetched by a scheduler job (`fetch_missed_media`,
`bots.media_retry`), the message being processed either way. The update id is the inbound
message's provider id, so an update delivered twice is recorded and answered once. A
`my_chat_member` update in a private chat says the habitant blocked the bot (status `kicked`) or
unblocked it (`member`): it marks them unreachable, cancelling what was queued for them, or
reachable again (`to_block_change`, `bots.reachability.record_block`), without waiting for the next
send to fail. Nothing is sent from here: the replies wait in the outbox (the messages table) and go
out through `TelegramChannel.send()`.

The asyncio bridge. python-telegram-bot is asyncio; Flask views, the outbox worker and the
command line are synchronous. One `TelegramClient` per bot and process owns one event loop
running in its own daemon thread, with one `Bot` initialised on it; synchronous code submits a
coroutine with `client.run(...)` (`asyncio.run_coroutine_threadsafe(...).result(timeout)`). It is
used everywhere, and preferred to `asyncio.run()` per call because a Bot's HTTP connection pool
belongs to the loop that opened it: one long-lived loop keeps one pool, instead of a new loop,
client and handshake for each of 25 messages a second. Parsing needs no loop at all:
`Update.de_json(data, bot)` is plain Python.

Replies. Choices are a reply keyboard, not inline buttons: a tap sends the label as an ordinary
text message, so tapped and typed answers take one path through the engine, the answer shows in
the chat as the habitant's own words, and there is no callback query to acknowledge. Short
labels are the buttons themselves (two a row when very short); when a label would not fit a small
phone, or several answers may be given, the message lists the labels in full, numbered, and the
buttons are the numbers. The keyboard is removed (`ReplyKeyboardRemove`) whenever no choice is
expected. Text is sent as written: Telegram has no SMS segments, so no GSM shaping.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import json
import logging
import os
import re
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from telegram import (
    Bot,
    Chat,
    ChatMember,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bots.channels import Outgoing, SendError, register
from bots.handler import Inbound, Media
from bots.inbound import process_inbound, record, register_fetcher, sender_of
from bots.media_retry import fetch_missed
from bots.reachability import BlockChange, record_block
from bots.runtime import Runtime
from storage.config import Settings

# Opt in now to python-telegram-bot's next major behaviour (durations as `timedelta`); without
# it, reading `RetryAfter.retry_after` emits a deprecation warning on every flood error.
os.environ.setdefault("PTB_TIMEDELTA", "true")

NAME = "telegram"
log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_TEXT = 4096  # Telegram's own limit for a message; longer (forged) text is cut, start kept
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API serves files up to 20 MB
LABEL_FIT = 24  # characters a button shows in full on a small phone, one button a row
LABEL_PAIR = 12  # labels this short go two a row
CALL_TIMEOUT = 60.0
DOWNLOAD_TIMEOUT = 20.0  # inside a webhook request: Telegram retries an update we are slow on
START = re.compile(r"^/start(?:@\w+)?(?:\s+(.*))?$", re.IGNORECASE | re.DOTALL)
CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")
DOWNLOADED = ("photo", "voice", "audio", "video", "document")


def deep_link(username: str, code: str) -> str:
    """`https://t.me/<bot>?start=<code>`: what a poster's QR code opens."""
    username = username.removeprefix("@")
    if not USERNAME.match(username):
        raise ValueError(f"not a Telegram bot username: {username!r}")
    if not CODE.match(code):
        raise ValueError(f"a deep-link code is 1 to 64 characters of A-Z a-z 0-9 _ -: {code!r}")
    return f"https://t.me/{username}?start={code}"


# --- the asyncio bridge --------------------------------------------------------------------------


class TelegramClient:
    """One Bot on one event loop in its own thread; `run()` calls it from synchronous code."""

    def __init__(self, token: str, base_url: str) -> None:
        base = base_url.rstrip("/")
        self.bot = Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")
        self._loop = asyncio.new_event_loop()
        self._ready: asyncio.Lock | None = None
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="telegram-loop", daemon=True
        )
        self._thread.start()

    def run(self, call: Callable[[Bot], Awaitable[T]], timeout: float = CALL_TIMEOUT) -> T:
        """Run `call(bot)` on the loop and wait for it; the bot is initialised on first use."""
        future = asyncio.run_coroutine_threadsafe(self._call(call), self._loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise

    async def _call(self, call: Callable[[Bot], Awaitable[T]]) -> T:
        if self._ready is None:
            self._ready = asyncio.Lock()
        async with self._ready:
            await self.bot.initialize()  # getMe once: checks the token, caches the username
        return await call(self.bot)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if self._loop.is_running():
            shutdown = asyncio.run_coroutine_threadsafe(self.bot.shutdown(), self._loop)
            shutdown.result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()


_clients: dict[tuple[str, str], TelegramClient] = {}
_clients_lock = threading.Lock()


def client_for(settings: Settings) -> TelegramClient:
    """The process's client for this bot (one loop thread per bot, shared by every caller)."""
    key = (settings.telegram_bot_token, settings.telegram_api_base_url)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = TelegramClient(*key)
        return _clients[key]


@atexit.register
def close_clients() -> None:
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()


# --- receiving -----------------------------------------------------------------------------------


class Unreadable(ValueError):
    """An update whose shape is not what the Bot API sends: logged, acknowledged, skipped."""


# What python-telegram-bot may raise on a body of the wrong shape (a date of 2**62, a list where
# an object belongs...): it checks no types, so any of these can come out of `de_json`.
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError)


def parse_body(body: bytes) -> Any:
    """A webhook body as JSON; Unreadable if it is not JSON (or nested too deep to read)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        raise Unreadable(f"not JSON: {type(error).__name__}") from None


def parse_update(data: Any, bot: Bot) -> Update:
    """A webhook body as an `Update`; Unreadable (a ValueError) if it is not one."""
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        raise Unreadable("not a Telegram update: no integer update_id")
    if not 0 <= data["update_id"] < 2**63:
        raise Unreadable(f"not a Telegram update: update_id {data['update_id']} out of range")
    try:
        update = Update.de_json(data, bot)
    except (*_SHAPE_ERRORS, RecursionError) as error:
        raise Unreadable(f"malformed Telegram update: {type(error).__name__}") from None
    return update


def _check_message(message: Message) -> None:
    """The fields `to_inbound` reads have the Bot API's types; Unreadable otherwise."""
    chat = message.chat
    if not isinstance(chat, Chat) or type(chat.id) is not int or not isinstance(chat.type, str):
        raise Unreadable("message without a proper chat")
    if not isinstance(message.date, dt.datetime):
        raise Unreadable("message without a proper date")
    for name in ("text", "caption"):
        if not isinstance(getattr(message, name), str | None):
            raise Unreadable(f"message {name} is not a string")


def to_inbound(update: Update) -> Inbound | None:
    """What the engine needs of an update, or None for what we do not handle (logged).

    Raises Unreadable when the update does not have the Bot API's shape.
    """
    message = update.message
    if message is None:
        log.info("telegram update %s ignored: not a new message", update.update_id)
        return None
    if not isinstance(message, Message):
        raise Unreadable("message is not an object")
    _check_message(message)
    if message.chat.type != "private":
        log.info("telegram update %s ignored: %s chat", update.update_id, message.chat.type)
        return None
    try:
        media = _media(message)
        text = message.text or message.caption or ""
        return _inbound(update, message, media, text)
    except _SHAPE_ERRORS as error:
        raise Unreadable(f"malformed message: {type(error).__name__}") from None


def _inbound(
    update: Update, message: Message, media: tuple[Media, ...], text: str
) -> Inbound | None:
    if not text and not media:
        log.info("telegram update %s ignored: service message", update.update_id)
        return None
    start_code = None
    if message.text and (match := START.match(message.text.strip())):
        argument = match.group(1)
        if not argument:
            text = "/start"
        elif CODE.match(argument):
            start_code, text = argument, ""
        # else: not a code but words of theirs, kept as they wrote them
    return Inbound(
        channel=NAME,
        address=str(message.chat.id),
        text=shorten(text),
        external_id=str(update.update_id),
        media=media,
        start_code=start_code,
        received_at=message.date.astimezone(dt.UTC),
        language_hint=message.from_user.language_code if message.from_user else None,
    )


def shorten(text: str, limit: int = MAX_TEXT) -> str:
    """Keep the start of an over-long text and say it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _media(message: Message) -> tuple[Media, ...]:
    if message.photo:
        largest = message.photo[-1]
        return (Media("photo", _file_id(largest.file_id), mime="image/jpeg"),)
    for kind, item in (
        ("voice", message.voice),
        ("audio", message.audio),
        ("video", message.video),
        ("video", message.video_note),
        ("sticker", message.animation),
        ("document", message.document),
    ):
        if item is not None:
            mime = getattr(item, "mime_type", None) or ""
            if not isinstance(mime, str):
                raise TypeError("mime_type is not a string")
            return (Media(kind, _file_id(item.file_id), mime=mime),)
    if message.sticker is not None:
        return (Media("sticker", _file_id(message.sticker.file_id)),)
    if message.location is not None or message.venue is not None:
        return (Media("location"),)  # the coordinates themselves are not kept
    if message.contact is not None:
        return (Media("contact"),)  # nor someone's phone number
    return ()


def _file_id(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("file_id is not a string")
    return value


def to_block_change(update: Update) -> BlockChange | None:
    """A habitant blocking (`kicked`) or unblocking (`member`) the bot in their private chat.

    That is all a `my_chat_member` update means in a private chat; anything else is logged.
    """
    change = update.my_chat_member
    if change is None:
        return None
    try:
        chat, status, date = change.chat, change.new_chat_member.status, change.date
    except AttributeError:
        raise Unreadable("my_chat_member without its fields") from None
    if (
        not isinstance(chat, Chat)
        or type(chat.id) is not int
        or not isinstance(status, str)
        or not isinstance(date, dt.datetime)
    ):
        raise Unreadable("my_chat_member of the wrong shape")
    if change.chat.type != Chat.PRIVATE or status not in (ChatMember.BANNED, ChatMember.MEMBER):
        log.info(
            "telegram update %s ignored: bot became %s in a %s chat",
            update.update_id,
            status,
            change.chat.type,
        )
        return None
    return BlockChange(
        channel=NAME,
        address=str(change.chat.id),
        external_id=str(update.update_id),
        blocked=status == ChatMember.BANNED,
        at=change.date.astimezone(dt.UTC),
    )


def receive(runtime: Runtime, client: TelegramClient, update: Update) -> int | None:
    """The one path of every update, webhook or polling: parse, then record (`bots.inbound`);
    its photo or voice note is downloaded and its step made by the drain. Returns the recorded
    message's id (None: a duplicate, or nothing to record).

    A block or an unblock of the bot is recorded (`bots.reachability`) after the messages of
    that habitant still waiting, so that they apply in order; nothing answers it. An
    update we cannot read is logged and skipped (None): Telegram would send it again and again.
    """
    try:
        if update.my_chat_member is not None:
            change = to_block_change(update)
            if change is not None:
                # What they wrote before goes first (a block is rare: processed at once).
                process_inbound(runtime, sender=sender_of(runtime, NAME, change.address))
                record_block(runtime, change)
            return None
        inbound = to_inbound(update)
    except Unreadable as error:
        log.warning("telegram update %s skipped, unreadable: %s", update.update_id, error)
        return None
    if inbound is None:
        return None
    return record(runtime, inbound)


def fetch(client: TelegramClient, media: Media, media_dir: Path) -> Media:
    """Download an attachment to `media_dir/telegram/`; on failure keep the file id only."""
    if media.kind not in DOWNLOADED or not media.file_id:
        return media

    async def download(bot: Bot) -> str:
        file = await bot.get_file(media.file_id)
        if file.file_size and file.file_size > MAX_DOWNLOAD:
            raise ValueError(f"file of {file.file_size} bytes is too large")
        suffix = _SAFE_NAME.sub("", Path(file.file_path or "").suffix.lstrip("."))[:8]
        name = _SAFE_NAME.sub("_", file.file_unique_id or media.file_id)[:80]
        relative = Path("telegram") / (f"{name}.{suffix}" if suffix else name)
        target = media_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        await file.download_to_drive(target)
        return relative.as_posix()

    try:
        return replace(media, path=client.run(download, timeout=DOWNLOAD_TIMEOUT))
    except (TelegramError, FutureTimeout, ValueError, OSError) as error:
        log.warning("telegram %s %s not downloaded: %s", media.kind, media.file_id, error)
        return media


register_fetcher(
    NAME,
    DOWNLOADED,
    lambda runtime, media: fetch(client_for(runtime.settings), media, runtime.settings.media_dir),
)


def fetch_missed_media(runtime: Runtime, now: dt.datetime) -> dict[str, int]:
    """Download again what a webhook could not (Telegram slow or down, the disk full).

    A scheduler job; how the tries are counted and the rows updated: `bots.media_retry`.
    Telegram serves a file id again as long as the file exists.
    """
    if not runtime.settings.telegram_bot_token:
        return {"fetched": 0, "failed": 0}
    client = client_for(runtime.settings)
    return fetch_missed(
        runtime, NAME, DOWNLOADED, lambda media: fetch(client, media, runtime.settings.media_dir)
    )


# --- sending -------------------------------------------------------------------------------------

Markup = ReplyKeyboardMarkup | ReplyKeyboardRemove


def render(message: Outgoing) -> tuple[str, Markup]:
    """The text and keyboard of one outgoing message."""
    choices = message.choices
    if not choices:
        return shorten(message.text), ReplyKeyboardRemove()
    text = message.text
    if message.expects == "scale":
        rows = [list(choices)]
    elif message.expects == "choices" or any(len(c) > LABEL_FIT for c in choices):
        listed = "\n".join(f"{n}. {label}" for n, label in enumerate(choices, 1))
        text = f"{text}\n{listed}"
        rows = _rows([str(n) for n in range(1, len(choices) + 1)], 5)
    else:
        rows = _rows(list(choices), 2 if all(len(c) <= LABEL_PAIR for c in choices) else 1)
    markup = ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)
    return shorten(text), markup


def _rows(labels: list[str], per_row: int) -> list[list[str]]:
    return [labels[i : i + per_row] for i in range(0, len(labels), per_row)]


class TelegramSendError(SendError):
    """A SendError that also says when Telegram allows the next try (flood control)."""

    def __init__(self, reason: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(reason, **kwargs)
        self.retry_after = retry_after


@dataclass
class TelegramChannel:
    """Sends outbox rows through the Bot API; about 30 messages a second are allowed overall."""

    client: TelegramClient
    name: str = NAME
    rate_per_second: float = 25.0
    per_address_interval: float = 1.0  # Telegram allows about one message a second in a chat

    def send(self, message: Outgoing) -> str:
        if not message.address.lstrip("-").isdigit():
            raise SendError("not a Telegram chat id", transient=False, unreachable=True, code="400")
        text, markup = render(message)
        chat_id = int(message.address)
        try:
            sent = self.client.run(
                lambda bot: bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
            )
        except TelegramError as error:
            raise send_error(error) from error
        except FutureTimeout as error:
            reason = "Telegram did not answer in time"
            raise SendError(reason, transient=True, code="timeout") from error
        # Message ids are counted per chat: the chat id makes the provider id unique.
        return f"{sent.chat_id}:{sent.message_id}"


def send_error(error: TelegramError) -> SendError:
    """How the outbox should treat a Bot API error."""
    reason = f"{type(error).__name__}: {error.message}"
    if isinstance(error, RetryAfter):
        wait = error.retry_after
        seconds = wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
        return TelegramSendError(
            f"{reason} (retry in {seconds:g} s)", retry_after=seconds, transient=True, code="429"
        )
    if isinstance(error, Forbidden):  # blocked by the user, or account deleted
        return SendError(reason, transient=False, unreachable=True, code="403")
    if isinstance(error, BadRequest):
        gone = "chat not found" in error.message.lower()
        return SendError(reason, transient=False, unreachable=gone, code="400")
    if isinstance(error, NetworkError):
        return SendError(reason, transient=True, code="network")
    if isinstance(error, InvalidToken):
        log.error("TELEGRAM_BOT_TOKEN was refused by the Bot API: messages wait and are retried")
        return SendError(reason, transient=True, code="token")
    if isinstance(error, ChatMigrated):
        return SendError(reason, transient=False, code="migrated")
    return SendError(reason, transient=True, code="telegram")


@register(NAME, configured=lambda settings: bool(settings.telegram_bot_token))
def make(runtime: Runtime) -> TelegramChannel:
    return TelegramChannel(client_for(runtime.settings))
