"""The contributions export reads its rows without the ORM and writes its own XLSX: for every
role and filter, over a random territory, it sends what the ORM export sent (the view as it was
up to issue 17, kept below as the reference): the same CSV, byte for byte, and the same XLSX
cells (`tests/web/xlsx_reference.py`: XlsxWriter, as it was written)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Blueprint, Response, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bots.personal_data_job import Masker, detect_pending
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import (
    ROLES,
    Categorisation,
    Contribution,
    JoinCode,
    PersonalDataMark,
    Question,
    StaffReply,
    Survey,
    Theme,
    ThreadMessage,
)
from tests.factories import make_contribution, make_participant, make_quartier
from tests.web.conftest import Territory, login_as
from tests.web.xlsx_reference import cells, xlsxwriter_file
from web.auth import permission_required
from web.db import get_session
from web.review.exports import (
    CONTRIBUTION_COLUMNS,
    _columns,
    _FieldSource,
    _local,
    filter_choices,
    index,
)
from web.review.filters import Filters
from web.review.inbox import filtered
from web.tables import send_table
from web.theme_state import theme_view

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
TEXTS = [
    "Appelez-moi au 06 12 34 56 78 pour les poubelles",
    "M. Dupont du 3e étage laisse ses poubelles dans l'escalier",
    "Les poubelles débordent rue des Lilas",
    "mon mail est habitant.nord@example.fr, répondez vite",
    "=SUM(A1) les enfants ont peur le soir",
    "  l'ascenseur du bâtiment B ne marche plus ",
    'Ligne 1\nLigne 2 ; avec "guillemets" et <balises> & co',
    "la famille Martin fait du bruit",
    "le grand momo deale devant l'école",
    "Le banc du square est cassé",
    "",
    "Je m'appelle Karim, la cantine de l'école est bien",
    "@tous réunion au centre social, sonnette \x07 cassée",
    "+33 6 11 22 33 44 ou 01 45 67 89 10, merci",
    "_x0041_ le bus 12 est en retard 😀",
]
CONFIDENCES = [None, 0.5, 0.5, 0.8123456, 0.31, 0.999]
MEDIA = [
    [],
    [],
    [{"kind": "photo", "file_id": "f1", "path": "photos/a.jpg", "mime": "image/jpeg"}],
    [{"kind": "voice", "file_id": "f2"}, {"kind": "photo", "file_id": "f3"}],
]


# --- the export as it was (ORM rows, XlsxWriter) ------------------------------------------------

reference = Blueprint("reference_export", __name__)


@reference.route("/reference-export/contributions.<fmt>")
@permission_required("export")
def reference_contributions(fmt: str) -> Any:
    filters = Filters.from_args(request.args)
    problems = filters.problems(filter_choices(filters))
    if problems:
        return index(problems, filters)
    query = filtered(filters, select(Contribution)).order_by(
        Contribution.created_at.desc(), Contribution.id.desc()
    )
    columns = _columns(CONTRIBUTION_COLUMNS)
    rows = _reference_rows(query)
    if fmt == "csv":
        return send_table("csv", "contributions", columns, rows)
    return Response(xlsxwriter_file("contributions", columns, rows))


def _reference_rows(query: Any) -> Iterator[list[Any]]:
    db = get_session()
    surveys = dict(db.execute(select(Survey.id, Survey.slug)).all())
    questions = dict(db.execute(select(Question.id, Question.position)).all())
    field_source = _FieldSource()
    options = (
        selectinload(Contribution.categorisations).selectinload(Categorisation.theme),
        selectinload(Contribution.quartier),
        selectinload(Contribution.participant),
    )
    masker = Masker(db)
    chunk: list[Contribution] = []
    for c in db.scalars(query.options(*options).execution_options(yield_per=7)):
        chunk.append(c)
        if len(chunk) >= 7:
            yield from _reference_chunk(chunk, masker, surveys, questions, field_source)
            chunk = []
    yield from _reference_chunk(chunk, masker, surveys, questions, field_source)


def _reference_chunk(
    chunk: list[Contribution],
    masker: Masker,
    surveys: dict[Any, Any],
    questions: dict[Any, Any],
    field_source: _FieldSource,
) -> Iterator[list[Any]]:
    # `Masker.contributions` as it was, before it read rows without the ORM too.
    texts = masker._mask(
        [(c.id, c.text or "", c.personal_data_version) for c in chunk], "contribution"
    )
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


# --- a random territory --------------------------------------------------------------------------


def fill(runtime: Runtime, territory: Territory, rng: random.Random) -> dict[str, str]:
    """Contributions of every kind, some read by the personal-data job, some not, maybe a
    mark added since; returns filter values that exist (a thème, a survey, a question)."""
    with transaction(runtime.sessions) as session:
        third = make_quartier(session, code="QP-EST", name="Les Érables").id
        places = [territory.nord, territory.sud, third, None]
        people = [
            make_participant(session, runtime, quartier_id=rng.choice(places)).id for _ in range(6)
        ] + [None]
        codes = [
            JoinCode(code=f"ACTION-{n}", quartier_id=territory.nord, action=f"porte {n}")
            for n in range(2)
        ]
        session.add_all(codes)
        session.flush()
        actions = [None, None, codes[0].id, codes[1].id]
        writers = [None, territory.users["intervenant"], territory.users["chef_de_projet"]]
        survey = session.scalars(select(Survey).where(Survey.slug == "scolarite")).one()
        asked = list(session.scalars(select(Question.id).where(Question.survey_id == survey.id)))
        themes = list(session.scalars(select(Theme.id).order_by(Theme.id)))[:5]
        days = [NOW - timedelta(days=rng.randrange(120)) for _ in range(12)]
        for _ in range(rng.randrange(40, 70)):
            answer = rng.random() < 0.3
            contribution = make_contribution(
                session,
                quartier_id=rng.choice(places),
                participant_id=rng.choice(people),
                channel=rng.choice(("sms", "telegram", "whatsapp", "terrain", "simulator")),
                language=rng.choice(("fr", "fr", "ar", "en")),
                kind="answer" if answer else "free",
                survey_id=survey.id if answer else None,
                question_id=rng.choice(asked) if answer else None,
                late=rng.random() < 0.2,
                status=rng.choice(("nouveau", "a_traiter", "traite", "archive")),
                text=rng.choice(TEXTS),
                media=rng.choice(MEDIA),
                created_at=rng.choice(days),  # equal times: the id breaks the tie
                action_id=rng.choice(actions),
                intervenant_id=rng.choice(writers),
            )
            for theme_id in rng.sample(themes, rng.randrange(4)):
                session.add(
                    Categorisation(
                        contribution_id=contribution.id,
                        theme_id=theme_id,
                        source=rng.choice(("staff", "suggestion", "suggestion", "habitant")),
                        confidence=rng.choice(CONFIDENCES),
                    )
                )
            if rng.random() < 0.15:
                asked_at = NOW - timedelta(hours=1)
                session.add(
                    ThreadMessage(contribution_id=contribution.id, text="Et ?", created_at=asked_at)
                )
                if rng.random() < 0.5:
                    session.add(StaffReply(contribution_id=contribution.id, created_at=NOW))
        total = session.scalar(select(func.count(Contribution.id))) or 0
        theme = session.scalars(select(Theme.code).where(Theme.id == themes[0])).one()
    detect_pending(runtime, NOW, limit=rng.randrange(total // 4, total))  # the newest ones
    if rng.random() < 0.5:  # a mark since: every text waits for the job again
        with transaction(runtime.sessions) as session:
            session.add(PersonalDataMark(phrase="grand momo", kind="name", verdict="mask"))
        detect_pending(runtime, NOW, limit=rng.randrange(total // 2))
    with runtime.sessions() as session:
        versions = session.scalars(select(Contribution.personal_data_version)).all()
        assert None in versions and len(set(versions)) > 1  # read and unread texts both
    return {"theme": theme, "enquete": str(survey.id), "question": str(asked[0])}


def filter_sets(territory: Territory, known: dict[str, str]) -> list[dict[str, str]]:
    return [
        {},
        {"statut": "tous"},
        {"q": "poubelles"},
        {"q": "dupont", "statut": "tous"},
        {"q": "cantine ecole"},
        {"quartier": str(territory.nord)},
        {"quartier": str(territory.sud), "statut": "traite"},
        {"theme": known["theme"]},
        {"etat": "a_trier"},
        {"etat": "suggere", "statut": "tous"},
        {"etat": "confirme"},
        {"enquete": "libre", "pj": "any"},
        {"enquete": known["enquete"], "question": known["question"]},
        {"pj": "photo"},
        {"canal": "sms", "langue": "fr"},
        {"du": (NOW - timedelta(days=60)).date().isoformat(), "au": NOW.date().isoformat()},
        {"suite": "attente"},
        {"quartier": "999999"},  # refused: said on the page, no file
    ]


@pytest.mark.parametrize("seed", [17, 2026])
def test_the_export_sends_what_the_orm_export_sent(
    app: Any, client: Any, runtime: Runtime, territory: Territory, seed: int
) -> None:
    app.register_blueprint(reference)
    known = fill(runtime, territory, random.Random(seed))
    compared = 0
    for role in ROLES:
        login_as(client, territory.users[role])
        for number, args in enumerate(filter_sets(territory, known)):
            formats = ("csv", "xlsx") if number < 3 else ("csv",)
            for fmt in formats:
                new = client.get(f"/exports/contributions.{fmt}", query_string=args)
                sent = new.get_data()  # a streamed body is read before the next request
                old = client.get(f"/reference-export/contributions.{fmt}", query_string=args)
                assert new.status_code == old.status_code, (role, args, fmt)
                if new.status_code != 200:
                    continue
                if fmt == "csv":
                    assert sent == old.get_data(), (role, args)
                    compared += sent.count(b"\n") - 1
                else:
                    assert cells(sent) == cells(old.get_data()), (role, args)
    assert compared > 100  # rows were compared, not only headers
    login_as(client, territory.users["chef_de_projet"])  # texts masked for every role
    masked = client.get("/exports/contributions.csv?statut=tous").get_data(as_text=True)
    assert "[téléphone]" in masked and "[nom]" in masked and "06 12 34 56 78" not in masked
