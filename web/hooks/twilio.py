"""What Twilio's SMS and WhatsApp webhooks share: the signature check, the empty TwiML answer,
the attachments and the status callbacks' parameters.

Every request is checked with Twilio's own `RequestValidator` before anything is read, and a
forgery gets 403. The signature covers the full URL Twilio called; behind a reverse proxy that
ends TLS, `request.url` says `http://internal-host/...`, so the URL is rebuilt from
`PAROLES_PUBLIC_URL` (the address given to Twilio) and the path and query of the request.

Twilio signs the URL with its port or without it, and `RequestValidator.validate` computes both
signatures for every request; `signed_by_twilio` accepts exactly the same requests and computes
the second one only when the first does not match.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from functools import lru_cache
from typing import NoReturn
from urllib.parse import urlparse

from flask import Response, abort, request
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    add_port,
    get_signature_algorithm,
    remove_port,
)
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from bots.channels.twilio_messaging import StatusReport
from bots.handler import Media
from storage.config import Settings
from web.db import get_runtime

MEDIA_KINDS = {"image": "photo", "audio": "audio", "video": "video"}
DOCUMENTS = frozenset({"application/pdf"})
MAX_MEDIA = 10  # Twilio announces 10 attachments at most
SID = re.compile(r"(SM|MM)[0-9a-f]{32}")
EMPTY_TWIML = str(MessagingResponse())  # the same for every request: built once


def signed_url() -> str:
    """The URL Twilio signed: the public one when known, else the one this request came to."""
    public = get_runtime().settings.public_url
    if not public:
        return request.url
    query = request.query_string.decode("utf-8")
    return public + request.path + (f"?{query}" if query else "")


def refuse(code: int, reason: str) -> NoReturn:
    """A plain-text refusal: Twilio reads no HTML error page."""
    abort(Response(reason, status=code, mimetype="text/plain"))


def check_signature(configured: Callable[[Settings], bool], what: str) -> None:
    """403 unless Twilio signed this request with our auth token; 404 if `what` is not set up."""
    settings = get_runtime().settings
    if not configured(settings):
        refuse(404, f"{what} is not configured")
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    signature = request.headers.get(SIGNATURE_HEADER, "")
    validator = _validator(settings.twilio_auth_token)
    if not signature or not signed_by_twilio(
        validator, signed_url(), request.form, signature, algorithm
    ):
        refuse(403, "invalid Twilio signature")


@lru_cache(maxsize=8)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


def signed_by_twilio(
    validator: RequestValidator,
    url: str,
    form: MultiDict[str, str],
    signature: str,
    algorithm: str,
) -> bool:
    """`validator.validate(url, form, signature, algorithm)`: the URL signed with its port or
    without it; the form as given URL-encoded (a `bodySHA256` query is for JSON bodies, which
    `validate` leaves to itself, as it does an algorithm it does not know)."""
    parsed = urlparse(url)
    if algorithm.upper() not in (HMAC_SHA1, HMAC_SHA256) or "bodySHA256" in parsed.query:
        return bool(validator.validate(url, form, signature, algorithm))
    plain, with_port = remove_port(parsed), add_port(parsed)
    for candidate in (with_port, plain) if url == with_port else (plain, with_port):
        computed = validator.compute_signature(candidate, form, algorithm)
        if hmac.compare_digest(computed.encode(), signature.encode()):
            return True
    return False


def empty_twiml() -> Response:
    return Response(EMPTY_TWIML, mimetype="text/xml")


def parse_media(form: MultiDict[str, str], *, audio: str = "audio") -> tuple[Media, ...]:
    """Every attachment Twilio announces, kept as metadata even when we have no use for it.

    `audio` names what an audio file is on this channel (a WhatsApp one is a voice note).
    """
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        count = 0
    kinds = {**MEDIA_KINDS, "audio": audio}
    media = []
    for index in range(min(count, MAX_MEDIA)):
        url = form.get(f"MediaUrl{index}", "")
        mime = form.get(f"MediaContentType{index}", "")
        if not url:
            continue
        kind = kinds.get(mime.partition("/")[0], "document" if mime in DOCUMENTS else "other")
        media.append(Media(kind=kind, file_id=url, mime=mime))
    return tuple(media)


def message_sid(form: MultiDict[str, str]) -> str:
    """The message's SID, refused (400) unless it is one: `SM` or `MM` and 32 hex digits, and
    `SmsSid`, when Twilio sends it too, the same. Twilio's signature glues names and values
    together, so without this a captured request could be replayed with `NumMedia` moved into
    the SID (`MessageSid=SM…NumMedia0`) and the same signature, under a "new" SID."""
    sid = form.get("MessageSid", "")
    if not SID.fullmatch(sid):
        refuse(400, "MessageSid must be SM or MM followed by 32 hexadecimal digits")
    if "SmsSid" in form and form["SmsSid"] != sid:
        refuse(400, "SmsSid differs from MessageSid")
    return sid


def status_report(form: MultiDict[str, str]) -> StatusReport:
    """A status callback's parameters; 400 without the message and its status."""
    sid = message_sid(form)
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    if not status:
        refuse(400, "MessageStatus is required")
    return StatusReport(
        sid=sid,
        status=status,
        error_code=form.get("ErrorCode", ""),
        price=form.get("Price", ""),
        price_unit=form.get("PriceUnit", ""),
    )
