"""What the SMS and WhatsApp channels share: one Twilio account, one Messages API, one status path.

Both channels send through the same `twilio` client (`make_client`), sort Twilio's errors the
same way for the outbox (`send_error`; a 5xx, or a connection lost after the request left, is
`ambiguous`: Twilio may have the message), settle a send interrupted by a crash or ambiguous by
listing what Twilio holds for the number (`TwilioSender.find_sent`), and record Twilio's status
callbacks on their outbox rows (`record_status`), including WhatsApp's `read` and the price
Twilio reports. What differs stays in each channel: SMS shapes GSM-7 segments, WhatsApp minds
the 24-hour window and its templates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import select
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance
from urllib3.exceptions import NewConnectionError

from bots.channels import SendError, Sent
from bots.phone import masked
from bots.reachability import mark_unreachable
from bots.runtime import Runtime
from storage.config import Settings
from storage.db import transaction
from storage.models import Message

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 15.0
LOOKUP_LIMIT = 1000  # messages to one number read to settle an interrupted send (one page)
CLOCK_SKEW = timedelta(minutes=1)  # between our clock and Twilio's (whole seconds)

# Twilio error codes meaning "this number will not get messages from us", at sending time (REST
# errors) or later (status callbacks): invalid number, not a mobile, unsubscribed at the
# carrier (the habitant sent STOP to the carrier, not to us), unknown or unreachable handset.
UNREACHABLE_CODES = frozenset(
    {"21211", "21214", "21217", "21407", "21610", "21612", "21614", "30005", "30006"}
)


def account_configured(settings: Settings) -> bool:
    return bool(settings.twilio_account_sid and settings.twilio_auth_token)


def make_client(settings: Settings) -> Client:
    """A Twilio client whose API base URL comes from `TWILIO_API_BASE_URL` (a stand-in in tests).

    Only the Messages API (`api.twilio.com`) is used; media URLs Twilio gives us are absolute.
    """
    client = Client(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        http_client=TwilioHttpClient(timeout=TIMEOUT_SECONDS),
    )
    client.api.base_url = settings.twilio_api_base_url
    return client


def send_error(error: TwilioRestException, to: str, unreachable: Collection[str] = ()) -> SendError:
    """How the outbox treats a refusal: unreachable numbers marked, 429 and 5xx retried."""
    code = str(error.code or "")
    # Twilio's text may quote the number ("The 'To' number +336… is not valid"): masked here,
    # since the reason is kept on the message row and logged.
    number = to.removeprefix("whatsapp:")
    reason = f"twilio {error.status} {code}: {str(error.msg).replace(number, masked(number))}"
    if code in UNREACHABLE_CODES or code in unreachable:
        log.info("message to %s cannot be delivered (%s)", masked(to), code)
        return SendError(reason, transient=False, unreachable=True, code=code)
    if error.status >= 500:
        # Twilio may have accepted the message before failing to answer: settle it with
        # Twilio's list (`find_sent`) before any retry, never resend blindly.
        return SendError(reason, transient=True, ambiguous=True, code=code or str(error.status))
    transient = error.status == 429
    return SendError(reason, transient=transient, code=code or str(error.status))


def never_reached(error: Exception) -> bool:
    """Whether the request certainly never reached Twilio (no connection could be opened)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, requests.ConnectionError) and error.args:
        reason = getattr(error.args[0], "reason", error.args[0])
        return isinstance(reason, NewConnectionError)
    return False


def lookup_error(error: Exception) -> SendError:
    """Why Twilio did not list the messages: to ask again later, unless it refused (4xx)."""
    status = getattr(error, "status", None)  # TwilioRestException
    if status is None and len(error.args) > 1:  # a page Twilio would not give: (text, response)
        status = getattr(error.args[1], "status_code", None)
    transient = not isinstance(status, int) or status == 429 or status >= 500
    return SendError(f"twilio lookup failed: {error}", transient=transient, code="lookup")


@dataclass
class TwilioSender:
    """One sender on the account (a number, a short code, `whatsapp:+...` or a Messaging
    Service `MG...`) and the status callback URL its messages report to."""

    client: Client
    sender: str
    status_callback: str = ""

    def create(self, to: str, **params: Any) -> MessageInstance:
        """`POST .../Messages.json`; SendError (sorted for the outbox) when Twilio refuses."""
        sender = (
            {"messaging_service_sid": self.sender}
            if self.sender.startswith("MG")
            else {"from_": self.sender}
        )
        extra = {"status_callback": self.status_callback} if self.status_callback else {}
        unreachable = params.pop("unreachable", ())
        try:
            return self.client.messages.create(to=to, **sender, **extra, **params)
        except TwilioRestException as error:
            raise send_error(error, to, unreachable) from error
        except (requests.RequestException, TwilioException) as error:
            reason = f"twilio unreachable: {error}"
            if never_reached(error):
                raise SendError(reason, transient=True) from error
            # A read timeout, a connection dropped mid-answer: Twilio may have the message.
            raise SendError(reason, transient=True, ambiguous=True, code="ambiguous") from error

    def find_sent(
        self, to: str, since: datetime, mine: Callable[[MessageInstance], bool]
    ) -> list[MessageInstance]:
        """The messages Twilio holds that may be the one whose send began at `since`.

        Twilio takes no idempotency key, but it lists what was sent to a number. A message is
        ours if it went from this sender to this number, was created while the row was being
        sent (from `since` to the HTTP timeout, give or take a minute of clock skew), and
        `mine` recognises its content. The list is not filtered on `DateSent`: a message Twilio
        still queues has no sending date yet, and it must be found. When there are more
        messages to the number than we read, Twilio cannot tell us (SendError).
        """
        sender = {} if self.sender.startswith("MG") else {"from_": self.sender}
        try:
            found = self.client.messages.list(to=to, limit=LOOKUP_LIMIT, **sender)
        except (requests.RequestException, TwilioException) as error:
            raise lookup_error(error) from error
        if len(found) >= LOOKUP_LIMIT:
            reason = f"more than {LOOKUP_LIMIT} messages to this number, cannot tell which"
            raise SendError(reason, transient=False, code="lookup")
        start = since - CLOCK_SKEW
        end = since + timedelta(seconds=TIMEOUT_SECONDS) + CLOCK_SKEW
        candidates = [
            message
            for message in found
            if self._from_us(message)
            and message.date_created is not None
            and start <= message.date_created <= end
            and mine(message)
        ]
        candidates.sort(key=lambda message: message.date_created)
        return candidates

    def _from_us(self, message: MessageInstance) -> bool:
        if not str(message.direction or "").startswith("outbound"):
            return False
        ours = message.messaging_service_sid if self.sender.startswith("MG") else message.from_
        return str(ours or "") == self.sender


# Twilio's message statuses, as the outbox row records them. `queued`/`sent` add nothing to our
# `sent`; the final ones are kept as Twilio says them, WhatsApp's `read` being a `delivered` that
# was also read. A late `sent` never undoes a `delivered`, nor a late `delivered` a `read`.
_STATUS = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "undelivered",
    "failed": "failed",
}
_RANK = {"sent": 0, "delivered": 1, "read": 2}
_FINAL = frozenset({"delivered", "read", "undelivered", "failed"})


@dataclass(frozen=True)
class StatusReport:
    """One status callback, as Twilio posts it (`MessageSid`, `MessageStatus`, ...)."""

    sid: str
    status: str
    error_code: str = ""
    price: str = ""
    price_unit: str = ""


def record_status(
    runtime: Runtime,
    channel: str,
    report: StatusReport,
    now: datetime,
    *,
    unreachable: Collection[str] = (),
    on_failure: Callable[[Any, Message, str], None] | None = None,
) -> bool:
    """Record a status callback on the channel's outbox row Twilio names; False if none has it.

    An error code that means the number cannot receive our messages marks that address
    unreachable (`bots.reachability`): what was queued on it is cancelled and campaigns take
    the habitant's other channel, if any; they can still write to us, which makes the address
    reachable again (e.g. START after a carrier-level STOP).
    A price Twilio reports is kept (positive, in its currency) for the budget. `on_failure`
    lets a channel react to its own codes (WhatsApp's closed window) in the same transaction.
    """
    status = _STATUS.get(report.status.lower())
    with transaction(runtime.sessions) as session:
        message = session.scalars(
            select(Message)
            .where(
                Message.channel == channel,
                Message.direction == "out",
                Message.provider_id == report.sid,
            )
            .with_for_update()
        ).one_or_none()
        if message is None or status is None:
            return message is not None
        _record_price(message, report)
        if message.status not in _FINAL:
            message.status = status
        elif _RANK.get(status, -1) > _RANK.get(message.status, 99):
            message.status = status  # delivered, then read
        if status in ("delivered", "read") and message.delivered_at is None:
            message.delivered_at = now
        if status in ("undelivered", "failed"):
            code = report.error_code
            message.error_code = code or None
            message.last_error = f"twilio {report.status} {code}".strip()
            if (code in UNREACHABLE_CODES or code in unreachable) and message.participant_id:
                mark_unreachable(session, message.participant_id, now, message.channel)
            if on_failure is not None:
                on_failure(session, message, code)
    return True


def twilio_price(raw: object) -> float | None:
    """Twilio reports prices as negative amounts (what was charged): kept positive."""
    try:
        return abs(float(str(raw))) if raw not in (None, "") else None
    except ValueError:
        log.info("unreadable price %r", raw)
        return None


def price_unit(raw: object) -> str | None:
    return (str(raw or ""))[:3].upper() or None


def found_sent(message: MessageInstance, units: int) -> Sent:
    """A message found in Twilio's list, as the outbox records it: its SID, the units it counts,
    and the price Twilio lists for it (none while it is still queued)."""
    price = twilio_price(message.price)
    unit = price_unit(message.price_unit) if price is not None else None
    return Sent(str(message.sid), units=units, price=price, price_unit=unit)


def _record_price(message: Message, report: StatusReport) -> None:
    price = twilio_price(report.price)
    if price is not None:
        message.price = price
        message.price_unit = price_unit(report.price_unit)
