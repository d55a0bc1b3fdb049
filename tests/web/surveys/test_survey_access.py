"""Every page of surveys, campaigns and posters, for every role, and a conseil's quartier scope.

A conseil citoyen sees the ready-made and shared surveys and those of its quartier, the
campaigns aimed at its quartier and the join codes of its quartier: anything else is a 404,
whatever id is typed. A lecteur reads and exports, and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from bots import campaigns
from bots.campaigns import Target
from bots.runtime import Runtime
from bots.survey_store import save_spec, spec_from_row
from storage.db import transaction
from storage.models import JoinCode, Survey
from tests.web.conftest import Territory, login_as, post

ALL = {"administrateur", "chef_de_projet", "conseil_citoyen", "lecteur"}
TEAM = {"administrateur", "chef_de_projet"}
WRITERS = TEAM | {"conseil_citoyen"}


@dataclass
class Things:
    ready: int  # the ready-made scolarite survey
    sud_survey: int  # a survey of the sud quartier
    nord_campaign: int
    sud_campaign: int
    nord_code: int
    sud_code: int


@pytest.fixture
def things(runtime: Runtime, territory: Territory) -> Things:
    with transaction(runtime.sessions) as session:
        ready = session.scalars(select(Survey).where(Survey.slug == "scolarite")).one()
        sud_survey = save_spec(session, spec_from_row(ready), "sud", quartier_id=territory.sud)
        now = ready.created_at
        nord = campaigns.create_campaign(session, "scolarite", Target(("QP-NORD",)), now=now)
        sud = campaigns.create_campaign(session, "scolarite", Target(("QP-SUD",)), now=now)
        codes = [
            JoinCode(code=c, quartier_id=q)
            for c, q in (("N", territory.nord), ("S", territory.sud))
        ]
        session.add_all(codes)
        session.flush()
        return Things(ready.id, sud_survey.id, nord.id, sud.id, codes[0].id, codes[1].id)


def routes(t: Things) -> list[tuple[str, set[str], bool]]:
    """(url, roles that get 200, whether a conseil gets 404 there: outside its quartier)."""
    return [
        ("/enquetes/", ALL, False),
        ("/enquetes/nouvelle", WRITERS, False),
        (f"/enquetes/{t.ready}", ALL, False),
        (f"/enquetes/{t.sud_survey}", ALL, True),
        (f"/enquetes/{t.ready}/enquete.toml", ALL, False),
        (f"/enquetes/{t.sud_survey}/enquete.toml", ALL, True),
        (f"/enquetes/{t.ready}/essai", WRITERS, False),
        (f"/enquetes/{t.sud_survey}/essai", WRITERS, True),
        ("/campagnes/", ALL, False),
        ("/campagnes/nouvelle", WRITERS, False),
        (f"/campagnes/{t.nord_campaign}", ALL, False),
        (f"/campagnes/{t.sud_campaign}", ALL, True),
        (f"/campagnes/{t.sud_campaign}/resultats.csv", ALL, True),
        (f"/campagnes/{t.nord_campaign}/resultats.xlsx", ALL, False),
        (f"/campagnes/{t.nord_campaign}/retour", WRITERS, False),
        (f"/campagnes/{t.sud_campaign}/retour", WRITERS, True),
        ("/affiches/", ALL, False),
        (f"/affiches/{t.nord_code}", ALL, False),
        (f"/affiches/{t.sud_code}", ALL, True),
    ]


def post_routes(t: Things) -> list[tuple[str, set[str], bool]]:
    """Actions: (url, roles allowed past the permission check, conseil gets 404)."""
    return [
        (f"/enquetes/{t.ready}/copier", WRITERS, False),
        (f"/enquetes/{t.sud_survey}/copier", WRITERS, True),
        (f"/enquetes/{t.sud_survey}/essai/debut", WRITERS, True),
        (f"/enquetes/{t.sud_survey}/essai", WRITERS, True),
        (f"/campagnes/{t.sud_campaign}/clore", WRITERS, True),
        (f"/campagnes/{t.sud_campaign}/annuler", WRITERS, True),
        (f"/campagnes/{t.sud_campaign}/valider", TEAM, True),
        ("/campagnes/reglages", TEAM, False),
        (f"/affiches/{t.sud_code}/actif", WRITERS, True),
    ]


@pytest.mark.parametrize("role", sorted(ALL))
def test_pages_each_role_may_open(
    role: str, client: Any, territory: Territory, things: Things
) -> None:
    login_as(client, territory.users[role])
    wrong = {}
    for url, allowed, outside in routes(things):
        status = client.get(url).status_code
        expected = 200 if role in allowed else 403
        if role == "conseil_citoyen" and outside and role in allowed:
            expected = 404
        if status != expected:
            wrong[url] = (status, expected)
    assert wrong == {}


@pytest.mark.parametrize("role", sorted(ALL))
def test_actions_each_role_may_take(
    role: str, client: Any, territory: Territory, things: Things
) -> None:
    login_as(client, territory.users[role])
    wrong = {}
    for url, allowed, outside in post_routes(things):
        status = post(client, url).status_code
        if role not in allowed:
            ok = status == 403
        elif role == "conseil_citoyen" and outside:
            ok = status == 404
        else:
            ok = status in (200, 302)
        if not ok:
            wrong[url] = status
    assert wrong == {}


def test_a_conseil_sees_only_its_surveys_campaigns_and_codes_in_lists(
    client: Any, territory: Territory, things: Things
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    assert f'/enquetes/{things.sud_survey}"' not in client.get("/enquetes/").text
    assert f'/enquetes/{things.ready}"' in client.get("/enquetes/").text
    campaigns_page = client.get("/campagnes/").text
    assert f'/campagnes/{things.nord_campaign}"' in campaigns_page
    assert f'/campagnes/{things.sud_campaign}"' not in campaigns_page


def test_anonymous_visitors_are_sent_to_the_login_page(client: Any, things: Things) -> None:
    for url, _allowed, _outside in routes(things):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_conseil_edits_its_own_surveys_not_the_ready_made_ones(
    client: Any, territory: Territory, things: Things
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    form = {"title-fr": "T", "count": "1", "q-1-kind": "text", "q-1-text-fr": "?", "action": "save"}
    assert post(client, f"/enquetes/{things.ready}", form).status_code == 403
    assert "Enregistrer l'enquête" not in client.get(f"/enquetes/{things.ready}").text
    login_as(client, territory.users["lecteur"])
    assert post(client, f"/enquetes/{things.ready}", form).status_code == 403
    assert post(client, "/enquetes/nouvelle", form).status_code == 403
