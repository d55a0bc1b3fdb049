"""A whole ready-made survey, answered sloppily, through storage and the simulator channel."""

from __future__ import annotations

from sqlalchemy import func, select

from bots.handler import Inbound, handle_inbound
from bots.runtime import Runtime
from storage.models import Answer, Contribution, Conversation, Message


def say(runtime: Runtime, text: str, n: int, address: str = "+33612345678") -> list[str]:
    outcome = handle_inbound(runtime, Inbound("simulator", address, text, external_id=f"m{n}"))
    with runtime.sessions() as session:
        return [session.get(Message, i).body for i in outcome.reply_ids]  # type: ignore[union-attr]


def test_scolarite_survey_with_sloppy_answers(runtime: Runtime) -> None:
    lines = [
        "Bonjour",
        "ouais",
        "scolarite",
        "👍",
        "1 et 3",
        "4/5",
        "le mercredi",
        "Plus de profs le soir",
    ]
    replies = [say(runtime, text, n) for n, text in enumerate(lines)]
    assert all(len(r) == 1 for r in replies)
    assert "fini" in replies[-1][0]
    with runtime.sessions() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.status == "finished"
        values = session.scalars(select(Answer.value).order_by(Answer.id)).all()
        assert values == ["oui", ["famille", "ecole"], 4, "mercredi", "Plus de profs le soir"]
        assert session.scalar(select(func.count(Contribution.id))) == 1


def test_duplicate_message_is_recorded_and_answered_once(runtime: Runtime) -> None:
    first = handle_inbound(
        runtime, Inbound("simulator", "+33600000001", "Bonjour", external_id="x1")
    )
    again = handle_inbound(
        runtime, Inbound("simulator", "+33600000001", "Bonjour", external_id="x1")
    )
    assert not first.duplicate and again.duplicate
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Message.id)).where(Message.direction == "in")) == 1
        assert session.scalar(select(func.count(Message.id)).where(Message.direction == "out")) == 1
