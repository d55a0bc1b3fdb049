"""The field channel (`terrain`): what an intervenant heard face to face, and surveys run on
their phone for the habitant in front of them.

Every entry and every answer arrives with an identifier made on the intervenant's device (the
page may send it twice after a lost connection, or again from its offline queue). It becomes the
provider id of an inbound message on channel `terrain`, whose unique key (channel, direction,
provider id) records it once: a retry is answered "already recorded" and changes nothing.

A habitant met in the field is an anonymous participant of their own (no address: nobody can
write to them, no campaign can reach them), so that they count once in the indicators. When
they want to be kept informed, the intervenant types their mobile number: an ordinary SMS
participant is created and gets the bot's usual consent question, and nothing else until they
say yes.

A survey face to face is the bot's survey, step by step: `engine.step` with the chosen answer as
the habitant's message, the facts written by the handler's `Recorder`. What the engine says back
(the next question, a gentle retry, the thanks) is kept as an outgoing message with status
`shown`: it was shown on the intervenant's screen, the outbox never sends it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bots import engine
from bots.engine import Incoming, Reply, State
from bots.handler import (
    FieldSource,
    Inbound,
    Recorder,
    build_context,
    enqueue_reply,
    find_or_create_participant,
)
from bots.runtime import Runtime
from bots.survey_store import spec_from_row
from bots.surveys import SurveySpec
from storage.db import transaction
from storage.models import (
    Campaign,
    Categorisation,
    Contribution,
    Conversation,
    Message,
    Participant,
    Quartier,
    Survey,
    Theme,
)

log = logging.getLogger(__name__)

CHANNEL = "terrain"
SHOWN = "shown"  # status of what the engine said on the intervenant's screen


@dataclass(frozen=True)
class Entry:
    """One habitant met: what they said, and what the intervenant noted about them."""

    client_id: str
    text: str
    quartier_id: int
    intervenant_id: int
    at: datetime
    action_id: int | None = None
    action_code: str | None = None
    language: str = "fr"
    theme_code: str | None = None
    age_range: str | None = None
    gender: str | None = None
    phone: str | None = None  # E.164, checked by the caller


@dataclass(frozen=True)
class Recorded:
    duplicate: bool
    contribution_id: int | None = None
    invited: bool = False  # the consent question went to the phone number given


def record_entry(runtime: Runtime, entry: Entry) -> Recorded:
    """Record one field entry once, in one transaction (with the consent SMS, if any)."""
    with transaction(runtime.sessions) as session:
        message = _inbound_once(session, f"entry:{entry.client_id}", entry.text, entry.at)
        if message is None:
            return Recorded(duplicate=True)
        participant = _anonymous(
            session,
            runtime,
            entry.client_id,
            entry.at,
            quartier_id=entry.quartier_id,
            language=entry.language,
            action_code=entry.action_code,
        )
        participant.age_range = entry.age_range
        participant.gender = entry.gender
        message.participant_id = participant.id
        contribution = Contribution(
            participant_id=participant.id,
            quartier_id=entry.quartier_id,
            channel=CHANNEL,
            language=entry.language,
            kind="free",
            text=entry.text,
            action_id=entry.action_id,
            intervenant_id=entry.intervenant_id,
            created_at=entry.at,
        )
        session.add(contribution)
        session.flush()
        if entry.theme_code:
            theme = session.scalars(
                select(Theme).where(Theme.code == entry.theme_code, Theme.active.is_(True))
            ).one_or_none()
            if theme is not None:
                # Chosen by the person who heard it: a human's thème, like the team's.
                session.add(
                    Categorisation(
                        contribution_id=contribution.id,
                        theme_id=theme.id,
                        source="staff",
                        user_id=entry.intervenant_id,
                        created_at=entry.at,
                    )
                )
        invited = False
        if entry.phone:
            invited = invite(session, runtime, entry.phone, entry, entry.at)
        return Recorded(False, contribution.id, invited)


def invite(session: Session, runtime: Runtime, phone: str, entry: Entry, now: datetime) -> bool:
    """Ask the habitant's consent by SMS, the bot's own first message; False when there is
    nothing to ask (they already agreed, said STOP, or the question is waiting for them)."""
    participant = find_or_create_participant(session, runtime, "sms", phone, now)
    state = State.from_json(participant.state)
    if participant.consent_at is not None or state.opted_out or state.asking == "consent":
        return False
    if participant.quartier_id is None:
        participant.quartier_id = entry.quartier_id
    if participant.joined_via is None:
        participant.joined_via = entry.action_code
    state = replace(state, language=entry.language)  # asked in the language they spoke
    result = engine.step(state, Incoming(at=now), build_context(session, runtime, state, None))
    participant.state = result.state.to_json()
    participant.language = result.state.language
    for reply in result.replies:
        enqueue_reply(session, participant, reply, now=now)
    return bool(result.replies)


def _inbound_once(session: Session, provider_id: str, body: str, now: datetime) -> Message | None:
    """The inbound row for this client-made id, or None if it was recorded before."""
    message = Message(
        direction="in",
        channel=CHANNEL,
        provider_id=provider_id[:100],
        body=body,
        status="processed",
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:
        log.info("field message %s already recorded", provider_id)
        return None
    return message


def _anonymous(
    session: Session,
    runtime: Runtime,
    client_id: str,
    now: datetime,
    *,
    quartier_id: int,
    language: str,
    action_code: str | None,
) -> Participant:
    """The habitant met, as a participant with no address: counted, never written to."""
    pseudonym = runtime.vault.pseudonym(CHANNEL, client_id)
    participant = session.scalars(
        select(Participant).where(Participant.pseudonym == pseudonym)
    ).one_or_none()
    if participant is None:
        participant = Participant(
            pseudonym=pseudonym,
            channel=CHANNEL,
            address_enc="",
            address_mask="",
            language=language,
            quartier_id=quartier_id,
            joined_via=action_code,
            first_seen_at=now,
            last_seen_at=now,
            consent_at=now,  # agreed face to face to what they said being noted
            state=State(language=language, consent=True).to_json(),
        )
        session.add(participant)
        session.flush()
    return participant


# --- a survey face to face -----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One habitant answering a campaign's survey on the intervenant's screen."""

    run_id: str
    campaign_id: int
    quartier_id: int
    intervenant_id: int
    action_id: int | None = None
    action_code: str | None = None
    language: str = "fr"
    age_range: str | None = None
    gender: str | None = None


@dataclass(frozen=True)
class Screen:
    """Where a run is: the question to show (None once finished or stopped), what the engine
    said last (the question, a retry, the thanks), and the number the next answer carries."""

    survey: SurveySpec
    language: str
    question: int | None
    said: tuple[Reply, ...]
    number: int
    misses: int = 0


def start_run(runtime: Runtime, run: Run, now: datetime) -> Screen:
    """Start (once) the survey for this run: question 1, exactly as a campaign would ask it."""
    with transaction(runtime.sessions) as session:
        campaign = session.get(Campaign, run.campaign_id)
        if campaign is None:
            raise LookupError(f"no campaign {run.campaign_id}")
        message = _inbound_once(session, f"run:{run.run_id}:0", "", now)
        if message is not None:
            participant = _anonymous(
                session,
                runtime,
                f"run:{run.run_id}",
                now,
                quartier_id=run.quartier_id,
                language=run.language,
                action_code=run.action_code,
            )
            participant.age_range = run.age_range
            participant.gender = run.gender
            message.participant_id = participant.id
            state = State.from_json(participant.state)
            ctx = build_context(session, runtime, state, None)
            spec = spec_from_row(campaign.survey)
            ctx = engine.Context(
                ctx.catalog, {spec.key: spec}, ctx.themes, _quartiers(session, spec, ctx)
            )
            result = engine.start_survey(state, spec, ctx)
            _apply(session, runtime, participant, message, result, _source(run), now)
    screen = run_screen(runtime, run.run_id)
    assert screen is not None
    return screen


def answer_run(runtime: Runtime, run_id: str, number: int, text: str, now: datetime) -> Screen:
    """One answer (as the habitant would type it), recorded once per screen `number`."""
    with transaction(runtime.sessions) as session:
        participant = _run_participant(session, runtime, run_id)
        if participant is None:
            raise LookupError(f"no run {run_id}")
        message = _inbound_once(session, f"run:{run_id}:{number}", text, now)
        if message is not None:
            message.participant_id = participant.id
            state = State.from_json(participant.state)
            ctx = build_context(session, runtime, state, None)
            source = _run_source(session, participant)
            result = engine.step(state, Incoming(text=text, at=now), ctx)
            _apply(session, runtime, participant, message, result, source, now)
    screen = run_screen(runtime, run_id)
    assert screen is not None
    return screen


def run_screen(runtime: Runtime, run_id: str) -> Screen | None:
    """The screen of a run as it stands, or None if there is no such run."""
    with runtime.sessions() as session:
        participant = _run_participant(session, runtime, run_id)
        if participant is None:
            return None
        conversation = session.scalars(
            select(Conversation)
            .where(Conversation.participant_id == participant.id)
            .order_by(Conversation.id.desc())
            .limit(1)
        ).first()
        if conversation is None:
            return None
        campaign = session.get(Campaign, conversation.campaign_id or 0)
        survey_row = campaign.survey if campaign else None
        if survey_row is None:
            survey_row = session.get(Survey, conversation.survey_id)
        assert survey_row is not None
        spec = spec_from_row(survey_row)
        state = State.from_json(participant.state)
        said = tuple(
            Reply(m.body, tuple(m.choices), m.expects)  # type: ignore[arg-type]
            for m in session.scalars(
                select(Message)
                .where(Message.participant_id == participant.id, Message.direction == "out")
                .order_by(Message.id.desc())
                .limit(1)
            )
        )
        inbound = session.scalars(
            select(Message.id).where(
                Message.participant_id == participant.id, Message.direction == "in"
            )
        ).all()
        question = state.question if state.survey == spec.key else None
        return Screen(spec, state.language, question, said, len(inbound), state.misses)


def run_owner(runtime: Runtime, run_id: str) -> tuple[int | None, int | None] | None:
    """(intervenant id, quartier id) of a run, for the web layer's scope check."""
    with runtime.sessions() as session:
        participant = _run_participant(session, runtime, run_id)
        if participant is None:
            return None
        source = _run_source(session, participant)
        return source.intervenant_id, participant.quartier_id


def _run_participant(session: Session, runtime: Runtime, run_id: str) -> Participant | None:
    pseudonym = runtime.vault.pseudonym(CHANNEL, f"run:{run_id}")
    return session.scalars(
        select(Participant).where(Participant.pseudonym == pseudonym)
    ).one_or_none()


def _source(run: Run) -> FieldSource:
    return FieldSource(run.action_id, run.intervenant_id, run.campaign_id)


def _run_source(session: Session, participant: Participant) -> FieldSource:
    conversation = session.scalars(
        select(Conversation)
        .where(Conversation.participant_id == participant.id)
        .order_by(Conversation.id.desc())
        .limit(1)
    ).first()
    if conversation is None:
        return FieldSource()
    return FieldSource(
        conversation.action_id, conversation.intervenant_id, conversation.campaign_id
    )


def _survey_of(runtime: Runtime, campaign_id: int) -> tuple[SurveySpec, engine.Context]:
    """A campaign's survey and the engine's context to run it in (`LookupError`: no campaign)."""
    with runtime.sessions() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise LookupError(f"no campaign {campaign_id}")
        spec = spec_from_row(campaign.survey)
        base = build_context(session, runtime, State(), None)
        return spec, engine.Context(
            base.catalog, {spec.key: spec}, base.themes, _quartiers(session, spec, base)
        )


def _quartiers(
    session: Session, spec: SurveySpec, ctx: engine.Context
) -> tuple[engine.QuartierOption, ...]:
    if ctx.quartiers or not any(q.kind == "quartier" for q in spec.questions):
        return ctx.quartiers
    return tuple(
        engine.QuartierOption(q.code, q.name)
        for q in session.scalars(select(Quartier).order_by(Quartier.name))
    )


def _apply(
    session: Session,
    runtime: Runtime,
    participant: Participant,
    message: Message,
    result: engine.Step,
    source: FieldSource,
    now: datetime,
) -> None:
    """Write a step's facts with the handler's recorder; keep what was shown on screen."""
    inbound = Inbound(
        channel=CHANNEL, address="", text=message.body, received_at=now, source=source
    )
    recorder = Recorder(session, runtime, participant, inbound, message, now)
    for fact in result.facts:
        if fact.kind in ("erase", "opted_out", "consent_refused"):
            continue  # face to face, "stop" ends the run; there is nothing to erase or block
        recorder.apply(fact)
    recorder.finish()
    participant.state = result.state.to_json()
    participant.last_seen_at = now
    participant.language = result.state.language
    for reply in result.replies:
        session.add(
            Message(
                direction="out",
                channel=CHANNEL,
                participant_id=participant.id,
                body=reply.text,
                choices=list(reply.choices),
                expects=reply.expects,
                status=SHOWN,
                in_reply_to_id=message.id,
                created_at=now,
            )
        )
    session.flush()


# --- a survey face to face with no network ------------------------------------------------------


def offline_survey(runtime: Runtime, campaign_id: int, languages: list[str]) -> dict[str, Any]:
    """The survey as the phone needs it to run with no network, in each language offered.

    Per question: its text and the choices exactly as the engine shows them, whether it may be
    skipped, and where each answer leads (`next`: the index of the next question, None at the
    end), found by stepping the engine itself — the phone applies no rule of its own. The run
    is then sent as a sheet (`check_sheet`, `record_sheet`) and replayed through the engine.
    """
    spec, ctx = _survey_of(runtime, campaign_id)
    skip = _skip(runtime)
    found: dict[str, Any] = {}
    for language in languages:
        questions = []
        for index, question in enumerate(spec.questions):
            at = State(language=language, consent=True, survey=spec.key, question=index)
            shown = engine.question_reply(at, spec, ctx)

            def leads(text: str, state: State = at) -> int | None:
                after = engine.step(state, Incoming(text=text), ctx).state
                return after.question if after.survey == spec.key else None

            sample = "1" if shown.choices else "réponse"
            questions.append(
                {
                    "position": question.position,
                    "kind": question.kind,
                    "text": question.text_in(language),
                    "choices": list(shown.choices),
                    "required": question.required,
                    "next": [leads(str(n)) for n in range(1, len(shown.choices) + 1)]
                    if question.kind in ("single", "yes_no", "quartier", "scale")
                    else [leads(sample)],
                    "skip_next": None if question.required else leads(skip),
                }
            )
        end = engine.end_reply(language, spec, ctx)
        found[language] = {"questions": questions, "end": end.text}
    return {"campaign": campaign_id, "survey": spec.key, "languages": found}


# --- a paper sheet, typed back in ----------------------------------------------------------------


def _skip(runtime: Runtime) -> str:
    keywords = runtime.catalog.keywords
    return next((word for word, kind in keywords.items() if kind == "skip"), "passer")


def check_sheet(
    runtime: Runtime,
    campaign_id: int,
    answers: dict[int, str],
    language: str = "fr",
    *,
    complete: bool = True,
) -> dict[int, str]:
    """The questions of a paper sheet the engine would not accept, with what it would say
    (`{position: text}`); nothing is recorded. A blank answer is a skip, as on the bot; on a
    run stopped halfway (`complete=False`) the first question left blank is where it ends."""
    spec, ctx = _survey_of(runtime, campaign_id)
    skip = _skip(runtime)
    state = engine.start_survey(State(language=language, consent=True), spec, ctx).state
    problems: dict[int, str] = {}
    while state.survey == spec.key:
        question = spec.questions[state.question]
        if not complete and not answers.get(question.position):
            break
        result = engine.step(state, Incoming(text=answers.get(question.position) or skip), ctx)
        if result.state.survey == spec.key and result.state.question == state.question:
            problems[question.position] = result.replies[0].text if result.replies else ""
            result = engine.step(state, Incoming(text=skip), ctx)
            if result.state.survey == spec.key and result.state.question == state.question:
                break  # a required question left blank: nothing after it can be read
        state = result.state
    return problems


def record_sheet(
    runtime: Runtime, run: Run, answers: dict[int, str], now: datetime, *, complete: bool = True
) -> Screen:
    """Type a paper sheet back in (or a run made with no network): the run's answers, in the
    order the engine asks them; `complete=False` stops at the first question left blank (the
    habitant stopped there), the run then counting as a partial one.

    The sheet's id is the run's: the same sheet sent twice is recorded once."""
    screen = start_run(runtime, run, now)
    skip = _skip(runtime)
    seen = 0
    while screen.question is not None and seen <= len(screen.survey.questions) * 2:
        question = screen.survey.questions[screen.question]
        if not complete and not answers.get(question.position):
            break
        text = answers.get(question.position) or skip
        screen = answer_run(runtime, run.run_id, screen.number, text, now)
        seen += 1
    return screen
