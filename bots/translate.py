"""A client of LibreTranslate, the open-source translation server a territory runs itself.

Configured by ``PAROLES_TRANSLATE_URL`` (e.g. ``http://127.0.0.1:5000``) and, when the server
asks for one, ``PAROLES_TRANSLATE_API_KEY``. Without a URL there is no translation at all, and
the pages say how to set a server up (README, "Traduction"). Texts never leave for a service
the territory does not run: there is no default URL.

LibreTranslate's HTTP API, as this client uses it:

- ``POST /translate`` with JSON ``{"q", "source", "target", "format": "text", "api_key"}``
  answers ``{"translatedText": ...}`` (and ``detectedLanguage`` when ``source`` is ``auto``);
- ``POST /detect`` with ``{"q", "api_key"}`` answers ``[{"language", "confidence"}, ...]``;
- ``GET /languages`` answers ``[{"code", "name", "targets": [...]}, ...]``;
- an error is an HTTP status (400 bad request or unsupported language, 403 a wrong or missing
  key, 429 too many requests, 500) with ``{"error": "..."}``.

Every failure (refused, unreachable, too slow, an answer that is not what the API promises)
becomes one ``TranslationError`` whose message says what happened without the text or the key:
callers store it and retry later, they never let it block an inbox page or a reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from storage.config import Settings

__all__ = ["Detected", "TranslationError", "Translator", "translator_from"]

# Seconds: connecting, then the whole answer. A page waits at most this long for a translation;
# the background job has the same limit, and tries again later.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 20.0
# LibreTranslate's default ``--char-limit`` is 5,000; longer texts are refused with a 400.
MAX_CHARS = 5000


class TranslationError(RuntimeError):
    """The translation server did not translate; ``retry`` says whether trying later may help."""

    def __init__(self, message: str, *, retry: bool = True, away: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        self.away = away  # the server did not answer at all (down, unreachable, too slow)


@dataclass(frozen=True)
class Detected:
    language: str  # ISO 639-1 code, e.g. "ar"
    confidence: float  # 0..100, as LibreTranslate gives it


class Translator:
    """Calls to one LibreTranslate server (thread-safe: one ``httpx.Client`` per call)."""

    def __init__(
        self,
        url: str,
        api_key: str = "",
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.url = url.rstrip("/")
        self._api_key = api_key
        self._timeout = httpx.Timeout(read_timeout, connect=connect_timeout)

    def __repr__(self) -> str:  # never the key
        return f"<Translator {self.url}>"

    def translate(self, text: str, target: str, source: str = "auto") -> str:
        """``text`` translated into ``target`` (from ``source``, or detected by the server)."""
        if not text.strip():
            return text
        body = {"q": text[:MAX_CHARS], "source": source, "target": target, "format": "text"}
        answer = self._call("POST", "/translate", body)
        translated = answer.get("translatedText") if isinstance(answer, dict) else None
        if not isinstance(translated, str):
            raise TranslationError("réponse inattendue du serveur de traduction (/translate)")
        return translated

    def detect(self, text: str) -> Detected | None:
        """The most likely language of ``text``, or ``None`` when the server has no idea."""
        answer = self._call("POST", "/detect", {"q": text[:MAX_CHARS]})
        if not isinstance(answer, list):
            raise TranslationError("réponse inattendue du serveur de traduction (/detect)")
        best = [a for a in answer if isinstance(a, dict) and isinstance(a.get("language"), str)]
        if not best:
            return None
        top = max(best, key=lambda a: float(a.get("confidence") or 0))
        return Detected(top["language"], float(top.get("confidence") or 0))

    def languages(self) -> dict[str, tuple[str, ...]]:
        """The languages the server has models for: ``{code: target codes}``."""
        answer = self._call("GET", "/languages", None)
        if not isinstance(answer, list):
            raise TranslationError("réponse inattendue du serveur de traduction (/languages)")
        return {
            str(item["code"]): tuple(str(t) for t in item.get("targets") or ())
            for item in answer
            if isinstance(item, dict) and "code" in item
        }

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        if body is not None and self._api_key:
            body = {**body, "api_key": self._api_key}
        try:
            with httpx.Client(timeout=self._timeout) as client:
                response = client.request(method, self.url + path, json=body)
        except httpx.TimeoutException as error:
            raise TranslationError(
                f"pas de réponse à temps du traducteur ({path})", away=True
            ) from error
        except httpx.HTTPError as error:
            raise TranslationError(
                f"serveur de traduction injoignable ({path}: {type(error).__name__})", away=True
            ) from error
        if response.status_code != 200:
            raise _refused(path, response)
        try:
            return response.json()
        except ValueError as error:
            raise TranslationError(f"réponse illisible du traducteur ({path})") from error


def _refused(path: str, response: httpx.Response) -> TranslationError:
    """The error for a non-200 answer: the server's own message, cut short."""
    try:
        said = response.json().get("error", "")
    except (ValueError, AttributeError):
        said = ""
    said = str(said)[:160]
    status = response.status_code
    # A wrong key or an unsupported language does not fix itself; the rest may.
    retry = status not in (400, 403)
    detail = f" : {said}" if said else ""
    return TranslationError(
        f"le serveur de traduction a refusé ({path}, HTTP {status}){detail}", retry=retry
    )


def translator_from(settings: Settings) -> Translator | None:
    """The configured translator, or ``None`` when ``PAROLES_TRANSLATE_URL`` is not set."""
    url = settings.translate_url
    if not url:
        return None
    return Translator(url, settings.translate_api_key)
