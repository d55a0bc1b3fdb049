"""The demo territory of `paroles serve --demo`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from bots import budget
from bots.engine import State
from bots.runtime import Runtime
from storage.models import (
    Answer,
    Campaign,
    Categorisation,
    Contribution,
    Conversation,
    Engagement,
    JoinCode,
    Message,
    Participant,
    ParticipantChannel,
    Publication,
    PublicQuote,
    Quartier,
    Theme,
    ThreadMessage,
    User,
)
from web.cli.demo import DEMO_EMAIL, demo_settings, seed_demo

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)


def test_demo_territory(runtime: Runtime) -> None:
    password = seed_demo(runtime, now=NOW)
    has_a_monthly_budget_and_spends_some_of_it_this_month(runtime)  # one seeding for both
    with runtime.sessions() as session:
        staff = session.scalars(select(User).where(User.email == DEMO_EMAIL)).one()
        assert staff.role == "administrateur"
        field = session.scalars(select(User).where(User.role == "intervenant")).one()
        assert field.quartiers and check_password_hash(field.password_hash, password)
        assert len(password) >= 10 and check_password_hash(staff.password_hash, password)

        quartiers = session.scalars(select(Quartier)).all()
        assert 3 <= len(quartiers) <= 4 and len({q.city for q in quartiers}) == 1
        assert all(q.code.startswith("QP") for q in quartiers)
        codes = {c.code: c for c in session.scalars(select(JoinCode))}
        assert {"TILLEULS", "MARCHE-SAMEDI", "SCOLARITE", "ASSOCIATIONS", "ALLERVERS"} <= set(codes)
        assert codes["TILLEULS"].quartier is not None and codes["MARCHE-SAMEDI"].survey_id

        free = session.scalars(select(Contribution).where(Contribution.kind == "free")).all()
        assert len(free) >= 300
        assert len({c.text for c in free}) == len(free)  # no two alike
        # never a trial (the simulator)
        assert {c.channel for c in free} == {"whatsapp", "telegram", "sms", "terrain"}
        heard = [c for c in free if c.channel == "terrain"]
        assert len(heard) >= 30 and all(c.action_id and c.intervenant_id == field.id for c in heard)
        met = session.scalars(select(Participant).where(Participant.channel == "terrain")).all()
        assert all(p.address_enc == "" for p in met)
        assert any(p.age_range for p in met) and any(p.gender for p in met)
        face = session.scalars(select(Conversation).where(Conversation.action_id.is_not(None)))
        assert len(face.all()) >= 10
        assert {c.quartier_id for c in free} == {q.id for q in quartiers}
        dates = [c.created_at for c in free]
        assert min(dates) >= NOW - timedelta(days=366) and max(dates) <= NOW
        assert max(dates) - min(dates) > timedelta(days=300)  # a year for the tableau de bord
        months = {(d.year, d.month) for d in dates}
        assert len(months) >= 12
        assert any(len(c.text) > 250 for c in free) and any(len(c.text) < 10 for c in free)
        assert any("🙏" in c.text for c in free)
        assert any(any("\u0600" <= ch <= "\u06ff" for ch in c.text) for c in free)
        # The languages habitants write in, identified: the badge and the inbox filter show them.
        assert {"fr", "en", "ar", "tr", "pt", "es", "ro", "uk"} <= {c.language for c in free}
        people = {p.language for p in session.scalars(select(Participant))}
        assert {"fr", "en", "ar", "tr", "uk"} <= people  # the bot speaks theirs

        themed = session.execute(
            select(Theme.code, func.count(func.distinct(Categorisation.contribution_id)))
            .join(Categorisation, Categorisation.theme_id == Theme.id)
            .group_by(Theme.code)
        ).all()
        assert len(themed) == session.scalar(select(func.count(Theme.id)))  # every thème used
        sources = set(session.scalars(select(Categorisation.source)))
        assert sources == {"habitant", "staff"}
        untagged = [c for c in free if not c.categorisations]
        assert len(untagged) > 20  # some the team has not sorted, some with no thème at all

        participants = session.scalars(select(Participant)).all()
        assert len(participants) >= 100
        for participant in participants:
            if participant.channel == "terrain":
                assert participant.address_enc == ""  # met face to face: nobody to write to
                continue
            address = runtime.vault.decrypt(participant.address_enc)
            assert address not in participant.pseudonym
            if participant.channel in ("sms", "whatsapp"):
                assert address.startswith(("+3363997", "+3363998"))  # numbers for fiction
            state = State.from_json(participant.state)
            assert state.consent and state.opted_out == (participant.opted_out_at is not None)
        assert any(p.language == "en" for p in participants)
        used = session.execute(
            select(ParticipantChannel.participant_id, ParticipantChannel.channel)
        )
        channels_of: dict[int, set[str]] = {}
        for pid, channel in used:
            channels_of.setdefault(pid, set()).add(channel)
        assert sum(1 for c in channels_of.values() if c == {"sms", "whatsapp"}) >= 3  # one each
        spent = session.execute(
            select(Message.channel, func.sum(Message.units))
            .where(Message.kind == "invitation", Message.units.is_not(None))
            .group_by(Message.channel)
        ).all()
        assert {channel for channel, units in spent if units} == {"sms", "whatsapp"}

        statuses = set(session.scalars(select(Conversation.status)))
        assert {"finished", "stopped"} <= statuses
        surveys = set(session.scalars(select(Conversation.survey_id)))
        assert len(surveys) == 3
        assert session.scalar(select(func.count(Answer.id)).where(Answer.skipped.is_(True)))
        assert session.scalar(select(func.count(Answer.id)).where(Answer.understood.is_(False)))
        text_answers = session.scalars(
            select(Contribution).where(Contribution.kind == "answer")
        ).all()
        assert text_answers and all(c.answer_id and c.question_id for c in text_answers)
        campaigns = {c.status: c for c in session.scalars(select(Campaign))}
        assert set(campaigns) == {"running", "closed"} and campaigns["closed"].retour_text


def test_demo_answers_follow_the_survey_branching(runtime: Runtime) -> None:
    """Who has no child at school goes from question 1 straight to question 5 (scolarité)."""
    seed_demo(runtime, now=NOW)
    with runtime.sessions() as session:
        for conversation in session.scalars(select(Conversation)):
            answers = session.scalars(
                select(Answer)
                .where(Answer.conversation_id == conversation.id, Answer.understood.is_(True))
                .order_by(Answer.created_at)
            ).all()
            positions = [a.question_id for a in answers]
            assert len(positions) == len(set(positions))
            if conversation.status == "finished":
                assert conversation.finished_at is not None


def test_the_demo_account_logs_in_and_reads_the_inbox(app: Any, runtime: Runtime) -> None:
    password = seed_demo(runtime, now=NOW)
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    response = client.post(
        "/auth/login", data={"email": DEMO_EMAIL, "password": password}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "À faire" in response.get_data(as_text=True)  # login lands on what waits
    page = client.get("/inbox/").get_data(as_text=True)
    assert "rue des Lilas" in page or "Tilleuls" in page or "Marché" in page


def test_demo_territory_shows_donner_suite(runtime: Runtime, client: Any) -> None:
    """A published campaign with two chosen answers, engagements at three statuses or more
    with their history, and a conversation that goes on; the public pages show them."""
    seed_demo(runtime, now=NOW)
    with runtime.sessions() as session:
        publication = session.scalars(select(Publication)).one()
        assert session.get(Campaign, publication.campaign_id).status == "closed"  # type: ignore[union-attr]
        assert len(session.scalars(select(PublicQuote)).all()) == 2
        engagements = session.scalars(select(Engagement)).all()
        assert len({e.status for e in engagements}) >= 3
        assert all(e.updates and e.contributions for e in engagements)
        assert session.scalars(select(ThreadMessage)).one().seen_at is None
        slug = publication.slug
    results = client.get(f"/resultats/{slug}").get_data(as_text=True)
    assert "Ce qui va être fait" in results and "Un local de plus" in results
    assert "non retenu" in client.get("/suivi/").get_data(as_text=True)


def test_the_demo_has_contributions_written_in_other_languages(runtime: Runtime) -> None:
    seed_demo(runtime, now=NOW)
    with runtime.sessions() as session:
        written = set(session.scalars(select(Contribution.language).distinct()))
    # Each shows "Traduire" (or how to set up a server) and gets a thème across languages.
    assert {"ar", "tr", "pt", "es", "uk", "ro"} <= written


def has_a_monthly_budget_and_spends_some_of_it_this_month(runtime: Runtime) -> None:
    settings = demo_settings(runtime.settings)
    with runtime.sessions() as session:
        spends = {s.channel: s for s in budget.month_spend(session, settings, NOW, budget.PAID)}
        per_campaign = budget.campaign_spend(session, settings, NOW)
        running = session.scalars(select(Campaign).where(Campaign.status == "running")).one()
    for channel in ("sms", "whatsapp"):
        spend = spends[channel]
        assert spend.budget and 0 < spend.used < spend.budget and spend.euros
        assert spend.level == "ok"  # no alarm banner on every demo page
    assert {s.campaign_id for s in per_campaign if s.used} >= {running.id}
    configured = replace(
        runtime.settings, extra={**runtime.settings.extra, "PAROLES_BUDGET_SMS_SEGMENTS": "9"}
    )
    assert demo_settings(configured) == configured  # a territory's own budget wins
