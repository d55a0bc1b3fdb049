"""`participant_activity` is always what the contributions and answers say, whoever wrote them.

Every path of the triggers runs once, in order, and after each step the stored rows equal the
live count (`storage.participant_activity.live_rows`): contributions in (linked, unlinked, in no
quartier, in the field, across a year's end), changed in every counted column, unlinked,
deleted through the ORM and in SQL; answers understood or not, flipped, redated, moved to
another conversation, deleted; a conversation given to another habitant, its action changed,
deleted through the ORM and in SQL (its answers by the cascade); a join code deleted and a
habitant deleted (`ON DELETE SET NULL`). On SQLite and on PostgreSQL. The tableau de bord's
figures read from these rows are checked against their definitions, row by row, in
`tests/web/evaluation/test_figures_reference.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from bots.runtime import Runtime
from bots.survey_store import seed_prompts
from storage import participant_activity
from storage.db import transaction
from storage.models import (
    Answer,
    Contribution,
    Conversation,
    JoinCode,
    Question,
    Survey,
)
from tests.factories import make_contribution, make_participant, make_quartier

NEW_YEAR = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
MAY = datetime(2026, 5, 4, 10, tzinfo=UTC)


def _assert_live(runtime: Runtime, step: str) -> int:
    with runtime.engine.connect() as connection:
        live = participant_activity.live_rows(connection)
        assert participant_activity.stored_rows(connection) == live, step
    return sum(sum(row[6:]) for row in live)


def test_each_trigger_keeps_the_activity(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        seed_prompts(session)
        survey = session.scalars(select(Survey).order_by(Survey.id)).first()
        assert survey is not None
        question = session.scalars(
            select(Question.id).where(Question.survey_id == survey.id)
        ).first()
        nord, sud = make_quartier(session).id, make_quartier(session).id
        ana = make_participant(session, runtime, quartier_id=nord).id
        bilal = make_participant(session, runtime, quartier_id=sud).id
        gone = make_participant(session, runtime).id
        stand = JoinCode(code="STAND-MARCHE", action="Stand du marché", quartier_id=nord)
        session.add(stand)
        session.flush()
        code = stand.id
        survey_id = survey.id
    ids: dict[str, int] = {}

    def run(step: str, change: Callable[[Session], None]) -> None:
        with transaction(runtime.sessions) as session:
            change(session)
        _assert_live(runtime, step)

    def contribution(name: str, **values: object) -> Callable[[Session], None]:
        def add(session: Session) -> None:
            ids[name] = make_contribution(session, **values).id

        return add

    def conversation(name: str, **values: object) -> Callable[[Session], None]:
        def add(session: Session) -> None:
            talk = Conversation(survey_id=survey_id, **values)
            session.add(talk)
            session.flush()
            ids[name] = talk.id

        return add

    def answer(name: str, talk: str, **values: object) -> Callable[[Session], None]:
        def add(session: Session) -> None:
            given = Answer(conversation_id=ids[talk], question_id=question, **values)
            session.add(given)
            session.flush()
            ids[name] = given.id

        return add

    def sql(statement: str, **values: object) -> Callable[[Session], None]:
        return lambda session: session.execute(text(statement), values) and None

    def change(model: Any, name: str, **values: object) -> Callable[[Session], None]:
        def write(session: Session) -> None:
            session.execute(update(model).where(model.id == ids[name]).values(**values))

        return write

    def set_contribution(name: str, **values: object) -> Callable[[Session], None]:
        return change(Contribution, name, **values)

    def set_answer(name: str, **values: object) -> Callable[[Session], None]:
        return change(Answer, name, **values)

    def set_conversation(name: str, **values: object) -> Callable[[Session], None]:
        return change(Conversation, name, **values)

    def orm_delete(model: type, name: str) -> Callable[[Session], None]:
        def remove(session: Session) -> None:
            found = session.get(model, ids[name])
            assert found is not None
            session.delete(found)

        return remove

    run("a contribution", contribution("a", participant_id=ana, quartier_id=nord, created_at=MAY))
    run("the same month", contribution("b", participant_id=ana, quartier_id=nord, created_at=MAY))
    run("the year's last minutes", contribution("c", participant_id=ana, created_at=NEW_YEAR))
    run("unlinked", contribution("d", participant_id=None, quartier_id=sud, created_at=MAY))
    run(
        "in the field, in Arabic",
        contribution(
            "e",
            participant_id=bilal,
            quartier_id=sud,
            language="ar",
            action_id=code,
            created_at=MAY,
        ),
    )
    run("moved", set_contribution("a", quartier_id=sud))
    run("to no quartier", set_contribution("b", quartier_id=None))
    run("its language", set_contribution("a", language="tr"))
    run("its action", set_contribution("b", action_id=code))
    run(
        "redated to the next year",
        set_contribution("a", created_at=datetime(2027, 1, 2, tzinfo=UTC)),
    )
    run("given to another", set_contribution("c", participant_id=bilal))
    run("unlinked later", set_contribution("e", participant_id=None))
    run("linked later", set_contribution("d", participant_id=gone))
    run("deleted by the ORM", orm_delete(Contribution, "b"))
    run("deleted in SQL", sql("DELETE FROM contributions WHERE id = :c", c=ids["c"]))

    run("a conversation", conversation("talk", participant_id=ana))
    run("an understood answer", answer("yes", "talk", created_at=MAY))
    run("not understood", answer("what", "talk", understood=False, created_at=MAY))
    run("now understood", set_answer("what", understood=True))
    run("no longer understood", set_answer("yes", understood=False))
    run("understood again", set_answer("yes", understood=True))
    run("redated", set_answer("what", created_at=NEW_YEAR))
    run("a face to face survey", conversation("field", participant_id=bilal, action_id=code))
    run("its answer", answer("field_yes", "field", created_at=MAY))
    run("moved to it", set_answer("what", conversation_id=ids["field"]))
    run("the conversation given to another", set_conversation("talk", participant_id=gone))
    run("its action changed", set_conversation("talk", action_id=code))
    run("the action gone (SET NULL)", sql("DELETE FROM join_codes WHERE id = :c", c=code))
    run("a conversation deleted by the ORM", orm_delete(Conversation, "talk"))
    run("an answer deleted", sql("DELETE FROM answers WHERE id = :a", a=ids["field_yes"]))
    run("a habitant deleted (SET NULL)", sql("DELETE FROM participants WHERE id = :p", p=gone))
    run(
        "a conversation deleted in SQL",
        sql("DELETE FROM conversations WHERE id = :v", v=ids["field"]),
    )
    # What is left counts: Ana's moved contribution.
    assert _assert_live(runtime, "the end") == 1


def test_a_recount_gives_what_the_triggers_keep(runtime: Runtime) -> None:
    """`refresh_all` (a repair) counts what the triggers counted."""
    with transaction(runtime.sessions) as session:
        participant = make_participant(session, runtime).id
        for month in (1, 1, 7, 12):
            make_contribution(
                session, participant_id=participant, created_at=datetime(2026, month, 3, tzinfo=UTC)
            )
    with runtime.engine.begin() as connection:
        kept = participant_activity.stored_rows(connection)
        participant_activity.refresh_all(connection)
        assert participant_activity.stored_rows(connection) == kept
        ((*key, months),) = [(*row[:6], row[6:]) for row in kept]
        assert key == [participant, "c", 0, "fr", 0, 2026]
        assert months == (2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1)
