"""WhatsApp through Twilio (the SMS account, sender `TWILIO_WHATSAPP_FROM=whatsapp:+...`).

Receiving is SMS's design (`web/hooks/whatsapp.py`): a signed webhook, one inbound row per
`MessageSid`, replies through the outbox. Addresses arrive as `whatsapp:+33...` and are kept as
the bare E.164 number (`bots.phone.whatsapp_address`), so the same number by SMS and by WhatsApp
is one participant; this channel adds `whatsapp:` back when it writes. Photos and voice notes are
downloaded with the account's credentials (Twilio's media URLs require them) into
`media/whatsapp/`, as Telegram's are into `media/telegram/`; a file Twilio could not serve keeps
its URL, the message is recorded either way, and a scheduler job tries again
(`fetch_missed_media`).

The 24-hour rule. WhatsApp accepts a free-form message only within 24 hours of the habitant's
last message to us (the customer service window). `send()` decides at sending time, from the
last inbound WhatsApp message of the participant:
- inside the window, the row goes as free text; a single choice of at most three short labels
  goes as quick-reply buttons (a Content template of type `twilio/quick-reply` with variables,
  which WhatsApp lets us send in a session without approval), anything else as numbered text;
- outside it, an invitation, a reminder or a retour goes as the approved Content template
  configured for its kind and the habitant's language (`PAROLES_WHATSAPP_TEMPLATE_<KIND>_<LANG>`,
  a `ContentSid HX...`), its text in variable `{{1}}` on one line (WhatsApp refuses line breaks
  in variables); without such a template the row is not sent and fails with code `no_template`,
  which the campaign page counts and explains (and the estimate predicts, `channel_plan`);
- Twilio's error 63016 ("outside the allowed window") is believed: a free-form row then goes as
  its template if there is one, else fails for good with that code. It is never retried as it was.

Cost. Each sent row counts the conversations it opened (`Sent.units`): 1 when no WhatsApp
message went to this habitant in the 24 hours before, else 0: the way WhatsApp bills
(`bots.budget`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.rest import Client

from bots.channels import Outgoing, SendError, Sent, register
from bots.channels.twilio_messaging import (
    StatusReport,
    TwilioSender,
    account_configured,
    found_sent,
    make_client,
)
from bots.channels.twilio_messaging import record_status as record_twilio_status
from bots.handler import Inbound, Media
from bots.inbound import record, register_fetcher
from bots.media_retry import fetch_missed
from bots.phone import WHATSAPP_PREFIX
from bots.runtime import Runtime
from storage.config import Settings
from storage.models import Message, Participant

log = logging.getLogger(__name__)
NAME = "whatsapp"
STATUS_PATH = "/hooks/whatsapp/status"
WINDOW = timedelta(hours=24)
OUTSIDE_WINDOW = "63016"
NO_TEMPLATE = "no_template"
TEMPLATE_KINDS = ("invitation", "reminder", "retour")
# Other kinds of team news that go with one of those templates: an engagement's change of
# status is a retour (`bots.engagement_news`).
TEMPLATE_OF = {"engagement": "retour"}
# Not on WhatsApp (63003: the number has no WhatsApp account), or not a valid recipient (63024).
UNREACHABLE_CODES = frozenset({"63003", "63024"})
MAX_TEXT = 4096  # WhatsApp's own limit for a text message
MAX_VARIABLE = 1000  # a template with its variables stays within 1,024 characters
QUICK_REPLIES = 3  # buttons WhatsApp allows in a session message sent without approval
BUTTON_TITLE = 20  # characters a quick-reply button shows
MAX_DOWNLOAD = 20 * 1024 * 1024  # WhatsApp's media are 16 MB at most
DOWNLOAD_TIMEOUT = 20.0
DOWNLOADED = ("photo", "voice", "audio", "video", "document")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")
_SUFFIXES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/amr": "amr",
    "audio/mp4": "m4a",
    "video/mp4": "mp4",
    "application/pdf": "pdf",
}


def is_configured(settings: Settings) -> bool:
    return account_configured(settings) and bool(settings.twilio_whatsapp_from)


def template_for(settings: Settings, kind: str, language: str) -> str:
    """The approved ContentSid for this kind of message in this language, or ""."""
    kind = TEMPLATE_OF.get(kind, kind)
    if kind not in TEMPLATE_KINDS:
        return ""
    key = f"PAROLES_WHATSAPP_TEMPLATE_{kind.upper()}_{language.upper()}"
    return settings.extra.get(key, "").strip()


def template_languages(settings: Settings, kind: str) -> set[str]:
    """The languages that have an approved template for this kind of message."""
    kind = TEMPLATE_OF.get(kind, kind)
    prefix = f"PAROLES_WHATSAPP_TEMPLATE_{kind.upper()}_"
    if kind not in TEMPLATE_KINDS:
        return set()
    return {
        key.removeprefix(prefix).lower()
        for key, value in settings.extra.items()
        if key.startswith(prefix) and value.strip()
    }


def quick_reply_for(settings: Settings, buttons: int) -> str:
    """The ContentSid of the `twilio/quick-reply` with `buttons` buttons, or "" (README)."""
    return settings.extra.get(f"PAROLES_WHATSAPP_QUICK_REPLY_{buttons}", "").strip()


def wa_me(settings: Settings, code: str) -> str:
    """`https://wa.me/33...?text=<code>`: opens WhatsApp with the join code ready to send; ""
    when WhatsApp is off or the sender is a Messaging Service (no number to link to)."""
    number = settings.twilio_whatsapp_from.removeprefix(WHATSAPP_PREFIX)
    if not is_configured(settings) or not number.startswith("+"):
        return ""
    return f"https://wa.me/{number[1:]}?text={quote(code, safe='')}"


# --- sending -------------------------------------------------------------------------------------


def render_text(message: Outgoing) -> str:
    """The free-form text: the message, then the choices numbered, one a line (not scales)."""
    text = message.text
    if message.choices and message.expects != "scale":
        listed = "\n".join(f"{n}. {label}" for n, label in enumerate(message.choices, 1))
        text = f"{text}\n{listed}"
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def one_line(message: Outgoing) -> str:
    """The text as a template variable: no line break (WhatsApp refuses them), choices inline."""
    text = " ".join(line.strip() for line in message.text.splitlines() if line.strip())
    if message.choices and message.expects != "scale":
        text += " " + " ".join(f"{n} {c.strip()}" for n, c in enumerate(message.choices, 1))
    text = re.sub(r" {4,}", "   ", text.replace("\t", " "))
    return text if len(text) <= MAX_VARIABLE else text[: MAX_VARIABLE - 1] + "…"


def quick_reply_fits(message: Outgoing) -> bool:
    """One choice among at most three labels short enough for a button."""
    return (
        message.expects == "choice"
        and 0 < len(message.choices) <= QUICK_REPLIES
        and all(0 < len(c.strip()) <= BUTTON_TITLE for c in message.choices)
    )


@dataclass(frozen=True)
class Recipient:
    """What sending needs to know of the habitant: language, window, conversations opened."""

    language: str
    last_inbound: datetime | None
    last_sent: datetime | None

    def in_window(self, now: datetime) -> bool:
        return self.last_inbound is not None and now - self.last_inbound < WINDOW


def recipient(session: Session, participant_id: int | None, default_language: str) -> Recipient:
    if participant_id is None:
        return Recipient(default_language, None, None)
    language = session.scalar(select(Participant.language).where(Participant.id == participant_id))
    last_inbound = session.scalar(
        select(func.max(Message.created_at)).where(
            Message.participant_id == participant_id,
            Message.channel == NAME,
            Message.direction == "in",
        )
    )
    last_sent = session.scalar(
        select(func.max(Message.sent_at)).where(
            Message.participant_id == participant_id,
            Message.channel == NAME,
            Message.direction == "out",
            Message.units.is_not(None),
        )
    )
    return Recipient(language or default_language, last_inbound, last_sent)


@dataclass
class WhatsAppChannel:
    twilio: TwilioSender
    runtime: Runtime
    rate_per_second: float = 20.0
    name: str = NAME
    # `send` reads when the previous rows were sent (what a conversation costs): the outbox
    # records each row before sending the next (`bots.outbox.start_group`).
    one_at_a_time: bool = True
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # tests fix it

    def send(self, message: Outgoing) -> Sent:
        """Free text inside the 24-hour window, the approved template outside it (see above)."""
        now = self.clock()
        settings = self.runtime.settings
        with self.runtime.sessions() as session:
            who = recipient(session, message.participant_id, settings.default_language)
        to = WHATSAPP_PREFIX + message.address.removeprefix(WHATSAPP_PREFIX)
        if who.in_window(now):
            try:
                sid = self._free_form(to, message)
            except SendError as error:
                if error.code != OUTSIDE_WINDOW:
                    raise
                log.info("whatsapp %s: Twilio says the window is closed", message.message_id)
                sid = self._template(to, message, who.language, error)
        else:
            sid = self._template(to, message, who.language, None)
        opened = who.last_sent is None or now - who.last_sent >= WINDOW
        return Sent(sid, units=1 if opened else 0)

    def _free_form(self, to: str, message: Outgoing) -> str:
        quick = quick_reply_for(self.runtime.settings, len(message.choices))
        if quick and quick_reply_fits(message):
            variables = {"1": one_line(replace(message, choices=()))}
            variables.update({str(n): c.strip() for n, c in enumerate(message.choices, 2)})
            created = self.twilio.create(
                to,
                content_sid=quick,
                content_variables=json.dumps(variables, ensure_ascii=False),
                unreachable=UNREACHABLE_CODES,
            )
        else:
            body = render_text(message)
            created = self.twilio.create(to, body=body, unreachable=UNREACHABLE_CODES)
        return str(created.sid)

    def _template(
        self, to: str, message: Outgoing, language: str, refused: SendError | None
    ) -> str:
        content_sid = template_for(self.runtime.settings, message.kind, language)
        if not content_sid:
            why = f"no approved WhatsApp template for {message.kind} in {language}"
            if refused is not None:
                raise SendError(
                    f"outside the 24-hour window, {why}", transient=False, code=OUTSIDE_WINDOW
                ) from refused
            raise SendError(f"outside the 24-hour window: {why}", transient=False, code=NO_TEMPLATE)
        variables = json.dumps({"1": one_line(message)}, ensure_ascii=False)
        created = self.twilio.create(
            to, content_sid=content_sid, content_variables=variables, unreachable=UNREACHABLE_CODES
        )
        return str(created.sid)

    def find_sent(self, message: Outgoing, since: datetime) -> list[str | Sent]:
        """The messages Twilio holds that may be this row (see `bots.channels.Channel`): same
        sender and number, and a body (free text or rendered template) holding its first words.
        Each counts the conversation it opened, as `send` would have at `since`."""
        words = one_line(replace(message, choices=()))[:40]
        to = WHATSAPP_PREFIX + message.address.removeprefix(WHATSAPP_PREFIX)
        found = self.twilio.find_sent(
            to, since, lambda m: words in " ".join((m.body or "").split())
        )
        with self.runtime.sessions() as session:
            who = recipient(session, message.participant_id, self.runtime.settings.default_language)
        opened = who.last_sent is None or since - who.last_sent >= WINDOW
        return [found_sent(m, 1 if opened else 0) for m in found]


def record_status(runtime: Runtime, report: StatusReport, now: datetime) -> bool:
    """Record a WhatsApp status callback (`read` included); 63016 is said as what it means."""

    def outside_window(session: Any, message: Message, code: str) -> None:
        if code == OUTSIDE_WINDOW:
            message.last_error = "twilio failed 63016: outside the 24-hour window"

    return record_twilio_status(
        runtime, NAME, report, now, unreachable=UNREACHABLE_CODES, on_failure=outside_window
    )


# --- receiving -----------------------------------------------------------------------------------


def receive(runtime: Runtime, inbound: Inbound) -> int | None:
    """Record a new message (`bots.inbound`): the drain downloads its photos and voice notes
    (`fetch`) and steps it. Its id, or None for a duplicate."""
    return record(runtime, inbound)


def fetch(settings: Settings, media: Media) -> Media:
    """Download an attachment to `media/whatsapp/`; on failure keep its URL only.

    The account's credentials go only to Twilio's own API host: a media URL anywhere else is
    not fetched (Twilio then redirects to its storage, and `requests` drops the credentials).
    """
    if media.kind not in DOWNLOADED or not media.file_id:
        return media
    base = settings.twilio_api_base_url.rstrip("/") + "/"
    if not media.file_id.startswith(base):
        log.warning("whatsapp %s not downloaded: not a Twilio media URL", media.kind)
        return media
    name = _SAFE_NAME.sub("_", media.file_id.rstrip("/").rsplit("/", 1)[-1])[:80]
    suffix = _SUFFIXES.get(media.mime.split(";")[0].strip().lower(), "")
    relative = Path(NAME) / (f"{name}.{suffix}" if suffix else name)
    target = settings.media_dir / relative
    auth = (settings.twilio_account_sid, settings.twilio_auth_token)
    try:
        with requests.get(media.file_id, auth=auth, stream=True, timeout=DOWNLOAD_TIMEOUT) as got:
            got.raise_for_status()
            target.parent.mkdir(parents=True, exist_ok=True)
            size = 0
            with target.open("wb") as out:
                for chunk in got.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > MAX_DOWNLOAD:
                        raise ValueError(f"file over {MAX_DOWNLOAD} bytes")
                    out.write(chunk)
    except (requests.RequestException, ValueError, OSError) as error:
        log.warning("whatsapp %s not downloaded: %s", media.kind, type(error).__name__)
        target.unlink(missing_ok=True)
        return media
    return replace(media, path=relative.as_posix())


register_fetcher(NAME, DOWNLOADED, lambda runtime, media: fetch(runtime.settings, media))


def fetch_missed_media(runtime: Runtime, now: datetime) -> dict[str, int]:
    """Download again what a webhook could not (`bots.media_retry`): Twilio keeps the media of
    a message until the account deletes them."""
    if not is_configured(runtime.settings):
        return {"fetched": 0, "failed": 0}
    return fetch_missed(runtime, NAME, DOWNLOADED, lambda media: fetch(runtime.settings, media))


@register(NAME, configured=is_configured)
def make(runtime: Runtime) -> WhatsAppChannel:
    settings = runtime.settings
    callback = settings.public_url + STATUS_PATH if settings.public_url else ""
    client: Client = make_client(settings)
    return WhatsAppChannel(TwilioSender(client, settings.twilio_whatsapp_from, callback), runtime)


__all__ = ["NAME", "WhatsAppChannel", "is_configured", "receive", "record_status"]
