"""The launch's bulk path (issue 17): what it stores is what the row-by-row path stored.

The invitation is shaped once per language, the habitants' states are merged in SQL, and the
rows go in by COPY on PostgreSQL: each of these is checked here against the plain way.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from bots import campaigns
from bots.campaigns import STARTED_KEYS, Target, _merge_state, bulk_insert
from bots.engine import Context, Held, State, start_survey, started_state
from bots.runtime import Runtime
from bots.survey_store import spec_from_row
from storage.db import transaction
from storage.models import Message, Participant, Survey
from tests.factories import make_participant

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Paris

STATES = [
    State(),
    State(language="en", consent=True, misses=2, asking="theme", question=3, survey="autre"),
    State(language="ar", consent=True, held=(Held("bonjour", ("photo.jpg",), "r1"),)),
    State(language="uk", consent=True, pending_survey="x", language_chosen=True, last_at="t"),
]


def test_merged_state_is_what_the_engine_gives(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        survey = session.scalars(select(Survey).where(Survey.slug == "scolarite")).one()
        spec = spec_from_row(survey)
        people = [
            make_participant(session, runtime, address=f"+3361000{n:04d}") for n in STATES_RANGE
        ]
        for person, state in zip(people, STATES, strict=True):
            person.state = state.to_json()
        legacy = make_participant(session, runtime, address="+33610009999")
        legacy.state = {"consent": True, "pending_text": "avant", "unknown_key": 1}
        session.flush()
        started = replace(started_state(State(), spec), last_at=NOW.isoformat()).to_json()
        _merge_state(
            session, [p.id for p in [*people, legacy]], {k: started[k] for k in STARTED_KEYS}
        )
    with runtime.sessions() as session:
        for person, state in zip(people, STATES, strict=True):
            stored = session.get(Participant, person.id)
            assert stored is not None
            expected = replace(started_state(state, spec), last_at=NOW.isoformat())
            assert State.from_json(stored.state) == expected
        stored = session.get(Participant, legacy.id)
        assert stored is not None
        expected = replace(
            started_state(State.from_json(legacy.state), spec), last_at=NOW.isoformat()
        )
        assert State.from_json(stored.state) == expected


STATES_RANGE = range(len(STATES))


def test_bulk_insert_stores_what_an_insert_stores(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        person = make_participant(session, runtime, address="+33610001111")
        rows = [
            {
                "direction": "out",
                "channel": "simulator",
                "participant_id": person.id,
                "address_enc": person.address_enc,
                "body": f"Bonjour « {n} » l'été\nتجربة",
                "choices": ["Oui", "Non"] if n else [],
                "expects": "choice" if n else "text",
                "media": [],
                "kind": "invitation",
                "status": "pending",
                "priority": 1,
                "wait_quiet_hours": bool(n),
                "attempts": 0,
                "next_attempt_at": NOW + timedelta(seconds=n),
                "campaign_id": None,
                "created_at": NOW,
            }
            for n in range(2)
        ]
        session.execute(insert(Message), [{**r, "kind": "plain"} for r in rows])
        bulk_insert(session, Message.__table__, [{**r, "kind": "bulk"} for r in rows])
    columns = [c for c in Message.__table__.c if c.name not in ("id", "kind")]
    with runtime.sessions() as session:
        plain, bulk = (
            [tuple(r) for r in session.execute(select(*columns).where(Message.kind == kind))]
            for kind in ("plain", "bulk")
        )
    assert bulk == plain and len(bulk) == 2


def test_the_invitation_shaped_once_is_each_habitants_own(runtime: Runtime) -> None:
    languages = ["fr", "en", "ar", "tr", "fr", "en"]
    with transaction(runtime.sessions) as session:
        for n, language in enumerate(languages):
            person = make_participant(session, runtime, address=f"+3361000{n:04d}")
            person.language = language
            person.state = State(language=language, consent=True).to_json()
        campaign = campaigns.create_campaign(
            session, "scolarite", Target(everyone=True), now=NOW, allow_quiet_hours=True
        )
        survey = session.get(Survey, campaign.survey_id)
        assert survey is not None
        spec = spec_from_row(survey)
    assert campaigns.launch(runtime, campaign.id, NOW, batch=4) == len(languages)
    ctx = Context(catalog=runtime.catalog, surveys={spec.key: spec})
    with runtime.sessions() as session:
        messages = session.scalars(select(Message).where(Message.kind == "invitation")).all()
        assert len(messages) == len(languages)
        for message in messages:
            person = session.get(Participant, message.participant_id)
            assert person is not None
            own = start_survey(State(language=person.language, consent=True), spec, ctx)
            reply = own.replies[0]
            assert (message.body, tuple(message.choices), message.expects) == (
                reply.text,
                reply.choices,
                reply.expects,
            )
            state = State.from_json(person.state)
            assert state == replace(own.state, last_at=NOW.isoformat())
