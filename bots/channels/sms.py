"""SMS through Twilio's REST API: one outbox row becomes one SMS, shaped to stay cheap.

The reply path, chosen once for every channel: the inbound webhook (`web/hooks/sms.py`) records
the message and answers Twilio an empty TwiML `<Response/>`; the drain (`bots.inbound`) writes
the replies to the outbox with the message's step, and they leave through this module, like
Telegram's. Answering with TwiML
instead would be one request fewer, but a crash between the commit and the HTTP answer would
lose the reply (Twilio does not retry a message it delivered), campaigns and back-office replies
would need the REST path anyway, and the outbox's retries, rate limit and delivery statuses would
not apply. So: REST only, and the TwiML answer is always empty.

The Twilio client, the sorting of errors, the settling of interrupted sends and the status
callbacks are shared with WhatsApp (`bots/channels/twilio_messaging.py`).

Errors are sorted for the outbox: a number that cannot receive SMS (`unreachable`) marks the
participant, a busy or broken Twilio (`transient`) is retried later, anything else fails once.
A send interrupted by a crash after Twilio accepted it, or answered by a 5xx or no answer at all
(Twilio may have accepted it: an `ambiguous` failure), is settled by looking it up in Twilio's
list of messages (`SmsChannel.find_sent`), so it is neither lost nor sent twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance

from bots.channels import Outgoing, Sent, register
from bots.channels.twilio_messaging import (
    StatusReport,
    TwilioSender,
    account_configured,
    found_sent,
    make_client,
)
from bots.channels.twilio_messaging import record_status as record_twilio_status
from bots.runtime import Runtime
from bots.sms_text import segments, split_sms
from storage.config import Settings

__all__ = ["NAME", "SmsChannel", "is_configured", "make_client", "record_status"]

log = logging.getLogger(__name__)
NAME = "sms"
STATUS_PATH = "/hooks/sms/status"
MAX_BODY = 1600  # Twilio refuses longer bodies (error 21617)
DEFAULT_RATE = 10.0  # messages per second; a short code takes more, a long code less


def is_configured(settings: Settings) -> bool:
    return account_configured(settings) and bool(settings.twilio_from)


@dataclass
class SmsChannel:
    client: Client
    sender: str
    status_callback: str = ""
    rate_per_second: float = DEFAULT_RATE
    name: str = NAME

    @property
    def twilio(self) -> TwilioSender:
        return TwilioSender(self.client, self.sender, self.status_callback)

    def send(self, message: Outgoing) -> Sent:
        """Send the row as one SMS (Twilio and the phone join its segments).

        Only a body over Twilio's 1,600 characters is sent as several SMS, cut between words;
        the row keeps the id of the first one, and the segments of all (Twilio's count when it
        gives one, ours otherwise) for the budget.
        """
        parts = split_sms(message.text, message.choices, message.expects != "scale", limit=MAX_BODY)
        created = [self.twilio.create(message.address, body=part) for part in parts]
        units = sum(_segments(sms, part) for sms, part in zip(created, parts, strict=True))
        return Sent(str(created[0].sid), units=units)

    def find_sent(self, message: Outgoing, since: datetime) -> list[str | Sent]:
        """The SMS Twilio holds that may be this row, oldest first (see `Channel`).

        Its body must hold this row's first SMS (a trial account or a Messaging Service may add
        text around it); the rest is `TwilioSender.find_sent`. Each counts Twilio's segments
        for that SMS (ours when it gives none) and ours for the parts after it.
        """
        numbered = message.expects != "scale"
        parts = split_sms(message.text, message.choices, numbered, limit=MAX_BODY)
        first, rest = parts[0], sum(segments(part) for part in parts[1:])
        found = self.twilio.find_sent(message.address, since, lambda sms: first in (sms.body or ""))
        return [found_sent(sms, _segments(sms, first) + rest) for sms in found]


def _segments(sms: MessageInstance, body: str) -> int:
    try:
        return int(sms.num_segments or 0) or segments(body)
    except (TypeError, ValueError):
        return segments(body)


def record_status(
    runtime: Runtime,
    sid: str,
    twilio_status: str,
    error_code: str,
    now: datetime,
    price: str = "",
    price_unit: str = "",
) -> bool:
    """Record a status callback on the SMS outbox row Twilio names; False if no row has it."""
    report = StatusReport(sid, twilio_status, error_code, price, price_unit)
    return record_twilio_status(runtime, NAME, report, now)


@register(NAME, configured=is_configured)
def make(runtime: Runtime) -> SmsChannel:
    settings = runtime.settings
    callback = settings.public_url + STATUS_PATH if settings.public_url else ""
    return SmsChannel(
        client=make_client(settings),
        sender=settings.twilio_from,
        status_callback=callback,
    )
