"""A campaign's results: who was reached, who answered, and what, per question, quartier, channel.

Computed from the campaign's conversations and answers, never counting a staff test phone, and
for a conseil citoyen only over the habitants of its quartiers. A campaign is at most a few
thousand answers: one query brings them, Python counts them, and the page, the chart and the
CSV/XLSX file all read the same counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bots.personal_data_job import Masker
from storage.models import (
    Answer,
    Campaign,
    Categorisation,
    Contribution,
    Conversation,
    Participant,
    Quartier,
    Question,
)
from web.counts import Funnel, Scope, campaign_people, funnel_of, started_conversations
from web.theme_state import theme_view

YES_NO = {"oui": "Oui", "non": "Non"}


@dataclass
class QuestionResult:
    position: int
    text: str
    kind: str
    counts: list[tuple[str, int]] = field(default_factory=list)  # (answer label, habitants)
    answered: int = 0
    skipped: int = 0
    texts: list[tuple[str, list[str], bool]] = field(default_factory=list)  # text, thèmes, sure

    def chart(self) -> dict[str, Any]:
        return {"labels": [label for label, _ in self.counts], "data": [n for _, n in self.counts]}


@dataclass
class Results:
    funnel: Funnel
    questions: list[QuestionResult]
    by_quartier: list[tuple[str, Funnel]]
    by_channel: list[tuple[str, Funnel]]
    rows: list[list[Any]]  # the export: question, intitulé, réponse, quartier, canal, nombre


def campaign_results(session: Session, campaign: Campaign, scope: Scope) -> Results:
    people = campaign_people(session, campaign, scope)
    answers = session.execute(
        select(Answer.conversation_id, Answer.question_id, Answer.value, Answer.skipped)
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .join(Participant, Participant.id == Conversation.participant_id)
        .where(Conversation.campaign_id == campaign.id, Answer.understood.is_(True))
        .where(*scope.conditions())
        .order_by(Answer.id)
    ).all()
    quartiers = dict(session.execute(select(Quartier.id, Quartier.name)).all())
    codes = dict(session.execute(select(Quartier.code, Quartier.name)).all())
    started = started_conversations(session, campaign, scope)
    where = {p.id: (quartiers.get(p.quartier_id, "?"), p.channel) for p in people}

    def funnel(rows: Iterable[Any]) -> Funnel:
        return funnel_of(rows, started)

    questions = list(
        session.scalars(
            select(Question)
            .where(Question.survey_id == campaign.survey_id)
            .order_by(Question.position)
        )
    )
    by_question: dict[int, list[Any]] = {}
    for answer in answers:
        by_question.setdefault(answer.question_id, []).append(answer)
    results, rows = [], []
    for question in questions:
        labels = _labels(question, codes)
        result = QuestionResult(question.position, _fr(question.text), question.kind)
        tally: Counter[str] = Counter()
        detail: Counter[tuple[str, str, str]] = Counter()
        for answer in by_question.get(question.id, ()):
            if answer.skipped:
                result.skipped += 1
                continue
            result.answered += 1
            if question.kind == "text":
                continue
            values = answer.value if isinstance(answer.value, list) else [answer.value]
            for value in values:
                label = labels.get(str(value), str(value))
                tally[label] += 1
                detail[(label, *where.get(answer.conversation_id, ("?", "?")))] += 1
        order = list(labels.values()) or sorted(tally)
        result.counts = [(label, tally[label]) for label in order] + [
            (label, n) for label, n in tally.items() if label not in order
        ]
        if question.kind == "text":
            result.texts = _texts(session, campaign, question, scope)
        rows.extend(
            [question.position, result.text, label, quartier, channel, n]
            for (label, quartier, channel), n in sorted(detail.items())
        )
        results.append(result)
    by_quartier: dict[str, list[Any]] = {}
    by_channel: dict[str, list[Any]] = {}
    for person in people:
        name, channel = where[person.id]
        by_quartier.setdefault(name, []).append(person)
        by_channel.setdefault(channel, []).append(person)
    return Results(
        funnel(people),
        results,
        sorted((name, funnel(group)) for name, group in by_quartier.items()),
        sorted((name, funnel(group)) for name, group in by_channel.items()),
        rows,
    )


def _fr(texts: dict[str, Any]) -> str:
    return str(texts.get("fr") or next(iter(texts.values()), ""))


def _labels(question: Question, quartiers: dict[str, str]) -> dict[str, str]:
    """Value -> French label, in the order the habitant saw them."""
    if question.kind == "yes_no":
        return dict(YES_NO)
    if question.kind == "scale":
        return {str(n): str(n) for n in range(1, 6)}
    if question.kind == "quartier":
        return dict(quartiers)
    return {c["value"]: c["labels"].get("fr", c["value"]) for c in question.choices}


def _texts(
    session: Session, campaign: Campaign, question: Question, scope: Scope
) -> list[tuple[str, list[str], bool]]:
    """Free-text answers with their thèmes: confirmed by the team, else the suggestion."""
    rows = session.scalars(
        select(Contribution)
        .join(Participant, Participant.id == Contribution.participant_id)
        .where(
            Contribution.campaign_id == campaign.id,
            Contribution.question_id == question.id,
            *scope.conditions(),
        )
        .options(selectinload(Contribution.categorisations).selectinload(Categorisation.theme))
        .order_by(Contribution.id)
        .limit(500)
    )
    contributions = list(rows)
    texts = Masker(session).contributions(contributions)  # personal data masked
    listed = []
    for contribution in contributions:
        view = theme_view(contribution)
        text = texts[contribution.id]
        if view.confirmed:
            listed.append((text, [t.name for t in view.confirmed], True))
        else:
            listed.append((text, [t.name for t, _ in view.suggestions[:1]], False))
    return listed
