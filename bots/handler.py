"""One inbound message, end to end: record it once, step the engine, persist everything at once.

The inbound row, the new dialogue state, the answers or contribution and the replies (written to
the outbox, not sent) are committed in one transaction. If anything fails, nothing is recorded and
the provider's retry finds a clean slate; if the same message comes twice, the unique key on
(channel, direction, provider id) makes the second one a no-op.

One person, several channels: a number writing by SMS and by WhatsApp is one participant (one
pseudonym, `bots.phone.identity_channel`); the channel of each message is recorded on it
(`ParticipantChannel`) and `Participant.channel` follows the one used last, so replies go back
the way the habitant wrote.

Whoever writes to us can be written to: a message clears the participant's `unreachable_at`
(a dead number, a blocked bot), on every channel, unless it was written before the mark and
arrives late.

Languages: before consent, the words of a newcomer are identified (`bots.language_id`, about
40 µs, so in the webhook path) for the engine to welcome them in their language; every
contribution and answer is stored with the language it is written in.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Select,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bots import engine, followup, language_id
from bots.engine import (
    Access,
    Context,
    Fact,
    Incoming,
    Join,
    Privacy,
    QuartierOption,
    Reply,
    State,
)
from bots.outgoing import outgoing_row
from bots.phone import identity_channel
from bots.reference import ReferenceCache
from bots.runtime import Runtime
from bots.text import clean, normalise
from storage.crypto import mask
from storage.db import begin_reads, is_postgres, transaction
from storage.models import (
    AccessCode,
    Answer,
    Campaign,
    Categorisation,
    Contribution,
    Conversation,
    Message,
    Participant,
    ParticipantChannel,
    Question,
    ReferenceVersion,
    ThreadMessage,
    UTCDateTime,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Media:
    """An attachment as a channel received it; `path` is relative to the media folder."""

    kind: str
    file_id: str = ""
    path: str = ""
    mime: str = ""

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "file_id": self.file_id, "path": self.path, "mime": self.mime}


@dataclass(frozen=True)
class FieldSource:
    """What brought a message from the field (`bots.field`): the action (a join code's id), the
    intervenant's account, and the campaign whose survey they run face to face."""

    action_id: int | None = None
    intervenant_id: int | None = None
    campaign_id: int | None = None


@dataclass(frozen=True)
class Inbound:
    """What a channel adapter makes of a provider's payload."""

    channel: str
    address: str
    text: str = ""
    external_id: str | None = None
    media: tuple[Media, ...] = ()
    start_code: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    source: FieldSource | None = None
    language_hint: str | None = None  # the channel's guess (a Telegram app's language_code)


@dataclass(frozen=True)
class Outcome:
    duplicate: bool
    message_id: int | None = None
    participant_id: int | None = None
    reply_ids: tuple[int, ...] = ()


def handle_inbound(runtime: Runtime, inbound: Inbound) -> Outcome:
    """Record, step and persist one inbound message; safe to call twice with the same message."""
    inbound = storable(inbound)
    for attempt in (1, 2):
        try:
            return _handle(runtime, inbound, first=attempt == 1)
        except IntegrityError:
            # The same message, or the same newcomer's first one, was recorded meanwhile: the
            # second attempt reads it (a duplicate is then said so, recorded once).
            if attempt == 2:
                raise
            log.info("retrying inbound %s after a concurrent insert", inbound.external_id)
    raise AssertionError("unreachable")


class Taken(Exception):
    """The recorded message was processed by another drain meanwhile: nothing is written."""


Load = Callable[[Session], Inbound | None]


def process_recorded(runtime: Runtime, message_id: int, load: Load) -> Outcome | None:
    """Step a message a webhook recorded and mark it `processed`, in the transaction of all it
    leads to (`bots.inbound`). `load` claims it in the session and returns it, or None when it
    is not to be processed now (another drain holds it, or an earlier one of the same habitant
    waits); None is then returned, and nothing is written."""
    for attempt in (1, 2):
        try:
            return _process(runtime, message_id, load)
        except Taken:
            return None
        except IntegrityError:
            # The same newcomer's first message was recorded meanwhile by another channel.
            if attempt == 2:
                raise
            log.info("retrying recorded message %s after a concurrent insert", message_id)
    raise AssertionError("unreachable")


def _process(runtime: Runtime, message_id: int, load: Load) -> Outcome | None:
    """`_handle` for a recorded message: read and step, then write (see there)."""
    if is_postgres(runtime.engine):
        with transaction(runtime.sessions) as session:
            inbound = load(session)  # claims the row, locked until the commit
            if inbound is None:
                return None
            pseudonym = runtime.vault.pseudonym(identity_channel(inbound.channel), inbound.address)
            read = _read(session, runtime, inbound, pseudonym, True)
            assert not isinstance(read, Outcome)
            return _write(session, runtime, inbound, pseudonym, read, recorded=message_id)
    with runtime.engine.connect() as connection:
        with runtime.sessions(bind=connection) as session:
            begin_reads(session)
            inbound = load(session)
            if inbound is None:
                return None
            pseudonym = runtime.vault.pseudonym(identity_channel(inbound.channel), inbound.address)
            read = _read(session, runtime, inbound, pseudonym, True)
            assert not isinstance(read, Outcome)
            reference = runtime.reference.get(session)
        with transaction(runtime.sessions, bind=connection) as session:
            runtime.reference.adopt(session, reference)
            return _write(session, runtime, inbound, pseudonym, read, recorded=message_id)


def _without_nul(text: str) -> str:
    return text.replace("\x00", "")


def storable(inbound: Inbound) -> Inbound:
    """The message without NUL characters, which PostgreSQL cannot store in text or JSON (a
    forged or broken payload): nothing a habitant can type, so nothing of theirs is lost."""
    media = tuple(
        Media(*(_without_nul(getattr(m, f)) for f in ("kind", "file_id", "path", "mime")))
        for m in inbound.media
    )
    return replace(
        inbound,
        address=_without_nul(inbound.address),
        text=_without_nul(inbound.text),
        external_id=_without_nul(inbound.external_id) if inbound.external_id else None,
        start_code=_without_nul(inbound.start_code) if inbound.start_code else None,
        media=media,
    )


# `Incoming.ref` of a message stepped before it has its id; bound to the id in the write.
THIS_MESSAGE = "\x00this-message"


@dataclass(frozen=True)
class Plan:
    """One message's engine step, and what it assumed of the participant (`Plan.token`)."""

    token: tuple[Any, ...] | None
    join: Join | None
    result: engine.Step


def _handle(runtime: Runtime, inbound: Inbound, *, first: bool) -> Outcome:
    """Read and step first, outside the write lock; then write, in one short transaction.

    SQLite has one writer at a time: holding its lock only for the writes lets the other
    workers read and step meanwhile. PostgreSQL locks rows, not the database: there the read
    and the write share one transaction (one round trip fewer), the participant's row locked
    only for the write.

    The write checks what the step assumed. The message is inserted under its unique key: a
    duplicate fails it, and the second attempt (the `first` does not look: a provider's retry
    is rare) reads it and says duplicate, recorded once. If the participant changed meanwhile
    (their previous message was being written), or the step needs counts only the write can
    give, the step is made again in the write.
    """
    pseudonym = runtime.vault.pseudonym(identity_channel(inbound.channel), inbound.address)
    if is_postgres(runtime.engine):
        with transaction(runtime.sessions) as session:
            read = _read(session, runtime, inbound, pseudonym, first)
            if isinstance(read, Outcome):
                return read
            return _write(session, runtime, inbound, pseudonym, read)
    with runtime.engine.connect() as connection:  # one for both: checked out once
        with runtime.sessions(bind=connection) as session:
            begin_reads(session)  # each read sees the latest commit; the write checks them
            read = _read(session, runtime, inbound, pseudonym, first)
            if isinstance(read, Outcome):
                return read
            reference = runtime.reference.get(session)
        with transaction(runtime.sessions, bind=connection) as session:
            runtime.reference.adopt(session, reference)  # what the step was made with
            return _write(session, runtime, inbound, pseudonym, read)


def _read(
    session: Session, runtime: Runtime, inbound: Inbound, pseudonym: str, first: bool
) -> Outcome | Plan | None:
    """A duplicate's outcome, or the step planned without any lock (None: make it in the
    write)."""
    if not first and _recorded(session, inbound):
        log.info("duplicate %s message %s ignored", inbound.channel, inbound.external_id)
        return Outcome(duplicate=True)
    row = session.connection().execute(READ, {"pseudonym": pseudonym}).one()
    runtime.reference.at(session, row.version)  # read with them: what the step is made with
    known = _person(row) if row.id is not None else None
    return _plan(session, runtime, inbound, known, None)


def _recorded(session: Session, inbound: Inbound) -> bool:
    if inbound.external_id is None:
        return False
    params = {"channel": inbound.channel, "provider_id": inbound.external_id}
    return session.connection().execute(RECORDED, params).first() is not None


def _token(participant: Person | Participant | None) -> tuple[Any, ...] | None:
    """What a step assumed of a participant: whoever they are, where they were."""
    if participant is None:
        return None
    return (participant.id, participant.last_seen_at, participant.state)


def _plan(
    session: Session,
    runtime: Runtime,
    inbound: Inbound,
    participant: Person | None,
    message_id: int | None,
) -> Plan | None:
    """The engine's step for this message (None if it needs the write: a newcomer's SUIVI,
    MES DONNEES, whose counts include the message being written)."""
    default = runtime.settings.default_language
    state = State.from_json(participant.state) if participant else State(language=default)
    if message_id is None and _wants_access(runtime, state, inbound.text):
        return None
    join = resolve_join(session, inbound, runtime)
    ctx = build_context(session, runtime, state, join)
    if participant is not None:
        ctx = replace(ctx, **_followup_values(session, runtime, participant, state, inbound))
    elif runtime.catalog.keywords.get(normalise(inbound.text)) == "followup":
        return None
    # Only a newcomer's words can choose the language (the habitant's choice is never guessed over).
    written = None if state.consent else language_id.identify(inbound.text, runtime.catalog)
    if (
        message_id is not None
        and participant is not None
        and _wants_access(runtime, state, inbound.text)
    ):
        ctx = replace(ctx, access=access_summary(session, participant))
    result = engine.step(
        state,
        Incoming(
            text=inbound.text,
            media=tuple(m.kind for m in inbound.media),
            at=inbound.received_at,
            join=join,
            ref=str(message_id) if message_id is not None else THIS_MESSAGE,
            language=written,
            language_hint=inbound.language_hint,
        ),
        ctx,
    )
    return Plan(_token(participant), join, result)


def _bind(result: engine.Step, message_id: int) -> engine.Step:
    """The step's references to "this message" given the message's id."""
    ref = str(message_id)
    if not any(h.ref == THIS_MESSAGE for h in result.state.held) and not any(
        f.ref == THIS_MESSAGE for f in result.facts
    ):
        return result
    held = tuple(replace(h, ref=ref) if h.ref == THIS_MESSAGE else h for h in result.state.held)
    facts = tuple(replace(f, ref=ref) if f.ref == THIS_MESSAGE else f for f in result.facts)
    return replace(result, state=replace(result.state, held=held), facts=facts)


def _surveys_of(result: engine.Step) -> set[int]:
    """The surveys a step's facts speak of: their open conversations are read with the lock."""
    return {int(f.survey) for f in result.facts if f.survey and f.survey.isdigit()}


def _write(
    session: Session,
    runtime: Runtime,
    inbound: Inbound,
    pseudonym: str,
    plan: Plan | None,
    recorded: int | None = None,
) -> Outcome:
    now = inbound.received_at
    conn = session.connection()
    surveys = _surveys_of(plan.result) if plan is not None else set()
    locked = _lock(conn, pseudonym, inbound.channel, surveys)
    person = locked.person
    if person is None:
        person = _newcomer(conn, runtime, pseudonym, inbound, now)
    before = replace(person)  # what is written back is what changes from here
    if person.channel != inbound.channel and now >= person.last_seen_at:
        person.channel = inbound.channel  # the one used last, unless this message is older
    media = [m.to_json() for m in inbound.media]
    row: dict[str, Any] = {
        "participant_id": person.id,
        "body": inbound.text,
        "media": media,
        "status": "processed",  # in the same transaction as all it leads to
    }
    if recorded is None:
        new = {"direction": "in", "channel": inbound.channel, "provider_id": inbound.external_id}
        message_id = _inserted(conn, INSERT_MESSAGE, {**row, **new, "created_at": now})
        # A duplicate failed just above (IntegrityError): `handle_inbound` reads it again.
    else:
        # The row a webhook recorded: processed now, unless another drain did it meanwhile.
        done = {**row, "b_id": recorded, "processed_at": datetime.now(UTC)}
        if conn.execute(MARK_PROCESSED, done).rowcount != 1:
            raise Taken(recorded)
        message_id = recorded
    message = Received(message_id, inbound.text, media, person.id)
    _seen(conn, person.id, inbound.channel, now, locked)
    if person.unreachable_at and person.unreachable_at.replace(microsecond=0) <= now:
        person.unreachable_at = None  # they wrote, so we reach them again (see `_seen`)
    if plan is None or plan.token != locked.token:
        # Their previous message was written meanwhile (or the step needs the write): step again.
        plan = _plan(session, runtime, inbound, person, message.id)
        assert plan is not None
    result = _bind(plan.result, message.id)
    person.language = result.state.language  # what the facts below are written in
    recorder = Recorder(session, runtime, person, inbound, message, now, locked.conversations)
    for fact in result.facts:
        recorder.apply(fact)
    recorder.finish()
    if recorder.erased:
        conn.execute(DELETE_PARTICIPANT, {"b_id": person.id})
        reply_ids = [
            _enqueue(session, person.channel, None, person.address_enc, reply, message.id, now)
            for reply in result.replies
        ]
        return Outcome(False, message.id, None, tuple(reply_ids))
    person.state = result.state.to_json()
    person.last_seen_at = now
    changed = {
        name: getattr(person, name)
        for name in PERSON_FIELDS
        if getattr(person, name) != getattr(before, name)
    }
    if changed:
        conn.execute(UPDATE_PARTICIPANT, {"b_id": person.id, **changed})
    reply_ids = [
        enqueue_reply(session, person, reply, in_reply_to=message.id, now=now)
        for reply in result.replies
    ]
    return Outcome(False, message.id, person.id, tuple(reply_ids))


def _newcomer(
    conn: Connection, runtime: Runtime, pseudonym: str, inbound: Inbound, now: datetime
) -> Person:
    """A first message from this address: the participant, written now (their channel by
    `_seen`); two newcomers' first messages at once: the second fails on the pseudonym and
    `handle_inbound` reads the first one's participant."""
    language = runtime.settings.default_language
    person = Person(
        id=0,
        channel=inbound.channel,
        address_enc=runtime.vault.encrypt(inbound.address),
        language=language,
        quartier_id=None,
        joined_via=None,
        first_seen_at=now,
        last_seen_at=now,
        consent_at=None,
        opted_out_at=None,
        unreachable_at=None,
        state=State(language=language).to_json(),
        is_test=False,
    )
    values = {name: getattr(person, name) for name in PERSON_FIELDS if name != "id"}
    values.update(pseudonym=pseudonym, address_mask=mask(inbound.address))
    person.id = _inserted(conn, INSERT_PARTICIPANT, values)
    return person


def _seen(
    conn: Connection, participant_id: int, channel: str, now: datetime, locked: Locked
) -> None:
    """Date the participant's use of this channel, which reaches them again: one UPDATE when
    they had used it before (unless a later message dated it already), else its row."""
    if not locked.has_channel:
        row = {
            "participant_id": participant_id,
            "channel": channel,
            "first_seen_at": now,
            "last_seen_at": now,
        }
        conn.execute(INSERT_CHANNEL, row)
        return
    cutoff = now.replace(microsecond=0) + timedelta(seconds=1)
    seen, marked = locked.channel_seen, locked.channel_unreachable
    if (seen is None or seen < now) or (marked is not None and marked < cutoff):
        params = {"b_participant": participant_id, "b_channel": channel, "b_now": now}
        conn.execute(SEEN_AGAIN, {**params, "b_cutoff": cutoff})


def _followup_values(
    session: Session,
    runtime: Runtime,
    participant: Person | Participant,
    state: State,
    inbound: Inbound,
) -> dict[str, Any]:
    """What the engine needs for SUIVI and for a conversation that goes on, read only when it
    may be used: SUIVI's summary for the keyword, the open thread for a free message."""
    keyword = runtime.catalog.keywords.get(normalise(inbound.text))
    if keyword == "followup":
        return {"followup": followup.followup_for(session, participant.id)}
    # "Merci" (a greeting word) is a fair answer to the team's reply: it joins the thread too.
    free = keyword is None or keyword == "greetings"
    if free and state.consent and not state.survey and not state.opted_out:
        now = inbound.received_at
        return {"thread_open": followup.open_thread(session, participant.id, now) is not None}
    return {}


def find_or_create_participant(
    session: Session, runtime: Runtime, channel: str, address: str, now: datetime
) -> Participant:
    """The participant behind an address, locked for this transaction (created if new).

    The channel they wrote on becomes theirs (used last) unless this message is older than the
    last one we had from them.
    """
    return _find_or_create(session, runtime, channel, address, now)[0]


def _find_or_create(
    session: Session, runtime: Runtime, channel: str, address: str, now: datetime
) -> tuple[Participant, tuple[Any, ...] | None]:
    """`find_or_create_participant`, and the participant's `_token` as found (None if new)."""
    pseudonym = runtime.vault.pseudonym(identity_channel(channel), address)
    query = (
        select(Participant)
        .where(Participant.pseudonym == pseudonym)
        .with_for_update()
        .execution_options(populate_existing=True)  # as it is now, not as read before the lock
    )
    participant = session.scalars(query).one_or_none()
    if participant is not None:
        token = _token(participant)
        if participant.channel != channel and now >= participant.last_seen_at:
            participant.channel = channel
        _seen_on(session, participant.id, channel, now)
        return participant, token
    participant = Participant(
        pseudonym=pseudonym,
        channel=channel,
        address_enc=runtime.vault.encrypt(address),
        address_mask=mask(address),
        language=runtime.settings.default_language,
        first_seen_at=now,
        last_seen_at=now,
        state=State(language=runtime.settings.default_language).to_json(),
    )
    session.add(participant)
    session.flush()
    _seen_on(session, participant.id, channel, now, new=True)
    return participant, None


def _reachable_again(
    session: Session, participant: Participant, channel: str, now: datetime
) -> None:
    """They wrote on `channel`, so it reaches them again, and so do we at all; a mark made
    after this message (one arriving late) stands. Telegram dates a message to the second."""
    row = session.get(ParticipantChannel, (participant.id, channel))
    if row is not None and row.unreachable_at and row.unreachable_at.replace(microsecond=0) <= now:
        row.unreachable_at = None
    marked = participant.unreachable_at
    if marked and marked.replace(microsecond=0) <= now:
        participant.unreachable_at = None


def _seen_on(
    session: Session, participant_id: int, channel: str, now: datetime, *, new: bool = False
) -> None:
    """Date the participant's use of this channel: one UPDATE when they had used it before."""
    if not new:
        moved = session.execute(
            update(ParticipantChannel)
            .where(
                ParticipantChannel.participant_id == participant_id,
                ParticipantChannel.channel == channel,
                ParticipantChannel.last_seen_at < now,
            )
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(moved, "rowcount", 0) or session.get(
            ParticipantChannel, (participant_id, channel)
        ):
            return
    session.add(
        ParticipantChannel(
            participant_id=participant_id, channel=channel, first_seen_at=now, last_seen_at=now
        )
    )


def resolve_join(session: Session, inbound: Inbound, runtime: Runtime | None = None) -> Join | None:
    """A Telegram /start code, or an SMS keyword that is a known code (case and accents ignored).

    The codes come from the runtime's `bots.reference` (read from the database without one).
    """
    candidate = inbound.start_code
    if candidate is None:
        text = inbound.text.strip()
        if not text or len(text) > 64 or " " in text:
            return None
        candidate = text
    reference = (runtime.reference if runtime else ReferenceCache()).get(session)
    code = reference.join_codes.get(candidate)
    if code is None and inbound.start_code is None:
        code = reference.join_normalised.get(normalise(candidate))
    if code is None:
        # An unknown deep-link code still welcomes the habitant; an unknown word is just text.
        return Join(code=candidate[:64]) if inbound.start_code is not None else None
    survey_id = code.survey_id
    if code.campaign_id is not None and survey_id is None:
        # A campaign's status moves on the scheduler's clock: read live.
        campaign = session.get(Campaign, code.campaign_id)
        if campaign is not None and campaign.status == "running":
            survey_id = campaign.survey_id
    return Join(
        code=code.code,
        survey=str(survey_id) if survey_id else None,
        quartier=code.quartier,
    )


def build_context(session: Session, runtime: Runtime, state: State, join: Join | None) -> Context:
    """What this step may need: the surveys in play, thèmes, quartiers (`bots.reference`)."""
    reference = runtime.reference.get(session)
    keys = {k for k in (state.survey, state.pending_survey, join.survey if join else None) if k}
    surveys = {}
    for key in keys:
        spec = reference.survey(session, int(key)) if key.isdigit() else None
        if spec is not None:
            surveys[key] = spec
    quartiers: tuple[QuartierOption, ...] = ()
    if any(q.kind == "quartier" for s in surveys.values() for q in s.questions):
        quartiers = reference.quartiers
    settings = runtime.settings
    privacy = Privacy(settings.organisation, settings.contact, settings.retention_days)
    return Context(runtime.catalog, surveys, reference.themes, quartiers, privacy=privacy)


# A one-time code for the full copy of one's data: letters and digits nobody misreads.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_DAYS = 7


def _wants_access(runtime: Runtime, state: State, text: str) -> bool:
    """MES DONNEES, or the answer to its question: only then are the counts read."""
    return state.asking == "access" or runtime.catalog.keywords.get(normalise(clean(text))) == (
        "access"
    )


def code_hash(code: str) -> str:
    """How a one-time code is kept (never in clear): case and spaces ignored."""
    return hashlib.sha256(code.replace(" ", "").replace("-", "").upper().encode()).hexdigest()


def access_summary(session: Session, participant: Person | Participant) -> Access:
    """What MES DONNEES tells: since when, how many messages, contributions, answers."""
    pid = participant.id
    messages = session.scalar(
        select(func.count()).where(Message.participant_id == pid, Message.direction == "in")
    )
    contributions = session.scalar(select(func.count()).where(Contribution.participant_id == pid))
    answers = session.scalar(
        select(func.count())
        .select_from(Answer)
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .where(Conversation.participant_id == pid, Answer.skipped.is_(False))
    )
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return Access(
        since=participant.first_seen_at,
        messages=int(messages or 0),
        contributions=int(contributions or 0),
        answers=int(answers or 0),
        consent_at=participant.consent_at,
        code=f"{code[:4]}-{code[4:]}",
        code_days=CODE_DAYS,
    )


def enqueue_reply(
    session: Session,
    participant: Person | Participant,
    reply: Reply,
    *,
    in_reply_to: int | None = None,
    now: datetime | None = None,
    kind: str = "reply",
    campaign_id: int | None = None,
) -> int:
    """Write one outgoing message to the outbox for this participant."""
    return _enqueue(
        session,
        participant.channel,
        participant.id,
        participant.address_enc,
        reply,
        in_reply_to,
        now or datetime.now(UTC),
        kind=kind,
        campaign_id=campaign_id,
    )


def _enqueue(
    session: Session,
    channel: str,
    participant_id: int | None,
    address_enc: str,
    reply: Reply,
    in_reply_to: int | None,
    now: datetime,
    *,
    kind: str = "reply",
    campaign_id: int | None = None,
) -> int:
    session.flush()  # the caller's ORM objects first (the participant it writes to...)
    row = outgoing_row(
        channel=channel,
        participant_id=participant_id,
        address_enc=address_enc,
        reply=reply,
        kind=kind,
        now=now,
        campaign_id=campaign_id,
        in_reply_to=in_reply_to,
    )
    message_id: int = _inserted(session.connection(), INSERT_MESSAGE, row)
    return message_id


# --- the rows one message reads and writes, without the ORM's unit of work -----------------------
#
# A message is a dozen statements on a handful of tables, every one of them known in advance:
# they are built once here (the compiled-statement cache then serves them without building a
# cache key again) and run on the session's connection, as plain Core, with the values as
# parameters. The ORM stays for what is rare (erasure, SUIVI, MES DONNEES) and for the callers
# that have ORM objects at hand (the field, the trial, the simulator).

PARTICIPANTS = cast(Table, Participant.__table__)
CHANNELS = cast(Table, ParticipantChannel.__table__)
MESSAGES = cast(Table, Message.__table__)
CONVERSATIONS = cast(Table, Conversation.__table__)
ANSWERS = cast(Table, Answer.__table__)
CONTRIBUTIONS = cast(Table, Contribution.__table__)
CAMPAIGNS = cast(Table, Campaign.__table__)
QUESTIONS = cast(Table, Question.__table__)
VERSIONS = cast(Table, ReferenceVersion.__table__)


def _inserted(conn: Connection, statement: Insert, row: Mapping[str, Any]) -> int:
    """Insert one row; its new id."""
    key = conn.execute(statement, row).inserted_primary_key
    assert key is not None
    return int(key[0])


@dataclass
class Person:
    """A participant's row as one message's write sees it: plain values, changed in place by
    the `Recorder` and written back in one UPDATE (`Participant` has the same attributes)."""

    id: int
    channel: str
    address_enc: str
    language: str
    quartier_id: int | None
    joined_via: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    consent_at: datetime | None
    opted_out_at: datetime | None
    unreachable_at: datetime | None
    state: dict[str, Any]
    is_test: bool


PERSON_FIELDS = tuple(f.name for f in fields(Person))
PERSON = tuple(PARTICIPANTS.c[name] for name in PERSON_FIELDS)


def _person(row: Sequence[Any]) -> Person:
    """The `Person` in the first columns of a row of `READ` or of `_locking`."""
    return Person(*row[: len(PERSON_FIELDS)])


@dataclass
class Received:
    """The inbound message's row as the `Recorder` needs it (`Message` has the same
    attributes): what erasure and a "non" blank is written by their own UPDATEs."""

    id: int
    body: str
    media: list[dict[str, Any]]
    participant_id: int | None


# The participant (if any) and the reference version, in one statement and one row: the read
# that comes before the step.
READ = select(
    *PERSON,
    select(VERSIONS.c.version).where(VERSIONS.c.id == 1).scalar_subquery().label("version"),
).select_from(
    select(literal_column("1").label("one"))
    .subquery("one")
    .outerjoin(PARTICIPANTS, PARTICIPANTS.c.pseudonym == bindparam("pseudonym"))
)

RECORDED = select(MESSAGES.c.id).where(
    MESSAGES.c.channel == bindparam("channel"),
    MESSAGES.c.direction == "in",
    MESSAGES.c.provider_id == bindparam("provider_id"),
)


# A conversation still going on (two comparisons rather than IN: no list to expand each time).
IS_OPEN = or_(CONVERSATIONS.c.status == "invited", CONVERSATIONS.c.status == "active")


def _locking(conversations: bool) -> Select[Any]:
    """The participant again, locked (PostgreSQL: the row; SQLite: the write lock is held), with
    their use of this channel and, when the step speaks of surveys, their open conversations
    of these surveys and the status of each one's campaign: one statement for all the write
    reads before it writes."""
    joined = PARTICIPANTS.outerjoin(
        CHANNELS,
        (CHANNELS.c.participant_id == PARTICIPANTS.c.id)
        & (CHANNELS.c.channel == bindparam("channel")),
    )
    columns: list[Any] = [
        *PERSON,
        CHANNELS.c.channel.label("pc_channel"),
        CHANNELS.c.last_seen_at.label("pc_seen"),
        CHANNELS.c.unreachable_at.label("pc_unreachable"),
    ]
    if conversations:
        joined = joined.outerjoin(
            CONVERSATIONS,
            (CONVERSATIONS.c.participant_id == PARTICIPANTS.c.id)
            & IS_OPEN
            & CONVERSATIONS.c.survey_id.in_(bindparam("surveys", expanding=True)),
        ).outerjoin(CAMPAIGNS, CAMPAIGNS.c.id == CONVERSATIONS.c.campaign_id)
        columns += [
            CONVERSATIONS.c.id.label("c_id"),
            CONVERSATIONS.c.survey_id.label("c_survey"),
            CONVERSATIONS.c.campaign_id.label("c_campaign"),
            CONVERSATIONS.c.status.label("c_status"),
            CAMPAIGNS.c.status.label("c_campaign_status"),
        ]
    return (
        select(*columns)
        .select_from(joined)
        .where(PARTICIPANTS.c.pseudonym == bindparam("pseudonym"))
        .with_for_update(of=PARTICIPANTS)
    )


LOCK = _locking(False)
LOCK_WITH_CONVERSATIONS = _locking(True)
INSERT_PARTICIPANT = PARTICIPANTS.insert()
INSERT_CHANNEL = CHANNELS.insert()
INSERT_MESSAGE = MESSAGES.insert()
MARK_PROCESSED = (
    MESSAGES.update()
    .where(MESSAGES.c.id == bindparam("b_id"), MESSAGES.c.status == "recorded")
    .values(sender=None, details=None, address_enc=None)
)
UPDATE_PARTICIPANT = PARTICIPANTS.update().where(PARTICIPANTS.c.id == bindparam("b_id"))
DELETE_PARTICIPANT = PARTICIPANTS.delete().where(PARTICIPANTS.c.id == bindparam("b_id"))
# This channel reaches them again, dated by this message unless a later one dated it already.
# A mark made after this message (one arriving late) stands: `unreachable_at` is cleared when
# its second is not after this message's (`cutoff` is the next whole second; Telegram dates a
# message to the second).
_NOW = bindparam("b_now", type_=UTCDateTime())
SEEN_AGAIN = (
    CHANNELS.update()
    .where(
        CHANNELS.c.participant_id == bindparam("b_participant"),
        CHANNELS.c.channel == bindparam("b_channel"),
    )
    .values(
        last_seen_at=case(
            (CHANNELS.c.last_seen_at < _NOW, _NOW),
            else_=CHANNELS.c.last_seen_at,
        ),
        unreachable_at=case(
            (CHANNELS.c.unreachable_at < bindparam("b_cutoff", type_=UTCDateTime()), None),
            else_=CHANNELS.c.unreachable_at,
        ),
    )
)


@dataclass
class Locked:
    """What the write read under the lock: the participant (None: a newcomer), the token of
    the step they allow, and whether this channel is theirs yet."""

    person: Person | None
    token: tuple[Any, ...] | None
    channel_seen: datetime | None = None
    channel_unreachable: datetime | None = None
    has_channel: bool = False
    conversations: dict[str, Opened | None] = field(default_factory=dict)


def _lock(conn: Connection, pseudonym: str, channel: str, surveys: set[int]) -> Locked:
    if surveys:
        params = {"pseudonym": pseudonym, "channel": channel, "surveys": sorted(surveys)}
        rows = conn.execute(LOCK_WITH_CONVERSATIONS, params).all()
    else:
        rows = conn.execute(LOCK, {"pseudonym": pseudonym, "channel": channel}).all()
    if not rows:
        return Locked(None, None)
    first = rows[0]
    person = _person(first)
    locked = Locked(
        person,
        _token(person),
        first.pc_seen,
        first.pc_unreachable,
        first.pc_channel is not None,
    )
    if surveys:
        # Not found: none is open. Several open for one survey: the latest is the one.
        locked.conversations = {str(s): None for s in surveys}
        for row in sorted(rows, key=lambda r: r.c_id or 0):
            if row.c_id is not None:
                locked.conversations[str(row.c_survey)] = Opened(
                    row.c_id, row.c_survey, row.c_campaign, row.c_status, row.c_campaign_status
                )
    return locked


@dataclass
class Opened:
    """A conversation the write found open (or opened): its changes are written once, when
    the step's facts are all recorded (`Recorder.finish`)."""

    id: int
    survey_id: int
    campaign_id: int | None
    status: str
    campaign_status: str | None = None  # as read with it (None: no campaign, or not read)
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answered:
    """An answer just written, as the contribution it may lead to needs it."""

    id: int
    conversation: Opened
    question_id: int
    language: str | None
    late: bool


OPEN_CONVERSATION = (
    select(
        CONVERSATIONS.c.id,
        CONVERSATIONS.c.survey_id,
        CONVERSATIONS.c.campaign_id,
        CONVERSATIONS.c.status,
        CAMPAIGNS.c.status,
    )
    .select_from(CONVERSATIONS.outerjoin(CAMPAIGNS, CAMPAIGNS.c.id == CONVERSATIONS.c.campaign_id))
    .where(
        CONVERSATIONS.c.participant_id == bindparam("participant_id"),
        CONVERSATIONS.c.survey_id == bindparam("survey_id"),
        IS_OPEN,
    )
    .order_by(CONVERSATIONS.c.id.desc())
    .limit(1)
)
RUNNING_CAMPAIGN = (
    select(CAMPAIGNS.c.id)
    .where(CAMPAIGNS.c.survey_id == bindparam("survey_id"), CAMPAIGNS.c.status == "running")
    .order_by(CAMPAIGNS.c.id.desc())
    .limit(1)
)
CAMPAIGN_STATUS = select(CAMPAIGNS.c.status).where(CAMPAIGNS.c.id == bindparam("campaign_id"))
QUESTION_ID = select(QUESTIONS.c.id).where(
    QUESTIONS.c.survey_id == bindparam("survey_id"), QUESTIONS.c.position == bindparam("position")
)
QUESTION_KIND = select(QUESTIONS.c.kind).where(QUESTIONS.c.id == bindparam("question_id"))
HELD_MESSAGE = select(MESSAGES.c.participant_id, MESSAGES.c.media).where(
    MESSAGES.c.id == bindparam("message_id")
)
OTHER_MEDIA = select(MESSAGES.c.media).where(
    MESSAGES.c.participant_id == bindparam("participant_id"),
    MESSAGES.c.direction == "in",
    MESSAGES.c.id != bindparam("message_id"),
)
LATEST_FREE = (
    select(CONTRIBUTIONS.c.id)
    .where(
        CONTRIBUTIONS.c.participant_id == bindparam("participant_id"),
        CONTRIBUTIONS.c.kind == "free",
    )
    .order_by(CONTRIBUTIONS.c.id.desc())
    .limit(1)
)
INSERT_CONVERSATION = CONVERSATIONS.insert()
UPDATE_CONVERSATION = CONVERSATIONS.update().where(CONVERSATIONS.c.id == bindparam("b_id"))
INSERT_ANSWER = ANSWERS.insert()
INSERT_CONTRIBUTION = CONTRIBUTIONS.insert()
INSERT_CATEGORISATION = cast(Table, Categorisation.__table__).insert()
INSERT_THREAD_MESSAGE = cast(Table, ThreadMessage.__table__).insert()
INSERT_ACCESS_CODE = cast(Table, AccessCode.__table__).insert()


class Recorder:
    """Writes the facts of one step; each method is named after the fact it records.

    `bots.field` uses it too: a survey run face to face records its facts exactly as a chat.
    The participant and the inbound message are changed in place (a `Person` and a `Received`
    here, ORM objects in the field: the caller writes them back); the rows of the facts are
    written at once, as plain statements, and the conversations' changes by `finish`.
    `conversations` are the open ones the caller read already (by survey key; None: none open).
    """

    def __init__(
        self,
        session: Session,
        runtime: Runtime,
        participant: Person | Participant,
        inbound: Inbound,
        message: Received | Message,
        now: datetime,
        conversations: Mapping[str, Opened | None] | None = None,
    ) -> None:
        session.flush()  # what the caller's ORM objects hold, before the statements below
        self.session = session
        self.conn = session.connection()
        self.runtime = runtime
        self.participant = participant
        self.inbound = inbound
        self.message = message
        self.now = now
        self.erased = False
        self.reference = runtime.reference.get(session)
        # Read once per message: a survey's open conversation, a campaign's status.
        self._conversations: dict[str, Opened | None] = dict(conversations or {})
        self._touched: dict[int, Opened] = {}
        self._campaign_status: dict[int, str | None] = {
            c.campaign_id: c.campaign_status
            for c in self._conversations.values()
            if c is not None and c.campaign_id is not None
        }

    def apply(self, fact: Fact) -> None:
        getattr(self, f"on_{fact.kind}")(fact)

    def finish(self) -> None:
        """Write what the facts changed in the conversations, one UPDATE each."""
        for conversation in self._touched.values():
            if conversation.changes:
                self.conn.execute(
                    UPDATE_CONVERSATION, {"b_id": conversation.id, **conversation.changes}
                )
                conversation.changes = {}
        self._touched.clear()

    # consent and reachability
    def on_consented(self, fact: Fact) -> None:
        self.participant.consent_at = self.now

    def on_consent_refused(self, fact: Fact) -> None:
        """Nothing is kept of someone who said no: their messages are blanked."""
        self.participant.consent_at = None
        self._blank_inbound()

    def on_held_dropped(self, fact: Fact) -> None:
        """STOP before consent: what was held for them is forgotten, as after a "non"."""
        if self.participant.consent_at is None:
            self._blank_inbound()

    def _blank_inbound(self) -> None:
        inbound = (Message.participant_id == self.participant.id) & (Message.direction == "in")
        # Photos held before consent are in earlier messages: their files go too.
        held = [m for ms in self.session.scalars(select(Message.media).where(inbound)) for m in ms]
        remove_media_files(self.runtime.settings.media_dir, [*held, *self.message.media])
        # This message too: it is written with this participant.
        self.session.execute(update(Message).where(inbound).values(body="", media=[]))
        self.message.body = ""
        self.message.media = []

    def on_opted_out(self, fact: Fact) -> None:
        self.participant.opted_out_at = self.now
        cancel_pending(self.session, self.participant.id)

    def on_opted_in(self, fact: Fact) -> None:
        self.participant.opted_out_at = None

    def on_joined(self, fact: Fact) -> None:
        if self.participant.joined_via is None:
            self.participant.joined_via = fact.raw
        if fact.value and self.participant.quartier_id is None:
            self._set_quartier(fact.value)

    def on_language(self, fact: Fact) -> None:
        self.participant.language = fact.value

    def on_quartier(self, fact: Fact) -> None:
        self._set_quartier(fact.value)

    def _set_quartier(self, code: str) -> None:
        quartier_id = self.reference.quartier_ids.get(code)
        if quartier_id is not None:
            self.participant.quartier_id = quartier_id

    # surveys
    def _conversation(self, survey_key: str | None) -> Opened | None:
        if not survey_key or not survey_key.isdigit():
            return None
        if survey_key not in self._conversations:
            self._conversations[survey_key] = self._open_conversation(int(survey_key))
        return self._conversations[survey_key]

    def _open_conversation(self, survey_id: int) -> Opened | None:
        params = {"participant_id": self.participant.id, "survey_id": survey_id}
        row = self.conn.execute(OPEN_CONVERSATION, params).first()
        if row is None:
            return None
        found = Opened(*row)
        if found.campaign_id is not None:
            self._campaign_status[found.campaign_id] = found.campaign_status
        return found

    def _change(self, conversation: Opened, **values: Any) -> None:
        conversation.changes.update(values)
        self._touched[conversation.id] = conversation

    def on_survey_started(self, fact: Fact) -> None:
        conversation = self._conversation(fact.survey)
        if conversation is None:
            assert fact.survey is not None
            source = self.inbound.source
            survey_id = int(fact.survey)
            campaign_id = source.campaign_id if source else None
            if campaign_id is None:
                campaign_id = self._running_campaign(survey_id)
                if campaign_id is not None:
                    self._campaign_status[campaign_id] = "running"  # as just read
            values = {
                "participant_id": self.participant.id,
                "survey_id": survey_id,
                "campaign_id": campaign_id,
                "status": "active",
                "started_at": self.now,
                "updated_at": self.now,
                "action_id": source.action_id if source else None,
                "intervenant_id": source.intervenant_id if source else None,
            }
            new_id = _inserted(self.conn, INSERT_CONVERSATION, values)
            self._conversations[fact.survey] = Opened(new_id, survey_id, campaign_id, "active")
            return
        self._change(conversation, status="active", updated_at=self.now)

    def _running_campaign(self, survey_id: int) -> int | None:
        found: int | None = self.conn.execute(RUNNING_CAMPAIGN, {"survey_id": survey_id}).scalar()
        return found

    def _question_id(self, conversation: Opened, position: int | None) -> int:
        spec = self.reference.survey(self.session, conversation.survey_id)
        found = [q.id for q in spec.questions if q.position == position] if spec else []
        if len(found) == 1 and found[0] is not None:
            return found[0]
        params = {"survey_id": conversation.survey_id, "position": position}
        question_id: int = self.conn.execute(QUESTION_ID, params).scalar_one()
        return question_id

    def _answer(self, fact: Fact, **values: Any) -> Answered | None:
        conversation = self._conversation(fact.survey)
        if conversation is None:
            log.warning("answer without a conversation for survey %s", fact.survey)
            return None
        # An invitation becomes a started conversation.
        self._change(conversation, status="active", updated_at=self.now)
        question_id = self._question_id(conversation, fact.position)
        late = self._is_late(conversation)
        language = self._written_in(fact.raw)
        row = {
            "conversation_id": conversation.id,
            "question_id": question_id,
            "raw_text": fact.raw,
            "created_at": self.now,
            "late": late,
            "language": language,
            **values,  # `value` only when there is one: SQL NULL otherwise, not JSON null
        }
        new_id = _inserted(self.conn, INSERT_ANSWER, row)
        return Answered(new_id, conversation, question_id, language, late)

    def _written_in(self, text: str) -> str:
        """The language of these words if they tell it, else the habitant's language."""
        return language_id.identify(text, self.runtime.catalog) or self.participant.language

    def _is_late(self, conversation: Opened) -> bool:
        campaign_id = conversation.campaign_id
        if campaign_id is None:
            return False
        if campaign_id not in self._campaign_status:
            self._campaign_status[campaign_id] = self.conn.execute(
                CAMPAIGN_STATUS, {"campaign_id": campaign_id}
            ).scalar()
        return self._campaign_status[campaign_id] == "closed"

    def on_answer(self, fact: Fact) -> None:
        answer = self._answer(fact, value=fact.value)
        if answer is not None and isinstance(fact.value, str) and self._is_text_question(answer):
            self._contribution(fact.raw, kind="answer", answer=answer)

    def _is_text_question(self, answer: Answered) -> bool:
        spec = self.reference.survey(self.session, answer.conversation.survey_id)
        kinds = [q.kind for q in spec.questions if q.id == answer.question_id] if spec else []
        if kinds:
            return kinds[0] == "text"
        kind = self.conn.execute(QUESTION_KIND, {"question_id": answer.question_id}).scalar()
        return kind == "text"

    def on_not_understood(self, fact: Fact) -> None:
        self._answer(fact, understood=False)
        if fact.media:
            self._contribution(fact.raw, kind="free")

    def on_skipped(self, fact: Fact) -> None:
        self._answer(fact, skipped=True)

    def on_survey_finished(self, fact: Fact) -> None:
        conversation = self._conversation(fact.survey)
        if conversation is not None:
            self._conversations[str(conversation.survey_id)] = None  # no longer open
            self._change(conversation, status="finished", finished_at=self.now, updated_at=self.now)

    def on_survey_left(self, fact: Fact) -> None:
        conversation = self._conversation(fact.survey)
        if conversation is not None:
            self._conversations[str(conversation.survey_id)] = None  # no longer open
            self._change(conversation, status="stopped", updated_at=self.now)

    # contributions
    def on_contribution(self, fact: Fact) -> None:
        """A free contribution: written now, or held before consent (`fact.ref` names that
        message, whose attachments are its own), or beside a survey question."""
        media: list[dict[str, Any]] | None = None
        if fact.ref and fact.ref != str(self.message.id):
            held = (
                self.conn.execute(HELD_MESSAGE, {"message_id": int(fact.ref)}).first()
                if fact.ref.isdigit()
                else None
            )
            mine = held is not None and held.participant_id == self.participant.id
            media = list(held.media) if held is not None and mine else []
        conversation = self._conversation(fact.survey) if fact.survey else None
        survey: dict[str, Any] = {}
        if conversation is not None:
            survey = {
                "survey_id": conversation.survey_id,
                "question_id": self._question_id(conversation, fact.position),
                "campaign_id": conversation.campaign_id,
                "late": self._is_late(conversation),
            }
        self._contribution(fact.raw, kind="free", media=media, **survey)

    def on_thread(self, fact: Fact) -> None:
        """An answer to the team's reply joins that contribution; never lost if it is gone."""
        contribution_id = followup.open_thread(self.session, self.participant.id, self.now)
        if contribution_id is None:
            self._contribution(fact.raw, kind="free")
            return
        row = {
            "contribution_id": contribution_id,
            "message_id": self.message.id,
            "text": fact.raw,
            "media": [m.to_json() for m in self.inbound.media],
            "created_at": self.now,
        }
        self.conn.execute(INSERT_THREAD_MESSAGE, row)

    def _contribution(
        self,
        text: str,
        *,
        kind: str,
        answer: Answered | None = None,
        media: list[dict[str, Any]] | None = None,
        **survey: Any,
    ) -> None:
        """A contribution for the inbox; `survey` the survey, question, campaign and lateness
        of the question it was written beside (an answer's are the answer's)."""
        if self.participant.is_test:
            return  # a staff member trying a survey: nothing for the inbox
        if media is None:
            media = [m.to_json() for m in self.inbound.media]
            if not media and kind == "free":
                media = self._held_media()
        source = self.inbound.source
        row = {
            "participant_id": self.participant.id,
            "quartier_id": self.participant.quartier_id,
            "channel": self.participant.channel,
            "language": answer.language if answer and answer.language else self._written_in(text),
            "kind": kind,
            "text": text,
            "media": media,
            "created_at": self.now,
            "answer_id": answer.id if answer else None,
            "action_id": source.action_id if source else None,
            "intervenant_id": source.intervenant_id if source else None,
            "survey_id": None,
            "question_id": None,
            "campaign_id": None,
            "late": False,
            **survey,
        }
        if answer is not None:
            row["survey_id"] = answer.conversation.survey_id
            row["question_id"] = answer.question_id
            row["campaign_id"] = answer.conversation.campaign_id
            row["late"] = answer.late
        self.conn.execute(INSERT_CONTRIBUTION, row)

    def _held_media(self) -> list[dict[str, Any]]:
        """Photos sent before consent were held in the messages table: attach them now."""
        if self.participant.consent_at is None or self.participant.consent_at != self.now:
            return []
        params = {"participant_id": self.participant.id, "message_id": self.message.id}
        rows = self.conn.execute(OTHER_MEDIA, params).scalars()
        return [m for media in rows for m in media]

    def on_theme(self, fact: Fact) -> None:
        theme_id = self.reference.theme_ids.get(str(fact.value))
        if theme_id is None:
            return
        latest = self.conn.execute(LATEST_FREE, {"participant_id": self.participant.id}).scalar()
        if latest is not None:
            row = {
                "contribution_id": latest,
                "theme_id": theme_id,
                "source": "habitant",
                "created_at": self.now,
            }
            self.conn.execute(INSERT_CATEGORISATION, row)

    # erasure
    def on_erase(self, fact: Fact) -> None:
        """OUBLIER: everything said is deleted; aggregates of other people are untouched."""
        erase_participant(self.session, self.runtime.settings.media_dir, self.participant.id)
        # This message is emptied and unlinked with the others (it is written already).
        self.message.body = ""
        self.message.media = []
        self.message.participant_id = None
        self.erased = True

    # right of access
    def on_access_code(self, fact: Fact) -> None:
        """MES DONNEES, then yes: the code is kept hashed, for a week, for one use."""
        row = {
            "participant_id": self.participant.id,
            "code_hash": code_hash(str(fact.value)),
            "created_at": self.now,
            "expires_at": self.now + timedelta(days=CODE_DAYS),
        }
        self.conn.execute(INSERT_ACCESS_CODE, row)


def given_up(pseudonym: str) -> ColumnElement[bool]:
    """The inbound messages of this sender that processing gave up on (`bots.inbound`): never
    linked to a participant, found by the pseudonym the `failed` row keeps."""
    return and_(Message.status == "failed", Message.direction == "in", Message.sender == pseudonym)


def erase_participant(session: Session, media_dir: Path, pid: int) -> None:
    """What OUBLIER does, in the caller's transaction: the participant's contributions,
    answers, conversations and attachments are deleted, their messages emptied and unlinked,
    nothing queued for them is sent. Their inbound messages given up on (`failed`, never linked
    to them) are found by their pseudonym and emptied too. The caller deletes the participant
    row afterwards (the handler still needs its address to say goodbye); the back-office's
    erasure (RGPD art. 17) calls this too."""
    pseudonym = session.scalar(select(Participant.pseudonym).where(Participant.id == pid))
    failed = given_up(pseudonym or "")
    media = [
        m
        for rows in session.scalars(
            select(Message.media).where(or_(Message.participant_id == pid, failed))
        )
        for m in rows
    ]
    remove_media_files(media_dir, media)
    session.execute(delete(Contribution).where(Contribution.participant_id == pid))
    conversations = select(Conversation.id).where(Conversation.participant_id == pid)
    session.execute(delete(Answer).where(Answer.conversation_id.in_(conversations)))
    session.execute(delete(Conversation).where(Conversation.participant_id == pid))
    session.execute(
        update(Message)
        .where(Message.participant_id == pid, Message.direction == "in")
        .values(body="", media=[], participant_id=None)
    )
    session.execute(
        update(Message)
        .where(failed)
        .values(body="", media=[], address_enc=None, details=None, sender=None)
    )
    cancel_pending(session, pid)
    session.execute(
        update(Message)
        .where(Message.participant_id == pid)
        .values(participant_id=None, address_enc=None)
    )
    session.execute(delete(AccessCode).where(AccessCode.participant_id == pid))


def remove_media_files(root: Path, media: Iterable[Mapping[str, Any]]) -> int:
    """Delete the files of these attachments (as stored: dicts with a `path` relative to the
    media folder); paths outside that folder are never touched. Returns how many were deleted.

    Erasure and retention call it inside the transaction that forgets the attachments, before it
    commits: a crash in between leaves rows pointing at a missing file (shown as "not
    retrieved"), never a file nobody points at any more.
    """
    resolved = root.resolve()
    deleted = 0
    for item in media:
        relative = str(item.get("path") or "")
        if not relative:
            continue
        path = (resolved / relative).resolve()
        if path.is_relative_to(resolved) and path.is_file():
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


CANCEL_PENDING = (
    MESSAGES.update()
    .where(
        MESSAGES.c.participant_id == bindparam("b_participant"),
        MESSAGES.c.direction == "out",
        MESSAGES.c.status == "pending",
    )
    .values(status="cancelled", last_error=bindparam("b_reason"))
)
CANCEL_PENDING_ON = CANCEL_PENDING.where(MESSAGES.c.channel == bindparam("b_channel"))


def cancel_pending(
    session: Session, participant_id: int, reason: str = "opted out", channel: str | None = None
) -> None:
    """STOP, OUBLIER, unreachable: nothing queued for this participant (on `channel`, when
    only that address is refused) goes out any more. (A plain UPDATE, as the ORM's bulk one
    was: objects the session holds are not refreshed.)"""
    session.flush()
    params = {"b_participant": participant_id, "b_reason": reason}
    if channel is None:
        session.connection().execute(CANCEL_PENDING, params)
    else:
        session.connection().execute(CANCEL_PENDING_ON, {**params, "b_channel": channel})
