"""A campaign's survey face to face: the engine's questions, branching and validation, one
screen at a time; a run counts as a participant of the campaign, channel `terrain`."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import select

from bots.runtime import Runtime
from storage.models import Answer, Contribution, Conversation, Participant
from tests.web.conftest import Territory, login_as, post
from tests.web.field.conftest import Field

RUN = "d1e2f3a4b5c6d7e8"


def screen(client: Any) -> tuple[str, str]:
    page = html.unescape(client.get(f"/terrain/passages/{RUN}").get_data(as_text=True))
    number = re.search(r'name="numero" value="(\d+)"', page)
    return page, number.group(1) if number else ""


def answer(client: Any, *values: str, skip: bool = False) -> str:
    _page, number = screen(client)
    data: dict[str, Any] = {"numero": number, "reponse": list(values)}
    if skip:
        data["passer"] = "1"
    assert post(client, f"/terrain/passages/{RUN}", data).status_code == 303
    return screen(client)[0]


def start(client: Any, territory: Territory, field: Field) -> str:
    response = post(
        client,
        f"/terrain/enquetes/{field.campaign_nord}/passages",
        {
            "run_id": RUN,
            "quartier": str(territory.nord),
            "action": str(field.action_nord),
            "langue": "fr",
            "age": "41_60",
            "genre": "non_dit",
        },
    )
    assert response.status_code == 303
    return screen(client)[0]


def test_a_run_follows_the_bots_questions_branching_and_validation(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    first = start(client, territory, field)
    assert "Question 1 sur 5" in first and "Avez-vous un enfant" in first
    assert "Passer la question" not in first  # question 1 is required
    nothing = answer(client)  # no box ticked: the engine asks again, gently
    assert "Question 1 sur 5" in nothing and 'id="err-reponse"' in nothing
    second = answer(client, "1")  # oui
    assert "Question 2 sur 5" in second and "Une association" in second
    third = answer(client, "1", "3")  # famille + école
    assert "Question 3 sur 5" in third
    assert "Question 4 sur 5" in answer(client, skip=True)
    assert "Question 5 sur 5" in answer(client, "2")
    done = answer(client, "Des étudiants le mercredi")
    assert "Enquête terminée" in done and "aide aux devoirs à la rentrée" in done
    with runtime.sessions() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.status == "finished"
        assert conversation.campaign_id == field.campaign_nord
        assert conversation.action_id == field.action_nord
        assert conversation.intervenant_id == territory.users["intervenant"]
        answers = session.scalars(select(Answer).order_by(Answer.id)).all()
        assert [a.value for a in answers if a.understood and not a.skipped] == [
            "oui",
            ["famille", "ecole"],
            "mercredi",
            "Des étudiants le mercredi",
        ]
        person = session.get(Participant, conversation.participant_id)
        assert person is not None and person.channel == "terrain"
        assert (person.age_range, person.gender, person.quartier_id) == (
            "41_60",
            "non_dit",
            territory.nord,
        )
        text = session.scalars(select(Contribution)).one()
        assert (text.channel, text.campaign_id, text.action_id) == (
            "terrain",
            field.campaign_nord,
            field.action_nord,
        )


def test_a_no_jumps_to_the_question_its_branch_names_and_double_taps_count_once(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    start(client, territory, field)
    _page, number = screen(client)
    for _ in range(2):  # the same screen sent twice (a double tap, a resent form)
        post(client, f"/terrain/passages/{RUN}", {"numero": number, "reponse": ["2"]})
    page, _number = screen(client)
    assert "Question 5 sur 5" in page  # goto non = 5
    with runtime.sessions() as session:
        assert len(session.scalars(select(Answer)).all()) == 1
    again = post(
        client,
        f"/terrain/enquetes/{field.campaign_nord}/passages",
        {"run_id": RUN, "quartier": str(territory.nord)},
    )
    assert again.status_code == 303  # starting the same run again changes nothing
    assert "Question 5 sur 5" in screen(client)[0]


def test_someone_elses_run_is_forbidden(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    start(client, territory, field)
    login_as(client, territory.users["conseil_citoyen"])
    assert client.get(f"/terrain/passages/{RUN}").status_code == 403
    assert (
        post(client, f"/terrain/passages/{RUN}", {"numero": "1", "reponse": "1"}).status_code == 403
    )
    assert client.get("/terrain/passages/inconnu-000000000").status_code == 404
