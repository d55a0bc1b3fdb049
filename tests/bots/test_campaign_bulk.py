"""The launch's bulk path (issue 17): what it stores is what the row-by-row path stored.

The invitation is shaped once per language, the habitants' states are merged in SQL, and the
rows are written by INSERT ... SELECT for a whole batch: each of these is checked here against
the plain way.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from bots import campaigns
from bots.audience import CAMPAIGN_PRIORITY
from bots.campaigns import STARTED_KEYS, Target, _merge_state
from bots.engine import Context, Held, State, start_survey, started_state
from bots.outgoing import outgoing_row
from bots.runtime import Runtime
from bots.survey_store import spec_from_row
from storage.db import transaction
from storage.models import Conversation, Message, Participant, Survey
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


def test_the_launch_writes_each_habitant_what_an_insert_would(runtime: Runtime) -> None:
    """Rows written by INSERT ... SELECT for the whole batch, compared column by column with
    `outgoing_row` of each habitant inserted plainly; the busy habitant waits, and those whose
    state only looks busy (a stale survey, a question long unanswered) are invited."""
    long_ago = (NOW - timedelta(days=3)).isoformat()
    states = {
        "free": State(consent=True),
        "english": State(language="en", consent=True),
        "stale survey": State(consent=True, survey="autre", question=1, last_at=long_ago),
        "stale question": State(language="ar", consent=True, asking="theme", last_at=long_ago),
        "busy": State(consent=True, survey="autre", question=1, last_at=NOW.isoformat()),
    }
    with transaction(runtime.sessions) as session:
        people = {}
        for n, (name, state) in enumerate(states.items()):
            channel = "telegram" if n % 2 else "simulator"
            person = make_participant(session, runtime, channel=channel)
            person.state, person.last_seen_at = state.to_json(), NOW - timedelta(days=3)
            people[name] = person
        campaign = campaigns.create_campaign(
            session, "scolarite", Target(everyone=True), now=NOW, allow_quiet_hours=True
        )
        survey = session.get(Survey, campaign.survey_id)
        assert survey is not None
        spec = spec_from_row(survey)
    assert campaigns.launch(runtime, campaign.id, NOW, batch=2) == len(states) - 1
    ctx = Context(catalog=runtime.catalog, surveys={spec.key: spec})
    with transaction(runtime.sessions) as session:
        expected = []
        for name, person in people.items():
            if name != "busy":
                reply = start_survey(states[name], spec, ctx).replies[0]
                row = outgoing_row(
                    channel=person.channel,
                    participant_id=person.id,
                    address_enc=person.address_enc,
                    reply=reply,
                    kind="expected",
                    now=NOW,
                    priority=CAMPAIGN_PRIORITY,
                    campaign_id=campaign.id,
                )
                expected.append(row)
        session.execute(insert(Message), expected)
    columns = [c for c in Message.__table__.c if c.name not in ("id", "kind")]
    with runtime.sessions() as session:
        written, wanted = (
            sorted(tuple(r) for r in session.execute(select(*columns).where(Message.kind == kind)))
            for kind in ("invitation", "expected")
        )
        assert written == wanted and len(written) == len(states) - 1
        statuses = dict(
            session.execute(
                select(Conversation.participant_id, Conversation.status).where(
                    Conversation.campaign_id == campaign.id
                )
            ).all()
        )
        assert statuses == {
            person.id: "waiting" if name == "busy" else "invited" for name, person in people.items()
        }


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
