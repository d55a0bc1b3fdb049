"""A local stand-in of LibreTranslate's HTTP API, over real HTTP on 127.0.0.1.

It answers as LibreTranslate does: ``POST /translate`` (JSON or form ``q``, ``source``,
``target``, ``format``, ``api_key``) with ``{"translatedText"}`` (plus ``detectedLanguage``
when ``source`` is ``auto``), ``POST /detect`` with ``[{"language", "confidence"}]``, and
``GET /languages`` with ``[{"code", "name", "targets"}]``; errors are an HTTP status and
``{"error": "..."}`` (400 a missing parameter or a language it has no model for, 403 a wrong
key when ``api_key`` is set). Its "translation" is a fixed dictionary (``phrases``), else the
text tagged with the target (``[fr] ...``): the point is what the client sends and does with
the answer, not the quality of a translation.

Faults for tests: ``outages`` (HTTP statuses for the next requests), ``delay`` (seconds before
each answer, to exercise timeouts), ``garbage`` (the next answers are not JSON). Every request
is recorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.fakes.loopback import LoopbackServer

NAMES = {
    "fr": "French",
    "en": "English",
    "ar": "Arabic",
    "tr": "Turkish",
    "pt": "Portuguese",
    "es": "Spanish",
    "ro": "Romanian",
    "uk": "Ukrainian",
}


@dataclass
class Recorded:
    method: str
    path: str
    body: dict[str, Any]


@dataclass
class FakeLibreTranslate:
    api_key: str = ""  # when set, every call must carry it
    languages: tuple[str, ...] = tuple(NAMES)
    phrases: dict[tuple[str, str], str] = field(default_factory=dict)  # (text, target) -> text
    detections: dict[str, str] = field(default_factory=dict)  # text -> language
    outages: list[int] = field(default_factory=list)
    delay: float = 0.0
    garbage: int = 0
    requests: list[Recorded] = field(default_factory=list)
    _server: LoopbackServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return self._server.url

    def start(self) -> FakeLibreTranslate:
        self._server = LoopbackServer(_handler_for(self)).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    # -- what the server answers ---------------------------------------------------------------

    def answer(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        self.requests.append(Recorded(method, path, body))
        if self.outages:
            status = self.outages.pop(0)
            return status, {"error": f"Simulated failure {status}"}
        if path == "/languages" and method == "GET":
            return 200, [
                {"code": c, "name": NAMES.get(c, c), "targets": [t for t in self.languages]}
                for c in self.languages
            ]
        if method != "POST" or path not in ("/translate", "/detect"):
            return 404, {"error": "Not Found"}
        if self.api_key and body.get("api_key") != self.api_key:
            return 403, {"error": "Invalid API key"}
        q = body.get("q")
        if not isinstance(q, str) or not q:
            return 400, {"error": "Invalid request: missing q parameter"}
        if path == "/detect":
            return 200, [{"language": self.detect(q), "confidence": 90.0}]
        source, target = body.get("source"), body.get("target")
        if not target:
            return 400, {"error": "Invalid request: missing target parameter"}
        for code in (source, target):
            if code != "auto" and code not in self.languages:
                return 400, {"error": f"{code} is not supported"}
        out: dict[str, Any] = {"translatedText": self.phrases.get((q, target), f"[{target}] {q}")}
        if source == "auto":
            out["detectedLanguage"] = {"language": self.detect(q), "confidence": 90.0}
        return 200, out

    def detect(self, text: str) -> str:
        return self.detections.get(text, "en")


def _handler_for(fake: FakeLibreTranslate) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if "json" in (self.headers.get("Content-Type") or ""):
                try:
                    data = json.loads(raw or b"{}")
                except ValueError:
                    return {}
                return data if isinstance(data, dict) else {}
            return {k: v[-1] for k, v in parse_qs(raw.decode()).items()}

        def _reply(self, method: str) -> None:
            body = self._body() if method == "POST" else {}
            status, payload = fake.answer(method, self.path.split("?")[0], body)
            if fake.delay:
                time.sleep(fake.delay)
            if fake.garbage:
                fake.garbage -= 1
                data = b"<html>502 Bad Gateway</html>"
            else:
                data = json.dumps(payload, ensure_ascii=False).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def do_GET(self) -> None:  # noqa: N802 (http.server's names)
            self._reply("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._reply("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_libretranslate() -> Iterator[FakeLibreTranslate]:
    fake = FakeLibreTranslate().start()
    yield fake
    fake.stop()
