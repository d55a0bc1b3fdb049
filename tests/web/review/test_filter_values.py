"""Bad filter values: a clear message next to the filter, never a 500, never a wider result.

And what a conseil citoyen may not read through the filters: another quartier's survey titles
and question texts (inbox survey filter, `?enquete=<id>`, the exports page and its exports).
"""

from __future__ import annotations

import html
from typing import Any

import pytest
from sqlalchemy import func, select

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import AuditEntry, Question, Survey
from tests.web.conftest import Sample, Territory, login_as

# One value per filter that is none of the choices the page offers.
UNKNOWN = {
    "quartier": "QP-NORD",  # a quartier's code where its id is expected (the attack's case)
    "canal": "pigeon",
    "theme": "theme-qui-n-existe-pas",
    "etat": "bizarre",
    "statut": "perdu",
    "enquete": "999999",
    "question": "999999",
    "pj": "fax",
    "du": "hier",
    "au": "2026-13-45",
}
# The filters the answers export applies (the others concern contributions only).
ANSWER_FILTERS = ("quartier", "canal", "enquete", "question", "du", "au")
SECRET_TITLE = "Enquête secrète du Val Fleuri"
SECRET_QUESTION = "Que pensez-vous du nouveau gardien du Val ?"


def said_next_to(text: str, field: str) -> str:
    assert f'aria-describedby="err-{field}"' in text, field
    return text.split(f'id="err-{field}">')[1].split("</span>")[0]


def export_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return (
            session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "export"))
            or 0
        )


@pytest.mark.parametrize("name", sorted(UNKNOWN))
def test_an_unknown_value_in_an_inbox_filter_is_said_and_shows_nothing(
    client: Any, territory: Territory, sample: Sample, name: str
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    assert "Le banc du square" in html.unescape(client.get("/inbox/").text)
    response = client.get("/inbox/", query_string={name: UNKNOWN[name]})
    assert response.status_code == 400
    text = html.unescape(response.text)
    assert f"« {UNKNOWN[name]} » n'est pas" in said_next_to(text, name)
    assert "Le banc du square" not in text and "Les poubelles" not in text
    assert "aucune contribution n'est montrée" in text


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("name", sorted(UNKNOWN))
def test_an_unknown_value_in_a_contributions_export_refuses_the_export(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample, name: str, fmt: str
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    response = client.get(f"/exports/contributions.{fmt}", query_string={name: UNKNOWN[name]})
    assert response.status_code == 400 and response.mimetype == "text/html"
    text = html.unescape(response.text)
    assert "Export refusé" in text and f"« {UNKNOWN[name]} » n'est pas" in text
    assert "Le banc du square" not in text
    assert export_count(runtime) == 0


@pytest.mark.parametrize("name", ANSWER_FILTERS)
def test_an_unknown_value_in_an_answers_export_refuses_the_export(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample, name: str
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    response = client.get("/exports/reponses.xlsx", query_string={name: UNKNOWN[name]})
    assert response.status_code == 400 and response.mimetype == "text/html"
    text = html.unescape(response.text)
    assert f"« {UNKNOWN[name]} » n'est pas" in text
    if name in ("quartier", "enquete", "du", "au"):  # the fields of the page's own form
        assert f"« {UNKNOWN[name]} » n'est pas" in said_next_to(text, name)
    assert export_count(runtime) == 0


def test_the_attack_quartier_code_in_an_export_no_longer_exports_everything(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    good = client.get(f"/exports/contributions.csv?quartier={territory.nord}&statut=tous")
    assert good.status_code == 200 and len(good.data.decode("utf-8-sig").splitlines()) == 2
    assert client.get("/exports/contributions.xlsx?quartier=QP-SUD").status_code == 400


def test_another_quartier_is_no_choice_for_a_conseil(
    client: Any, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    response = client.get(f"/inbox/?quartier={territory.sud}")
    assert response.status_code == 400
    assert "Les poubelles" not in html.unescape(response.text)
    assert client.get(f"/exports/contributions.csv?quartier={territory.sud}").status_code == 400


@pytest.fixture
def sud_survey(runtime: Runtime, territory: Territory) -> tuple[int, int]:
    """A survey of the sud quartier only, with a title and a question nord must not read."""
    with transaction(runtime.sessions) as session:
        survey = Survey(
            slug="val-fleuri-gardien", title={"fr": SECRET_TITLE}, quartier_id=territory.sud
        )
        survey.questions.append(Question(position=1, kind="text", text={"fr": SECRET_QUESTION}))
        session.add(survey)
        session.flush()
        return survey.id, survey.questions[0].id


def test_a_conseil_reads_no_title_or_question_of_another_quartiers_survey(
    client: Any, territory: Territory, sample: Sample, sud_survey: tuple[int, int]
) -> None:
    survey_id, question_id = sud_survey
    login_as(client, territory.users["chef_de_projet"])
    assert SECRET_TITLE in html.unescape(client.get("/inbox/").text)  # the team sees it
    login_as(client, territory.users["conseil_citoyen"])
    for url in (
        "/inbox/",
        f"/inbox/?enquete={survey_id}",
        f"/inbox/?enquete={survey_id}&question={question_id}",
        "/exports/",
        f"/exports/reponses.csv?enquete={survey_id}",
        f"/exports/contributions.csv?enquete={survey_id}",
    ):
        text = html.unescape(client.get(url).get_data(as_text=True))
        assert SECRET_TITLE not in text and SECRET_QUESTION not in text, url
    assert client.get(f"/inbox/?enquete={survey_id}").status_code == 400
    assert client.get(f"/exports/reponses.csv?enquete={survey_id}").status_code == 400
    assert "Enquête : " in html.unescape(client.get("/inbox/").text)  # shared ones stay listed
