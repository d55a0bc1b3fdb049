"""Twilio's webhooks: incoming SMS (`POST /hooks/sms`) and delivery statuses (`/hooks/sms/status`).

Both check `X-Twilio-Signature` before reading anything and answer 403 to a forgery (how, and
why over the public URL: `web/hooks/twilio.py`, shared with WhatsApp).

The view only records the message (`bots.inbound.record`: one INSERT, status `recorded`); the
drain steps the dialogue and writes the replies to the outbox in the transaction that marks the
message processed. Replies never travel in the TwiML answer, which is always empty: they are sent
through the REST API (why: see `bots/channels/sms.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, request
from werkzeug.datastructures import MultiDict

from bots import spool
from bots.channels.sms import NAME, is_configured
from bots.channels.twilio_messaging import record_status
from bots.handler import Inbound
from bots.inbound import record
from bots.phone import sender_address
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


def parse_inbound(form: MultiDict[str, str]) -> Inbound:
    """Twilio's incoming-message parameters as an `Inbound`: the sender in E.164, text whole."""
    sid = message_sid(form)
    if not form.get("From"):
        refuse(400, "From is required")
    return Inbound(
        channel=NAME,
        address=sender_address(form["From"]),
        text=form.get("Body", ""),
        external_id=sid,
        media=parse_media(form),
    )


@bp.post("/sms")
def sms_inbound() -> Response:
    """One incoming SMS: recorded once per MessageSid (`bots.inbound`), answered through the
    outbox once the drain has processed it."""
    check_signature(is_configured, "SMS")
    inbound = parse_inbound(request.form)
    try:
        record(get_runtime(), inbound)
    except spool.DATABASE_DOWN:
        # Twilio would not call again: keep the SMS on disk, recorded when the database is back.
        spool.keep(get_runtime(), inbound)
    return empty_twiml()


@bp.post("/sms/status")
def sms_status() -> tuple[str, int]:
    """Twilio's delivery report for one SMS we sent."""
    check_signature(is_configured, "SMS")
    record_status(get_runtime(), NAME, status_report(request.form), datetime.now(UTC))
    return "", 204
