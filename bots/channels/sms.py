"""SMS through Twilio's REST API: one outbox row becomes one SMS, shaped to stay cheap.

The reply path, chosen once for every channel: the inbound webhook (`web/hooks/sms.py`) records
the message and the replies in one transaction and answers Twilio an empty TwiML `<Response/>`;
the replies then leave through the outbox and this module, like Telegram's. Answering with TwiML
instead would be one request fewer, but a crash between the commit and the HTTP answer would
lose the reply (Twilio does not retry a message it delivered), campaigns and back-office replies
would need the REST path anyway, and the outbox's retries, rate limit and delivery statuses would
not apply. So: REST only, and the TwiML answer is always empty.

Errors are sorted for the outbox: a number that cannot receive SMS (`unreachable`) marks the
participant, a busy or broken Twilio (`transient`) is retried later, anything else fails once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import requests
from sqlalchemy import select
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bots.channels import Outgoing, SendError, register
from bots.phone import masked
from bots.reachability import mark_unreachable
from bots.runtime import Runtime
from bots.sms_text import split_sms
from storage.config import Settings
from storage.db import transaction
from storage.models import Message

log = logging.getLogger(__name__)
NAME = "sms"
STATUS_PATH = "/hooks/sms/status"
MAX_BODY = 1600  # Twilio refuses longer bodies (error 21617)
DEFAULT_RATE = 10.0  # messages per second; a short code takes more, a long code less
TIMEOUT_SECONDS = 15.0

# Twilio error codes meaning "this number will not get SMS from us", at sending time (REST
# errors) or later (status callbacks): invalid number, not a mobile, unsubscribed at the
# carrier (the habitant sent STOP to the carrier, not to us), unknown or unreachable handset.
UNREACHABLE_CODES = frozenset(
    {"21211", "21214", "21217", "21407", "21610", "21612", "21614", "30005", "30006"}
)


def is_configured(settings: Settings) -> bool:
    return bool(settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from)


def make_client(settings: Settings) -> Client:
    """A Twilio client whose API base URL comes from `TWILIO_API_BASE_URL` (a stand-in in tests)."""
    client = Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=TwilioHttpClient(timeout=TIMEOUT_SECONDS),
    )
    client.api.base_url = settings.twilio_api_base_url
    return client


@dataclass
class SmsChannel:
    client: Client
    sender: str
    status_callback: str = ""
    rate_per_second: float = DEFAULT_RATE
    name: str = NAME

    def send(self, message: Outgoing) -> str:
        """Send the row as one SMS (Twilio and the phone join its segments).

        Only a body over Twilio's 1,600 characters is sent as several SMS, cut between words;
        the row keeps the id of the first one.
        """
        parts = split_sms(message.text, message.choices, message.expects != "scale", limit=MAX_BODY)
        sids = [self._send_one(message.address, part) for part in parts]
        return sids[0]

    def _send_one(self, to: str, body: str) -> str:
        sender = (
            {"messaging_service_sid": self.sender}
            if self.sender.startswith("MG")
            else {"from_": self.sender}
        )
        extra = {"status_callback": self.status_callback} if self.status_callback else {}
        try:
            created = self.client.messages.create(to=to, body=body, **sender, **extra)
        except TwilioRestException as error:
            raise _send_error(error, to) from error
        except (requests.RequestException, TwilioException) as error:
            raise SendError(f"twilio unreachable: {error}", transient=True) from error
        return str(created.sid)


def _send_error(error: TwilioRestException, to: str) -> SendError:
    code = str(error.code or "")
    reason = f"twilio {error.status} {code}: {error.msg}"
    if code in UNREACHABLE_CODES:
        log.info("sms to %s cannot be delivered (%s)", masked(to), code)
        return SendError(reason, transient=False, unreachable=True, code=code)
    transient = error.status == 429 or error.status >= 500
    return SendError(reason, transient=transient, code=code or str(error.status))


# Twilio's message statuses, as the outbox row records them. `queued`/`sent` add nothing to our
# `sent`; the final ones are kept as Twilio says them. A late `sent` never undoes a `delivered`.
_STATUS = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}
_FINAL = frozenset({"delivered", "undelivered", "failed"})


def record_status(
    runtime: Runtime, sid: str, twilio_status: str, error_code: str, now: datetime
) -> bool:
    """Record a status callback on the outbox row Twilio names; False if no row has that SID.

    An error code that means the number cannot receive SMS marks the participant unreachable,
    so campaigns stop writing to them and what was queued is cancelled; they can still write to
    us, which makes them reachable again (e.g. START after a carrier-level STOP).
    """
    status = _STATUS.get(twilio_status.lower())
    with transaction(runtime.sessions) as session:
        message = session.scalars(
            select(Message)
            .where(Message.channel == NAME, Message.direction == "out", Message.provider_id == sid)
            .with_for_update()
        ).one_or_none()
        if message is None or status is None:
            return message is not None
        if message.status not in _FINAL:
            message.status = status
        if status == "delivered" and message.delivered_at is None:
            message.delivered_at = now
        if status in ("undelivered", "failed"):
            message.error_code = error_code or None
            message.last_error = f"twilio {twilio_status} {error_code}".strip()
            if error_code in UNREACHABLE_CODES and message.participant_id is not None:
                mark_unreachable(session, message.participant_id, now)
    return True


@register(NAME, configured=is_configured)
def make(runtime: Runtime) -> SmsChannel:
    settings = runtime.settings
    callback = settings.public_url + STATUS_PATH if settings.public_url else ""
    return SmsChannel(
        client=make_client(settings),
        sender=settings.twilio_from,
        status_callback=callback,
    )
