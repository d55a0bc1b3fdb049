"""A flaky provider for outbox tests: a real HTTP server on loopback, and the channel that uses it.

The server decides each send deterministically from a seed: about 1% of messages fail for good
(an unreachable number), about 10% of attempts fail transiently (503) and, if asked, some are
accepted and answered 500 all the same (`accepted_then_500`: the client cannot tell). It
records every accepted send, so a test can count duplicates even across worker processes that
were killed.
It can also hang on the Nth accepted send, after recording it: that is the crash window between
the provider's acceptance and the worker's update.

The channel registers as `flaky` only where `PAROLES_FLAKY_URL` is set, so importing this module
does not change other tests. `PAROLES_FLAKY_RECONCILE=1` gives it `find_sent`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from bots.channels import Outgoing, SendError, register
from bots.runtime import Runtime
from tests.fakes.loopback import LoopbackServer

NAME = "flaky"


def _fraction(*parts: object) -> float:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class FlakyServer:
    """Records what it receives; fails and hangs as told."""

    def __init__(
        self,
        *,
        seed: int = 7,
        transient: float = 0.10,
        permanent: float = 0.01,
        accepted_then_500: float = 0.0,
        hang_on: int | None = None,
        latency: float = 0.0,
    ) -> None:
        self.seed, self.transient, self.permanent = seed, transient, permanent
        self.accepted_then_500 = accepted_then_500
        self.hang_on, self.latency = hang_on, latency
        self.attempts: Counter[int] = Counter()
        self.deliveries: Counter[int] = Counter()
        self.addresses: list[str] = []
        self.hung = threading.Event()
        self.hung_id: int | None = None
        self.release = threading.Event()
        self.gate: threading.Event | None = None  # when set to an Event, sends wait for it
        self._lock = threading.Lock()
        self._server = LoopbackServer(self._handler())

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> FlakyServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.stop()

    def fails_for_good(self, message_id: int) -> bool:
        return _fraction(self.seed, message_id) < self.permanent

    def fails_now(self, message_id: int, attempt: int) -> bool:
        return _fraction(self.seed, message_id, attempt) < self.transient

    def accepts_then_fails(self, message_id: int, attempt: int) -> bool:
        return _fraction(self.seed, "500", message_id, attempt) < self.accepted_then_500

    def _send(self, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.gate is not None:
            self.gate.wait(60)
        time.sleep(self.latency)
        message_id = int(payload["message_id"])
        with self._lock:
            self.attempts[message_id] += 1
            attempt = self.attempts[message_id]
            self.addresses.append(payload["address"])
            if self.fails_for_good(message_id):
                return 400, {"code": "21211", "message": "unreachable number"}
            if self.fails_now(message_id, attempt):
                return 503, {"code": "503", "message": "try again later"}
            self.deliveries[message_id] += 1
            total = sum(self.deliveries.values())
            if self.accepts_then_fails(message_id, attempt):
                return 500, {"code": "500", "message": "internal error (the message was sent)"}
        if self.hang_on is not None and total == self.hang_on:
            self.hung_id = message_id
            self.hung.set()
            self.release.wait(60)
        return 200, {"id": f"flaky-{message_id}-{attempt}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                status, body = server._send(json.loads(self.rfile.read(length)))
                self._answer(status, body)

            def do_GET(self) -> None:
                message_id = int(self.path.rsplit("/", 1)[-1])
                with server._lock:
                    sent = server.deliveries[message_id] > 0
                self._answer(200 if sent else 404, {"id": f"flaky-{message_id}-found"})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the worker was killed while we hung: nobody is listening

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@dataclass
class FlakyChannel:
    url: str
    name: str = NAME
    rate_per_second: float = 1000.0

    def send(self, message: Outgoing) -> str:
        payload = {"message_id": message.message_id, "address": message.address}
        request = urllib.request.Request(
            f"{self.url}/send",
            data=json.dumps(payload | {"text": message.text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return str(json.loads(response.read())["id"])
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
            error.close()
            if error.code >= 500:  # it may have been accepted all the same
                raise SendError(
                    body.get("message", "server error"), transient=True, code="503", ambiguous=True
                ) from None
            raise SendError(
                body.get("message", "refused"), transient=False, unreachable=True, code=body["code"]
            ) from None
        except urllib.error.URLError as error:
            raise SendError(str(error.reason), transient=True, code="network") from None


@dataclass
class ReconcilingFlakyChannel(FlakyChannel):
    """The same provider, asked afterwards whether it accepted a message."""

    def find_sent(self, message: Outgoing, since: datetime) -> list[str]:
        try:
            with urllib.request.urlopen(f"{self.url}/sent/{message.message_id}", timeout=30) as r:
                return [str(json.loads(r.read())["id"])]
        except urllib.error.HTTPError as error:
            error.close()
            if error.code == 404:
                return []
            raise


@register(NAME, configured=lambda settings: "PAROLES_FLAKY_URL" in settings.extra)
def make(runtime: Runtime) -> FlakyChannel:
    url = runtime.settings.extra["PAROLES_FLAKY_URL"]
    if runtime.settings.extra.get("PAROLES_FLAKY_RECONCILE") == "1":
        return ReconcilingFlakyChannel(url)
    return FlakyChannel(url)
