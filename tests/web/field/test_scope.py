"""Every field route refuses what lies outside the account's scope with 403: a quartier, an
action or a campaign of another quartier, someone else's run, and the roles without the field."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bots.runtime import Runtime
from storage.models import Contribution, Conversation, JoinCode
from tests.web.conftest import Territory, login_as, post
from tests.web.field.conftest import Field

ROUTES = [
    ("GET", "/terrain/"),
    ("GET", "/terrain/mes-entrees"),
    ("GET", "/terrain/enquetes"),
    ("GET", "/terrain/jeton"),
]


def out_of_scope(territory: Territory, field: Field) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, form) that an intervenant of `nord` must be refused."""
    nord, sud = str(territory.nord), str(territory.sud)
    entry = {"client_id": "e1e2e3e4e5e6e7e8", "texte": "Le square est sale", "langue": "fr"}
    sheet = {"client_id": "f1f2f3f4f5f6f7f8", "q1": "2"}
    c_nord, c_sud = field.campaign_nord, field.campaign_sud
    return [
        ("POST", "/terrain/entrees", {**entry, "quartier": sud}),
        ("POST", "/terrain/entrees", {**entry, "quartier": nord, "action": str(field.action_sud)}),
        ("POST", "/terrain/actions", {"type": "stand", "quartier": sud}),
        ("GET", f"/terrain/enquetes/{c_sud}", {}),
        ("POST", f"/terrain/enquetes/{c_sud}/passages", {"run_id": "a" * 16, "quartier": sud}),
        ("POST", f"/terrain/enquetes/{c_nord}/passages", {"run_id": "b" * 16, "quartier": sud}),
        (
            "POST",
            f"/terrain/enquetes/{c_nord}/passages",
            {"run_id": "c" * 16, "quartier": nord, "action": str(field.action_sud)},
        ),
        ("GET", f"/terrain/enquetes/{c_sud}/papier", {}),
        ("GET", f"/terrain/enquetes/{c_nord}/papier?action={field.action_sud}", {}),
        ("GET", f"/terrain/enquetes/{c_sud}/saisie", {}),
        ("POST", f"/terrain/enquetes/{c_sud}/saisie", {**sheet, "quartier": sud}),
        ("POST", f"/terrain/enquetes/{c_nord}/saisie", {**sheet, "quartier": sud}),
        (
            "POST",
            f"/terrain/enquetes/{c_nord}/saisie",
            {**sheet, "quartier": nord, "action": str(field.action_sud)},
        ),
    ]


def call(client: Any, method: str, url: str, form: dict[str, Any]) -> int:
    if method == "GET":
        return int(client.get(url).status_code)
    return int(post(client, url, form).status_code)


@pytest.mark.parametrize("role", ["intervenant", "conseil_citoyen"])
def test_every_field_route_refuses_a_quartier_action_or_campaign_outside_the_scope(
    role: str, client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users[role])
    with runtime.sessions() as session:
        codes = session.scalar(select(func.count(JoinCode.id)))
    refused = {
        f"{method} {url} {form}": status
        for method, url, form in out_of_scope(territory, field)
        if (status := call(client, method, url, form)) != 403
    }
    assert refused == {}
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Contribution.id))) == 0
        assert session.scalar(select(func.count(Conversation.id))) == 0
        assert session.scalar(select(func.count(JoinCode.id))) == codes


def test_the_same_requests_inside_the_scope_are_accepted(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    """The control: what makes the 403s above is the scope, not a broken form."""
    login_as(client, territory.users["chef_de_projet"])
    rows = out_of_scope(territory, field)
    # A campaign aimed at `nord` refuses `sud` for everyone: those two rows stay 403.
    campaign_rule = {5, 11}
    statuses = {i: call(client, m, u, f) for i, (m, u, f) in enumerate(rows)}
    assert {i for i, s in statuses.items() if s == 403} == campaign_rule
    assert 500 not in statuses.values()


def test_a_lecteur_has_no_field_pages_and_an_intervenant_no_back_office(
    client: Any, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["lecteur"])
    everything = [(m, u, {}) for m, u in ROUTES] + out_of_scope(territory, field)
    assert {u: s for m, u, f in everything if (s := call(client, m, u, f)) != 403} == {}
    login_as(client, territory.users["intervenant"])
    assert {u: s for m, u in ROUTES if (s := call(client, m, u, {})) != 200} == {}
    for url in (
        "/inbox/",
        "/tableau-de-bord/",
        "/exports/",
        "/affiches/",
        "/campagnes/",
        "/enquetes/",
        "/themes/couleurs.css",
        "/exports/contributions.csv",
    ):
        assert client.get(url).status_code == 403, url
