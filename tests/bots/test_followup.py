"""Donner suite on the habitants' side: SUIVI, answers joining the team's reply, and the one
message per habitant when an engagement changes status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bots import engine
from bots.engagement_news import ENGAGEMENT_KIND, FollowupError, add_note, change_status
from bots.engine import Context, Followup, Incoming, State
from bots.handler import Inbound, enqueue_reply, handle_inbound
from bots.prompts import load_catalog
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import (
    Contribution,
    Engagement,
    EngagementUpdate,
    Message,
    Participant,
    StaffReply,
    ThreadMessage,
)
from tests.factories import make_contribution, make_participant

NOW = datetime(2026, 11, 20, 14, tzinfo=UTC)
_ids = iter(range(1, 10**6))


def send(runtime: Runtime, text: str, address: str, at: datetime = NOW) -> list[str]:
    outcome = handle_inbound(
        runtime, Inbound("sms", address, text, external_id=f"f{next(_ids)}", received_at=at)
    )
    with runtime.sessions() as session:
        return [session.get(Message, i).body for i in outcome.reply_ids]  # type: ignore[union-attr]


def consented(runtime: Runtime, address: str) -> None:
    send(runtime, "Bonjour", address, NOW - timedelta(days=30))
    send(runtime, "oui", address, NOW - timedelta(days=30))


# --- the engine, pure --------------------------------------------------------------------------


def test_suivi_tells_what_became_of_each_message_and_resumes_a_survey_question() -> None:
    catalog = load_catalog()
    followup = Followup(total=3, linked=(("Réparer l'éclairage du parc", "en_cours", 1),), read=2)
    ctx = Context(catalog, followup=followup)
    step = engine.step(State(consent=True), Incoming("SUIVI"), ctx)
    assert step.replies[0].text == (
        "3 messages : 1 pris en compte dans « Réparer l'éclairage du parc » (en cours), 2 lus."
    )
    english = engine.step(State(consent=True, language="en"), Incoming("suivi"), ctx)
    assert "taken up in « Réparer l'éclairage du parc » (under way)" in english.replies[0].text
    nothing = engine.step(State(consent=True), Incoming("suivi"), Context(catalog))
    assert nothing.replies[0].text.startswith("Vous ne nous avez pas encore écrit")
    assert nothing.facts == ()


def test_with_an_open_thread_a_message_answers_it_without_asking_the_theme() -> None:
    catalog = load_catalog()
    step = engine.step(
        State(consent=True),
        Incoming("Merci, c'est rue Blanqui"),
        Context(catalog, thread_open=True),
    )
    assert [f.kind for f in step.facts] == ["thread"]
    assert step.replies[0].key == "thread_thanks" and step.state.asking == ""


# --- the handler: SUIVI and threads --------------------------------------------------------------


def _staff_reply(runtime: Runtime, address: str, at: datetime) -> int:
    with transaction(runtime.sessions) as session:
        participant = session.scalars(select(Participant)).one()
        contribution = session.scalars(
            select(Contribution).where(Contribution.participant_id == participant.id)
        ).one()
        message_id = enqueue_reply(
            session, participant, engine.Reply("Où exactement ?"), kind="staff_reply", now=at
        )
        session.add(
            StaffReply(contribution_id=contribution.id, message_id=message_id, created_at=at)
        )
        return contribution.id


def test_an_answer_within_7_days_of_a_staff_reply_joins_the_contribution(
    runtime: Runtime,
) -> None:
    address = "+33639980101"
    consented(runtime, address)
    send(runtime, "Le lampadaire est cassé", address, NOW - timedelta(days=10))
    send(runtime, "Autre", address, NOW - timedelta(days=10))
    contribution_id = _staff_reply(runtime, address, NOW - timedelta(days=6))
    replies = send(runtime, "Devant le 12 rue Blanqui", address)
    assert replies == ["Merci, votre réponse est transmise à l'équipe."]
    with runtime.sessions() as session:
        assert session.scalars(select(Contribution.text)).all() == ["Le lampadaire est cassé"]
        thread = session.scalars(select(ThreadMessage)).one()
        assert (thread.contribution_id, thread.text) == (
            contribution_id,
            "Devant le 12 rue Blanqui",
        )
        assert thread.seen_at is None
    send(runtime, "Merci", address, NOW + timedelta(hours=1))  # a greeting word answers too
    with runtime.sessions() as session:
        assert len(session.scalars(select(ThreadMessage)).all()) == 2
    # Eight days after the reply, a message is a new contribution again.
    send(runtime, "Autre chose : le parc", address, NOW + timedelta(days=2))
    with runtime.sessions() as session:
        assert len(session.scalars(select(Contribution)).all()) == 2


def test_suivi_reads_the_habitants_own_contributions(runtime: Runtime) -> None:
    address = "+33639980102"
    consented(runtime, address)
    for text in (
        "Le lampadaire du parc est cassé",
        "Les poubelles débordent",
        "Merci pour la fête",
    ):
        send(runtime, text, address, NOW - timedelta(days=3))
        send(runtime, "Autre", address, NOW - timedelta(days=3))
    with transaction(runtime.sessions) as session:
        rows = session.scalars(select(Contribution).order_by(Contribution.id)).all()
        rows[1].status = "traite"
        engagement = Engagement(title="Réparer l'éclairage du parc", status="en_cours")
        engagement.contributions.append(rows[0])
        session.add(engagement)
    assert send(runtime, "SUIVI", address) == [
        "3 messages : 1 pris en compte dans « Réparer l'éclairage du parc » (en cours),"
        " 1 lus, 1 pas encore lus."
    ]


# --- a change of status -------------------------------------------------------------------------


@pytest.fixture
def linked(runtime: Runtime) -> dict[str, int]:
    """An engagement with four linked contributions: two from one habitant (English), one
    from a habitant who said STOP, one from an erased habitant."""
    with transaction(runtime.sessions) as session:
        amina = make_participant(session, runtime, channel="sms", language="en")
        stopped = make_participant(session, runtime, opted_out_at=NOW - timedelta(days=1))
        engagement = Engagement(title="Réparer l'éclairage du parc", status="etude")
        for who in (amina, amina, stopped, None):
            engagement.contributions.append(
                make_contribution(session, participant_id=who.id if who else None)
            )
        session.add(engagement)
        session.flush()
        return {"engagement": engagement.id, "amina": amina.id}


def test_a_change_of_status_writes_one_message_per_reachable_habitant_in_their_language(
    runtime: Runtime, linked: dict[str, int]
) -> None:
    with transaction(runtime.sessions) as session:
        engagement = session.get(Engagement, linked["engagement"])
        assert engagement is not None
        change = change_status(
            session,
            runtime.catalog,
            runtime.settings,
            engagement,
            "en_cours",
            now=NOW,
            text="Travaux lundi",
        )
        assert change.notified == 1
        with pytest.raises(FollowupError):
            change_status(
                session, runtime.catalog, runtime.settings, engagement, "en_cours", now=NOW
            )
    with runtime.sessions() as session:
        messages = session.scalars(select(Message).where(Message.kind == ENGAGEMENT_KIND)).all()
        assert [(m.participant_id, m.channel) for m in messages] == [(linked["amina"], "sms")]
        assert messages[0].body == (
            "About your message: « Réparer l'éclairage du parc » is now under way."
            " SUIVI to see all."
        )
        assert messages[0].wait_quiet_hours and messages[0].priority == 1
        update = session.scalars(select(EngagementUpdate)).one()
        assert (update.status, update.text, update.notified) == ("en_cours", "Travaux lundi", 1)


def test_not_retained_needs_a_reason_and_a_note_tells_nobody(
    runtime: Runtime, linked: dict[str, int]
) -> None:
    with transaction(runtime.sessions) as session:
        engagement = session.get(Engagement, linked["engagement"])
        assert engagement is not None
        with pytest.raises(FollowupError):
            change_status(
                session, runtime.catalog, runtime.settings, engagement, "non_retenu", now=NOW
            )
        with pytest.raises(FollowupError):
            change_status(session, runtime.catalog, runtime.settings, engagement, "fini", now=NOW)
        add_note(session, engagement, "Réunion avec le bailleur", now=NOW, user_id=None)
        change_status(
            session,
            runtime.catalog,
            runtime.settings,
            engagement,
            "non_retenu",
            now=NOW,
            reason="Hors budget",
        )
        assert engagement.reason == "Hors budget"
    with runtime.sessions() as session:
        assert (
            len(session.scalars(select(Message).where(Message.kind == ENGAGEMENT_KIND)).all()) == 1
        )
