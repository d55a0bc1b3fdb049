"""A local stand-in of Twilio's REST API for sending SMS and WhatsApp, over real HTTP on 127.0.0.1.

It answers `POST /2010-04-01/Accounts/{sid}/Messages.json` as Twilio does (HTTP basic auth with
the account SID and auth token, form-encoded parameters, a JSON message resource or a JSON error
with Twilio's code), and records every request so tests can read what the real `twilio` client
sent. It can be told to refuse one number with an error code, to fail the next requests with
an HTTP status (429, 500...) to exercise retries, or to accept the next messages and answer 500
all the same (`accept_then_fail`: Twilio has the message, the client believes it failed).

`GET` on the same URL lists the messages it accepted, as `client.messages.list()` reads them:
filtered by `To`, `From` and `DateSent` / `DateSent<` / `DateSent>` (a message not yet sent has
no `date_sent`, so a date filter leaves it out), newest first, `PageSize` per page (50 by
default, 1,000 at most) with a `next_page_uri` to follow. Messages stay `queued`; `clock` gives
their `date_created`.

WhatsApp: `To`/`From` as `whatsapp:+...`. A message with a `ContentSid` needs no `Body`; the
fake knows the Content templates given to `add_content(sid, body)` (`{{1}}`... filled from
`ContentVariables`, the rendered body kept as Twilio keeps it) and refuses others (21655).
`close_window(number)` makes free-form messages (and contents WhatsApp did not approve) to that
number fail with 63016, as Twilio does outside the 24-hour window; approved templates still go.
`add_media(data, mime)` serves a file at a media URL like Twilio's, only to the account's
credentials.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from bots.sms_text import is_gsm7, segments
from tests.fakes.loopback import LoopbackServer

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json$")
MEDIA_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages/MM\w+/Media/ME\w+$")

ERRORS = {
    20003: (401, "Authenticate"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    21617: (400, "The concatenated message body exceeds the 1600 character limit."),
    21655: (400, "The ContentSid is Invalid."),
    63016: (
        400,
        "Failed to send freeform message because you are outside the allowed window. "
        "If you are using WhatsApp, please use a Message Template.",
    ),
}


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    auth: tuple[str, str] | None
    accepted: bool = False


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "fake-auth-token-0123456789"
    requests: list[Recorded] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)  # number -> Twilio error code
    outages: list[int] = field(default_factory=list)  # HTTP statuses for the next requests
    after_accept: list[int] = field(default_factory=list)  # accept the next sends, then fail
    messages: list[dict[str, Any]] = field(default_factory=list)  # accepted, oldest first
    contents: dict[str, str] = field(default_factory=dict)  # ContentSid -> body with {{n}}
    closed_windows: set[str] = field(default_factory=set)  # whatsapp:+... outside 24 hours
    session_only: set[str] = field(default_factory=set)  # contents WhatsApp did not approve
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # path -> (data, mime)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: LoopbackServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return self._server.url

    def start(self) -> FakeTwilio:
        self._server = LoopbackServer(_handler_for(self)).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def refuse(self, number: str, code: int) -> None:
        """Answer every message to `number` with Twilio's error `code`."""
        self.refused[number] = code

    def fail_next(self, *statuses: int) -> None:
        """The next requests get these HTTP statuses (e.g. 429, 503), whoever they are for."""
        self.outages.extend(statuses)

    def add_content(self, sid: str, body: str, *, approved: bool = True) -> str:
        """A Content template Twilio knows, its body with `{{1}}`...; one WhatsApp did not
        approve (a quick reply made for sessions) goes only inside the 24-hour window."""
        self.contents[sid] = body
        if not approved:
            self.session_only.add(sid)
        return sid

    def close_window(self, number: str) -> None:
        """Free-form messages to this WhatsApp number now fail with 63016."""
        self.closed_windows.add(number if number.startswith("whatsapp:") else f"whatsapp:{number}")

    def add_media(self, data: bytes, mime: str) -> str:
        """Serve `data` at a media URL as Twilio gives one in an incoming message."""
        n = len(self.media) + 1
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages/MM{n:032x}/Media/ME{n:032x}"
        self.media[path] = (data, mime)
        return self.base_url + path

    def accept_then_fail(self, *statuses: int) -> None:
        """The next sends are accepted (Twilio has them) but answered with these statuses."""
        self.after_accept.extend(statuses)

    def sent(self) -> list[dict[str, str]]:
        """The form of every message Twilio accepted, in order."""
        return [r.form for r in self.requests if r.accepted]

    # --- answering -------------------------------------------------------------------------

    def add_sent(self, to: str, body: str, sender: str, at: datetime) -> dict[str, Any]:
        """A message sent at `at` without this fake seeing the request (Twilio's console...)."""
        clock, self.clock = self.clock, lambda: at
        try:
            message = self._message({"To": to, "From": sender, "Body": body})
        finally:
            self.clock = clock
        self.messages.append(message)
        return message

    def lookups(self) -> list[dict[str, str]]:
        """The query of every listing of messages, in order."""
        return [r.form for r in self.requests if r.method == "GET"]

    def answer(self, method: str, path: str, form: dict[str, str], auth: Any) -> tuple[int, Any]:
        record = Recorded(method, path, form, auth)
        self.requests.append(record)
        if method == "GET" and (media := MEDIA_PATH.match(path)):
            if auth != (self.account_sid, self.auth_token) or media["sid"] != self.account_sid:
                return 401, _error(20003, ERRORS[20003][1], 401)
            if path not in self.media:
                return 404, _error(20404, "The requested resource was not found", 404)
            return 200, self.media[path]
        match = MESSAGES_PATH.match(path)
        if method not in ("GET", "POST") or match is None:
            return 404, _error(20404, "The requested resource was not found", 404)
        if auth != (self.account_sid, self.auth_token) or match["sid"] != self.account_sid:
            return 401, _error(20003, ERRORS[20003][1], 401)
        if self.outages:
            status = self.outages.pop(0)
            return status, _error(20429 if status == 429 else 20500, "Service unavailable", status)
        if method == "GET":
            return 200, self._page(path, form)
        to, body = form.get("To", ""), form.get("Body", "")
        if not to or not (form.get("From") or form.get("MessagingServiceSid")):
            return 400, _error(21604, "A 'To' and a 'From' phone number are required.", 400)
        if to in self.refused:
            return self._refusal(self.refused[to], to)
        content = form.get("ContentSid", "")
        if to in self.closed_windows and (not content or content in self.session_only):
            return self._refusal(63016, to)
        if content:
            if content not in self.contents:
                return self._refusal(21655, to)
            variables = json.loads(form.get("ContentVariables") or "{}")
            body = re.sub(
                r"\{\{(\d+)\}\}", lambda m: str(variables.get(m[1], "")), self.contents[content]
            )
        if len(body) > 1600:
            return 400, _error(21617, ERRORS[21617][1], 400)
        record.accepted = True
        message = self._message({**form, "Body": body})
        self.messages.append(message)
        if self.after_accept:
            status = self.after_accept.pop(0)
            return status, _error(20500, "Internal Server Error", status)
        return 201, message

    def _refusal(self, code: int, to: str) -> tuple[int, Any]:
        status, text = ERRORS.get(code, (400, "Refused"))
        return status, _error(code, text.format(to=to), status)

    def _page(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        """One page of the messages list, as `GET .../Messages.json` answers it."""
        found = [m for m in reversed(self.messages) if _listed(m, query)]
        size = max(1, min(int(query.get("PageSize") or 50), 1000))
        page = int(query.get("Page") or 0)
        start = int(query.get("PageToken") or page * size)
        rows = found[start : start + size]

        def uri(**changes: object) -> str:
            return f"{path}?{urlencode({**query, 'PageSize': size, **changes})}"

        following = start + size < len(found)
        return {
            "messages": rows,
            "start": start,
            "end": start + max(len(rows) - 1, 0),
            "page": page,
            "page_size": size,
            "uri": uri(Page=page),
            "first_page_uri": uri(Page=0),
            "next_page_uri": uri(Page=page + 1, PageToken=start + size) if following else None,
            "previous_page_uri": uri(Page=page - 1, PageToken=start - size) if page else None,
        }

    def _message(self, form: dict[str, str]) -> dict[str, Any]:
        sid = f"SM{next(self._counter):032x}"
        body = form.get("Body", "")
        now = format_datetime(self.clock(), usegmt=True)
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(segments(body)),
            "price": None,
            "price_unit": "EUR",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
            "to": form.get("To"),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "encoding": "GSM" if is_gsm7(body) else "UCS2",
        }


def _listed(message: dict[str, Any], query: dict[str, str]) -> bool:
    """Whether a listing's filters keep this message (`DateSent` filters need a sending date)."""
    if query.get("To") and message["to"] != query["To"]:
        return False
    if query.get("From") and message["from"] != query["From"]:
        return False
    filters = {k: v for k, v in query.items() if k.startswith("DateSent")}
    if not filters:
        return True
    if message["date_sent"] is None:
        return False
    sent = parsedate_to_datetime(message["date_sent"])
    for key, value in filters.items():
        bound = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if bound.tzinfo is None:  # a plain date: the whole day, in GMT
            bound = bound.replace(tzinfo=UTC)
        if key == "DateSent>" and sent < bound:
            return False
        if key == "DateSent<" and sent > bound:
            return False
        if key == "DateSent" and sent.date() != bound.date():
            return False
    return True


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _handler_for(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _respond(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            url = urlsplit(self.path)
            raw = self.rfile.read(length).decode("utf-8") if length else url.query
            form = {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            status, payload = fake.answer(method, url.path, form, _basic_auth(self.headers))
            mime = "application/json; charset=utf-8"
            if isinstance(payload, tuple):  # a media file: (data, mime)
                data, mime = payload
            else:
                data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", mime)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self._respond("POST")

        def do_GET(self) -> None:  # noqa: N802
            self._respond("GET")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _basic_auth(headers: Any) -> tuple[str, str] | None:
    value = headers.get("Authorization", "")
    if not value.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    return user, password


def with_twilio(settings: Any, fake: FakeTwilio, **overrides: Any) -> Any:
    """`settings` pointed at the fake: its credentials, a short code, a public URL."""
    values = {
        "twilio_account_sid": fake.account_sid,
        "twilio_auth_token": fake.auth_token,
        "twilio_from": "38000",
        "twilio_whatsapp_from": "whatsapp:+33700000000",
        "twilio_api_base_url": fake.base_url,
        "public_url": "https://paroles.example.fr",
    }
    values.update(overrides)
    return replace(settings, **values)


@pytest.fixture(name="twilio")
def twilio_fixture() -> Iterator[FakeTwilio]:
    """A started fake, stopped after the test. Import it as `twilio_fixture` to use `twilio`."""
    fake = FakeTwilio().start()
    yield fake
    fake.stop()
