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
A send interrupted by a crash after Twilio accepted it, or answered by a 5xx or no answer at all
(Twilio may have accepted it: an `ambiguous` failure), is settled by looking it up in Twilio's
list of messages (`SmsChannel.find_sent`), so it is neither lost nor sent twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from sqlalchemy import select
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance
from urllib3.exceptions import NewConnectionError

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
LOOKUP_LIMIT = 1000  # SMS to one number read to settle an interrupted send (one page)
CLOCK_SKEW = timedelta(minutes=1)  # between our clock and Twilio's (whole seconds)

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
            reason = f"twilio unreachable: {error}"
            if _never_reached(error):
                raise SendError(reason, transient=True) from error
            # A read timeout, a connection dropped mid-answer: Twilio may have the message.
            raise SendError(reason, transient=True, ambiguous=True, code="ambiguous") from error
        return str(created.sid)

    def find_sent(self, message: Outgoing, since: datetime) -> list[str]:
        """The SIDs of the SMS Twilio holds that may be this row, oldest first (see `Channel`).

        Twilio takes no idempotency key, but it lists what was sent to a number. A message is
        this row's if it went from our sender to this number, was created while this row was
        being sent (from `since` to the HTTP timeout, give or take a minute of clock skew), and
        its body holds this row's first SMS (a trial account or a Messaging Service may add
        text around it). The list is not filtered on `DateSent`: a message Twilio still queues
        has no sending date yet, and it must be found. When there are more messages to the
        number than we read, Twilio cannot tell us (SendError).
        """
        numbered = message.expects != "scale"
        first = split_sms(message.text, message.choices, numbered, limit=MAX_BODY)[0]
        sender = {} if self.sender.startswith("MG") else {"from_": self.sender}
        try:
            found = self.client.messages.list(to=message.address, limit=LOOKUP_LIMIT, **sender)
        except (requests.RequestException, TwilioException) as error:
            raise _lookup_error(error) from error
        if len(found) >= LOOKUP_LIMIT:
            reason = f"more than {LOOKUP_LIMIT} SMS to this number, cannot tell which"
            raise SendError(reason, transient=False, code="lookup")
        start = since - CLOCK_SKEW
        end = since + timedelta(seconds=TIMEOUT_SECONDS) + CLOCK_SKEW
        mine = [
            sms
            for sms in found
            if self._from_us(sms)
            and sms.date_created is not None
            and start <= sms.date_created <= end
            and first in (sms.body or "")
        ]
        mine.sort(key=lambda sms: sms.date_created)
        return [str(sms.sid) for sms in mine]

    def _from_us(self, sms: MessageInstance) -> bool:
        if not str(sms.direction or "").startswith("outbound"):
            return False
        ours = sms.messaging_service_sid if self.sender.startswith("MG") else sms.from_
        return str(ours or "") == self.sender


def _never_reached(error: Exception) -> bool:
    """Whether the request certainly never reached Twilio (no connection could be opened)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, requests.ConnectionError) and error.args:
        reason = getattr(error.args[0], "reason", error.args[0])
        return isinstance(reason, NewConnectionError)
    return False


def _lookup_error(error: Exception) -> SendError:
    """Why Twilio did not list the messages: to ask again later, unless it refused (4xx)."""
    status = getattr(error, "status", None)  # TwilioRestException
    if status is None and len(error.args) > 1:  # a page Twilio would not give: (text, response)
        status = getattr(error.args[1], "status_code", None)
    transient = not isinstance(status, int) or status == 429 or status >= 500
    return SendError(f"twilio lookup failed: {error}", transient=transient, code="lookup")


def _send_error(error: TwilioRestException, to: str) -> SendError:
    code = str(error.code or "")
    reason = f"twilio {error.status} {code}: {error.msg}"
    if code in UNREACHABLE_CODES:
        log.info("sms to %s cannot be delivered (%s)", masked(to), code)
        return SendError(reason, transient=False, unreachable=True, code=code)
    if error.status >= 500:
        # Twilio may have accepted the message before failing to answer: settle it with
        # Twilio's list (`find_sent`) before any retry, never resend blindly.
        return SendError(reason, transient=True, ambiguous=True, code=code or str(error.status))
    transient = error.status == 429
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
