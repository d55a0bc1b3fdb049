"""Surveys between the database and the engine: store a spec, read it back as a spec."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bots.prompts import ThemeEntry, load_ready_made_surveys, load_themes
from bots.surveys import Choice, QuestionSpec, SurveySpec
from storage.models import JoinCode, Question, Survey, Theme


def spec_from_row(survey: Survey) -> SurveySpec:
    return SurveySpec(
        key=str(survey.id),
        title=survey.title,
        intro=survey.intro,
        outro=survey.outro,
        theme=survey.theme_code,
        max_reasks=survey.max_reasks,
        questions=tuple(
            QuestionSpec(
                position=q.position,
                kind=q.kind,
                text=q.text,
                choices=tuple(Choice(c["value"], c["labels"]) for c in q.choices),
                required=q.required,
                goto=q.goto,
                id=q.id,
            )
            for q in survey.questions
        ),
    )


def _choices_json(question: QuestionSpec) -> list[dict[str, Any]]:
    return [{"value": c.value, "labels": dict(c.labels)} for c in question.choices]


def questions_from_spec(spec: SurveySpec) -> list[Question]:
    """New question rows for a validated spec (a new survey, or an edited one)."""
    return [
        Question(
            position=q.position,
            kind=q.kind,
            text=dict(q.text),
            choices=_choices_json(q),
            required=q.required,
            goto=dict(q.goto),
        )
        for q in spec.questions
    ]


def save_spec(session: Session, spec: SurveySpec, slug: str, **fields: Any) -> Survey:
    """Insert a survey (and its questions) from a validated spec."""
    survey = Survey(
        slug=slug,
        title=dict(spec.title),
        intro=dict(spec.intro),
        outro=dict(spec.outro),
        theme_code=spec.theme,
        max_reasks=spec.max_reasks,
        **fields,
    )
    survey.questions = questions_from_spec(spec)
    session.add(survey)
    session.flush()
    return survey


def seed_prompts(session: Session) -> dict[str, int]:
    """Load the default thèmes and the ready-made surveys that are not in the database yet."""
    added = {"themes": 0, "surveys": 0}
    known_themes = set(session.scalars(select(Theme.code)))
    entries: tuple[ThemeEntry, ...] = load_themes()
    for position, entry in enumerate(entries):
        if entry.code in known_themes:
            continue
        # What habitants see when they pick a thème: the short label, else the name.
        labels = {"fr": entry.name, **entry.labels, **entry.short}
        session.add(
            Theme(
                code=entry.code,
                name=entry.name,
                labels=labels,
                description=entry.description,
                keywords=list(entry.keywords),
                colour=entry.colour,
                offered_to_habitants=entry.offered_to_habitants,
                position=position,
            )
        )
        added["themes"] += 1
    known_surveys = set(session.scalars(select(Survey.slug)))
    for spec, data in load_ready_made_surveys():
        if data["slug"] not in known_surveys:
            survey = save_spec(session, spec, data["slug"])
            # A keyword that starts the survey by SMS or /start: SCOLARITE, ALLERVERS...
            code = data["slug"].upper().replace("-", "")
            if session.scalars(select(JoinCode).where(JoinCode.code == code)).first() is None:
                session.add(
                    JoinCode(code=code, survey_id=survey.id, action="enquête prête à l'emploi")
                )
            added["surveys"] += 1
    session.flush()
    return added
