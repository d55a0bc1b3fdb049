"""Paper too: the printable A4 questionnaire, and the quick entry of filled sheets, which go
through the engine like a conversation and are recorded once per sheet."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import func, select

from bots.runtime import Runtime
from storage.models import Answer, Conversation
from tests.web.conftest import Territory, csrf_token, login_as, post
from tests.web.field.conftest import Field


def test_the_a4_sheet_has_the_questions_boxes_action_code_and_rgpd_line(
    client: Any, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    response = client.get(
        f"/terrain/enquetes/{field.campaign_nord}/papier?action={field.action_nord}"
    )
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "L'aide aux devoirs" in page and "porte-nord" in page
    assert "Avez-vous un enfant" in page and "Pendant les vacances" in page
    assert page.count('class="box"') >= 4 + 4 + 5 + 2  # every choice has its box
    assert "Si « non » : allez à la question 5." in page
    assert "anonymes" in page and "12 mois" in page


def sheet(territory: Territory, field: Field, **answers: Any) -> dict[str, Any]:
    return {
        "client_id": "0a0b0c0d0e0f0a0b",
        "quartier": str(territory.nord),
        "action": str(field.action_nord),
        **answers,
    }


def test_a_sheet_is_replayed_through_the_engine_and_recorded_once(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    url = f"/terrain/enquetes/{field.campaign_nord}/saisie"
    data = sheet(territory, field, q1="1", q2=["2", "4"], q3="5", q5="Plus de bénévoles")
    assert post(client, url, data).status_code == 303
    token = csrf_token(client, url)
    again = client.post(url, json=data, headers={"X-CSRFToken": token})
    assert (again.status_code, again.json["status"]) == (200, "duplicate")
    with runtime.sessions() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.status == "finished" and conversation.action_id == field.action_nord
        values = [a.value for a in session.scalars(select(Answer).order_by(Answer.id))]
        assert values == ["oui", ["association", "personne"], 5, None, "Plus de bénévoles"]


def test_a_required_question_left_blank_is_said_next_to_it_and_nothing_is_recorded(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    url = f"/terrain/enquetes/{field.campaign_nord}/saisie"
    response = post(client, url, sheet(territory, field, q3="4"))
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and 'id="err-q1"' in page
    empty = post(client, url, sheet(territory, field))
    assert empty.status_code == 400 and "Cette feuille est vide" in html.unescape(empty.text)
    token = csrf_token(client, url)
    as_json = client.post(url, json=sheet(territory, field, q3="4"), headers={"X-CSRFToken": token})
    assert as_json.status_code == 400 and "q1" in as_json.json["errors"]
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Conversation.id))) == 0


def test_the_survey_for_a_run_with_no_network_leads_each_answer_where_the_engine_does(
    client: Any, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    response = client.get(f"/terrain/enquetes/{field.campaign_nord}/questions.json")
    assert response.status_code == 200
    fr = response.json["languages"]["fr"]
    first, second = fr["questions"][0], fr["questions"][1]
    assert first["choices"] == ["Oui", "Non"] and first["next"] == [1, 4]  # « non »: question 5
    assert second["kind"] == "multiple" and second["next"] == [2]
    assert fr["questions"][-1]["next"] == [None] and fr["end"]
    assert "en" in response.json["languages"]
    assert client.get(f"/terrain/enquetes/{field.campaign_sud}/questions.json").status_code == 403


def test_a_run_made_offline_and_stopped_halfway_is_replayed_in_its_language_once(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    url = f"/terrain/enquetes/{field.campaign_nord}/saisie"
    token = csrf_token(client, url)
    data = {**sheet(territory, field, q1="2"), "langue": "en", "partiel": "1"}
    first = client.post(url, json=data, headers={"X-CSRFToken": token})
    again = client.post(url, json=data, headers={"X-CSRFToken": token})
    assert (first.status_code, first.json) == (201, {"status": "recorded", "finished": False})
    assert again.json["status"] == "duplicate"
    with runtime.sessions() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.status == "active"  # a partial run: it counts, unfinished
        assert [a.value for a in session.scalars(select(Answer))] == ["non"]
