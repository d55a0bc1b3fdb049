"""A demo territory for `paroles serve --demo`: quartiers, habitants, contributions, surveys.

Everything is invented (see `demo_texts.toml`): four quartiers of one town, the codes printed on
their posters, pseudonymous habitants on WhatsApp, Telegram and SMS (addresses in the range
ARCEP reserves for fiction, +33 6 39 97/98 xx xx; some write from the same number by SMS and
WhatsApp: one participant each), who joined over a year and a half (more of them lately), a few
hundred free contributions over the last year written the way people write on a phone, answers
to the three ready-made surveys, two campaigns (the closed one's results published), engagements
at different statuses, a conversation that goes on, what a médiatrice heard in the field (entries
and surveys face to face, channel `terrain`, some with a declared age and gender), one staff
account and one field account (`terrain@paroles.example`, same password). Campaign invitations
and thanks by SMS and WhatsApp are counted as sent (segments, conversations), so the tableau de
bord shows the month's spend. The random generator is seeded: two demos built the same day look
the same.
"""

from __future__ import annotations

import random
import re
import secrets
import tomllib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bots import language_id
from bots.budget import PAID, month_start
from bots.engine import State
from bots.personal_data_job import health_flags
from bots.phone import identity_channel
from bots.runtime import Runtime
from bots.sms_text import segments, to_gsm7
from bots.survey_store import seed_prompts
from bots.text import strip_accents
from storage.config import Settings
from storage.crypto import mask
from storage.db import transaction
from storage.models import (
    Answer,
    AuditEntry,
    Campaign,
    Categorisation,
    Contribution,
    Conversation,
    JoinCode,
    Message,
    Participant,
    ParticipantChannel,
    Quartier,
    Question,
    ReportModel,
    Survey,
    Theme,
    User,
)
from web.auth import create_user
from web.cli.demo_suivi import seed_followup

DEMO_EMAIL = "demo@paroles.example"
FIELD_EMAIL = "terrain@paroles.example"  # an intervenant of two quartiers, same password
FIELD_CODES = ("HAUTS-PORTE", "MARCHE-SAMEDI")  # the actions a médiatrice holds
FIELD_ENTRIES = 42
FIELD_RUNS = 14  # the running campaign's survey, face to face
AGES = ("moins_18", "18_25", "26_40", "26_40", "41_60", "41_60", "61_plus", "non_dit")
GENDERS = ("femme", "femme", "homme", "homme", "autre", "non_dit")
TEXTS = Path(__file__).with_name("demo_texts.toml")
FIRST_SEEN_DAYS = 540  # habitants joined over 18 months: some were there before the year
CONTRIBUTION_DAYS = 365  # the tableau de bord's default period
PARTICIPANTS = 150
# Habitants whose bot speaks another language (by participant number, modulo 25).
DEMO_LANGUAGES = {7: "en", 3: "ar", 11: "tr", 15: "pt", 19: "es", 22: "ro", 23: "uk"}
FREE_CONTRIBUTIONS = 340
SURVEY_RUNS = {"scolarite": 48, "associations": 36, "aller-vers": 30}
# The simulator is a trial phone (it never counts): the demo's habitants are on real channels.
CHANNELS = (("whatsapp", 36), ("telegram", 34), ("sms", 30))
BOTH = 0.3  # of the habitants writing by SMS, those who also write by WhatsApp (one person)
_PRAISE = re.compile(r"merci|super|top|bien|génial|magnifique|gentil|calme|propre|aide", re.I)


# The demo territory's monthly budget (`bots.budget`), used when no budget is configured: the
# tableau de bord and the campaign pages then show a month's spend against something.
# A campaign to one quartier fits; one to every quartier exceeds it and waits for approval.
DEMO_BUDGET = {
    "PAROLES_BUDGET_SMS_SEGMENTS": "150",
    "PAROLES_PRICE_SMS_SEGMENT": "0.075",
    "PAROLES_BUDGET_WHATSAPP_CONVERSATIONS": "150",
    "PAROLES_PRICE_WHATSAPP_CONVERSATION": "0.07",
    "PAROLES_BUDGET_APPROVAL": "1",
}


def demo_settings(settings: Settings) -> Settings:
    """`settings` with the demo's budget, unless a budget is already configured."""
    if any(settings.extra.get(paid.budget_variable, "").strip() for paid in PAID.values()):
        return settings
    return replace(settings, extra={**DEMO_BUDGET, **settings.extra})


def seed_demo(runtime: Runtime, *, now: datetime | None = None, seed: int = 2026) -> str:
    """Fill an empty database with the demo territory; returns the staff account's password."""
    password = secrets.token_urlsafe(12)
    texts = tomllib.loads(TEXTS.read_text(encoding="utf-8"))
    with transaction(runtime.sessions) as session:
        seed_prompts(session)
        staff = create_user(session, DEMO_EMAIL, password, "administrateur", name="Équipe démo")
        territory = _Territory(
            session, runtime, random.Random(seed), now or datetime.now(UTC), texts, staff
        )
        counts = territory.build()
        mediatrice = create_user(
            session,
            FIELD_EMAIL,
            password,
            "intervenant",
            tuple(c["quartier"] for c in texts["codes"] if c["code"] in FIELD_CODES),
            name="Samia, médiatrice",
        )
        counts["field"] = territory.field(mediatrice)
        counts["quotes"] = _report_demo(session, staff, now or datetime.now(UTC))
        session.add(AuditEntry(user_id=staff.id, action="demo_seeded", detail=counts))
    return password


QUOTES = 10  # contributions ticked "à citer" for the report
REPORT_MODEL = "COPIL — trimestre écoulé"


def _report_demo(session: Session, staff: User, now: datetime) -> int:
    """The report works out of the box: some paroles ticked "à citer" (free contributions of the
    last quarter, with a thème the team confirmed, from every quartier) and a saved model."""
    session.flush()
    rows = list(
        session.scalars(
            select(Contribution)
            .join(Categorisation, Categorisation.contribution_id == Contribution.id)
            .where(
                Contribution.kind == "free",
                Categorisation.source == "staff",
                Contribution.created_at >= now - timedelta(days=120),
            )
            .order_by(Contribution.id)
        ).unique()
    )
    chosen: list[Contribution] = []
    by_quartier: dict[int | None, int] = {}
    for row in sorted(rows, key=lambda r: -len(r.text)):
        if health_flags(session, row.id, row.text):
            continue  # health is sensitive: the demo does not quote it
        if 60 <= len(row.text) <= 400 and by_quartier.get(row.quartier_id, 0) < QUOTES // 3:
            by_quartier[row.quartier_id] = by_quartier.get(row.quartier_id, 0) + 1
            chosen.append(row)
        if len(chosen) == QUOTES:
            break
    for row in chosen:
        row.to_quote = True
        session.add(
            AuditEntry(user_id=staff.id, action="quote.set", target=f"contribution:{row.id}")
        )
    session.add(
        ReportModel(
            name=REPORT_MODEL,
            created_by_id=staff.id,
            choices={"quartier": [], "theme": [], "glissant": True, "mois": 3},
        )
    )
    return len(chosen)


@dataclass
class _Person:
    row: Participant
    quartier: Quartier
    lieux: list[str]


class _Territory:
    """Builds the demo rows; one method per kind of thing, called in order by `build()`."""

    def __init__(
        self,
        session: Session,
        runtime: Runtime,
        rng: random.Random,
        now: datetime,
        texts: dict[str, Any],
        staff: User,
    ) -> None:
        self.session = session
        self.runtime = runtime
        self.rng = rng
        self.now = now
        self.texts = texts
        self.staff = staff
        self.catalog = runtime.catalog
        self.people: list[_Person] = []
        self.message_count = 0

    def build(self) -> dict[str, int]:
        quartiers = self.quartiers()
        codes = self.join_codes(quartiers)
        campaigns = self.campaigns(quartiers)
        self.participants(quartiers, codes)
        free = self.free_contributions()
        runs = self.survey_runs(campaigns)
        self.session.flush()
        suivi = seed_followup(
            self.session, self.catalog, self.rng, self.now, self.staff, campaigns["associations"]
        )
        reminders = self.reminders_this_month(campaigns["scolarite"])
        return {
            "quartiers": len(quartiers),
            "participants": len(self.people),
            "contributions": free,
            "conversations": runs,
            "reminders": reminders,
            **suivi,
        }

    # --- places, codes, campaigns ------------------------------------------------------------

    def quartiers(self) -> dict[str, tuple[Quartier, list[str]]]:
        found = {}
        for item in self.texts["quartiers"]:
            quartier = Quartier(
                code=item["code"],
                name=item["name"],
                city=self.texts["city"],
                created_at=self.ago(days=70),
            )
            self.session.add(quartier)
            found[item["code"]] = (quartier, list(item["lieux"]))
        self.session.flush()
        return found

    def join_codes(self, quartiers: dict[str, tuple[Quartier, list[str]]]) -> list[JoinCode]:
        codes = []
        for item in self.texts["codes"]:
            survey = self.survey(item["survey"]) if "survey" in item else None
            code = JoinCode(
                code=item["code"],
                quartier_id=quartiers[item["quartier"]][0].id,
                survey_id=survey.id if survey else None,
                action=item["action"],
                created_at=self.ago(days=60),
            )
            self.session.add(code)
            codes.append(code)
        self.session.flush()
        return codes

    def campaigns(self, quartiers: dict[str, tuple[Quartier, list[str]]]) -> dict[str, Campaign]:
        everywhere = {"quartiers": sorted(quartiers), "channels": ["telegram", "sms"]}
        running = Campaign(
            survey_id=self.survey("scolarite").id,
            name="Aide aux devoirs : préparer la rentrée",
            status="running",
            target=everywhere,
            starts_at=self.ago(days=20),
            closes_at=self.now + timedelta(days=10),
            remind_after_hours=48,
            created_by_id=self.staff.id,
            approved_by_id=self.staff.id,
            launched_at=self.ago(days=20),
            created_at=self.ago(days=22),
        )
        closed = Campaign(
            survey_id=self.survey("associations").id,
            name="Les associations du quartier (printemps)",
            status="closed",
            target={"quartiers": ["QP093012", "QP093014"], "channels": ["telegram", "sms"]},
            starts_at=self.ago(days=45),
            closes_at=self.ago(days=10),
            created_by_id=self.staff.id,
            approved_by_id=self.staff.id,
            launched_at=self.ago(days=45),
            closed_at=self.ago(days=10),
            retour_text=(
                "Vous avez été nombreux à répondre, merci ! Les associations auront un local "
                "de plus à la Source dès septembre."
            ),
            created_at=self.ago(days=47),
        )
        self.session.add_all([running, closed])
        self.session.flush()
        return {"scolarite": running, "associations": closed}

    # --- habitants -----------------------------------------------------------------------------

    def participants(
        self, quartiers: dict[str, tuple[Quartier, list[str]]], codes: list[JoinCode]
    ) -> None:
        by_quartier = {code.quartier_id: code.code for code in codes}
        names = [name for name, _ in CHANNELS]
        weights = [weight for _, weight in CHANNELS]
        for n in range(PARTICIPANTS):
            quartier, lieux = quartiers[self.rng.choice(sorted(quartiers))]
            channel = self.rng.choices(names, weights)[0]
            address = {
                "sms": f"+3363998{n:04d}",
                "whatsapp": f"+3363997{n:04d}",
                "telegram": str(7_400_000_000 + n * 7919),
            }[channel]
            language = DEMO_LANGUAGES.get(n % 25, "fr")
            first = self.ago(days=1 + FIRST_SEEN_DAYS * self.rng.random() ** 1.5)
            opted_out = self.rng.random() < 0.05
            joined = by_quartier.get(quartier.id) if self.rng.random() < 0.7 else None
            row = Participant(
                pseudonym=self.runtime.vault.pseudonym(identity_channel(channel), address),
                channel=channel,
                address_enc=self.runtime.vault.encrypt(address),
                address_mask=mask(address),
                language=language,
                quartier_id=quartier.id,
                joined_via=joined,
                first_seen_at=first,
                last_seen_at=first,
                consent_at=first,
                opted_out_at=first + timedelta(days=3) if opted_out else None,
                state=State(language=language, consent=True, opted_out=opted_out).to_json(),
            )
            self.session.add(row)
            self.people.append(_Person(row, quartier, lieux))
        self.session.flush()
        for person in self.people:
            used = [person.row.channel]
            if person.row.channel == "sms" and self.rng.random() < BOTH:
                used.append("whatsapp")  # the same number, on both: one participant
                person.row.channel = "whatsapp"  # the one used last
            for channel in used:
                self.session.add(
                    ParticipantChannel(
                        participant_id=person.row.id,
                        channel=channel,
                        first_seen_at=person.row.first_seen_at,
                        last_seen_at=person.row.first_seen_at,
                    )
                )

    def person(self, language: str = "fr") -> _Person:
        """Some habitants write often, most once or twice."""
        speakers = [p for p in self.people if p.row.language == language] or self.people
        index = min(int(self.rng.paretovariate(1.2)) - 1, len(speakers) - 1)
        ordered = speakers[index:] + speakers[:index]
        return ordered[0] if self.rng.random() < 0.35 else self.rng.choice(speakers)

    # --- free contributions --------------------------------------------------------------------

    def free_contributions(self) -> int:
        themes = {t.code: t for t in self.session.scalars(select(Theme))}
        # (text, thème, the bot's language of its author, the language it is written in)
        written: list[tuple[str, str | None, str, str | None]] = [
            (item["text"], item["theme"], "fr", None) for item in self.texts["entiers"]
        ]
        written += [
            (i["text"], i["theme"], i["language"], i.get("written")) for i in self.texts["langues"]
        ]
        written += [(text, None, "fr", None) for text in self.texts["sans_theme"]["texts"]]
        seen = {text for text, _, _, _ in written}
        pieces: list[tuple[str | None, str, _Person, str | None]] = []
        for text, theme, language, in_language in written:
            pieces.append((theme, text, self.person(language), in_language))
        attempts = 0
        while len(pieces) < FREE_CONTRIBUTIONS and attempts < FREE_CONTRIBUTIONS * 20:
            attempts += 1
            person = self.person()
            theme, text = self.compose(person)
            if text not in seen:
                seen.add(text)
                pieces.append((theme, text, person, None))
        for theme_code, text, person, in_language in pieces:
            self.contribution(person, text, themes.get(theme_code or ""), in_language)
        return len(pieces)

    def compose(self, person: _Person) -> tuple[str, str]:
        """One message from hand-written fragments, with the slips of a phone keyboard."""
        corps: dict[str, list[str]] = self.texts["corps"]
        theme = self.rng.choices(list(corps), [len(v) for v in corps.values()])[0]
        body = self.rng.choice(corps[theme]).replace("{lieu}", self.rng.choice(person.lieux))
        fragments = self.texts["fragments"]
        endings = fragments["fins"]
        if not _PRAISE.search(body):
            endings = endings + fragments["fins_plainte"]
        if self.rng.random() < 0.4:
            opening = self.rng.choice(fragments["ouvertures"])
            glue = " " if opening.endswith(",") else self.rng.choice([" ", "\n", " ! ", ", "])
            body = opening + glue + _lower_first(body)
        if self.rng.random() < 0.45:
            body = body + self.rng.choice([" ", ". ", " ", "\n"]) + self.rng.choice(endings)
        roll = self.rng.random()
        if roll < 0.25:
            body = strip_accents(body)
        elif roll < 0.4:
            body = body.lower()
        elif roll < 0.43:
            body = body.upper()
        return theme, body.replace("  ", " ")

    def contribution(
        self, person: _Person, text: str, theme: Theme | None, language: str | None = None
    ) -> None:
        known_for = (self.now - person.row.first_seen_at).total_seconds() / 86400
        at = self.daytime(self.rng.uniform(0, min(known_for, CONTRIBUTION_DAYS)))
        at = max(at, person.row.first_seen_at)
        person.row.last_seen_at = max(person.row.last_seen_at, at)
        row = Contribution(
            participant_id=person.row.id,
            quartier_id=person.quartier.id,
            channel=person.row.channel,
            language=language or language_id.identify(text, self.catalog) or person.row.language,
            kind="free",
            text=text,
            created_at=at,
        )
        self.session.add(row)
        self.messages(person, text, at)
        if theme is None:
            return
        if theme.offered_to_habitants and self.rng.random() < 0.35:
            row.categorisations.append(
                Categorisation(theme_id=theme.id, source="habitant", created_at=at)
            )
        if at < self.ago(days=14) and self.rng.random() < 0.85:
            row.categorisations.append(
                Categorisation(
                    theme_id=theme.id,
                    source="staff",
                    user_id=self.staff.id,
                    created_at=at + timedelta(days=self.rng.uniform(0.2, 4)),
                )
            )

    def messages(self, person: _Person, text: str, at: datetime) -> None:
        """The inbound message and the thanks sent back, as the handler would have kept them."""
        self.message_count += 1
        thanks_text = self.catalog.text(person.row.language, "contribution_thanks")
        inbound = Message(
            direction="in",
            channel=person.row.channel,
            provider_id=f"demo-{self.message_count}",
            participant_id=person.row.id,
            body=text,
            status="processed",
            created_at=at,
        )
        thanks = Message(
            direction="out",
            channel=person.row.channel,
            provider_id=f"demo-out-{self.message_count}",
            participant_id=person.row.id,
            address_enc=person.row.address_enc,
            body=thanks_text,
            expects="choice",
            status="sent",
            created_at=at,
            sent_at=at + timedelta(seconds=2),
            units=self.units(person.row.channel, thanks_text),
        )
        self.session.add_all([inbound, thanks])

    def units(self, channel: str, text: str) -> int | None:
        """What a sent message counts against the budget (`bots.budget`), as the channels say:
        SMS segments, or 1 for a WhatsApp message that opens a 24-hour conversation."""
        if channel == "sms":
            return segments(to_gsm7(text))
        if channel == "whatsapp":
            return 1
        return None

    # --- surveys -------------------------------------------------------------------------------

    def survey_runs(self, campaigns: dict[str, Campaign]) -> int:
        runs = 0
        for slug, count in SURVEY_RUNS.items():
            survey = self.survey(slug)
            campaign = campaigns.get(slug)
            answers: list[str] = self.texts["reponses"][slug]
            respondents = self.rng.sample(self.people, count)
            for person in respondents:
                self.run(person, survey, campaign, answers)
                runs += 1
            if campaign is not None:
                self.silent_invitations(campaign, respondents)
        return runs

    def silent_invitations(self, campaign: Campaign, respondents: list[_Person]) -> None:
        """Invited habitants who did not answer (yet): response rates are not 100 %."""
        assert campaign.launched_at is not None
        others = [p for p in self.people if p not in respondents]
        for person in self.rng.sample(others, min(len(others), len(respondents) * 3 // 4)):
            self.session.add(
                Conversation(
                    participant_id=person.row.id,
                    survey_id=campaign.survey_id,
                    campaign_id=campaign.id,
                    status="invited",
                    started_at=campaign.launched_at,
                    updated_at=campaign.launched_at,
                )
            )

    def reminders_this_month(self, campaign: Campaign) -> int:
        """The running campaign's reminder to those who have not finished, sent this month:
        the tableau de bord's spend and the campaign page's "what is left" show a real month."""
        since = month_start(self.now, self.runtime.settings.timezone)
        at = max(since + timedelta(hours=10), self.now - timedelta(hours=3))
        at = min(at, self.now - timedelta(minutes=5))
        survey = self.session.get(Survey, campaign.survey_id)
        assert survey is not None
        unfinished = self.session.scalars(
            select(Conversation).where(
                Conversation.campaign_id == campaign.id,
                Conversation.status.in_(("invited", "active")),
            )
        ).all()
        count = 0
        for conversation in unfinished:
            person = self.session.get(Participant, conversation.participant_id)
            if person is None or person.channel not in ("sms", "whatsapp"):
                continue
            title = survey.title.get(person.language) or survey.title.get("fr") or survey.slug
            text = f"{title} : il reste quelques questions. Répondez quand vous voulez."
            self.message_count += 1
            count += 1
            conversation.reminded_at = at
            self.session.add(
                Message(
                    direction="out",
                    channel=person.channel,
                    provider_id=f"demo-out-{self.message_count}",
                    participant_id=person.id,
                    address_enc=person.address_enc,
                    body=text,
                    kind="reminder",
                    priority=1,
                    status="delivered",
                    campaign_id=campaign.id,
                    created_at=at,
                    sent_at=at,
                    delivered_at=at + timedelta(seconds=5),
                    units=self.units(person.channel, text),
                )
            )
        return count

    def invitation(self, person: _Person, survey: Survey, campaign: Campaign, at: datetime) -> None:
        """The campaign's invitation, sent and counted (the tableau de bord's spend)."""
        self.message_count += 1
        intro = survey.intro
        text = str(intro.get(person.row.language) or intro.get("fr") or survey.slug)
        self.session.add(
            Message(
                direction="out",
                channel=person.row.channel,
                provider_id=f"demo-out-{self.message_count}",
                participant_id=person.row.id,
                address_enc=person.row.address_enc,
                body=text,
                kind="invitation",
                priority=1,
                status="delivered" if person.row.channel == "sms" else "read",
                campaign_id=campaign.id,
                created_at=at,
                sent_at=at,
                delivered_at=at + timedelta(seconds=5),
                units=self.units(person.row.channel, text),
            )
        )

    def run(
        self, person: _Person, survey: Survey, campaign: Campaign | None, texts: list[str]
    ) -> Conversation:
        """One habitant through one survey: finished mostly, sometimes stopped halfway."""
        start = campaign.launched_at if campaign and campaign.launched_at else self.ago(days=50)
        end = campaign.closed_at if campaign and campaign.closed_at else self.now
        at = start + (end - start) * self.rng.uniform(0.02, 0.95)
        at = max(at, person.row.first_seen_at)
        stop_after = self.rng.randint(1, len(survey.questions) - 1)
        stopped = self.rng.random() < 0.2
        conversation = Conversation(
            participant_id=person.row.id,
            survey_id=survey.id,
            campaign_id=campaign.id if campaign else None,
            status="active",
            started_at=at,
            updated_at=at,
        )
        self.session.add(conversation)
        if campaign is not None and person.row.channel in ("sms", "whatsapp"):
            self.invitation(person, survey, campaign, at - timedelta(minutes=5))
        self.session.flush()
        index, answered = 0, 0
        while index < len(survey.questions):
            if stopped and answered == stop_after:
                conversation.status = "stopped"
                break
            question = survey.questions[index]
            at += timedelta(seconds=self.rng.uniform(20, 240))
            raw, value, skipped = self.answer(question, person, texts)
            self.add_answer(conversation, question, raw, value, skipped, at)
            answered += 1
            target = question.goto.get(value) if isinstance(value, str) else None
            index = target - 1 if target else index + 1
        else:
            conversation.status = "finished"
            conversation.finished_at = at
        conversation.updated_at = at
        person.row.last_seen_at = max(person.row.last_seen_at, at)
        return conversation

    def add_answer(
        self,
        conversation: Conversation,
        question: Question,
        raw: str,
        value: Any,
        skipped: bool,
        at: datetime,
    ) -> None:
        if self.rng.random() < 0.06 and question.kind != "text":
            # A first try the bot did not understand, kept as the handler keeps it.
            misread = self.rng.choice(["hein ?", "je sais pas", "bof", "???", "c'est quoi"])
            self.session.add(
                Answer(
                    conversation_id=conversation.id,
                    question_id=question.id,
                    raw_text=misread,
                    understood=False,
                    created_at=at - timedelta(seconds=30),
                )
            )
        answer = Answer(
            conversation_id=conversation.id,
            question_id=question.id,
            raw_text=raw,
            value=None if skipped else value,
            skipped=skipped,
            created_at=at,
        )
        self.session.add(answer)
        if question.kind == "text" and not skipped:
            self.session.flush()
            participant = self.session.get(Participant, conversation.participant_id)
            assert participant is not None
            self.session.add(
                Contribution(
                    participant_id=participant.id,
                    quartier_id=participant.quartier_id,
                    channel=participant.channel,
                    language=participant.language,
                    kind="answer",
                    text=raw,
                    answer_id=answer.id,
                    survey_id=conversation.survey_id,
                    question_id=question.id,
                    campaign_id=conversation.campaign_id,
                    created_at=at,
                )
            )

    def answer(
        self, question: Question, person: _Person, texts: list[str]
    ) -> tuple[str, Any, bool]:
        """(raw text, normalised value, skipped) the way habitants really answer."""
        rng = self.rng
        if not question.required and rng.random() < 0.05:
            return rng.choice(["passer", "PASSER", "skip"]), None, True
        if question.kind == "yes_no":
            yes = rng.random() < 0.6
            raw = rng.choice(
                ["oui", "Oui", "ouais", "👍", "1", "ok"]
                if yes
                else ["non", "Non", "2", "nan", "👎"]
            )
            return raw, "oui" if yes else "non", False
        if question.kind == "scale":
            value = rng.choices([1, 2, 3, 4, 5], [1, 2, 4, 4, 2])[0]
            return rng.choice([str(value), "⭐" * value, f"{value}/5"]), value, False
        if question.kind == "quartier":
            name = person.quartier.name
            return (
                rng.choice([name, name.lower(), strip_accents(name)]),
                person.quartier.code,
                False,
            )
        if question.kind == "text":
            return rng.choice(texts), None, False
        choices = question.choices
        if question.kind == "single":
            index = rng.randrange(len(choices))
            raw = rng.choice(
                [str(index + 1), f"{index + 1}.", choices[index]["labels"]["fr"].lower()]
            )
            return raw, choices[index]["value"], False
        picked = sorted(rng.sample(range(len(choices)), rng.choice([1, 1, 2, 2, 3])))
        numbers = [str(i + 1) for i in picked]
        raw = rng.choice([" et ".join(numbers), ",".join(numbers), " ".join(numbers)])
        return raw, [choices[i]["value"] for i in picked], False

    # --- the field -----------------------------------------------------------------------------

    def field(self, mediatrice: User) -> int:
        """What a médiatrice brought back from her actions: entries written down door to door
        or at the market stand, and the running campaign's survey face to face; anonymous
        habitants, some of whom said their age range and gender."""
        self.session.flush()
        codes = list(self.session.scalars(select(JoinCode).where(JoinCode.code.in_(FIELD_CODES))))
        quartiers = {q.id: q for q in self.session.scalars(select(Quartier))}
        days = sorted({self.rng.randrange(3, 120) for _ in range(9)})
        themes = {t.code: t for t in self.session.scalars(select(Theme))}
        heard: list[str] = list(self.texts["terrain"]["texts"])
        seen = set(self.session.scalars(select(Contribution.text)))
        for n in range(FIELD_ENTRIES):
            code = codes[n % len(codes)]
            at = self.daytime(days[n % len(days)])
            person = self.met(f"entry-{n}", quartiers[code.quartier_id or 0], code, at)
            text = heard[n] if n < len(heard) else self.compose(person)[1]
            for _ in range(50):  # every text of the demo is unique, as in the inbox
                if text not in seen:
                    break
                text = self.compose(person)[1]
            seen.add(text)
            contribution = Contribution(
                participant_id=person.row.id,
                quartier_id=code.quartier_id,
                channel="terrain",
                language="fr",
                kind="free",
                text=text,
                action_id=code.id,
                intervenant_id=mediatrice.id,
                created_at=at,
            )
            self.session.add(contribution)
            self.session.add(
                Message(
                    direction="in",
                    channel="terrain",
                    provider_id=f"entry:demo-{n}",
                    participant_id=person.row.id,
                    body=text,
                    status="processed",
                    created_at=at,
                )
            )
            if n % 3 == 0 and "cadre-de-vie" in themes:
                contribution.categorisations.append(
                    Categorisation(
                        theme_id=themes["cadre-de-vie"].id,
                        source="staff",
                        user_id=mediatrice.id,
                        created_at=at,
                    )
                )
        running = self.session.scalars(select(Campaign).where(Campaign.status == "running")).first()
        if running is not None:
            survey = self.session.get(Survey, running.survey_id)
            assert survey is not None
            answers: list[str] = self.texts["reponses"][survey.slug]
            for n in range(FIELD_RUNS):
                code = codes[n % len(codes)]
                at = self.daytime(self.rng.uniform(1, 18))
                person = self.met(f"run-{n}", quartiers[code.quartier_id or 0], code, at)
                conversation = self.run(person, survey, running, answers)
                conversation.action_id = code.id
                conversation.intervenant_id = mediatrice.id
                self.session.flush()
                for row in self.session.scalars(
                    select(Contribution).where(Contribution.participant_id == person.row.id)
                ):
                    row.action_id, row.intervenant_id = code.id, mediatrice.id
        self.session.flush()
        return FIELD_ENTRIES + FIELD_RUNS

    def met(self, key: str, quartier: Quartier, code: JoinCode, at: datetime) -> _Person:
        """A habitant met face to face: anonymous (no address), counted once."""
        declared = self.rng.random() < 0.6
        row = Participant(
            pseudonym=self.runtime.vault.pseudonym("terrain", f"demo-{key}"),
            channel="terrain",
            address_enc="",
            address_mask="",
            language="fr",
            quartier_id=quartier.id,
            joined_via=code.code,
            first_seen_at=at,
            last_seen_at=at,
            consent_at=at,
            state=State(consent=True).to_json(),
            age_range=self.rng.choice(AGES) if declared else None,
            gender=self.rng.choice(GENDERS) if declared else None,
        )
        self.session.add(row)
        self.session.flush()
        lieux = next(q["lieux"] for q in self.texts["quartiers"] if q["code"] == quartier.code)
        return _Person(row, quartier, list(lieux))

    # --- helpers -------------------------------------------------------------------------------

    def survey(self, slug: str) -> Survey:
        return self.session.scalars(select(Survey).where(Survey.slug == slug)).one()

    def ago(self, *, days: float) -> datetime:
        return self.now - timedelta(days=days)

    def daytime(self, days_ago: float) -> datetime:
        """A moment `days_ago`, moved to waking hours (7h to 23h)."""
        moment = self.ago(days=days_ago)
        hour = self.rng.choices(range(7, 24), [1, 2, 3, 3, 3, 4, 4, 3, 3, 3, 4, 5, 6, 6, 5, 4, 2])
        return min(moment.replace(hour=hour[0], minute=self.rng.randrange(60)), self.now)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
