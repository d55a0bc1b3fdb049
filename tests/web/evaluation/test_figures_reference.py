"""The tableau de bord's and the campaign results' figures against their definitions, worked out
in plain Python over every row of a random territory, on both databases.

The figures are computed by grouped statements and Python sums over the groups; the reference
here reads each row and applies the definitions of the modules' docstrings one by one: test
phones never count, a contribution counts in its quartier and an answer in its author's, an
unlinked contribution counts as a contribution and nobody, months in the territory's time zone.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import (
    Answer,
    Campaign,
    Categorisation,
    Contribution,
    Conversation,
    JoinCode,
    Participant,
    Quartier,
    Question,
    Survey,
    Theme,
)
from tests.factories import make_participant, make_quartier
from web import field_figures as actions
from web.activity import read_activity
from web.counts import Scope, campaign_funnel, campaign_people, funnel_of, started_conversations
from web.diversity import AGE_RANGES, GENDERS
from web.indicators import Indicators, Period, compute
from web.results import _labels, campaign_results

TZ = "Europe/Paris"
ZONE = ZoneInfo(TZ)
PERIODS = (Period(date(2026, 1, 1), date(2026, 3, 1)), Period(date(2025, 12, 1), date(2026, 11, 1)))
START = datetime(2025, 11, 20, tzinfo=UTC)
SPAN = timedelta(days=365)


def world(runtime: Runtime, seed: int) -> list[int]:
    """A random territory: habitants (some test phones, some brought by a code), contributions
    (some elsewhere than their author's quartier, unlinked, without quartier, written down in
    the field), thèmes from the three sources, two campaigns and their answers."""
    rng = random.Random(seed)

    def when() -> datetime:
        at = START + SPAN * rng.random()
        # Some right at a month's first minute in Paris, the day before in UTC.
        if rng.random() < 0.15:
            local = at.astimezone(ZONE)
            at = local.replace(day=1, hour=0, minute=rng.choice((0, 30))).astimezone(UTC)
        return at

    with transaction(runtime.sessions) as s:
        quartiers = [make_quartier(s).id for _ in range(3)]
        codes = []
        for n in range(3):
            code = JoinCode(code=f"action-{seed}-{n}", quartier_id=quartiers[n], action=f"A{n}")
            s.add(code)
            s.flush()
            codes.append(code)
        people = [
            make_participant(
                s,
                runtime,
                channel=rng.choice(("sms", "telegram", "terrain")),
                quartier_id=rng.choice([*quartiers, None]),
                language=rng.choice(("fr", "fr", "en")),
                first_seen_at=START - timedelta(days=200) + timedelta(days=560) * rng.random(),
                is_test=rng.random() < 0.1,
                joined_via=rng.choice([c.code for c in codes]) if rng.random() < 0.4 else None,
                age_range=rng.choice(("18_25", "61_plus", None)),
                gender=rng.choice(("femme", "homme", None)),
            )
            for _ in range(45)
        ]
        themes = list(s.scalars(select(Theme.id)))[:4]
        for _ in range(260):
            author = rng.choice(people)
            s.add(
                Contribution(
                    participant_id=None if rng.random() < 0.06 else author.id,
                    quartier_id=rng.choice(
                        [author.quartier_id, author.quartier_id, *quartiers, None]
                    ),
                    channel=author.channel,
                    language=rng.choice(("fr", "fr", "en", "ar")),
                    created_at=when(),
                    action_id=rng.choice(codes).id if rng.random() < 0.15 else None,
                    categorisations=[
                        Categorisation(theme_id=theme, source=source)
                        for theme in rng.sample(themes, rng.choice((0, 1, 1, 2)))
                        for source in rng.sample(
                            ("staff", "suggestion", "habitant"), rng.randint(1, 2)
                        )
                    ],
                )
            )
        survey = s.scalars(select(Survey).where(Survey.slug == "scolarite")).one()
        questions = list(s.scalars(select(Question).where(Question.survey_id == survey.id)))
        campaigns = []
        for n in range(2):
            launched = START + timedelta(days=60 + 150 * n)
            campaign = Campaign(
                survey_id=survey.id,
                name=f"C{n}",
                status="closed",
                target={},
                launched_at=launched,
                closed_at=launched + timedelta(days=40),
            )
            s.add(campaign)
            s.flush()
            campaigns.append(campaign.id)
            for person in rng.sample(people, 30):
                talk = Conversation(
                    participant_id=person.id,
                    survey_id=survey.id,
                    campaign_id=campaign.id,
                    status=rng.choice(("invited", "active", "finished", "stopped")),
                    action_id=rng.choice(codes).id if rng.random() < 0.2 else None,
                )
                s.add(talk)
                s.flush()
                if talk.status == "invited":
                    continue
                for question in rng.sample(questions, rng.randint(0, len(questions))):
                    skipped = rng.random() < 0.1
                    s.add(
                        Answer(
                            conversation_id=talk.id,
                            question_id=question.id,
                            value=None if skipped else _value(rng, question),
                            understood=rng.random() < 0.85,
                            skipped=skipped,
                            created_at=launched + timedelta(days=30) * rng.random(),
                        )
                    )
    return campaigns


def _value(rng: random.Random, question: Question) -> Any:
    if question.kind == "yes_no":
        return rng.choice(("oui", "non"))
    if question.kind == "scale":
        return rng.randint(1, 5)
    if question.kind == "text":
        return rng.choice(("Plus de bénévoles", "Le mercredi"))
    values = [c["value"] for c in question.choices] + ["ancien-choix"]  # one no label names
    if question.kind == "multiple":
        return rng.sample(values, 2)
    return rng.choice(values)


# --- the reference: each row, one by one ---------------------------------------------------


def _in_scope(scope: Scope, quartier: int | None) -> bool:
    if scope.quartier_ids is not None and quartier not in scope.quartier_ids:
        return False
    return scope.quartier is None or quartier == scope.quartier


def reference(session: Session, period: Period, scope: Scope) -> dict[str, Any]:
    bounds = period.bounds(TZ)
    start, end = bounds[0], bounds[-1]
    people = {p.id: p for p in session.scalars(select(Participant))}
    codes = {c.code: c for c in session.scalars(select(JoinCode))}
    names = {c.id: c for c in codes.values()}
    talks = {c.id: c for c in session.scalars(select(Conversation))}
    contributions = list(session.scalars(select(Contribution)))
    counted = [
        c
        for c in contributions
        if start <= c.created_at < end
        and _in_scope(scope, c.quartier_id)
        and not (c.participant_id and people[c.participant_id].is_test)
    ]
    # (habitant, where it counts, action, contribution or None, face to face, at)
    activity = []
    for c in counted:
        if c.participant_id is not None:
            p = people[c.participant_id]
            brought = codes[p.joined_via].id if p.joined_via in codes else None
            face = c.action_id is not None
            action = c.action_id if face else brought
            activity.append((p.id, c.quartier_id, action, c.id, face, c.created_at))
    for a in session.scalars(select(Answer)):
        talk = talks[a.conversation_id]
        if not a.understood or not start <= a.created_at < end or talk.participant_id is None:
            continue
        p = people[talk.participant_id]
        if p.is_test or not _in_scope(scope, p.quartier_id):
            continue
        brought = codes[p.joined_via].id if p.joined_via in codes else None
        face = talk.action_id is not None
        action = talk.action_id if face else brought
        activity.append((p.id, p.quartier_id, action, None, face, a.created_at))
    active = {row[0] for row in activity}
    by_quartier: dict[int | None, set[int]] = {}
    for pid, quartier, *_ in activity:
        by_quartier.setdefault(quartier, set()).add(pid)
    written: dict[str, set[int]] = {}
    for c in counted:
        if c.participant_id is not None:
            written.setdefault(c.language, set()).add(c.participant_id)

    def month(at: datetime) -> int:
        return next(n for n, bound in enumerate(bounds[1:]) if at < bound)

    themes: dict[str, list[int]] = {}
    states: dict[str, list[int]] = {k: [0] * len(period.months) for k in ("suggere", "a_trier")}
    total = [0] * len(period.months)
    theme_codes = {t.id: t.code for t in session.scalars(select(Theme))}
    for c in counted:
        sources = {cat.source for cat in c.categorisations}
        for cat in c.categorisations:
            if cat.source == "staff":
                themes.setdefault(theme_codes[cat.theme_id], [0] * len(total))[
                    month(c.created_at)
                ] += 1
        if "staff" not in sources:
            state = "suggere" if "suggestion" in sources else "a_trier"
            states[state][month(c.created_at)] += 1
        total[month(c.created_at)] += 1
    per_action: dict[str, list[Any]] = {}
    for pid, _quartier, action, contribution, face, at in activity:
        if action is None:
            continue
        row = per_action.setdefault(names[action].code, [set(), set(), set(), set()])
        row[0].add(pid)
        if people[pid].first_seen_at >= start:
            row[1].add(pid)
        if contribution is not None:
            row[2].add(contribution)
        if face:
            row[3].add(at.astimezone(ZONE).date())
    return {
        "participants": len(active),
        "new": sum(1 for pid in active if people[pid].first_seen_at >= start),
        "contributions": len(counted),
        "channel": dict(Counter(people[pid].channel for pid in active)),
        "language": dict(Counter(people[pid].language for pid in active)),
        "quartier": {q: len(pids) for q, pids in by_quartier.items()},
        "written": {lang: len(pids) for lang, pids in written.items()},
        "themes": {**themes, **{k: v for k, v in states.items() if any(v)}, "total": total},
        "actions": {
            code: (len(r[0]), len(r[1]), len(r[2]), len(r[3])) for code, r in per_action.items()
        },
        "age": dict(Counter(people[p].age_range for p in active if people[p].age_range)),
        "gender": dict(Counter(people[p].gender for p in active if people[p].gender)),
    }


def figures(session: Session, found: Indicators, field: actions.FieldFigures) -> dict[str, Any]:
    names = {q: n for q, n in session.execute(select(Quartier.id, Quartier.name))}
    by_name = {name: q for q, name in names.items()}
    labels = {str(v): k for k, v in AGE_RANGES.items()} | {str(v): k for k, v in GENDERS.items()}
    return {
        "participants": found.participants,
        "new": found.new_participants,
        "contributions": found.contributions,
        "channel": {k: c.value for k, c in found.by_channel.rows},
        "language": {k: c.value for k, c in found.by_language.rows},
        "quartier": {by_name.get(k): c.value for k, c in found.by_quartier.rows},
        "written": {k: c.value for k, c in found.by_written_language.rows},
        "themes": {row.key: row.per_month for row in found.themes if any(row.per_month)},
        "actions": {
            row.code: (row.participants.value, row.new.value, row.contributions, row.days)
            for row in field.actions
        },
        "age": {labels[k]: c.value for k, c in field.by_age},
        "gender": {labels[k]: c.value for k, c in field.by_gender},
    }


@pytest.mark.parametrize("seed", [1])
def test_the_dashboard_counts_what_its_definitions_say(runtime: Runtime, seed: int) -> None:
    world(runtime, seed)
    with runtime.sessions() as session:
        quartiers = sorted(session.scalars(select(Quartier.id)))
        for period in PERIODS:
            bounds = period.bounds(TZ)
            for scope in (
                Scope(),
                Scope(None, quartiers[0]),
                Scope(frozenset(quartiers[1:]), quartiers[2]),
            ):
                expected = reference(session, period, scope)
                activity = read_activity(session, bounds[0], bounds[-1], scope)
                found = compute(session, period, scope, TZ, activity=activity)
                field = actions.compute(session, bounds[0], bounds[-1], scope, TZ)
                assert figures(session, found, field) == expected, (period, scope)
                # The same figures whether the activity is shared or read again.
                assert compute(session, period, scope, TZ) == found


@pytest.mark.parametrize("seed", [3])
def test_campaign_results_count_each_answer_as_read_one_by_one(runtime: Runtime, seed: int) -> None:
    campaign_ids = world(runtime, seed)
    with runtime.sessions() as session:
        quartiers = sorted(session.scalars(select(Quartier.id)))
        names = dict(session.execute(select(Quartier.id, Quartier.name)).all())
        for campaign_id in campaign_ids:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            for scope in (Scope(), Scope(frozenset(quartiers[:2])), Scope(None, quartiers[2])):
                found = campaign_results(session, campaign, scope)
                people = campaign_people(session, campaign, scope)
                started = started_conversations(session, campaign, scope)
                assert found.funnel == funnel_of(people, started)
                assert campaign_funnel(session, campaign, scope) == found.funnel
                where = {p.id: (names.get(p.quartier_id, "?"), p.channel) for p in people}
                for index, name in ((0, "quartier"), (1, "channel")):
                    groups: dict[str, list[Any]] = {}
                    for p in people:
                        groups.setdefault(where[p.id][index], []).append(p)
                    expected = sorted((k, funnel_of(g, started)) for k, g in groups.items())
                    got = found.by_quartier if name == "quartier" else found.by_channel
                    assert got == expected, (scope, name)
                answers = session.scalars(
                    select(Answer)
                    .where(
                        Answer.conversation_id.in_([p.id for p in people]),
                        Answer.understood.is_(True),
                    )
                    .order_by(Answer.id)
                ).all()
                codes = dict(session.execute(select(Quartier.code, Quartier.name)).all())
                questions = {q.id: q for q in campaign.survey.questions}
                for question in found.questions:
                    mine = [a for a in answers if a.question_id == question.question_id]
                    assert question.skipped == sum(a.skipped for a in mine)
                    assert question.answered == sum(not a.skipped for a in mine)
                    if question.kind == "text":
                        continue
                    labels = _labels(questions[question.question_id], codes)
                    tally: Counter[str] = Counter()
                    for a in mine:
                        if not a.skipped:
                            for v in a.value if isinstance(a.value, list) else [a.value]:
                                tally[labels.get(str(v), str(v))] += 1
                    order = list(labels.values())
                    order += [label for label in tally if label not in order]  # first seen
                    assert question.counts == [(label, tally[label]) for label in order]
                rows: Counter[int] = Counter()
                for position, _text, _label, _q, _c, n in found.rows:
                    rows[position] += n
                for question in found.questions:
                    if question.kind != "text":
                        assert rows[question.position] == sum(n for _, n in question.counts)
