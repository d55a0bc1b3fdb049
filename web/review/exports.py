"""Exports of contributions and survey answers, as CSV or XLSX, filtered as on screen.

Pseudonyms only: no phone number, chat id or masked address ever leaves through an export.
Each export is written to the audit log (who, what, which filters, how many rows) before the
file is sent. Cells a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) stay plain text:
a habitant's message must never become a formula on a colleague's computer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    render_template,
    request,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session, aliased

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
    Theme,
    User,
)
from web.auth import permission_required, visible_quartiers, visible_surveys
from web.db import get_runtime, get_session
from web.params import parse_int
from web.review.filters import Filters
from web.review.inbox import filter_choices, filtered
from web.tables import FORMATS, audit_export, plain, send_table
from web.texts import localised
from web.theme_state import view_of

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
    rows = _contribution_rows(_contributions_query(filters))
    return send_table(fmt, "contributions", _columns(CONTRIBUTION_COLUMNS), rows)


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


def _contributions_query(filters: Filters) -> Select[Any]:
    """The columns an export writes, without the ORM: the quartier and the pseudonym joined,
    newest first, scoped and filtered like the inbox."""
    query = (
        select(
            Contribution.id,
            Contribution.created_at,
            Quartier.code.label("quartier_code"),
            Quartier.name.label("quartier_name"),
            Contribution.channel,
            Contribution.language,
            Contribution.kind,
            Contribution.survey_id,
            Contribution.question_id,
            Contribution.late,
            Contribution.status,
            Contribution.text,
            Contribution.personal_data_version,
            Contribution.media,
            Participant.pseudonym,
            Contribution.action_id,
            Contribution.intervenant_id,
        )
        .outerjoin(Quartier, Quartier.id == Contribution.quartier_id)
        .outerjoin(Participant, Participant.id == Contribution.participant_id)
    )
    ordered: Select[Any] = filtered(filters, query)
    return ordered.order_by(Contribution.created_at.desc(), Contribution.id.desc())


class _Categorised(NamedTuple):
    """One of a contribution's thèmes, as `theme_state.view_of` reads it."""

    source: str
    theme: Theme
    confidence: float | None
    detail: dict[str, Any] | None = None  # the explaining words: never exported


def _contribution_rows(query: Select[Any]) -> Iterator[list[Any]]:
    """The rows streamed from the database a batch at a time; per batch, one statement for
    the thèmes and one for the stored personal-data spans (`Masker`)."""
    db = get_session()
    context = _Context(db)
    rows = db.execute(query.execution_options(yield_per=BATCH))
    for chunk in rows.partitions():
        yield from _contribution_chunk(chunk, context)


class _Context:
    """What every row of a contributions export shares, read once."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.surveys = dict(db.execute(select(Survey.id, Survey.slug)).all())
        self.questions = dict(db.execute(select(Question.id, Question.position)).all())
        self.themes = {theme.id: theme for theme in db.scalars(select(Theme))}
        self.field_source = _FieldSource()
        self.masker = Masker(db)  # personal data masked, as on every page
        self.zone = ZoneInfo(get_runtime().settings.timezone)

    def categorisations(self, ids: list[int]) -> dict[int, list[_Categorised]]:
        found: dict[int, list[_Categorised]] = {i: [] for i in ids}
        for cid, source, theme_id, confidence in self.db.execute(
            select(
                Categorisation.contribution_id,
                Categorisation.source,
                Categorisation.theme_id,
                Categorisation.confidence,
            )
            .where(Categorisation.contribution_id.in_(ids))
            .order_by(Categorisation.id)
        ):
            found[cid].append(_Categorised(source, self.themes[theme_id], confidence))
        return found


def _contribution_chunk(chunk: Sequence[Row[Any]], context: _Context) -> Iterator[list[Any]]:
    ids = [row.id for row in chunk]
    texts = context.masker.contribution_texts(
        (row.id, row.text, row.personal_data_version) for row in chunk
    )
    themes = context.categorisations(ids)
    surveys, questions, zone = context.surveys, context.questions, context.zone
    for c in chunk:
        view = view_of(themes[c.id])
        suggestion = view.suggestions[0] if view.suggestions else None
        yield [
            c.id,
            c.created_at.astimezone(zone).isoformat(timespec="seconds"),
            c.quartier_code or "",
            c.quartier_name or "",
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
            len(c.media or ()),
            c.pseudonym or "",
            *context.field_source(c.action_id, c.intervenant_id),
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
