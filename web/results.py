"""A campaign's results: who was reached, who answered, and what, per question, quartier, channel.

Computed from the campaign's conversations and answers, never counting a staff test phone, and
for a conseil citoyen only over the habitants of its quartiers. A campaign is at most a few
thousand answers: the database groups them (by question, value, quartier, channel), Python adds
the groups up, and the page, the chart and the CSV/XLSX file all read the same counts.

`protected(results)` is what a conseil citoyen, every export and the public page see: the
counts of 1 to 4 shown "< 5" with the complementary suppression of `web.counts.protect`, per
question, per column of the quartier and channel tables, and in the export per (question,
answer) group, the margin the page publishes beside it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Text, case, cast, func, null, select
from sqlalchemy.orm import Session, selectinload

from bots.personal_data_job import Masker
from storage.models import (
    Answer,
    Campaign,
    Categorisation,
    Contribution,
    Conversation,
    Participant,
    PublicQuote,
    Quartier,
    Question,
)
from web.counts import Cell, Funnel, FunnelGroup, Scope, add_groups, funnel_groups, protect, small
from web.theme_state import theme_view

YES_NO = {"oui": "Oui", "non": "Non"}


@dataclass(frozen=True)
class FreeText:
    """A free-text answer: its thèmes (confirmed, else the suggestion) and if it is published."""

    text: str
    themes: list[str]
    sure: bool
    contribution_id: int
    quoted: bool


@dataclass
class QuestionResult:
    position: int
    text: str
    kind: str
    counts: list[tuple[str, int | str]] = field(default_factory=list)  # (label, habitants)
    answered: int | str = 0
    skipped: int | str = 0
    texts: list[FreeText] = field(default_factory=list)
    question_id: int = 0

    def top(self) -> int:
        """The longest bar, for the public page's meters."""
        return max((n for n in self.chart()["data"] if n is not None), default=0)

    def chart(self) -> dict[str, Any]:
        """The bars: a hidden count has none, a blurred one stands at its lower bound."""
        return {
            "labels": [label for label, _ in self.counts],
            "data": [_bar(n) for _, n in self.counts],
        }


def _bar(shown: int | str) -> int | None:
    if isinstance(shown, int):
        return shown
    return int(shown[2:]) if shown.startswith("≥ ") else None


@dataclass(frozen=True)
class ShownFunnel:
    """A funnel as shown: exact numbers, or "< 5" and lower bounds."""

    invited: int | str
    started: int | str
    finished: int | str
    stopped: int | str


def shown_funnel(funnel: Funnel, cells: tuple[Cell, ...] | None = None) -> ShownFunnel:
    values = cells or tuple(
        small(n) for n in (funnel.invited, funnel.started, funnel.finished, funnel.stopped)
    )
    return ShownFunnel(*(c.shown for c in values))


@dataclass
class Results:
    funnel: Funnel | ShownFunnel
    questions: list[QuestionResult]
    by_quartier: list[tuple[str, Funnel | ShownFunnel]]
    by_channel: list[tuple[str, Funnel | ShownFunnel]]
    rows: list[list[Any]]  # the export: question, intitulé, réponse, quartier, canal, nombre
    protected: bool = False


def protected(results: Results) -> Results:
    """The same results with small counts protected (see the module's docstring)."""
    if results.protected:
        return results
    questions = []
    for question in results.questions:
        cells = protect([int(n) for _, n in question.counts])
        questions.append(
            replace(
                question,
                counts=[
                    (label, c.shown) for (label, _), c in zip(question.counts, cells, strict=True)
                ],
                answered=small(int(question.answered)).shown,
                skipped=small(int(question.skipped)).shown,
            )
        )
    assert isinstance(results.funnel, Funnel)
    return Results(
        shown_funnel(results.funnel),
        questions,
        _protect_groups(results.by_quartier),
        _protect_groups(results.by_channel),
        _protect_rows(results.rows),
        protected=True,
    )


def _protect_groups(groups: list[tuple[str, Any]]) -> list[tuple[str, Funnel | ShownFunnel]]:
    """Each column of a breakdown is protected as one table."""
    columns = [
        protect([getattr(funnel, name) for _, funnel in groups])
        for name in ("invited", "started", "finished", "stopped")
    ]
    return [
        (name, shown_funnel(Funnel(), tuple(column[i] for column in columns)))
        for i, (name, _funnel) in enumerate(groups)
    ]


def _protect_rows(rows: list[list[Any]]) -> list[list[Any]]:
    """Export rows: counts protected within each (question, answer) group."""
    groups: dict[tuple[Any, Any], list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault((row[0], row[2]), []).append(index)
    shown = [list(row) for row in rows]
    for indexes in groups.values():
        for index, cell in zip(indexes, protect([rows[i][5] for i in indexes]), strict=True):
            shown[index][5] = cell.shown
    return shown


def campaign_results(
    session: Session, campaign: Campaign, scope: Scope, *, quoted_only: bool = False
) -> Results:
    """Everything the results page shows; `quoted_only` keeps only the free-text answers a
    staff member chose to publish (the public page).

    The database counts: answers grouped by question, value, quartier and channel (a free
    text's value is left out, only its count matters here), conversations grouped by quartier,
    channel, status and started; Python only adds up a few hundred groups."""
    quartiers: dict[int | None, str] = dict(
        session.execute(select(Quartier.id, Quartier.name)).all()
    )
    codes = dict(session.execute(select(Quartier.code, Quartier.name)).all())
    questions = list(
        session.scalars(
            select(Question)
            .where(Question.survey_id == campaign.survey_id)
            .order_by(Question.position)
        )
    )
    free = [q.id for q in questions if q.kind == "text"]
    value = cast(Answer.value, Text)
    shown = case((Answer.question_id.in_(free), null()), else_=value) if free else value
    answers = session.execute(
        select(
            Answer.question_id,
            Answer.skipped,
            shown,
            Participant.quartier_id,
            Participant.channel,
            func.count(),
            func.min(Answer.id),
        )
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .join(Participant, Participant.id == Conversation.participant_id)
        .where(Conversation.campaign_id == campaign.id, Answer.understood.is_(True))
        .where(*scope.conditions())
        .group_by(
            Answer.question_id, Answer.skipped, shown, Participant.quartier_id, Participant.channel
        )
    ).all()
    by_question: dict[int, list[Any]] = {}
    # In the order of each group's first answer: a value no label names is listed where it
    # first appeared, as when the answers were read one by one.
    for row in sorted(answers, key=lambda row: row[6]):
        by_question.setdefault(row[0], []).append(row)
    results: list[QuestionResult] = []
    rows: list[list[Any]] = []
    for question in questions:
        labels = _labels(question, codes)
        result = QuestionResult(
            question.position, _fr(question.text), question.kind, question_id=question.id
        )
        tally: Counter[str] = Counter()
        answered = skipped = 0
        detail: Counter[tuple[str, str, str]] = Counter()
        for _qid, is_skipped, text, quartier_id, channel, n, _first in by_question.get(
            question.id, ()
        ):
            if is_skipped:
                skipped += n
                continue
            answered += n
            if question.kind == "text":
                continue
            decoded = None if text is None else json.loads(text)
            values = decoded if isinstance(decoded, list) else [decoded]
            for one in values:
                label = labels.get(str(one), str(one))
                tally[label] += n
                detail[(label, quartiers.get(quartier_id, "?"), channel)] += n
        order = list(labels.values()) or sorted(tally)
        result.answered, result.skipped = answered, skipped
        result.counts = [(label, tally[label]) for label in order]
        result.counts += [(label, n) for label, n in tally.items() if label not in order]
        if question.kind == "text":
            result.texts = _texts(session, campaign, question, scope, quoted_only)
        rows.extend(
            [question.position, result.text, label, quartier, channel, n]
            for (label, quartier, channel), n in sorted(detail.items())
        )
        results.append(result)
    groups = funnel_groups(session, campaign, scope)
    by_quartier: dict[str, list[FunnelGroup]] = {}
    by_channel: dict[str, list[FunnelGroup]] = {}
    for group in groups:
        by_quartier.setdefault(quartiers.get(group.quartier_id, "?"), []).append(group)
        by_channel.setdefault(group.channel, []).append(group)
    return Results(
        add_groups(groups),
        results,
        sorted((name, add_groups(group)) for name, group in by_quartier.items()),
        sorted((name, add_groups(group)) for name, group in by_channel.items()),
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
    session: Session, campaign: Campaign, question: Question, scope: Scope, quoted_only: bool
) -> list[FreeText]:
    """Free-text answers with their thèmes: confirmed by the team, else the suggestion."""
    quoted = select(PublicQuote.contribution_id)
    query = select(Contribution)
    if quoted_only:
        query = query.where(Contribution.id.in_(quoted))
    published = set(
        session.scalars(
            quoted.join(Contribution, Contribution.id == PublicQuote.contribution_id).where(
                Contribution.campaign_id == campaign.id
            )
        )
    )
    rows = session.scalars(
        query.join(Participant, Participant.id == Contribution.participant_id)
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
        sure = bool(view.confirmed)
        themes = [t.name for t in view.confirmed] or [s.theme.name for s in view.suggestions[:1]]
        listed.append(
            FreeText(
                texts[contribution.id], themes, sure, contribution.id, contribution.id in published
            )
        )
    return listed


def question_counts(session: Session, campaign: Campaign, scope: Scope) -> Results:
    """The campaign's answers per question and value, counted by the database (`GROUP BY`),
    without the funnel, breakdowns or free texts: what the report charts. The same counts as
    `campaign_results(...).questions` (texts aside), to pass through `protected`."""
    grouped = session.execute(
        select(Answer.question_id, Answer.skipped, Answer.value, func.count())
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .join(Participant, Participant.id == Conversation.participant_id)
        .where(Conversation.campaign_id == campaign.id, Answer.understood.is_(True))
        .where(*scope.conditions())
        .group_by(Answer.question_id, Answer.skipped, Answer.value)
    ).all()
    codes = dict(session.execute(select(Quartier.code, Quartier.name)).all())
    by_question: dict[int, list[Any]] = {}
    for row in grouped:
        by_question.setdefault(row[0], []).append(row)
    results = []
    for question in session.scalars(
        select(Question).where(Question.survey_id == campaign.survey_id).order_by(Question.position)
    ):
        labels = _labels(question, codes)
        result = QuestionResult(
            question.position, _fr(question.text), question.kind, question_id=question.id
        )
        tally: Counter[str] = Counter()
        answered = skipped = 0
        for _question_id, was_skipped, value, n in by_question.get(question.id, ()):
            if was_skipped:
                skipped += n
                continue
            answered += n
            if question.kind == "text":
                continue
            for one in value if isinstance(value, list) else [value]:
                tally[labels.get(str(one), str(one))] += n
        order = list(labels.values()) or sorted(tally)
        result.answered, result.skipped = answered, skipped
        result.counts = [(label, tally[label]) for label in order]
        result.counts += [(label, n) for label, n in tally.items() if label not in order]
        results.append(result)
    return Results(Funnel(), results, [], [], [])
