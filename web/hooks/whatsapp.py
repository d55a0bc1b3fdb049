"""Twilio's WhatsApp webhooks: incoming messages (`POST /hooks/whatsapp`) and statuses
(`/hooks/whatsapp/status`, including `read`).

The same design as SMS (`web/hooks/sms.py`, `web/hooks/twilio.py`): `X-Twilio-Signature` is
checked before anything is read, a message is recorded once per `MessageSid`, replies leave
through the outbox and the TwiML answer is always empty. The sender `whatsapp:+33...` becomes the
bare number, as an SMS sender does, so one number is one participant on both channels. A tapped
quick-reply button arrives as its title in `Body` (and `ButtonText`); it is read as typed text.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, request
from werkzeug.datastructures import MultiDict

from bots import spool
from bots.channels.whatsapp import NAME, is_configured, receive, record_status
from bots.handler import Inbound
from bots.phone import whatsapp_address
from web.db import get_runtime
from web.hooks import bp
from web.hooks.twilio import (
    check_signature,
    empty_twiml,
    message_sid,
    parse_media,
    refuse,
    status_report,
)

MAX_TEXT = 4096


def parse_inbound(form: MultiDict[str, str]) -> Inbound:
    """Twilio's WhatsApp parameters as an `Inbound`: the sender as a bare E.164 number."""
    sid = message_sid(form)
    sender = form.get("From", "")
    if not sender:
        refuse(400, "From is required")
    text = form.get("Body") or form.get("ButtonText") or ""
    return Inbound(
        channel=NAME,
        address=whatsapp_address(sender),
        text=text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…",
        external_id=sid,
        media=parse_media(form, audio="voice"),
    )


@bp.post("/whatsapp")
def whatsapp_inbound() -> Response:
    """One incoming WhatsApp message: recorded once per MessageSid, answered through the outbox."""
    check_signature(is_configured, "WhatsApp")
    inbound = parse_inbound(request.form)
    runtime = get_runtime()
    try:
        receive(runtime, inbound)
    except spool.DATABASE_DOWN:
        # As for SMS: Twilio would not call again, so the message waits on disk.
        spool.keep(runtime, inbound)
    return empty_twiml()


@bp.post("/whatsapp/status")
def whatsapp_status() -> tuple[str, int]:
    """Twilio's report on one WhatsApp message we sent: sent, delivered, read, failed..."""
    check_signature(is_configured, "WhatsApp")
    record_status(get_runtime(), status_report(request.form), datetime.now(UTC))
    return "", 204
