"""Which channel a campaign message takes, for a habitant reachable on several.

One number that wrote by SMS and by WhatsApp is one participant; a campaign writes to them once.
WhatsApp goes first when they used it (it costs less than SMS), provided the message can go there:
inside the 24-hour window, or with an approved template for that kind of message in their
language. Otherwise SMS, if they used it too; otherwise the channel they used last. A WhatsApp
habitant the message cannot reach (outside the window, no template, no SMS) is *left out*: the
campaign page says how many and why (`left_out`). Everything here is SQL, so that the estimate
counts exactly the launch's own selection. The tests are `IN (subquery)` rather than correlated
`EXISTS`: PostgreSQL then reads each subquery once, as a hash (`bench/routing.py`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, false, or_, select

from bots.channels import sms, whatsapp
from bots.phone import PHONE_CHANNELS
from storage.config import Settings
from storage.models import Message, Participant, ParticipantChannel


def used(channel: str) -> ColumnElement[bool]:
    """The participant wrote on this channel (it is theirs, last used or not), and the provider
    has not refused that address (`bots.reachability`: a dead SMS number leaves WhatsApp)."""
    refused = select(ParticipantChannel.participant_id).where(
        ParticipantChannel.channel == channel, ParticipantChannel.unreachable_at.is_not(None)
    )
    return and_(
        or_(
            Participant.channel == channel,
            Participant.id.in_(
                select(ParticipantChannel.participant_id).where(
                    ParticipantChannel.channel == channel
                )
            ),
        ),
        ~Participant.id.in_(refused),
    )


def in_window(now: datetime) -> ColumnElement[bool]:
    """Their last WhatsApp message to us is less than 24 hours old."""
    return Participant.id.in_(
        select(Message.participant_id).where(
            Message.channel == whatsapp.NAME,
            Message.direction == "in",
            Message.created_at > now - whatsapp.WINDOW,
            Message.participant_id.is_not(None),
        )
    )


def whatsapp_can_send(settings: Settings, now: datetime, kind: str) -> ColumnElement[bool]:
    languages = sorted(whatsapp.template_languages(settings, kind))
    by_template = Participant.language.in_(languages) if languages else false()
    return or_(in_window(now), by_template)


def route(settings: Settings, now: datetime, kind: str) -> ColumnElement[str]:
    """The channel a `kind` message (invitation, reminder, retour) to each participant takes."""
    whatsapp_on, sms_on = whatsapp.is_configured(settings), sms.is_configured(settings)
    phone = Participant.channel.in_(PHONE_CHANNELS)
    whens: list[tuple[ColumnElement[bool], str]] = []
    if whatsapp_on:
        sendable = whatsapp_can_send(settings, now, kind)
        first = (
            and_(used(whatsapp.NAME), or_(sendable, ~used(sms.NAME)))
            if sms_on
            else used(whatsapp.NAME)
        )
        whens.append((first, whatsapp.NAME))
    if sms_on:
        whens.append((and_(phone, used(sms.NAME)), sms.NAME))
    if not whens:
        return Participant.channel  # type: ignore[return-value]
    return case(*whens, else_=Participant.channel)


def left_out(settings: Settings, now: datetime, kind: str) -> ColumnElement[bool]:
    """Routed to WhatsApp, which cannot take this message: not sent, and counted as such."""
    if not whatsapp.is_configured(settings):
        return false()
    return and_(
        route(settings, now, kind) == whatsapp.NAME, ~whatsapp_can_send(settings, now, kind)
    )
