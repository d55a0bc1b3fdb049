"""Exports: filtered as on screen, pseudonyms only, formulas defused, every export audited."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Answer, AuditEntry, Conversation, Question, Survey
from tests.factories import make_contribution
from tests.web.conftest import Sample, Territory, login_as

FORMULA = '=HYPERLINK("http://evil.example","clic")'


def read_csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


def read_xlsx(response: Any) -> list[list[Any]]:
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    sheet = workbook.worksheets[0]
    rows = [[cell for cell in row] for row in sheet.iter_rows()]
    workbook.close()
    return rows


def audits(runtime: Runtime) -> list[AuditEntry]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == "export")))


def test_contributions_csv_is_filtered_pseudonymous_and_audited(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    with transaction(runtime.sessions) as session:
        make_contribution(session, channel="sms", text=FORMULA, quartier_id=territory.sud)
    login_as(client, territory.users["chef_de_projet"])
    rows = read_csv(client.get("/exports/contributions.csv?canal=simulator"))
    assert [row["texte"] for row in rows] == [
        "Les poubelles débordent [adresse]",  # personal data masked in exports too
        "Le banc du square est cassé",
    ]
    first = rows[1]
    assert first["quartier_code"] == "QP-NORD" and first["pieces_jointes"] == "1"
    assert len(first["participant"]) > 8 and first["participant"] not in ("", "None")
    response = client.get("/exports/contributions.csv?statut=tous")
    body = response.get_data(as_text=True)
    assert "639980001" not in body and "+33" not in body
    texts = {row["texte"] for row in read_csv(response)}
    assert "'" + FORMULA in texts  # a spreadsheet shows it, never runs it
    [first_export, second_export] = audits(runtime)
    assert first_export.target == "contributions"
    assert first_export.detail == {"format": "csv", "filters": {"canal": "simulator"}, "rows": 2}
    assert second_export.detail["rows"] == 3


def test_contributions_xlsx_keeps_text_as_text(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    with transaction(runtime.sessions) as session:
        make_contribution(session, text=FORMULA)
    login_as(client, territory.users["lecteur"])
    header, row = read_xlsx(client.get("/exports/contributions.xlsx"))
    texte = [cell.value for cell in header].index("texte")
    assert row[texte].value == FORMULA and row[texte].data_type == "s"
    assert audits(runtime)[0].detail["format"] == "xlsx"


def make_answers(runtime: Runtime, sample: Sample) -> Survey:
    with transaction(runtime.sessions) as session:
        survey = session.scalars(select(Survey).where(Survey.slug == "scolarite")).one()
        questions = list(
            session.scalars(
                select(Question).where(Question.survey_id == survey.id).order_by(Question.position)
            )
        )
        for participant_id in (sample.participant_nord, sample.participant_sud):
            conversation = Conversation(
                participant_id=participant_id, survey_id=survey.id, status="finished"
            )
            session.add(conversation)
            session.flush()
            session.add(
                Answer(
                    conversation_id=conversation.id,
                    question_id=questions[0].id,
                    raw_text="oui",
                    value="oui",
                )
            )
            session.add(
                Answer(
                    conversation_id=conversation.id,
                    question_id=questions[1].id,
                    raw_text="@SUM(A1)",
                    value=None,
                    understood=False,
                )
            )
        return survey


def test_answers_export_is_scoped_and_filtered(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    survey = make_answers(runtime, sample)
    login_as(client, territory.users["chef_de_projet"])
    rows = read_csv(client.get(f"/exports/reponses.csv?enquete={survey.id}"))
    assert len(rows) == 4
    assert {row["quartier_code"] for row in rows} == {"QP-NORD", "QP-SUD"}
    assert rows[0]["enquete"] == "scolarite" and rows[0]["question"] == "1"
    assert {row["texte_brut"] for row in rows} == {"oui", "'@SUM(A1)"}
    assert {row["compris"] for row in rows} == {"oui", "non"}
    assert read_csv(client.get(f"/exports/reponses.csv?quartier={territory.sud}")) != []
    assert client.get("/exports/reponses.csv?enquete=999").status_code == 400  # said, not empty
    assert read_csv(client.get("/exports/reponses.csv?du=2999-01-01")) == []
    login_as(client, territory.users["conseil_citoyen"])
    rows = read_csv(client.get("/exports/reponses.csv"))
    assert {row["quartier_code"] for row in rows} == {"QP-NORD"}
    header, *xlsx_rows = read_xlsx(client.get("/exports/reponses.xlsx"))
    assert len(xlsx_rows) == 2
    assert [e.detail["rows"] for e in audits(runtime)] == [
        4,
        2,
        0,
        2,
        2,
    ]  # the refused export (enquete=999) sent nothing, logged nothing


def test_unknown_format_is_not_found(client: Any, territory: Territory) -> None:
    login_as(client, territory.users["lecteur"])
    assert client.get("/exports/contributions.pdf").status_code == 404
    assert client.get("/exports/reponses.json").status_code == 404
