"""Everything kept about one participant: find them, copy it all (RGPD articles 15 and 20).

An administrateur finds one participant at a time, never from a list: by pseudonym, by the
phone number the person gives (turned into the same keyed pseudonym, so numbers are never
searched in clear), or by the one-time code the habitant received after MES DONNEES. The copy
holds what the person gave and what was done with it: their profile, every message in and out
(the team's replies included, and those whose processing failed), their contributions with
their thèmes, their survey answers. Their own words are given as written: it is their data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from bots.handler import code_hash, given_up
from bots.phone import InvalidPhone, to_e164
from bots.runtime import Runtime
from storage.models import (
    AccessCode,
    Answer,
    Categorisation,
    Contribution,
    Conversation,
    Message,
    Participant,
    Question,
    Survey,
)

__all__ = ["Found", "copy_rows", "find_participant", "full_copy", "COPY_COLUMNS"]

PHONE_CHANNELS = ("sms", "whatsapp")


@dataclass(frozen=True)
class Found:
    participant: Participant | None
    how: str  # "pseudonym", "phone", "code", or "" when nothing matched
    code: AccessCode | None = None


def find_participant(session: Session, runtime: Runtime, query: str, now: datetime) -> Found:
    """One participant from a pseudonym, a phone number or a valid one-time code."""
    wanted = query.strip()
    if not wanted:
        return Found(None, "")
    by_pseudonym = session.scalars(
        select(Participant).where(Participant.pseudonym == wanted)
    ).one_or_none()
    if by_pseudonym is not None:
        return Found(by_pseudonym, "pseudonym")
    code = session.scalars(
        select(AccessCode).where(
            AccessCode.code_hash == code_hash(wanted),
            AccessCode.used_at.is_(None),
            AccessCode.expires_at > now,
        )
    ).one_or_none()
    if code is not None:
        return Found(session.get(Participant, code.participant_id), "code", code)
    if sum(c.isdigit() for c in wanted) >= 6:
        try:
            number = to_e164(wanted)
        except InvalidPhone:
            return Found(None, "")
        for channel in PHONE_CHANNELS:
            for address in (number, f"whatsapp:{number}"):
                pseudonym = runtime.vault.pseudonym(channel, address)
                found = session.scalars(
                    select(Participant).where(Participant.pseudonym == pseudonym)
                ).one_or_none()
                if found is not None:
                    return Found(found, "phone")
    return Found(None, "")


def _at(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value is not None else ""


def full_copy(session: Session, participant: Participant) -> dict[str, Any]:
    """Everything kept about ``participant``, as plain JSON-ready values."""
    pid = participant.id
    messages = session.scalars(
        select(Message)
        .where(or_(Message.participant_id == pid, given_up(participant.pseudonym)))
        .order_by(Message.id)
    )
    contributions = session.scalars(
        select(Contribution)
        .where(Contribution.participant_id == pid)
        .options(selectinload(Contribution.categorisations).selectinload(Categorisation.theme))
        .order_by(Contribution.id)
    )
    answers = session.execute(
        select(Answer, Question.position, Question.text, Survey.slug)
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Survey, Survey.id == Conversation.survey_id)
        .where(Conversation.participant_id == pid)
        .order_by(Answer.id)
    )
    return {
        "participant": {
            "pseudonyme": participant.pseudonym,
            "canal": participant.channel,
            "numero_masque": participant.address_mask,
            "langue": participant.language,
            "quartier": participant.quartier.name if participant.quartier else "",
            "venu_par": participant.joined_via or "",
            "premier_message": _at(participant.first_seen_at),
            "dernier_message": _at(participant.last_seen_at),
            "accord_donne_le": _at(participant.consent_at),
            "stop_le": _at(participant.opted_out_at),
        },
        "messages": [
            {
                "date": _at(m.created_at),
                "sens": "recu" if m.direction == "in" else "envoye",
                "type": m.kind,
                "texte": m.body,
                "pieces_jointes": len(m.media or []),
            }
            for m in messages
        ],
        "contributions": [
            {
                "date": _at(c.created_at),
                "type": c.kind,
                "texte": c.text,
                "themes": sorted({cat.theme.code for cat in c.categorisations}),
                "statut": c.status,
                "pieces_jointes": len(c.media or []),
            }
            for c in contributions
        ],
        "reponses": [
            {
                "date": _at(answer.created_at),
                "enquete": slug,
                "question": position,
                "intitule": str((text or {}).get("fr", "")),
                "texte": answer.raw_text,
                "valeur": answer.value,
                "passee": answer.skipped,
            }
            for answer, position, text, slug in answers
        ],
    }


COPY_COLUMNS = ("rubrique", "date", "texte", "detail")


def copy_rows(copy: dict[str, Any]) -> list[list[Any]]:
    """The same copy as one table, for a CSV file."""
    rows: list[list[Any]] = [
        ["participant", "", key, str(value)] for key, value in copy["participant"].items()
    ]
    rows += [
        ["message", m["date"], m["texte"], f"{m['sens']} {m['type']}"] for m in copy["messages"]
    ]
    rows += [
        ["contribution", c["date"], c["texte"], ";".join(c["themes"])]
        for c in copy["contributions"]
    ]
    rows += [
        ["reponse", a["date"], a["texte"], f"{a['enquete']} q{a['question']}"]
        for a in copy["reponses"]
    ]
    return rows
