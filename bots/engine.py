"""The dialogue engine: one pure function from (state, incoming message, context) to a step.

`step()` does no I/O, reads no clock and touches no database, so every path of a conversation
can be tested exhaustively. Channels turn provider payloads into `Incoming` values and render
`Reply` values their own way; `bots.handler` records the `facts` a step returns.

Every incoming message gets exactly one reply, except while the habitant has opted out (STOP):
then nothing is sent until START (or a new /start code), as SMS rules require — but OUBLIER still
works and is answered, because erasing one's data is a right, not a message.

The language: until the habitant has consented, the language the caller identified in what they
wrote (`Incoming.language`, see `bots.language_id`), else the channel's hint (a Telegram app's
language), picks the language of the welcome and the consent question. LANGUE, or a language's
own name (`Türkçe`, `العربية`), changes it at any moment; after that choice nothing overrides it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from bots import answers
from bots.prompts import Catalog
from bots.sms_text import within_budget
from bots.surveys import NO, YES, QuestionSpec, SurveySpec
from bots.text import clean, normalise

# --- values in -------------------------------------------------------------------------------

CONTRIBUTION_MEDIA = frozenset({"photo", "voice", "audio", "video", "document"})


@dataclass(frozen=True)
class Join:
    """A deep-link code or SMS keyword, already resolved by the caller against the database."""

    code: str
    survey: str | None = None  # key of the survey to start, if the code's campaign runs one
    quartier: str | None = None  # quartier code


@dataclass(frozen=True)
class Incoming:
    text: str = ""
    media: tuple[str, ...] = ()  # kinds: photo, voice, audio, video, document, sticker, location
    at: datetime | None = None
    join: Join | None = None
    ref: str = ""  # the caller's id for this message, given back in the facts about it
    language: str | None = None  # the language identified in `text` by the caller, if any
    language_hint: str | None = None  # the channel's guess (a Telegram app's language)


@dataclass(frozen=True)
class ThemeOption:
    code: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class QuartierOption:
    code: str
    name: str


@dataclass(frozen=True)
class Privacy:
    """What INFO tells a habitant about their data (RGPD, article 13), from the settings."""

    organisation: str = ""  # who keeps the data, e.g. "La Ville de Montreuil"
    contact: str = ""  # where to ask, e.g. "dpo@montreuil.fr"
    retention_days: int = 365


@dataclass(frozen=True)
class Followup:
    """What SUIVI tells a habitant of their last contributions, read by the caller."""

    total: int = 0
    linked: tuple[tuple[str, str, int], ...] = ()  # (engagement title, status, contributions)
    read: int = 0  # read by the team, not (yet) linked to an engagement
    unread: int = 0


@dataclass(frozen=True)
class Access:
    """What MES DONNEES tells a habitant about what is kept (RGPD, article 15), read by the
    caller; ``code`` is the one-time code given if they ask for the full copy (article 20)."""

    since: datetime
    messages: int = 0
    contributions: int = 0
    answers: int = 0
    consent_at: datetime | None = None
    code: str = ""
    code_days: int = 7


@dataclass(frozen=True)
class Context:
    catalog: Catalog
    surveys: Mapping[str, SurveySpec] = field(default_factory=dict)
    themes: tuple[ThemeOption, ...] = ()
    quartiers: tuple[QuartierOption, ...] = ()
    pause: timedelta = timedelta(hours=3)
    privacy: Privacy = Privacy()
    followup: Followup | None = None  # given when the message is the SUIVI keyword
    thread_open: bool = False  # the team replied to this habitant lately: a message answers it
    access: Access | None = None  # only when the habitant wrote MES DONNEES or answers it


# --- values out ------------------------------------------------------------------------------

Expects = Literal["text", "choice", "choices", "scale", "none"]


@dataclass(frozen=True)
class Reply:
    """One message to the habitant. `choices` are offered as buttons or as `1 Oui 2 Non`."""

    text: str
    choices: tuple[str, ...] = ()
    expects: Expects = "none"
    key: str = ""

    @property
    def numbered(self) -> bool:
        """Scale buttons are numbers already; other choices are shown with their number."""
        return self.expects != "scale"


@dataclass(frozen=True)
class Fact:
    """Something to record. `kind` names it; the fields carry what the handler needs."""

    kind: str
    survey: str | None = None
    position: int | None = None
    raw: str = ""
    value: Any = None
    media: tuple[str, ...] = ()
    ref: str = ""  # `Incoming.ref` of the message this fact is about, when not the current one


@dataclass(frozen=True)
class Held:
    """A message written before consent: kept aside, recorded on "oui", forgotten on "non" or
    STOP. Each becomes its own contribution, never glued to the next one."""

    text: str = ""
    media: tuple[str, ...] = ()
    ref: str = ""


@dataclass(frozen=True)
class State:
    """Where a habitant is in the dialogue; stored as JSON between two messages."""

    language: str = "fr"
    consent: bool = False
    opted_out: bool = False
    asking: str = ""  # "", "consent", "theme", "language", "forget", "access"
    survey: str | None = None
    question: int = 0  # index into the survey's questions
    misses: int = 0
    pending_survey: str | None = None
    held: tuple[Held, ...] = ()  # messages written before consent
    last_at: str | None = None
    language_chosen: bool = False  # picked by the habitant (LANGUE): never guessed over

    def to_json(self) -> dict[str, Any]:
        # Every field but `held` is a plain value: no need for `dataclasses.asdict`'s deep copy
        # (a campaign launch writes 100,000 states).
        data = {name: getattr(self, name) for name in _STATE_FIELDS}
        data["held"] = [{"text": h.text, "media": list(h.media), "ref": h.ref} for h in self.held]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> State:
        if not data:
            return cls()
        known = _STATE_FIELDS
        values = {k: v for k, v in data.items() if k in known}
        held = [
            Held(str(h.get("text", "")), tuple(h.get("media", ())), str(h.get("ref", "")))
            for h in data.get("held", ())
        ]
        # A state stored before `held` existed: the words and photos kept as one message.
        if data.get("pending_text") or data.get("pending_media"):
            held.insert(0, Held(data.get("pending_text", ""), tuple(data.get("pending_media", ()))))
        values["held"] = tuple(held)
        return cls(**values)


_STATE_FIELDS = tuple(f.name for f in dataclasses.fields(State))


@dataclass(frozen=True)
class Step:
    state: State
    replies: tuple[Reply, ...]
    facts: tuple[Fact, ...] = ()


# --- the engine ------------------------------------------------------------------------------


def step(state: State, incoming: Incoming, ctx: Context) -> Step:
    """Advance the dialogue by one incoming message."""
    text = clean(incoming.text)
    norm = normalise(text)
    keyword = ctx.catalog.keywords.get(norm) if norm else None
    result = _dispatch(state, incoming, text, keyword, ctx)
    stamp = incoming.at.isoformat() if incoming.at else state.last_at
    return replace(result, state=replace(result.state, last_at=stamp))


def _dispatch(state: State, msg: Incoming, text: str, keyword: str | None, ctx: Context) -> Step:
    say = _Say(ctx, state.language)
    # Erasing one's data stays possible after STOP: it is a right, not a message.
    erasing = keyword == "forget" or state.asking == "forget"
    if state.opted_out and not erasing:
        if keyword == "start" or msg.join is not None:
            back = replace(state, opted_out=False, asking="", survey=None, misses=0)
            opted_in = (Fact("opted_in"),)
            if msg.join is not None:
                return _join(back, msg, text, ctx, opted_in)
            return Step(back, (say.reply("start_done", key="start_done"),), opted_in)
        return Step(state, ())
    if keyword == "stop":
        facts: tuple[Fact, ...] = (Fact("opted_out"),)
        if state.survey:
            facts = (Fact("survey_left", survey=state.survey, value="stopped"), *facts)
        if state.held:
            facts = (Fact("held_dropped"), *facts)  # STOP before consent: nothing is kept
        stopped = replace(state, opted_out=True, asking="", survey=None, misses=0, held=())
        return Step(stopped, (say.reply("stop_done", key="stop_done"),), facts)
    if state.asking == "forget":
        return _answer_forget(state, text, ctx)
    if keyword == "forget":
        asking = replace(state, asking="forget")
        return Step(asking, (say.yes_no(say.text("forget_question"), key="forget_question"),))
    if state.asking == "language" and (keyword is None or keyword.startswith("language:")):
        return _answer_language(state, text, ctx)
    if keyword == "language":
        return Step(replace(state, asking="language"), (_language_question(ctx, state.language),))
    if keyword and keyword.startswith("language:") and not state.survey:
        return _choose_language(state, keyword.split(":", 1)[1], ctx)
    if keyword == "help":
        return Step(state, (_with_question(say.text("help"), state, ctx, key="help"),))
    if keyword == "privacy":
        return Step(state, (_with_question(_privacy(say, ctx.privacy), state, ctx, key="privacy"),))
    if state.asking == "access" and keyword is None:
        answered = _answer_access(state, text, ctx)
        if answered is not None:
            return answered
        state = replace(state, asking="")  # something else: it is read as usual
    if keyword == "access" and ctx.access is not None:
        summary = _access_summary(say, ctx.access)
        return Step(replace(state, asking="access"), (say.yes_no(summary, key="access_summary"),))
    if msg.join is not None:
        return _join(state, msg, text, ctx, ())
    if not state.consent:
        return _consent(state, msg, text, ctx)
    if keyword == "start":
        return Step(replace(state, asking=""), (say.reply("start_done", key="start_done"),))
    if keyword == "followup":
        text = followup_text(ctx.followup or Followup(), ctx.catalog, state.language)
        return Step(state, (_with_question(text, state, ctx, key="suivi"),))
    if state.survey:
        return _survey_answer(state, msg, text, keyword, ctx)
    return _free(state, msg, text, keyword, ctx)


class _Say:
    """Small helper that speaks the habitant's language."""

    def __init__(self, ctx: Context, language: str) -> None:
        self.ctx = ctx
        self.language = language

    def text(self, key: str, **values: object) -> str:
        return self.ctx.catalog.text(self.language, key, **values)

    def reply(self, *keys: str, key: str = "", expects: Expects = "none") -> Reply:
        return Reply(_join_lines(self.text(k) for k in keys), expects=expects, key=key or keys[-1])

    def yes_no(self, text: str, key: str) -> Reply:
        return Reply(text, (self.text("yes"), self.text("no")), "choice", key)


def _join_lines(parts: Any) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


# --- consent -----------------------------------------------------------------------------------


def _is_greeting(text: str, ctx: Context) -> bool:
    norm = normalise(text)
    return not norm or ctx.catalog.keywords.get(norm) == "greetings" or norm == "start"


def _guessed_language(state: State, msg: Incoming, ctx: Context, *, first: bool) -> str:
    """Before consent, what they wrote tells which language to welcome them in; at the very
    first message, their app's language too. A language they chose is kept."""
    hint = (msg.language_hint or "").split("-")[0].lower() if first else ""
    for guess in (msg.language, hint):
        if guess and guess in ctx.catalog.languages and not state.language_chosen:
            return guess
    return state.language


def _welcome(state: State, ctx: Context, *, languages: bool = True) -> Reply:
    """The welcome and consent question; at first, a last line on how to change language
    (`LANGUE : English Türkçe العربية...`: on SMS, `bots.sms_text` sends that line, which needs
    UCS-2, as an SMS of its own so that the welcome stays in one GSM-7 segment)."""
    say = _Say(ctx, state.language)
    text = _join_lines([say.text("welcome"), say.text("consent_question")])
    others = ctx.catalog.other_languages(state.language)
    if languages and others:
        text = f"{text}\n{say.text('language_line', languages=others)}"
    return say.yes_no(text, "welcome")


def _held(state: State, msg: Incoming, text: str, ctx: Context) -> tuple[Held, ...]:
    """What is held before consent, with this message if it says something (not a hello)."""
    keep = "" if _is_greeting(text, ctx) else text
    media = tuple(m for m in msg.media if m in CONTRIBUTION_MEDIA)
    if not keep and not media:
        return state.held
    return (*state.held, Held(keep, media, msg.ref))


def _consent(state: State, msg: Incoming, text: str, ctx: Context) -> Step:
    if state.asking != "consent":
        language = _guessed_language(state, msg, ctx, first=True)
        held = _held(state, msg, text, ctx)
        asking = replace(state, language=language, asking="consent", held=held, misses=0)
        return Step(asking, (_welcome(asking, ctx),))
    agreed = answers.parse_yes_no(text, ctx.catalog) if text else None
    # "evet katılıyorum" to a French welcome: they answered, and told us their language.
    language = _guessed_language(state, msg, ctx, first=False)
    switched, state = language != state.language, replace(state, language=language)
    say = _Say(ctx, state.language)
    if agreed is True:
        return _consented(state, ctx)
    if agreed is False:
        reset = State(state.language, last_at=state.last_at, language_chosen=state.language_chosen)
        return Step(reset, (say.reply("consent_refused"),), (Fact("consent_refused"),))
    # Not an answer: maybe what they wanted to tell us. Keep it until they agree.
    waiting = replace(state, held=_held(state, msg, text, ctx), misses=state.misses + 1)
    if switched:  # their first words were too short to tell: welcome them again, in their words
        return Step(waiting, (_welcome(waiting, ctx, languages=False),))
    question = _join_lines([say.text("consent_needed"), say.text("consent_question")])
    return Step(waiting, (say.yes_no(question, key="consent_needed"),))


def _consented(state: State, ctx: Context) -> Step:
    say = _Say(ctx, state.language)
    facts: list[Fact] = [Fact("consented")]
    agreed = replace(state, consent=True, asking="", misses=0, held=(), pending_survey=None)
    # Each message held before consent is its own contribution (the "oui" is not one).
    facts.extend(Fact("contribution", raw=h.text, media=h.media, ref=h.ref) for h in state.held)
    survey = ctx.surveys.get(state.pending_survey or "")
    if survey is not None:
        started = _start_survey(agreed, survey, ctx, say.text("consent_thanks"))
        return Step(started.state, started.replies, (*facts, *started.facts))
    if len(state.held) == 1 and ctx.themes:
        # One thanks, not two ("Merci ! Merci, c'est noté !"): the thème question follows.
        return _ask_theme(agreed, ctx, tuple(facts), thanks=say.text("consent_kept"))
    if state.held:
        return Step(agreed, (say.reply("consent_kept_many"),), tuple(facts))
    return Step(
        agreed, (say.reply("consent_thanks", "invite_prompt", key="invite_prompt"),), tuple(facts)
    )


# --- joining through a code ----------------------------------------------------------------------


def _join(state: State, msg: Incoming, text: str, ctx: Context, facts: tuple[Fact, ...]) -> Step:
    assert msg.join is not None
    join = msg.join
    facts = (*facts, Fact("joined", raw=join.code, value=join.quartier))
    survey = ctx.surveys.get(join.survey or "")
    if not state.consent:
        waiting = replace(state, pending_survey=survey.key if survey else None, asking="")
        hint = msg.language_hint
        step_ = _consent(waiting, Incoming(media=msg.media, at=msg.at, language_hint=hint), "", ctx)
        return Step(step_.state, step_.replies, (*facts, *step_.facts))
    say = _Say(ctx, state.language)
    if survey is None:
        return Step(replace(state, asking=""), (say.reply("invite_prompt"),), facts)
    if state.survey and state.survey != survey.key:
        facts = (*facts, Fact("survey_left", survey=state.survey, value="switched"))
    if state.survey == survey.key and state.question < len(survey.questions):
        return Step(state, (_with_question(say.text("resume"), state, ctx, key="resume"),), facts)
    started = _start_survey(replace(state, asking=""), survey, ctx, "")
    return Step(started.state, started.replies, (*facts, *started.facts))


# --- surveys ---------------------------------------------------------------------------------


def start_survey(state: State, survey: SurveySpec, ctx: Context) -> Step:
    """Invite a habitant into a survey (a campaign launch, a reminder does the same)."""
    return _start_survey(replace(state, asking="", misses=0), survey, ctx, "")


def remind(state: State, survey: SurveySpec, ctx: Context) -> Reply:
    """A campaign reminder: the question the habitant stopped at, after the "resume" words."""
    return _question_reply(state, survey, ctx, prefix=_Say(ctx, state.language).text("resume"))


def started_state(state: State, survey: SurveySpec) -> State:
    """The state `start_survey` leaves a habitant in; its invitation depends on nothing else
    than their language, so a campaign shapes it once per language (`bots.campaigns`)."""
    return replace(state, survey=survey.key, question=0, misses=0, asking="")


def _start_survey(state: State, survey: SurveySpec, ctx: Context, prefix: str) -> Step:
    say = _Say(ctx, state.language)
    started = started_state(state, survey)
    intro = say.text(
        "survey_start",
        title=survey.in_language("title", state.language),
        intro=survey.in_language("intro", state.language),
    ).rstrip(". ")
    reply = _question_reply(
        started, survey, ctx, prefix=_join_lines([prefix, intro + "."]), first=True
    )
    return Step(started, (reply,), (Fact("survey_started", survey=survey.key),))


def question_reply(state: State, survey: SurveySpec, ctx: Context) -> Reply:
    """The question `state` is at, as first asked (the survey editor counts its SMS)."""
    return _question_reply(state, survey, ctx)


def end_reply(language: str, survey: SurveySpec, ctx: Context) -> Reply:
    """The last message of a survey: thanks, then the survey's promise (its outro)."""
    say = _Say(ctx, language)
    outro = survey.in_language("outro", language) or say.text("default_outro")
    return Reply(_join_lines([say.text("survey_end"), outro]), key="survey_end")


def _question_reply(
    state: State, survey: SurveySpec, ctx: Context, prefix: str = "", *, first: bool = False
) -> Reply:
    say = _Say(ctx, state.language)
    question = survey.questions[state.question]
    body = say.text(
        "question",
        n=state.question + 1,
        total=len(survey.questions),
        text=question.text_in(state.language),
    )
    expects: Expects = "text"
    choices: tuple[str, ...] = ()
    hint = ""
    if question.kind in ("single", "multiple"):
        choices = tuple(c.label(state.language) for c in question.choices)
        expects = "choice" if question.kind == "single" else "choices"
        if question.kind == "multiple":
            hint = say.text("hint_multiple")
    elif question.kind == "yes_no":
        choices, expects = (say.text("yes"), say.text("no")), "choice"
    elif question.kind == "scale":
        hint = say.text("hint_scale")
        choices, expects = ("1", "2", "3", "4", "5"), "scale"
    elif question.kind == "quartier":
        choices, expects = tuple(q.name for q in ctx.quartiers), "choice"
    number = say.text("question", n=state.question + 1, total=len(survey.questions), text="")
    # One SMS if at all possible (two in UCS-2): a retry or a reminder first drops the hint (the
    # prefix says how to answer), then the question they have just read, never the choices.
    candidates = [
        _join_lines([prefix, body, hint]),
        _join_lines([prefix, body]),
        _join_lines([prefix, number]),
    ]
    numbered = expects != "scale"
    if first or not prefix:
        text = candidates[0]  # a question asked for the first time is always shown whole
    else:
        text = next((c for c in candidates if within_budget(c, choices, numbered)), candidates[-1])
    return Reply(text, choices, expects, key=f"question:{question.position}")


def followup_text(followup: Followup, catalog: Catalog, language: str) -> str:
    """`3 messages : 1 pris en compte dans « Réparer l'éclairage » (en cours), 2 lus.`"""
    if not followup.total:
        return catalog.text(language, "suivi_none")
    parts = [
        catalog.text(
            language,
            "suivi_linked",
            n=n,
            title=title,
            status=engagement_status(status, catalog, language),
        )
        for title, status, n in followup.linked
    ]
    if followup.read:
        parts.append(catalog.text(language, "suivi_read", n=followup.read))
    if followup.unread:
        parts.append(catalog.text(language, "suivi_unread", n=followup.unread))
    return catalog.text(language, "suivi_summary", n=followup.total, parts=", ".join(parts))


def engagement_status(status: str, catalog: Catalog, language: str) -> str:
    """An engagement's status in the habitant's words (`en cours`, `réalisé`...)."""
    return catalog.text(language, f"status_{status}")


def _privacy(say: _Say, privacy: Privacy) -> str:
    """Who keeps what for how long, and where to ask: the habitant's right to know."""
    return say.text(
        "privacy",
        organisation=privacy.organisation or say.text("privacy_organisation"),
        months=max(1, round(privacy.retention_days / 30.4)),
        contact=privacy.contact or say.text("privacy_contact"),
    )


def _date(moment: datetime | None) -> str:
    return moment.strftime("%d/%m/%Y") if moment is not None else "-"


def _access_summary(say: _Say, access: Access) -> str:
    """Since when, how much, consent date, how to erase; then: the full copy?"""
    return say.text(
        "access_summary",
        since=_date(access.since),
        messages=access.messages,
        contributions=access.contributions,
        answers=access.answers,
        consent=_date(access.consent_at),
    )


def _answer_access(state: State, text: str, ctx: Context) -> Step | None:
    """Yes: the one-time code for the full copy; no: nothing; anything else: None."""
    say = _Say(ctx, state.language)
    agreed = answers.parse_yes_no(text, ctx.catalog) if text else None
    done = replace(state, asking="")
    if agreed is True and ctx.access is not None and ctx.access.code:
        code = ctx.access.code
        reply = say.text("access_code", code=code, days=ctx.access.code_days)
        return Step(done, (Reply(reply, key="access_code"),), (Fact("access_code", value=code),))
    if agreed is False or (agreed is True and ctx.access is None):
        return Step(done, (say.reply("access_declined"),))
    return None


def _with_question(text: str, state: State, ctx: Context, key: str) -> Reply:
    survey = ctx.surveys.get(state.survey or "")
    if survey is None or state.asking or state.question >= len(survey.questions):
        if key == "help" and not state.asking:
            text = _join_lines([text, ctx.catalog.text(state.language, "invite_prompt")])
        return Reply(text, key=key)
    return _question_reply(state, survey, ctx, prefix=text)


def parse_answer(question: QuestionSpec, text: str, ctx: Context) -> tuple[bool, Any]:
    """(understood, normalised value) for one answer."""
    catalog = ctx.catalog
    if question.kind == "text":
        return (True, text) if text else (False, None)
    if not text:
        return False, None
    if question.kind == "yes_no":
        yes = answers.parse_yes_no(text, catalog)
        return (False, None) if yes is None else (True, YES if yes else NO)
    if question.kind == "scale":
        value = answers.parse_scale(text, catalog)
        return (value is not None), value
    if question.kind == "quartier":
        labels = [[q.name, q.code] for q in ctx.quartiers]
        index = answers.parse_choice(text, labels, catalog)
        return (False, None) if index is None else (True, ctx.quartiers[index].code)
    labels = [list(c.labels.values()) + [c.value] for c in question.choices]
    if question.kind == "single":
        index = answers.parse_choice(text, labels, catalog)
        return (False, None) if index is None else (True, question.choices[index].value)
    indexes = answers.parse_choices(text, labels, catalog)
    return (
        (False, None) if indexes is None else (True, [question.choices[i].value for i in indexes])
    )


_RETRY = {
    "single": "retry_choice",
    "quartier": "retry_choice",
    "multiple": "retry_multiple",
    "scale": "retry_scale",
    "yes_no": "retry_yes_no",
    "text": "retry_text",
}


def _paused(state: State, msg: Incoming, ctx: Context) -> bool:
    if msg.at is None or state.last_at is None:
        return False
    return msg.at - datetime.fromisoformat(state.last_at) >= ctx.pause


def _survey_answer(
    state: State, msg: Incoming, text: str, keyword: str | None, ctx: Context
) -> Step:
    say = _Say(ctx, state.language)
    survey = ctx.surveys.get(state.survey or "")
    if survey is None or state.question >= len(survey.questions):
        # The survey was removed or changed under the habitant: treat the message as free.
        left = replace(state, survey=None, question=0, misses=0)
        free = _free(left, msg, text, keyword, ctx)
        return Step(
            free.state,
            free.replies,
            (Fact("survey_left", survey=state.survey, value="gone"), *free.facts),
        )
    question = survey.questions[state.question]
    key, position = survey.key, question.position
    if keyword == "skip":
        if question.required:
            return Step(state, (_question_reply(state, survey, ctx, prefix=say.text("required")),))
        return _advance(state, survey, None, ctx, Fact("skipped", key, position))
    understood, value = parse_answer(question, text, ctx)
    if understood:
        answer = Fact("answer", key, position, raw=text, value=value)
        if question.kind == "quartier":
            return _advance(state, survey, value, ctx, answer, Fact("quartier", value=value))
        return _advance(state, survey, value, ctx, answer)
    # Not understood: keep what they said, then ask again, gently. Words that are clearly not
    # an answer (a long free text, a photo) are also a contribution for the inbox, linked to
    # the survey and the question.
    aside = bool(msg.media) or is_aside(text)
    facts: tuple[Fact, ...] = ()
    if text or msg.media:
        facts = (Fact("not_understood", key, position, raw=text),)
    if aside:
        facts = (*facts, Fact("contribution", key, position, raw=text, media=msg.media))
    kept = say.text("aside_kept") if aside else ""
    if _paused(state, msg, ctx):
        prefix = _join_lines([kept, say.text("resume")])
        return Step(
            replace(state, misses=0), (_question_reply(state, survey, ctx, prefix=prefix),), facts
        )
    misses = state.misses + 1
    if misses > survey.max_reasks:
        # Asked again often enough (each time a paid SMS): move on, the question unanswered.
        gave_up = Fact("skipped", key, position, value="not_understood")
        prefix = _join_lines([kept, say.text("moving_on")])
        return _advance(state, survey, None, ctx, *facts, gave_up, prefix=prefix)
    hint = _join_lines([kept, say.text(_RETRY[question.kind])])
    if misses >= 2 and not question.required:
        hint = _join_lines([hint, say.text("offer_skip")])
    retry = replace(state, misses=misses)
    return Step(retry, (_question_reply(retry, survey, ctx, prefix=hint),), facts)


ASIDE_WORDS = 5  # "Il y a des rats dans la cave" is not the answer to a choice question
ASIDE_CHARACTERS = 30


def is_aside(text: str) -> bool:
    """Whether a misunderstood answer is clearly something else the habitant wanted to say."""
    return len(text) >= ASIDE_CHARACTERS and len(text.split()) >= ASIDE_WORDS


def _advance(
    state: State, survey: SurveySpec, value: Any, ctx: Context, *facts: Fact, prefix: str = ""
) -> Step:
    question = survey.questions[state.question]
    target = question.goto.get(value) if isinstance(value, str) else None
    following = (target - 1) if target else state.question + 1
    if following >= len(survey.questions):
        done = replace(state, survey=None, question=0, misses=0)
        end = end_reply(state.language, survey, ctx)
        reply = replace(end, text=_join_lines([prefix, end.text])) if prefix else end
        return Step(done, (reply,), (*facts, Fact("survey_finished", survey=survey.key)))
    moved = replace(state, question=following, misses=0)
    return Step(moved, (_question_reply(moved, survey, ctx, prefix, first=True),), facts)


# --- free contributions ------------------------------------------------------------------------


def _free(state: State, msg: Incoming, text: str, keyword: str | None, ctx: Context) -> Step:
    say = _Say(ctx, state.language)
    if state.asking == "theme" and text:
        chosen = _parse_theme(text, ctx, state.language)
        if chosen is not None:
            idle = replace(state, asking="")
            facts = (Fact("theme", value=chosen),) if chosen else ()
            return Step(idle, (say.reply("theme_thanks"),), facts)
    idle = replace(state, asking="")
    if keyword == "skip":
        return Step(idle, (say.reply("nothing_to_skip", "invite_prompt", key="nothing_to_skip"),))
    kept_media = tuple(m for m in msg.media if m in CONTRIBUTION_MEDIA)
    if not text and not kept_media:
        key = "unsupported" if msg.media else "empty"
        return Step(idle, (say.reply(key),))
    if ctx.thread_open:
        # An answer to the team's reply: it joins that conversation, no thème to ask.
        thread = Fact("thread", raw=text, media=kept_media)
        return Step(idle, (say.reply("thread_thanks"),), (thread,))
    if not kept_media and _is_greeting(text, ctx):
        return Step(idle, (say.reply("invite_prompt"),))
    return _ask_theme(idle, ctx, (Fact("contribution", raw=text, media=kept_media),))


def _ask_theme(
    state: State, ctx: Context, facts: tuple[Fact, ...], prefix: str = "", thanks: str = ""
) -> Step:
    say = _Say(ctx, state.language)
    text = _join_lines([prefix, thanks or say.text("contribution_thanks")])
    if not ctx.themes:
        return Step(
            replace(state, asking=""),
            (Reply(_join_lines([prefix, say.text("theme_thanks")]), key="theme_thanks"),),
            facts,
        )
    labels = tuple(_theme_label(t, state.language) for t in ctx.themes) + (say.text("other_theme"),)
    return Step(
        replace(state, asking="theme"),
        (Reply(text, labels, "choice", "contribution_thanks"),),
        facts,
    )


def _theme_label(theme: ThemeOption, language: str) -> str:
    return theme.labels.get(language) or theme.labels.get("fr") or theme.code


def _parse_theme(text: str, ctx: Context, language: str) -> str | None:
    """A thème code, "" for "Autre", or None if the text is not a choice (a new message)."""
    labels = [list(t.labels.values()) + [t.code] for t in ctx.themes]
    labels.append([ctx.catalog.text(code, "other_theme") for code in ctx.catalog.language_codes()])
    index = answers.parse_choice(text, labels, ctx.catalog)
    if index is None:
        return None
    return ctx.themes[index].code if index < len(ctx.themes) else ""


# --- language and erasure ----------------------------------------------------------------------


def _language_question(ctx: Context, language: str) -> Reply:
    names = tuple(lang.name for lang in ctx.catalog.languages.values())
    return Reply(
        ctx.catalog.text(language, "language_question"), names, "choice", "language_question"
    )


def _answer_language(state: State, text: str, ctx: Context) -> Step:
    codes = ctx.catalog.language_codes()
    labels = [[lang.name, code] for code, lang in ctx.catalog.languages.items()]
    index = answers.parse_choice(text, labels, ctx.catalog)
    if index is None:
        return Step(state, (_language_question(ctx, state.language),))
    return _choose_language(state, codes[index], ctx)


def _choose_language(state: State, code: str, ctx: Context) -> Step:
    """The habitant picked a language: say so in it (before consent: welcome them again in it)."""
    chosen = replace(state, language=code, language_chosen=True)
    fact = Fact("language", value=code)
    if not state.consent:  # welcomed again, in the language they chose
        again = replace(chosen, asking="consent")
        return Step(again, (_welcome(again, ctx, languages=False),), (fact,))
    chosen = replace(chosen, asking="")
    say = _Say(ctx, code)
    reply = _with_question(say.text("language_done"), chosen, ctx, key="language_done")
    return Step(chosen, (reply,), (fact,))


def _answer_forget(state: State, text: str, ctx: Context) -> Step:
    say = _Say(ctx, state.language)
    yes = answers.parse_yes_no(text, ctx.catalog) if text else None
    if yes is True:
        erased = State(language=state.language, last_at=state.last_at)
        return Step(erased, (say.reply("forget_done"),), (Fact("erase"),))
    if yes is False:
        back = replace(state, asking="")
        return Step(
            back, (_with_question(say.text("forget_cancelled"), back, ctx, key="forget_cancelled"),)
        )
    return Step(state, (say.yes_no(say.text("forget_question"), key="forget_question"),))
