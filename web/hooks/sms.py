"""Twilio's webhooks: incoming SMS (`POST /hooks/sms`) and delivery statuses (`/hooks/sms/status`).

Both check `X-Twilio-Signature` with Twilio's own `RequestValidator` before reading anything, and
answer 403 to a forgery. The signature covers the full URL Twilio called; behind a reverse proxy
that ends TLS, `request.url` says `http://internal-host/...`, so the URL is rebuilt from
`PAROLES_PUBLIC_URL` (the address given to Twilio) and the path and query of the request.

Replies never travel in the TwiML answer, which is always empty: they are written to the outbox in
the same transaction as the incoming message and sent through the REST API (why: see
`bots/channels/sms.py`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NoReturn

from flask import Response, abort, request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from bots import spool
from bots.channels.sms import NAME, is_configured, record_status
from bots.handler import Inbound, Media, handle_inbound
from bots.phone import sender_address
from web.db import get_runtime
from web.hooks import bp

MEDIA_KINDS = {"image": "photo", "audio": "audio", "video": "video"}
DOCUMENTS = frozenset({"application/pdf"})
SID = re.compile(r"(SM|MM)[0-9a-f]{32}")


def _signed_url() -> str:
    """The URL Twilio signed: the public one when known, else the one this request came to."""
    public = get_runtime().settings.public_url
    if not public:
        return request.url
    query = request.query_string.decode("utf-8")
    return public + request.path + (f"?{query}" if query else "")


def _refuse(code: int, reason: str) -> NoReturn:
    """A plain-text refusal: Twilio reads no HTML error page."""
    abort(Response(reason, status=code, mimetype="text/plain"))


def _check_signature() -> None:
    """403 unless Twilio signed this request with our auth token; 404 if SMS is not set up."""
    settings = get_runtime().settings
    if not is_configured(settings):
        _refuse(404, "SMS is not configured")
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    signature = request.headers.get(SIGNATURE_HEADER, "")
    validator = RequestValidator(settings.twilio_auth_token)
    if not signature or not validator.validate(_signed_url(), request.form, signature, algorithm):
        _refuse(403, "invalid Twilio signature")


def _empty_twiml() -> Response:
    return Response(str(MessagingResponse()), mimetype="text/xml")


def parse_media(form: MultiDict[str, str]) -> tuple[Media, ...]:
    """Every attachment Twilio announces, kept as metadata even when we have no use for it."""
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        count = 0
    media = []
    for index in range(min(count, 10)):  # Twilio sends 10 at most
        url = form.get(f"MediaUrl{index}", "")
        mime = form.get(f"MediaContentType{index}", "")
        if not url:
            continue
        kind = MEDIA_KINDS.get(mime.partition("/")[0], "document" if mime in DOCUMENTS else "other")
        media.append(Media(kind=kind, file_id=url, mime=mime))
    return tuple(media)


def message_sid(form: MultiDict[str, str]) -> str:
    """The message's SID, refused (400) unless it is one: `SM` or `MM` and 32 hex digits, and
    `SmsSid`, when Twilio sends it too, the same. Twilio's signature glues names and values
    together, so without this a captured request could be replayed with `NumMedia` moved into
    the SID (`MessageSid=SM…NumMedia0`) and the same signature, under a "new" SID."""
    sid = form.get("MessageSid", "")
    if not SID.fullmatch(sid):
        _refuse(400, "MessageSid must be SM or MM followed by 32 hexadecimal digits")
    if "SmsSid" in form and form["SmsSid"] != sid:
        _refuse(400, "SmsSid differs from MessageSid")
    return sid


def parse_inbound(form: MultiDict[str, str]) -> Inbound:
    """Twilio's incoming-message parameters as an `Inbound`: the sender in E.164, text whole."""
    sid = message_sid(form)
    if not form.get("From"):
        _refuse(400, "From is required")
    return Inbound(
        channel=NAME,
        address=sender_address(form["From"]),
        text=form.get("Body", ""),
        external_id=sid,
        media=parse_media(form),
    )


@bp.post("/sms")
def sms_inbound() -> Response:
    """One incoming SMS: recorded once per MessageSid, answered through the outbox."""
    _check_signature()
    inbound = parse_inbound(request.form)
    try:
        handle_inbound(get_runtime(), inbound)
    except spool.DATABASE_DOWN:
        # Twilio would not call again: keep the SMS on disk, recorded when the database is back.
        spool.keep(get_runtime(), inbound)
    return _empty_twiml()


@bp.post("/sms/status")
def sms_status() -> tuple[str, int]:
    """Twilio's delivery report for one SMS we sent."""
    _check_signature()
    sid = message_sid(request.form)
    status = request.form.get("MessageStatus") or request.form.get("SmsStatus") or ""
    if not status:
        _refuse(400, "MessageStatus is required")
    record_status(get_runtime(), sid, status, request.form.get("ErrorCode", ""), datetime.now(UTC))
    return "", 204
