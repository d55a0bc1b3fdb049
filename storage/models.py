"""The data of Paroles, in the product's own words.

Typed SQLAlchemy 2 models. One code path for SQLite (default) and PostgreSQL (production):
JSON columns become JSONB on PostgreSQL, timestamps are stored in UTC and always come back
timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}


class Quartier(Base):
    """A quartier prioritaire (QPV) of the territory."""

    __tablename__ = "quartiers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Participant(Base):
    """A habitant on one channel, known by a pseudonym; the address is only kept encrypted."""

    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    address_enc: Mapped[str] = mapped_column(Text)
    address_mask: Mapped[str] = mapped_column(String(40), default="")
    language: Mapped[str] = mapped_column(String(10), default="fr")
    quartier_id: Mapped[int | None] = mapped_column(
        ForeignKey("quartiers.id", ondelete="SET NULL"), index=True
    )
    joined_via: Mapped[str | None] = mapped_column(String(64), index=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    consent_at: Mapped[datetime | None]
    opted_out_at: Mapped[datetime | None]
    unreachable_at: Mapped[datetime | None]
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A staff member's phone in the survey editor's trial: never invited, never in results.
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    # Self-declared in the field for the diversity indicators; None when not asked or declined.
    age_range: Mapped[str | None] = mapped_column(String(20))
    gender: Mapped[str | None] = mapped_column(String(20))

    quartier: Mapped[Quartier | None] = relationship()
    channels: Mapped[list[ParticipantChannel]] = relationship(
        back_populates="participant", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def reachable(self) -> bool:
        return self.opted_out_at is None and self.unreachable_at is None


class ParticipantChannel(Base):
    """A channel a participant wrote from, and when last: one person, several channels.

    A phone number writing by SMS and by WhatsApp is one participant (one pseudonym, the number
    kept once, encrypted on the participant); this says which of its two addresses
    (`+33...`, `whatsapp:+33...`) they used, so that campaigns pick one and counts see one person.
    `Participant.channel` is the one they used last.
    """

    __tablename__ = "participant_channels"
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The provider refused this address for good (a dead SMS number, not on WhatsApp): routing
    # takes the other channel. `Participant.unreachable_at` is set once no channel is left.
    unreachable_at: Mapped[datetime | None]

    participant: Mapped[Participant] = relationship(back_populates="channels")


class JoinCode(Base):
    """What a poster or a field worker hands out: a deep-link code or an SMS keyword.

    It tells which quartier and which action (immersion, temps fort...) brought a habitant,
    and optionally which campaign's survey to start.
    """

    __tablename__ = "join_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    quartier_id: Mapped[int | None] = mapped_column(ForeignKey("quartiers.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    quartier: Mapped[Quartier | None] = relationship()


class Survey(Base):
    """A micro-survey: 3 to 8 short questions. Texts are `{language: text}` dicts."""

    __tablename__ = "surveys"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[dict[str, Any]] = mapped_column(default=dict)
    intro: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outro: Mapped[dict[str, Any]] = mapped_column(default=dict)
    theme_code: Mapped[str | None] = mapped_column(String(60))
    # A misunderstood answer is asked again at most this many times (each time a paid SMS),
    # then the bot moves on and the question stays unanswered.
    max_reasks: Mapped[int] = mapped_column(Integer, default=2)
    status: Mapped[str] = mapped_column(String(20), default="ready")
    quartier_id: Mapped[int | None] = mapped_column(ForeignKey("quartiers.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    questions: Mapped[list[Question]] = relationship(
        back_populates="survey",
        order_by="Question.position",
        cascade="all, delete-orphan",
    )


class Question(Base):
    """One question; `choices` is a list of `{"value": ..., "labels": {language: label}}`."""

    __tablename__ = "questions"
    __table_args__ = (UniqueConstraint("survey_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[dict[str, Any]] = mapped_column(default=dict)
    choices: Mapped[list[Any]] = mapped_column(default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    goto: Mapped[dict[str, Any]] = mapped_column(default=dict)

    survey: Mapped[Survey] = relationship(back_populates="questions")


class Campaign(Base):
    """A launch of a survey to a target (quartiers, channels, languages, join code)."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    target: Mapped[dict[str, Any]] = mapped_column(default=dict)
    starts_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    remind_after_hours: Mapped[int | None]
    allow_quiet_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Why it awaits approval: "conseil" (a conseil citoyen's campaign), "budget" (its estimate
    # exceeds what is left of the month's budget), or both ("conseil,budget").
    hold_reason: Mapped[str | None] = mapped_column(String(40))
    # A chef de projet let it go although it exceeds the month's budget: the launch does not
    # check the budget again (approve -> launch must not loop back to held).
    budget_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    launched_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    retour_text: Mapped[str | None] = mapped_column(Text)
    retour_sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    survey: Mapped[Survey] = relationship()


class Conversation(Base):
    """One participant's run through one survey: invited, active, finished or stopped."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_campaign_status", "campaign_id", "status"),
        # A campaign's recipients: launching resumes after the highest participant id.
        Index("ix_conversations_campaign_participant", "campaign_id", "participant_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), index=True
    )
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="active")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    # A survey run face to face: the action (join code) and the intervenant who held it.
    action_id: Mapped[int | None] = mapped_column(ForeignKey("join_codes.id", ondelete="SET NULL"))
    intervenant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Answer(Base):
    """What a habitant answered: the raw text always, the normalised value when understood."""

    __tablename__ = "answers"
    __table_args__ = (
        # A conversation's answers; whether it started (an understood answer), from the index.
        Index("ix_answers_conversation_understood", "conversation_id", "understood"),
        # Who answered in a period (the tableau de bord), from the index alone.
        Index("ix_answers_created_understood", "created_at", "understood", "conversation_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    raw_text: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    understood: Mapped[bool] = mapped_column(Boolean, default=True)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The language the answer is written in (ISO 639-1), identified from its words
    # (`bots.language_id`), else the language the habitant talks to the bot in.
    language: Mapped[str | None] = mapped_column(String(10))


class Contribution(Base):
    """A free text (or photo, voice note) from a habitant, or a free-text answer to a survey."""

    __tablename__ = "contributions"
    __table_args__ = (
        Index("ix_contributions_status_created", "status", "created_at"),
        # Keyset paging of the inbox, newest first, overall and per quartier.
        Index("ix_contributions_created_id", "created_at", "id"),
        Index("ix_contributions_quartier_created", "quartier_id", "created_at", "id"),
        # The tableau de bord's counts over a period, read from the index alone: who wrote
        # where, in which language, during which action (`web.evaluation.activity`).
        Index(
            "ix_contributions_created_people",
            "created_at",
            "quartier_id",
            "participant_id",
            "language",
            "action_id",
        ),
        # The inbox's language filter, newest first.
        Index("ix_contributions_language_created", "language", "created_at", "id"),
        # The inbox's counts per thème state, read from an index alone, overall and per
        # quartier, and a thème state's pages newest first (`storage.theme_state`).
        Index("ix_contributions_state_status", "theme_state", "status"),
        Index("ix_contributions_quartier_state", "quartier_id", "theme_state", "status"),
        Index("ix_contributions_state_created", "theme_state", "created_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), index=True
    )
    quartier_id: Mapped[int | None] = mapped_column(
        ForeignKey("quartiers.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    # The language the text is written in (ISO 639-1), identified from its words when it has
    # three or more (`bots.language_id`), else the language the habitant talks to the bot in.
    language: Mapped[str] = mapped_column(String(10), default="fr")
    kind: Mapped[str] = mapped_column(String(20), default="free")
    text: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[list[Any]] = mapped_column(default=list)
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="nouveau")
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The suggestion model version that last looked at this text (it may have abstained).
    suggested_version: Mapped[str | None] = mapped_column(String(40))
    # The personal-data detector's version (with the team's marks) that last read this text.
    personal_data_version: Mapped[str | None] = mapped_column(String(40))
    # What was heard in the field: the action (join code) and the intervenant who wrote it down.
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("join_codes.id", ondelete="SET NULL"), index=True
    )
    intervenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # The multilingual sentence embedding of the text (float16), computed once by the
    # suggestion job so that retraining does not embed every label again; and by which model.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    embedding_model: Mapped[str | None] = mapped_column(String(40))
    # Ticked "à citer" by a staff member (journaled): a parole d'habitant for the report,
    # shown there masked, with its quartier and month only.
    to_quote: Mapped[bool] = mapped_column(Boolean, default=False)
    # "confirme", "suggere" or "a_trier": what its categorisations say, kept current by
    # triggers on `categorisations` (`storage.theme_state`); never written by the code.
    theme_state: Mapped[str] = mapped_column(
        String(10), default="a_trier", server_default="a_trier"
    )

    participant: Mapped[Participant | None] = relationship()
    quartier: Mapped[Quartier | None] = relationship()
    categorisations: Mapped[list[Categorisation]] = relationship(
        back_populates="contribution", cascade="all, delete-orphan"
    )
    translations: Mapped[list[ContributionTranslation]] = relationship(
        back_populates="contribution", cascade="all, delete-orphan", passive_deletes=True
    )


class ContributionMonth(Base):
    """How many contributions one UTC day has in one quartier (0: not known), per thème state
    (`theme_id` 0) or confirmed thème (`theme_state` ""): what the tableau de bord's thème table
    sums. Kept current by triggers on `contributions` and `categorisations`
    (`storage.contribution_months`); never written by the code."""

    __tablename__ = "contribution_months"
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    quartier_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    theme_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    theme_state: Mapped[str] = mapped_column(String(10), primary_key=True)
    contributions: Mapped[int] = mapped_column(Integer, default=0)


class ParticipantActivity(Base):
    """What one habitant did in each UTC month of one year: contributions (`kind` "c") per
    quartier (0: not known), written language and action (0: none), or understood answers
    (`kind` "a") per action. What the tableau de bord counts distinct habitants from. Kept
    current by triggers on `contributions`, `answers` and `conversations`
    (`storage.participant_activity`); never written by the code."""

    __tablename__ = "participant_activity"
    # Stored in its key's order on SQLite: read whole, and each habitant's rows side by side.
    __table_args__ = {"sqlite_with_rowid": False}
    participant_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    quartier_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(10), primary_key=True)
    action_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    m01: Mapped[int] = mapped_column(Integer, default=0)
    m02: Mapped[int] = mapped_column(Integer, default=0)
    m03: Mapped[int] = mapped_column(Integer, default=0)
    m04: Mapped[int] = mapped_column(Integer, default=0)
    m05: Mapped[int] = mapped_column(Integer, default=0)
    m06: Mapped[int] = mapped_column(Integer, default=0)
    m07: Mapped[int] = mapped_column(Integer, default=0)
    m08: Mapped[int] = mapped_column(Integer, default=0)
    m09: Mapped[int] = mapped_column(Integer, default=0)
    m10: Mapped[int] = mapped_column(Integer, default=0)
    m11: Mapped[int] = mapped_column(Integer, default=0)
    m12: Mapped[int] = mapped_column(Integer, default=0)


class Theme(Base):
    """A thème of the contrat de ville, managed in the back-office, seeded from `prompts/`."""

    __tablename__ = "themes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    colour: Mapped[str] = mapped_column(String(7), default="#5a6b7b")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    offered_to_habitants: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Categorisation(Base):
    """A thème given to a contribution, by whom (`habitant`, `suggestion`, `staff`)."""

    __tablename__ = "categorisations"
    __table_args__ = (
        UniqueConstraint("contribution_id", "theme_id", "source"),
        # The inbox's thème filter: contributions having a given thème.
        Index("ix_categorisations_theme_contribution", "theme_id", "contribution_id"),
        # The tableau de bord's thème states and confirmed thèmes, and the inbox's counts per
        # thème state: the categorisations of a source, read from the index alone.
        Index("ix_categorisations_source_contribution", "source", "contribution_id", "theme_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(
        ForeignKey("contributions.id", ondelete="CASCADE"), index=True
    )
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[float | None] = mapped_column(Float)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    model_version: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # For a suggestion: {"rank": 1 or 2, "words": the few words that weighed most}.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    contribution: Mapped[Contribution] = relationship(back_populates="categorisations")
    theme: Mapped[Theme] = relationship()


class SuggestionModel(Base):
    """A trained thème suggestion model; the one with ``active`` (highest id) is used.

    ``themes_key``, ``labels_max_id`` and ``labels_count`` say what it was trained on, so the
    retraining job can tell cheaply whether the thèmes or the labels changed since.
    """

    __tablename__ = "suggestion_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    n_examples: Mapped[int] = mapped_column(Integer, default=0)
    themes_key: Mapped[str] = mapped_column(String(64), default="")
    labels_max_id: Mapped[int] = mapped_column(Integer, default=0)
    labels_count: Mapped[int] = mapped_column(Integer, default=0)
    train_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class Message(Base):
    """Every message in or out. Outbound rows are the outbox: written before they are sent.

    Inbound rows are unique per channel and provider id (Telegram update id, Twilio
    MessageSid), which is what makes a provider's retry harmless. A webhook only records them
    (`recorded`, with the sender's pseudonym and encrypted address); `bots.inbound` then steps
    each one and marks it `processed` with its effects, or `failed` after its last attempt.
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "direction", "provider_id", name="uq_messages_provider"),
        # The outbox's queue: on PostgreSQL only the rows still to send (a sent row leaves it,
        # instead of adding an entry at every send); SQLite would not use a partial index for
        # `status = 'pending'` (its predicate must appear as such in the query).
        Index(
            "ix_messages_outbox",
            "status",
            "channel",
            "priority",
            "next_attempt_at",
            "id",
            postgresql_where=text("status IN ('pending', 'claimed', 'sending')"),
        ),
        # The inbound queue (`bots.inbound`): only the rows still to process, by sender.
        Index(
            "ix_messages_recorded",
            "sender",
            "id",
            sqlite_where=text("status = 'recorded'"),
            postgresql_where=text("status = 'recorded'"),
        ),
        # Inbound rows given up on (`failed`), by sender: what an erasure empties.
        Index(
            "ix_messages_failed",
            "sender",
            sqlite_where=text("status = 'failed'"),
            postgresql_where=text("status = 'failed'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str | None] = mapped_column(String(100))
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), index=True
    )
    address_enc: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    choices: Mapped[list[Any]] = mapped_column(default=list)
    expects: Mapped[str] = mapped_column(String(20), default="text")
    media: Mapped[list[Any]] = mapped_column(default=list)
    kind: Mapped[str] = mapped_column(String(20), default="reply")
    status: Mapped[str] = mapped_column(String(20))
    # Outbox: replies (0) go before campaign messages (1); campaign messages may have to wait
    # for the end of quiet hours; `claimed_by` names the worker sending the row.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    wait_quiet_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(40))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    in_reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Indexed: the last send tells whether the outbox is moving (`bots.health`).
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None]
    # What a paid message cost (`bots.budget`): SMS segments, or WhatsApp conversations it
    # opened; Twilio's price (positive, in `price_unit`) when its status callback reports one.
    units: Mapped[int | None] = mapped_column(Integer)
    price: Mapped[float | None] = mapped_column(Float)
    price_unit: Mapped[str | None] = mapped_column(String(3))
    # Inbound, while `recorded`: the sender's pseudonym (one habitant's messages are processed
    # one at a time, in order), and what the channel said beside the text (a Telegram /start
    # code, the app's language, a field action); both cleared once processed (a `failed` row keeps
    # its sender: an erasure finds it by it).
    sender: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any] | None]
    processed_at: Mapped[datetime | None]


user_quartiers = Table(
    "user_quartiers",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("quartier_id", ForeignKey("quartiers.id", ondelete="CASCADE"), primary_key=True),
)

ROLES = ("administrateur", "chef_de_projet", "conseil_citoyen", "lecteur", "intervenant")


class User(Base):
    """A staff account: administrateur, chef de projet, conseil citoyen, lecteur or intervenant
    (a médiateur or adulte relais in the field, who sees only the field pages)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(10), default="fr")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Stamped into each session at login; adding one ends every session of the account at its
    # next request (logout, password change, an administrateur's "end sessions").
    session_generation: Mapped[int] = mapped_column(default=0)

    quartiers: Mapped[list[Quartier]] = relationship(secondary=user_quartiers)


class AuditEntry(Base):
    """Who did what: every export, every change of thème, every account change."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LoginAttempt(Base):
    """One try at the login form, kept a day: rate limits per account and per IP address.

    In the database rather than in memory so that the limit holds across gunicorn workers.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(45))
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)


class ReplyTemplate(Base):
    """A saved answer the team can send to a habitant from a contribution's page."""

    __tablename__ = "reply_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(10), default="fr")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class StaffReply(Base):
    """A reply written by the team about one contribution; its outbox row says if it went out."""

    __tablename__ = "staff_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(
        ForeignKey("contributions.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    personal_data_version: Mapped[str | None] = mapped_column(String(40))
    # A reply written in French and sent translated: the French as written, and the language it
    # was sent in (the outbox message holds what left, as the team last edited it).
    original_text: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(10), default="fr")

    message: Mapped[Message | None] = relationship()


class ContributionTranslation(Base):
    """A machine translation of a contribution, stored beside it (the original is never touched).

    One row per contribution and target language. ``status`` is ``pending`` (asked for, or
    failed and waiting for ``next_attempt_at``), ``done`` (``text`` holds the translation) or
    ``failed`` (given up after too many tries; the team can ask again). ``error`` says why the
    last try failed, never with the text.
    """

    __tablename__ = "contribution_translations"
    __table_args__ = (
        UniqueConstraint("contribution_id", "target"),
        # The background job's queue: what waits, oldest due first.
        Index("ix_contribution_translations_status_next", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contributions.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(10), default="fr")
    source: Mapped[str] = mapped_column(String(10), default="auto")
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    provider: Mapped[str] = mapped_column(String(40), default="libretranslate")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(300), default="")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None]
    translated_at: Mapped[datetime | None]
    # Personal data in ``text`` (bots.personal_data_job): [start, end, kind] offsets, never a
    # copy; None until the job has read the text with ``personal_data_version``.
    personal_data_version: Mapped[str | None] = mapped_column(String(40))
    personal_data_spans: Mapped[list[Any] | None] = mapped_column(JSONType)

    contribution: Mapped[Contribution] = relationship(back_populates="translations")


class SchedulerLease(Base):
    """Who runs the scheduler: one row per lease name, held until `expires_at` unless renewed.

    Only one process may run the periodic jobs on a database; a second one reads this row and
    refuses to start.
    """

    __tablename__ = "scheduler_leases"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(80))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class ReferenceVersion(Base):
    """One row whose `version` goes up in the same transaction as any change to what the bots
    keep in memory per process (thèmes, quartiers, surveys, join codes, a campaign's status):
    each process compares it, one cheap read per message, and reloads when it moved
    (`storage/changes.py`, `bots/reference.py`)."""

    __tablename__ = "reference_versions"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(default=0)


class SiteSetting(Base):
    """A setting the team changes in the back-office (e.g. campaigns of conseils need approval)."""

    __tablename__ = "site_settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


# --- donner suite: public results, engagements, threads (issue 18) ------------------------------

ENGAGEMENT_STATUSES = ("etude", "decide", "en_cours", "realise", "non_retenu")


class Publication(Base):
    """A campaign whose results a chef de projet published at `/resultats/<slug>`."""

    __tablename__ = "publications"
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    campaign: Mapped[Campaign] = relationship()


class PublicQuote(Base):
    """A free-text answer a staff member chose to publish, after the check for names and
    numbers; erasing the habitant's data deletes it with the contribution."""

    __tablename__ = "public_quotes"
    contribution_id: Mapped[int] = mapped_column(
        ForeignKey("contributions.id", ondelete="CASCADE"), primary_key=True
    )
    selected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    selected_at: Mapped[datetime] = mapped_column(default=utcnow)


engagement_contributions = Table(
    "engagement_contributions",
    Base.metadata,
    Column("engagement_id", ForeignKey("engagements.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "contribution_id",
        ForeignKey("contributions.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

engagement_campaigns = Table(
    "engagement_campaigns",
    Base.metadata,
    Column("engagement_id", ForeignKey("engagements.id", ondelete="CASCADE"), primary_key=True),
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
)


class Engagement(Base):
    """What the team or a partner will do about what habitants said, and where it stands."""

    __tablename__ = "engagements"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    quartier_id: Mapped[int | None] = mapped_column(
        ForeignKey("quartiers.id", ondelete="SET NULL"), index=True
    )
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id", ondelete="SET NULL"))
    partner: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="etude")
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was not retained
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    quartier: Mapped[Quartier | None] = relationship()
    theme: Mapped[Theme | None] = relationship()
    updates: Mapped[list[EngagementUpdate]] = relationship(
        back_populates="engagement",
        order_by="EngagementUpdate.id",
        cascade="all, delete-orphan",
    )
    contributions: Mapped[list[Contribution]] = relationship(secondary=engagement_contributions)
    campaigns: Mapped[list[Campaign]] = relationship(secondary=engagement_campaigns)


class EngagementUpdate(Base):
    """A dated step of an engagement: a note, a change of status (with the habitants told)."""

    __tablename__ = "engagement_updates"
    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str | None] = mapped_column(String(20))  # the new status, if it changed
    text: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    notified: Mapped[int] = mapped_column(Integer, default=0)  # habitants written to

    engagement: Mapped[Engagement] = relationship(back_populates="updates")


class ThreadMessage(Base):
    """A habitant's answer to a staff reply, joined to the contribution it answers.

    `seen_at` stays empty until a staff member opens the contribution: the inbox marks it new.
    """

    __tablename__ = "thread_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(
        ForeignKey("contributions.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime | None]
    # Personal data in ``text`` (bots.personal_data_job): [start, end, kind] offsets, never a
    # copy; None until the job has read the text with ``personal_data_version``.
    personal_data_version: Mapped[str | None] = mapped_column(String(40))
    personal_data_spans: Mapped[list[Any] | None] = mapped_column(JSONType)


class PersonalDataSpan(Base):
    """Where a text holds personal data: offsets into the stored text, never a copy of it.

    Found by `bots.personal_data` in the background (`bots.personal_data_job`), in a
    contribution's text or in a staff reply's message; a ``health`` span is a flag for review.
    """

    __tablename__ = "personal_data_spans"
    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int | None] = mapped_column(
        ForeignKey("contributions.id", ondelete="CASCADE"), index=True
    )
    staff_reply_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_replies.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20), default="detector")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PersonalDataMark(Base):
    """A team member's correction: mask this phrase everywhere, or never mask it (``keep``).

    The detector applies them as a deny and an allow list; each mark changes the detector's
    version, so every text is read again with it.
    """

    __tablename__ = "personal_data_marks"
    id: Mapped[int] = mapped_column(primary_key=True)
    phrase: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    verdict: Mapped[str] = mapped_column(String(10))  # "mask" or "keep"
    contribution_id: Mapped[int | None] = mapped_column(
        ForeignKey("contributions.id", ondelete="SET NULL")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessCode(Base):
    """A one-time code a habitant asked for with MES DONNEES: staff use it to hand over the
    full copy of their data (RGPD articles 15 and 20). Only its hash is kept."""

    __tablename__ = "access_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ReportModel(Base):
    """A report's choices saved under a name (period, quartiers, thèmes), regenerated at will.

    `choices` holds `{"months": n or null, "du": "2026-01", "au": "2026-03", "quartiers":
    [codes], "themes": [codes]}`: with `months` set, the period is the last `n` whole months
    at the time of regeneration (a quarterly model stays quarterly).
    """

    __tablename__ = "report_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    choices: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
