"""Exports of contributions and survey answers, as CSV or XLSX, filtered as on screen.

Pseudonyms only: no phone number, chat id or masked address ever leaves through an export.
Each export is written to the audit log (who, what, which filters, how many rows) before the
file is sent. Cells a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) stay plain text:
a habitant's message must never become a formula on a colleague's computer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    render_template,
    request,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, selectinload

from bots.personal_data_job import Masker
from storage.models import (
    Answer,
    Categorisation,
    Contribution,
    Conversation,
    JoinCode,
    Participant,
    Quartier,
    Question,
    Survey,
    User,
)
from web.auth import permission_required, visible_quartiers, visible_surveys
from web.db import get_runtime, get_session
from web.params import parse_int
from web.review.filters import Filters
from web.review.inbox import filter_choices, filtered
from web.tables import FORMATS, audit_export, plain, send_table
from web.texts import localised
from web.theme_state import theme_view

bp = Blueprint("exports", __name__, url_prefix="/exports")
# The filters as the inbox labels them, to say which one an export refused.
FILTER_LABELS = {
    "q": _l("Rechercher dans les textes"),
    "quartier": _l("Quartier"),
    "canal": _l("Canal"),
    "theme": _l("Thème"),
    "etat": _l("Tri par thème"),
    "statut": _l("Statut"),
    "enquete": _l("Origine"),
    "question": _l("Question"),
    "pj": _l("Pièces jointes"),
    "du": _l("Depuis le"),
    "au": _l("Jusqu'au"),
}
BATCH = 1000

CONTRIBUTION_COLUMNS = (
    "id",
    "date",
    "quartier_code",
    "quartier",
    "canal",
    "langue",
    "origine",
    "enquete",
    "question",
    "reponse_tardive",
    "statut",
    "themes_confirmes",
    "theme_suggere",
    "confiance",
    "theme_habitant",
    "texte",
    "pieces_jointes",
    "participant",
)
ANSWER_COLUMNS = (
    "id",
    "date",
    "enquete",
    "campagne",
    "question",
    "intitule",
    "participant",
    "quartier_code",
    "canal",
    "langue",
    "valeur",
    "texte_brut",
    "langue_texte",  # the language the answer is written in (identified), else the habitant's
    "compris",
    "passee",
    "tardive",
)


@bp.route("/")
@permission_required("export")
def index(problems: dict[str, list[str]] | None = None, filters: Filters | None = None) -> Any:
    """The exports page; with `problems`, the filters of a refused export, each said by its
    field, answered 400 (no file: never an export of more than was asked)."""
    surveys = get_session().execute(
        select(Survey.id, Survey.title, Survey.slug).where(visible_surveys()).order_by(Survey.id)
    )
    return render_template(
        "review/exports.html",
        surveys=[(row.id, localised(row.title) or row.slug) for row in surveys],
        quartiers=visible_quartiers(),
        problems=problems or {},
        filters=filters or Filters(),
        labels=FILTER_LABELS,
    ), (400 if problems else 200)


@bp.route("/contributions.<fmt>")
@permission_required("export")
def contributions(fmt: str) -> Any:
    if fmt not in FORMATS:
        abort(404)
    filters = Filters.from_args(request.args)
    problems = filters.problems(filter_choices(filters))
    if problems:
        return index(problems, filters)
    count = get_session().scalar(filtered(filters, select(func.count(Contribution.id))))
    audit_export("contributions", fmt, filters.to_args(), count or 0)
    query = filtered(filters, select(Contribution)).order_by(
        Contribution.created_at.desc(), Contribution.id.desc()
    )
    return send_table(
        fmt, "contributions", _columns(CONTRIBUTION_COLUMNS), _contribution_rows(query)
    )


@bp.route("/reponses.<fmt>")
@permission_required("export")
def answers(fmt: str) -> Any:
    if fmt not in FORMATS:
        abort(404)
    filters = Filters.from_args(request.args)
    problems = filters.problems(filter_choices(filters))
    if problems:
        return index(problems, filters)
    query = _answers_query(filters)
    count = get_session().scalar(select(func.count()).select_from(query.subquery()))
    audit_export("answers", fmt, filters.to_args(), count or 0)
    return send_table(fmt, "reponses", _columns(ANSWER_COLUMNS), _answer_rows(query))


# An answer with its conversation, question, survey slug, participant and quartier code.
AnswerQuery = Select[Answer, Conversation, Question, str, Participant, str]


def _columns(base: tuple[str, ...]) -> tuple[str, ...]:
    """The field's action for everyone; who wrote it down only for the team, never for a
    conseil citoyen (an intervenant is a person too)."""
    return (*base, "action", *(("intervenant",) if current_user.sees_all_quartiers else ()))


class _FieldSource:
    """The action's code, and the intervenant's name for the team (see `_columns`)."""

    def __init__(self) -> None:
        db = get_session()
        self.codes = dict(db.execute(select(JoinCode.id, JoinCode.code)).all())
        self.people = {u.id: u.name or u.email for u in db.scalars(select(User))}
        self.team = bool(current_user.sees_all_quartiers)

    def __call__(self, action_id: int | None, intervenant_id: int | None) -> list[Any]:
        found = [self.codes.get(action_id, "") if action_id else ""]
        if self.team:
            found.append(self.people.get(intervenant_id, "") if intervenant_id else "")
        return found


def _local(value: datetime) -> str:
    zone = ZoneInfo(get_runtime().settings.timezone)
    return value.astimezone(zone).isoformat(timespec="seconds")


# --- contributions ----------------------------------------------------------------------------


def _contribution_rows(query: Select[Any]) -> Iterator[list[Any]]:
    db = get_session()
    surveys = dict(db.execute(select(Survey.id, Survey.slug)).all())
    questions = dict(db.execute(select(Question.id, Question.position)).all())
    field_source = _FieldSource()
    options = (
        selectinload(Contribution.categorisations).selectinload(Categorisation.theme),
        selectinload(Contribution.quartier),
        selectinload(Contribution.participant),
    )
    masker = Masker(db)  # personal data masked, as on every page
    chunk: list[Contribution] = []
    for c in db.scalars(query.options(*options).execution_options(yield_per=BATCH)):
        chunk.append(c)
        if len(chunk) >= BATCH:
            yield from _contribution_chunk(chunk, masker, surveys, questions, field_source)
            chunk = []
    yield from _contribution_chunk(chunk, masker, surveys, questions, field_source)


def _contribution_chunk(
    chunk: list[Contribution],
    masker: Masker,
    surveys: dict[Any, Any],
    questions: dict[Any, Any],
    field_source: _FieldSource,
) -> Iterator[list[Any]]:
    texts = masker.contributions(chunk)
    for c in chunk:
        view = theme_view(c)
        suggestion = view.suggestions[0] if view.suggestions else None
        yield [
            c.id,
            _local(c.created_at),
            c.quartier.code if c.quartier else "",
            c.quartier.name if c.quartier else "",
            c.channel,
            c.language,
            "libre" if c.kind == "free" else "enquete",
            surveys.get(c.survey_id, "") if c.survey_id else "",
            questions.get(c.question_id, "") if c.question_id else "",
            "oui" if c.late else "non",
            c.status,
            ";".join(t.code for t in view.confirmed),
            suggestion.theme.code if suggestion else "",
            round(suggestion.confidence, 3)
            if suggestion and suggestion.confidence is not None
            else "",
            ";".join(t.code for t in view.habitant),
            texts[c.id],
            len(c.media),
            c.participant.pseudonym if c.participant else "",
            *field_source(c.action_id, c.intervenant_id),
        ]


# --- survey answers ------------------------------------------------------------------------------


def _answers_query(filters: Filters) -> AnswerQuery:
    """Answers with their survey, question and participant, scoped and filtered like the inbox."""
    home = aliased(Quartier)
    query = (
        select(Answer, Conversation, Question, Survey.slug, Participant, home.code)
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Survey, Survey.id == Conversation.survey_id)
        .outerjoin(Participant, Participant.id == Conversation.participant_id)
        .outerjoin(home, home.id == Participant.quartier_id)
    )
    query = query.where(Participant.is_test.is_not(True))  # never a staff member's trial
    if not current_user.sees_all_quartiers:
        query = query.where(Participant.quartier_id.in_(current_user.quartier_ids))
    quartier = parse_int(filters.quartier)
    if quartier is not None:
        query = query.where(Participant.quartier_id == quartier)
    if filters.canal:
        query = query.where(Participant.channel == filters.canal)
    survey = parse_int(filters.enquete)
    if survey is not None:
        query = query.where(Conversation.survey_id == survey)
    question = parse_int(filters.question)
    if question is not None:
        query = query.where(Answer.question_id == question)
    query = query.where(*filters.period(Answer.created_at, get_runtime().settings.timezone))
    return query.order_by(Survey.slug, Conversation.id, Question.position, Answer.id)


def _answer_rows(query: AnswerQuery) -> Iterator[list[Any]]:
    masker = Masker(get_session())
    field_source = _FieldSource()
    chunk: list[Any] = []
    for row in get_session().execute(query.execution_options(yield_per=BATCH)):
        chunk.append(row)
        if len(chunk) >= BATCH:
            yield from _answer_chunk(chunk, masker, field_source)
            chunk = []
    yield from _answer_chunk(chunk, masker, field_source)


def _answer_chunk(
    chunk: list[Any], masker: Masker, field_source: _FieldSource
) -> Iterator[list[Any]]:
    texts = masker.answers((row[0].id, row[0].raw_text or "") for row in chunk)
    for answer, conversation, question, slug, participant, quartier_code in chunk:
        yield [
            answer.id,
            _local(answer.created_at),
            slug,
            conversation.campaign_id or "",
            question.position,
            localised(question.text),
            participant.pseudonym if participant else "",
            quartier_code or "",
            participant.channel if participant else "",
            participant.language if participant else "",
            plain(answer.value),
            texts[answer.id],
            answer.language or "",
            "oui" if answer.understood else "non",
            "oui" if answer.skipped else "non",
            "oui" if answer.late else "non",
            *field_source(conversation.action_id, conversation.intervenant_id),
        ]
