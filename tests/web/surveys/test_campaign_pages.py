"""Campaign pages: launch with an estimate, quartier checks, approval, results, export, retour."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from bots.handler import Inbound, handle_inbound
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import AuditEntry, Campaign, Message, Survey
from tests.factories import make_participant
from tests.web.conftest import Territory, login_as, post

NORD = ("+33639981001", "+33639981002", "+33639981003")
SUD = ("+33639982001",)


@pytest.fixture
def habitants(runtime: Runtime, territory: Territory) -> dict[str, int]:
    """Three habitants in nord (one by SMS, in English), one in sud, one who said STOP."""
    with transaction(runtime.sessions) as session:
        ids = {}
        for n, address in enumerate(NORD):
            channel, language = ("sms", "en") if n == 2 else ("simulator", "fr")
            ids[address] = make_participant(
                session,
                runtime,
                address=address,
                channel=channel,
                language=language,
                quartier_id=territory.nord,
            ).id
        ids[SUD[0]] = make_participant(
            session, runtime, address=SUD[0], quartier_id=territory.sud
        ).id
        from datetime import UTC, datetime

        make_participant(
            session,
            runtime,
            address="+33639983001",
            quartier_id=territory.nord,
            opted_out_at=datetime.now(UTC),
        )
        return ids


def scolarite(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalars(select(Survey.id).where(Survey.slug == "scolarite")).one()


def launch_form(survey_id: int, **extra: Any) -> dict[str, Any]:
    return {"enquete": str(survey_id), "when": "now", "action": "launch", **extra}


def answer(runtime: Runtime, address: str, text: str, n: int, channel: str = "simulator") -> None:
    handle_inbound(runtime, Inbound(channel, address, text, f"t-{address}-{n}"))


def last_campaign(runtime: Runtime) -> Campaign:
    with runtime.sessions() as session:
        return session.scalars(select(Campaign).order_by(Campaign.id.desc())).first()  # type: ignore


def charts_of(client: Any, url: str) -> list[dict[str, Any]]:
    raw = client.get(url).text
    return [json.loads(html.unescape(c)) for c in re.findall(r'data-chart="([^"]+)"', raw)]


def test_the_estimate_counts_who_the_launch_will_reach_and_the_sms_cost(
    client: Any, runtime: Runtime, territory: Territory, habitants: dict[str, int]
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    form = {**launch_form(scolarite(runtime)), "action": "estimate", "quartiers": "QP-NORD"}
    page = html.unescape(post(client, "/campagnes/nouvelle", form).text)
    assert "3 habitants joignables" in page  # the one who said STOP is not counted
    segments = re.search(r"Coût SMS estimé : (\d+) segments \((\d+) par habitant", page)
    assert segments is not None
    total, per_run = int(segments.group(1)), int(segments.group(2))
    assert per_run >= 6 and total >= per_run  # one habitant by SMS (in English)
    assert "estimation" in page


def test_the_team_launches_now_and_invitations_are_queued(
    client: Any, runtime: Runtime, territory: Territory, habitants: dict[str, int]
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    form = launch_form(
        scolarite(runtime), quartiers="QP-NORD", allow_quiet_hours="on", remind_after="24"
    )
    response = post(client, "/campagnes/nouvelle", form)
    assert response.status_code == 302
    campaign = last_campaign(runtime)
    assert (campaign.status, campaign.remind_after_hours) == ("running", 24)
    assert campaign.created_by_id == territory.users["chef_de_projet"]
    with runtime.sessions() as session:
        invited = set(
            session.scalars(select(Message.participant_id).where(Message.kind == "invitation"))
        )
        assert session.scalars(
            select(AuditEntry).where(AuditEntry.action == "campaign.create")
        ).one()
    assert invited == {habitants[a] for a in NORD}


def test_a_conseil_launches_only_in_its_quartiers(
    client: Any, runtime: Runtime, territory: Territory, habitants: dict[str, int]
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    survey = scolarite(runtime)
    assert (
        post(client, "/campagnes/nouvelle", launch_form(survey, quartiers="QP-SUD")).status_code
        == 403
    )
    both = launch_form(survey, quartiers=["QP-NORD", "QP-SUD"])
    assert post(client, "/campagnes/nouvelle", both).status_code == 403
    nowhere = post(client, "/campagnes/nouvelle", launch_form(survey, everyone="on"))
    assert nowhere.status_code == 422 and "vos quartiers" in html.unescape(nowhere.text)
    with runtime.sessions() as session:
        assert session.scalars(select(Campaign)).first() is None
    assert (
        post(client, "/campagnes/nouvelle", launch_form(survey, quartiers="QP-NORD")).status_code
        == 302
    )
    assert last_campaign(runtime).target["quartiers"] == ["QP-NORD"]


def test_when_the_team_asks_a_conseils_campaign_waits_for_one_click_approval(
    client: Any, runtime: Runtime, territory: Territory, habitants: dict[str, int]
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    assert post(client, "/campagnes/reglages", {"approval": "on"}).status_code == 403
    login_as(client, territory.users["chef_de_projet"])
    post(client, "/campagnes/reglages", {"approval": "on"})
    login_as(client, territory.users["conseil_citoyen"])
    post(client, "/campagnes/nouvelle", launch_form(scolarite(runtime), quartiers="QP-NORD"))
    campaign = last_campaign(runtime)
    assert campaign.status == "awaiting_approval"
    assert post(client, f"/campagnes/{campaign.id}/valider").status_code == 403
    login_as(client, territory.users["chef_de_projet"])
    page = html.unescape(client.get(f"/campagnes/{campaign.id}").text)
    assert "en attente de validation" in page and "Valider et lancer" in page
    post(client, f"/campagnes/{campaign.id}/valider")
    approved = last_campaign(runtime)
    assert approved.status in ("scheduled", "running")  # "scheduled" during quiet hours
    assert approved.approved_by_id == territory.users["chef_de_projet"]
    with runtime.sessions() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"setting.update", "campaign.create", "campaign.approve"} <= actions


def test_results_count_each_answer_draw_a_chart_and_list_free_texts(
    client: Any, runtime: Runtime, territory: Territory, habitants: dict[str, int]
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    form = launch_form(scolarite(runtime), everyone="on", allow_quiet_hours="on")
    post(client, "/campagnes/nouvelle", form)
    campaign = last_campaign(runtime)
    answer(runtime, NORD[0], "oui", 1)
    answer(runtime, NORD[0], "1", 2)
    answer(runtime, NORD[1], "non", 1)  # goes to question 5, the free text
    answer(runtime, NORD[1], "Plus de bénévoles le samedi", 2)
    answer(runtime, SUD[0], "oui", 1)
    answer(runtime, SUD[0], "STOP", 2)
    page = html.unescape(client.get(f"/campagnes/{campaign.id}").text)
    funnel = dict(re.findall(r'<dd data-key="(\w+)">(\d+)</dd>', page))
    assert funnel == {"invited": "4", "started": "3", "finished": "1", "stopped": "1"}
    charts = charts_of(client, f"/campagnes/{campaign.id}")
    assert charts[0] == {"labels": ["Oui", "Non"], "data": [2, 1]}
    assert charts[1]["data"][0] == 1  # "Moi ou la famille"
    assert "Plus de bénévoles le samedi" in page
    assert re.search(r'<th scope="row">Oui</th><td>2</td>', page)  # the table next to the chart

    login_as(client, territory.users["conseil_citoyen"])  # nord only
    scoped = html.unescape(client.get(f"/campagnes/{campaign.id}").text)
    # the campaign targets everyone: a conseil does not even see it
    assert "Plus de bénévoles" not in scoped


def test_a_conseil_sees_only_its_quartiers_habitants_in_results_and_exports(
    client: Any, runtime: Runtime, territory: Territory, habitants: dict[str, int]
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    form = launch_form(scolarite(runtime), quartiers=["QP-NORD", "QP-SUD"], allow_quiet_hours="on")
    post(client, "/campagnes/nouvelle", form)
    campaign = last_campaign(runtime)
    answer(runtime, NORD[0], "oui", 1)
    answer(runtime, SUD[0], "non", 1)
    login_as(client, territory.users["conseil_citoyen"])
    page = html.unescape(client.get(f"/campagnes/{campaign.id}").text)
    charts = charts_of(client, f"/campagnes/{campaign.id}")
    assert charts[0]["data"] == [None, 0]  # a conseil sees small counts protected: no bar
    assert re.search(
        r'<th scope="row">Oui</th><td>&lt; 5</td>', client.get(f"/campagnes/{campaign.id}").text
    )
    assert "Le Val Fleuri" not in page.split("Par quartier")[1]
    csv = client.get(f"/campagnes/{campaign.id}/resultats.csv")
    assert csv.status_code == 200
    lines = csv.data.decode("utf-8-sig").strip().splitlines()
    assert lines[0] == "question;intitule;reponse;quartier;canal;nombre"
    assert lines[1:] == [
        "1;Avez-vous un enfant à l'école, au collège ou au lycée ?;Oui;Les Tilleuls;simulator;< 5"
    ]
    assert client.get(f"/campagnes/{campaign.id}/resultats.xlsx").status_code == 200
    with runtime.sessions() as session:
        exports = session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
    assert [e.target for e in exports] == ["campaign_results", "campaign_results"]
    assert exports[0].detail["rows"] == 1


def test_the_retour_is_written_after_closing_and_sent_once(
    client: Any, runtime: Runtime, territory: Territory, habitants: dict[str, int]
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    post(
        client,
        "/campagnes/nouvelle",
        launch_form(scolarite(runtime), quartiers="QP-NORD", allow_quiet_hours="on"),
    )
    campaign = last_campaign(runtime)
    answer(runtime, NORD[0], "oui", 1)
    answer(runtime, NORD[1], "non", 1)
    answer(runtime, NORD[1], "STOP", 2)
    early = html.unescape(client.get(f"/campagnes/{campaign.id}/retour").text)
    assert "après la clôture" in early
    post(client, f"/campagnes/{campaign.id}/clore")
    assert last_campaign(runtime).status == "closed"
    page = html.unescape(client.get(f"/campagnes/{campaign.id}/retour").text)
    assert "1 habitants" in page  # the one who said STOP is left out
    text = "Merci ! 2 réponses : l'aide aux devoirs ouvrira le mercredi."
    assert post(client, f"/campagnes/{campaign.id}/retour", {"text": text}).status_code == 302
    again = post(client, f"/campagnes/{campaign.id}/retour", {"text": text})
    assert again.status_code == 200 and "déjà parti" in html.unescape(again.text)
    with runtime.sessions() as session:
        retours = session.scalars(select(Message).where(Message.kind == "retour")).all()
    assert [(m.participant_id, m.body) for m in retours] == [(habitants[NORD[0]], text)]


def test_cancel_stops_a_campaign(
    client: Any, runtime: Runtime, territory: Territory, habitants: dict[str, int]
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    form = launch_form(
        scolarite(runtime), quartiers="QP-NORD", when="at", starts="2099-01-04T10:00"
    )
    post(client, "/campagnes/nouvelle", form)
    campaign = last_campaign(runtime)
    assert campaign.status == "scheduled" and campaign.starts_at.year == 2099  # type: ignore
    login_as(client, territory.users["lecteur"])
    assert post(client, f"/campagnes/{campaign.id}/annuler").status_code == 403
    login_as(client, territory.users["chef_de_projet"])
    post(client, f"/campagnes/{campaign.id}/annuler")
    assert last_campaign(runtime).status == "cancelled"


def test_a_conseil_cannot_act_on_a_campaign_that_also_targets_another_quartier(
    client: Any, runtime: Runtime, territory: Territory, habitants: dict[str, int]
) -> None:
    """Cancel, close and retour reach every targeted habitant: they need every quartier."""
    login_as(client, territory.users["chef_de_projet"])
    both = launch_form(scolarite(runtime), quartiers=["QP-NORD", "QP-SUD"], allow_quiet_hours="on")
    post(client, "/campagnes/nouvelle", both)
    mixed = last_campaign(runtime)
    login_as(client, territory.users["conseil_citoyen"])
    page = html.unescape(client.get(f"/campagnes/{mixed.id}").text)
    assert "vise aussi d'autres quartiers" in page
    assert "Annuler la campagne" not in page and "Clore maintenant" not in page
    assert post(client, f"/campagnes/{mixed.id}/clore").status_code == 403
    assert post(client, f"/campagnes/{mixed.id}/annuler").status_code == 403
    assert last_campaign(runtime).status == "running"
    login_as(client, territory.users["chef_de_projet"])
    post(client, f"/campagnes/{mixed.id}/clore")
    login_as(client, territory.users["conseil_citoyen"])
    assert client.get(f"/campagnes/{mixed.id}/retour").status_code == 403
    text = "Merci à tous : la cour sera repeinte."
    assert post(client, f"/campagnes/{mixed.id}/retour", {"text": text}).status_code == 403
    with runtime.sessions() as session:
        assert session.scalars(select(Message).where(Message.kind == "retour")).all() == []
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "campaign.retour" not in actions and actions.count("campaign.close") == 1


def test_a_conseil_acts_on_a_campaign_of_its_own_quartiers(
    client: Any, runtime: Runtime, territory: Territory, habitants: dict[str, int]
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    own = launch_form(scolarite(runtime), quartiers=["QP-NORD"])
    post(client, "/campagnes/nouvelle", own)
    campaign = last_campaign(runtime)
    page = html.unescape(client.get(f"/campagnes/{campaign.id}").text)
    assert "Clore maintenant" in page and "vise aussi d'autres quartiers" not in page
    assert post(client, f"/campagnes/{campaign.id}/clore").status_code == 302
    assert last_campaign(runtime).status == "closed"
    assert client.get(f"/campagnes/{campaign.id}/retour").status_code == 200


@pytest.mark.parametrize(("name", "value"), [("quartier", "QP-NORD"), ("canal", "pigeon")])
def test_a_results_filter_that_is_no_choice_is_said_and_counts_nobody(
    client: Any,
    runtime: Runtime,
    territory: Territory,
    habitants: dict[str, int],
    name: str,
    value: str,
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    form = launch_form(scolarite(runtime), quartiers=["QP-NORD", "QP-SUD"], allow_quiet_hours="on")
    post(client, "/campagnes/nouvelle", form)
    campaign = last_campaign(runtime)
    answer(runtime, NORD[0], "oui", 1)
    good = html.unescape(client.get(f"/campagnes/{campaign.id}").text)
    assert '<dd data-key="invited">4</dd>' in good
    response = client.get(f"/campagnes/{campaign.id}", query_string={name: value})
    assert response.status_code == 400
    text = html.unescape(response.text)
    assert f'aria-describedby="err-{name}"' in text
    assert f"« {value} » n'est pas" in text.split(f'id="err-{name}">')[1].split("</span>")[0]
    assert '<dd data-key="invited">0</dd>' in text
    export = client.get(f"/campagnes/{campaign.id}/resultats.csv", query_string={name: value})
    assert export.status_code == 400
