"""`handle_inbound` reads and steps before it takes the write lock: what happens meanwhile.

Another message of the same habitant, the same message again, a change in the back-office: each
is made to happen exactly between the read and the write of a message (inside `_plan`), on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from bots import handler
from bots.handler import Inbound, handle_inbound, resolve_join
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Contribution, JoinCode, Message, Participant, Theme

ADDRESS = "+33639980001"
_ids = iter(range(1, 10**6))


def inbound(text: str, external_id: str | None = None) -> Inbound:
    return Inbound("sms", ADDRESS, text, external_id=external_id or f"c{next(_ids)}")


def count(runtime: Runtime, model: type, *where: object) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def meanwhile(monkeypatch: pytest.MonkeyPatch, action: Callable[[], Any]) -> None:
    """Run `action` once, right after the next message is read and stepped, before its write."""
    original = handler._plan
    done = False

    def plan_then_act(*args: Any, **kwargs: Any) -> Any:
        nonlocal done
        result = original(*args, **kwargs)
        if not done:
            done = True
            action()
        return result

    monkeypatch.setattr(handler, "_plan", plan_then_act)


def test_a_message_read_while_the_previous_one_is_written_is_stepped_again(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle_inbound(runtime, inbound("Bonjour"))  # asks for consent
    # "Le parc est sale" is read before consent; "oui" is recorded before it is written.
    meanwhile(monkeypatch, lambda: handle_inbound(runtime, inbound("oui")))
    outcome = handle_inbound(runtime, inbound("Le parc est sale"))
    with runtime.sessions() as session:
        (reply,) = (session.get(Message, i) for i in outcome.reply_ids)
        assert reply is not None and reply.body.startswith("Merci")  # thanked, not asked again
        participant = session.scalars(select(Participant)).one()
        assert participant.consent_at is not None and participant.state["held"] == []
        texts = session.scalars(select(Contribution.text)).all()
    assert texts == ["Le parc est sale"]
    assert count(runtime, Message, Message.direction == "in") == 3


def test_the_same_message_arriving_twice_at_once_is_recorded_and_answered_once(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle_inbound(runtime, inbound("Bonjour"))
    handle_inbound(runtime, inbound("oui"))
    twice = inbound("Le bus 12 ne passe plus", external_id="SM-twice")
    first: list[handler.Outcome] = []
    meanwhile(monkeypatch, lambda: first.append(handle_inbound(runtime, twice)))
    second = handle_inbound(runtime, twice)
    assert not first[0].duplicate and second.duplicate
    assert count(runtime, Message, Message.provider_id == "SM-twice") == 1
    assert count(runtime, Contribution) == 1
    replies = Message.direction == "out", Message.in_reply_to_id == first[0].message_id
    assert count(runtime, Message, *replies) == 1


def test_a_newcomer_whose_first_message_is_written_meanwhile_is_one_participant(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    meanwhile(monkeypatch, lambda: handle_inbound(runtime, inbound("Bonjour")))
    handle_inbound(runtime, inbound("oui"))  # read as a newcomer's, written after "Bonjour"
    with runtime.sessions() as session:
        participant = session.scalars(select(Participant)).one()
        assert participant.consent_at is not None


def test_a_change_in_the_back_office_is_seen_by_every_process_at_its_next_message(
    runtime: Runtime,
) -> None:
    handle_inbound(runtime, inbound("Bonjour"))
    handle_inbound(runtime, inbound("oui"))
    other = Runtime.from_settings(runtime.settings)  # another gunicorn worker, the back-office
    try:
        with transaction(other.sessions) as session:
            survey_id = session.scalars(
                select(JoinCode.survey_id).where(JoinCode.code == "SCOLARITE")
            ).one()
            session.add(JoinCode(code="FETE-DU-PARC", survey_id=survey_id))
            theme = session.scalars(select(Theme).where(Theme.offered_to_habitants)).first()
            assert theme is not None
            theme.offered_to_habitants = False
            hidden = theme.code
    finally:
        other.engine.dispose()
    with runtime.sessions() as session:
        assert hidden not in {t.code for t in runtime.reference.get(session).themes}
    handle_inbound(runtime, inbound("fete-du-parc"))  # the new keyword, accents and case aside
    with runtime.sessions() as session:
        state = session.scalars(select(Participant.state)).one()
    assert state["survey"] == str(survey_id)


def test_what_a_transaction_changes_and_rolls_back_is_never_kept(runtime: Runtime) -> None:
    with runtime.sessions() as session:
        session.add(JoinCode(code="FANTOME"))
        session.flush()
        assert resolve_join(session, inbound("FANTOME"), runtime) is not None  # its own change
        session.rollback()
    with transaction(runtime.sessions) as session:
        session.add(JoinCode(code="VRAI"))  # the next version, committed this time
    with runtime.sessions() as session:
        assert resolve_join(session, inbound("FANTOME"), runtime) is None
        assert resolve_join(session, inbound("VRAI"), runtime) is not None
