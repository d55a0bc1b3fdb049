"""Flat factories with keyword defaults: `make_x(session, **overrides)`."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from bots.phone import identity_channel
from bots.runtime import Runtime
from storage.crypto import mask
from storage.models import Contribution, Message, Participant, ParticipantChannel, Quartier, User
from web.auth import create_user

_numbers = itertools.count(1)


def make_inbound(session: Session, *, status: str, created_at: datetime) -> Message:
    """An inbound SMS a webhook recorded at `created_at`, now in `status` (`bots.inbound`)."""
    message = Message(
        direction="in",
        channel="sms",
        body="Bonjour",
        status=status,
        sender="pseudonym",
        created_at=created_at,
    )
    session.add(message)
    return message


def make_quartier(session: Session, **kwargs: Any) -> Quartier:
    n = next(_numbers)
    values: dict[str, Any] = {"code": f"QP{n:03d}", "name": f"Quartier {n}", "city": "Villeneuve"}
    values.update(kwargs)
    quartier = Quartier(**values)
    session.add(quartier)
    session.flush()
    return quartier


def make_participant(
    session: Session,
    runtime: Runtime,
    *,
    channel: str = "simulator",
    address: str | None = None,
    also: tuple[str, ...] = (),
    **kwargs: Any,
) -> Participant:
    """A consented participant on `channel` (the one used last), who also wrote on `also`."""
    address = address or f"+336{next(_numbers):08d}"
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "pseudonym": runtime.vault.pseudonym(identity_channel(channel), address),
        "channel": channel,
        "address_enc": runtime.vault.encrypt(address),
        "address_mask": mask(address),
        "consent_at": now,
        "state": {"consent": True},
    }
    values.update(kwargs)
    participant = Participant(**values)
    session.add(participant)
    session.flush()
    for used in (channel, *also):
        session.add(ParticipantChannel(participant_id=participant.id, channel=used))
    session.flush()
    return participant


def make_contribution(session: Session, **kwargs: Any) -> Contribution:
    values: dict[str, Any] = {
        "channel": "simulator",
        "text": "Les poubelles débordent rue des Lilas.",
    }
    values.update(kwargs)
    contribution = Contribution(**values)
    session.add(contribution)
    session.flush()
    return contribution


def make_user(
    session: Session,
    *,
    email: str | None = None,
    password: str = "motdepasse-solide",
    role: str = "chef_de_projet",
    quartiers: tuple[str, ...] = (),
    **kwargs: Any,
) -> User:
    email = email or f"agent{next(_numbers)}@ville.example"
    user = create_user(session, email, password, role, quartiers, **kwargs)
    return user
