"""A local stand-in of Telegram's Bot API: a real HTTP server on 127.0.0.1, port 0.

python-telegram-bot talks to it over real HTTP (through `TELEGRAM_API_BASE_URL`), so tests run
the real library: its request encoding, its error mapping, its file downloads. The server answers
with the JSON shapes the real API documents, records every call, and can misbehave on demand:
`block(chat_id)` answers 403 "bot was blocked by the user" to that chat, `flood(chat_id, 7)`
answers 429 with `retry_after` once. `getUpdates` delivers only the kinds of update asked for
(`allowed_updates`), as Telegram does.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.loopback import LoopbackServer

TOKEN = "123456789:AAH-test-token-for-the-fake-api_00"
BOT_ID = 123456789
USERNAME = "paroles_test_bot"
JSON_FIELDS = frozenset({"reply_markup", "allowed_updates", "link_preview_options"})
# What Telegram sends when no `allowed_updates` was ever given (the main kinds, for the fake).
DEFAULT_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]


class FakeTelegramAPI:
    """Run with `with FakeTelegramAPI() as api:`; `api.url` is the base URL to configure."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.blocked: set[str] = set()
        self.floods: dict[str, int] = {}
        self.files: dict[str, tuple[str, bytes]] = {}
        self.webhook: dict[str, Any] = {}
        self.allowed_updates: list[str] = []  # as last given to getUpdates; [] for the default
        self._updates: list[dict[str, Any]] = []
        self._message_ids = itertools.count(1000)
        self._changed = threading.Condition()
        self._server = LoopbackServer(_handler_for(self))

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> FakeTelegramAPI:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    # --- what tests arrange ----------------------------------------------------------------------

    def block(self, chat_id: int | str) -> None:
        self.blocked.add(str(chat_id))

    def flood(self, chat_id: int | str, retry_after: int) -> None:
        self.floods[str(chat_id)] = retry_after

    def add_file(self, file_id: str, content: bytes, file_path: str) -> None:
        self.files[file_id] = (file_path, content)

    def push_update(self, update: dict[str, Any]) -> None:
        with self._changed:
            self._updates.append(update)
            self._changed.notify_all()

    # --- what tests read -------------------------------------------------------------------------

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def sent(self) -> Iterator[tuple[str, str, Any]]:
        """(chat id, text, reply markup) of every sendMessage that succeeded."""
        for call in self.calls:
            params = call.params
            if call.method == "sendMessage" and params.get("_status") == 200:
                yield params["chat_id"], params["text"], params.get("reply_markup")

    # --- the API ---------------------------------------------------------------------------------

    def answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return 404, _error(404, "Not Found: method not found")
        status, body = handler(params)
        self.calls.append(Call(method, {**params, "_status": status}))
        return status, body

    def _api_getMe(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, _ok(_bot_user())

    def _api_sendMessage(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id = str(params.get("chat_id", ""))
        if chat_id in self.blocked:
            return 403, _error(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.floods:
            retry = self.floods.pop(chat_id)
            body = _error(429, f"Too Many Requests: retry after {retry}")
            body["parameters"] = {"retry_after": retry}
            return 429, body
        if not chat_id.lstrip("-").isdigit():
            return 400, _error(400, "Bad Request: chat not found")
        text = str(params.get("text", ""))
        if not text or len(text) > 4096:
            return 400, _error(400, "Bad Request: message text is empty or too long")
        message = {
            "message_id": next(self._message_ids),
            "from": _bot_user(),
            "chat": {"id": int(chat_id), "type": "private", "first_name": "Habitant"},
            "date": int(time.time()),
            "text": text,
        }
        return 200, _ok(message)

    def _api_getUpdates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.webhook.get("url"):
            return 409, _error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), 2.0)
        if "allowed_updates" in params:  # remembered, as Telegram does, until changed
            self.allowed_updates = list(params["allowed_updates"])
        with self._changed:
            # Asking with an offset confirms, and forgets, every earlier update; the kinds not
            # asked for are never delivered.
            self._updates = [
                u for u in self._updates if u["update_id"] >= offset and self._allowed(u)
            ]
            if not self._updates and wait:
                self._changed.wait(wait)
            limit = int(params.get("limit") or 100)
            return 200, _ok([u for u in self._updates if self._allowed(u)][:limit])

    def _allowed(self, update: dict[str, Any]) -> bool:
        kinds = self.allowed_updates or DEFAULT_UPDATES
        return any(kind in update for kind in kinds)

    def _api_getFile(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            return 400, _error(400, "Bad Request: invalid file_id")
        path, content = self.files[file_id]
        result = {
            "file_id": file_id,
            "file_unique_id": "u" + file_id[-10:],
            "file_size": len(content),
            "file_path": path,
        }
        return 200, _ok(result)

    def _api_setWebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.webhook = dict(params)
        return 200, {"ok": True, "result": True, "description": "Webhook was set"}

    def _api_deleteWebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.webhook = {}
        return 200, {"ok": True, "result": True, "description": "Webhook was deleted"}

    def file_content(self, path: str) -> bytes | None:
        return next((content for p, content in self.files.values() if p == path), None)


def _ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def _error(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


def _bot_user() -> dict[str, Any]:
    return {
        "id": BOT_ID,
        "is_bot": True,
        "first_name": "Paroles",
        "username": USERNAME,
        "can_join_groups": False,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


def _decode(body: bytes, content_type: str) -> dict[str, Any]:
    """python-telegram-bot posts form fields, JSON-encoding the non-string ones."""
    if content_type.startswith("application/json"):
        data: dict[str, Any] = json.loads(body or b"{}")
        return data
    params: dict[str, Any] = dict(parse_qsl(body.decode(), keep_blank_values=True))
    for key in JSON_FIELDS & params.keys():
        params[key] = json.loads(params[key])
    return params


def _handler_for(api: FakeTelegramAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            prefix = f"/bot{api.token}/"
            path = unquote(urlsplit(self.path).path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if not path.startswith(prefix):
                self._json(401, _error(401, "Unauthorized"))
                return
            params = _decode(body, self.headers.get("Content-Type", ""))
            self._json(*api.answer(path.removeprefix(prefix), params))

        def do_GET(self) -> None:
            prefix = f"/file/bot{api.token}/"
            path = unquote(urlsplit(self.path).path)
            content = api.file_content(path.removeprefix(prefix))
            if not path.startswith(prefix) or content is None:
                self._send(404, b"Not Found", "text/plain")
                return
            api.calls.append(Call("download", {"path": path.removeprefix(prefix)}))
            self._send(200, content, "application/octet-stream")

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


# --- real update JSON, as Telegram sends it ------------------------------------------------------

_update_ids = itertools.count(500_000_001)
STICKER = {
    "file_id": "CAACAgIAAxkBAAIC-sticker",
    "file_unique_id": "AgADsticker",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
    "emoji": "👍",
}
_message_ids = itertools.count(1)


def make_update(chat_id: int, text: str | None = None, **message: Any) -> dict[str, Any]:
    """One `message` update from a habitant's private chat; extra fields go into the message."""
    body: dict[str, Any] = {
        "message_id": next(_message_ids),
        "from": {"id": chat_id, "is_bot": False, "first_name": "Amina", "language_code": "fr"},
        "chat": {"id": chat_id, "first_name": "Amina", "type": "private"},
        "date": int(time.time()),
    }
    if text is not None:
        body["text"] = text
        if text.startswith("/"):
            command = text.split(" ", 1)[0]
            body["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    body.update(message)
    return {"update_id": next(_update_ids), "message": body}


def make_photo_update(chat_id: int, file_id: str, caption: str | None = None) -> dict[str, Any]:
    sizes = [
        {"file_id": file_id + "-small", "file_unique_id": "s" + file_id[-8:], "width": 90,
         "height": 67, "file_size": 1200},
        {"file_id": file_id, "file_unique_id": "u" + file_id[-10:], "width": 1280,
         "height": 960, "file_size": 84_000},
    ]  # fmt: skip
    extra: dict[str, Any] = {"photo": sizes}
    if caption is not None:
        extra["caption"] = caption
    return make_update(chat_id, **extra)


def make_member_update(chat_id: int, status: str, old_status: str = "member") -> dict[str, Any]:
    """A `my_chat_member` update of a private chat: the habitant blocked the bot (`kicked`) or
    unblocked it (`member`), as Telegram sends it."""
    habitant = {"id": chat_id, "is_bot": False, "first_name": "Amina", "language_code": "fr"}
    bot = {"id": BOT_ID, "is_bot": True, "first_name": "Paroles", "username": USERNAME}

    def member(value: str) -> dict[str, Any]:
        return {"user": bot, "status": value} | ({"until_date": 0} if value == "kicked" else {})

    return {
        "update_id": next(_update_ids),
        "my_chat_member": {
            "chat": {"id": chat_id, "first_name": "Amina", "type": "private"},
            "from": habitant,
            "date": int(time.time()),
            "old_chat_member": member(old_status),
            "new_chat_member": member(status),
        },
    }
