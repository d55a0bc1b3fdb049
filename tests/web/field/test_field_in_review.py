"""What the field brings shows in the review pages: the action for everyone, the intervenant
for the team only (never in a conseil citoyen's export); a habitant met with no number cannot
be answered."""

from __future__ import annotations

import csv
import html
import io
from typing import Any

from sqlalchemy import select

from bots.runtime import Runtime
from storage.models import Contribution
from tests.web.conftest import Territory, csrf_token, login_as
from tests.web.field.conftest import Field


def test_the_action_and_who_wrote_it_down(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    entry = {
        "client_id": "9a9b9c9d9e9f9a9b",
        "texte": "Pas de lumière au 4e",
        "quartier": str(territory.nord),
        "action": str(field.action_nord),
    }
    client.post(
        "/terrain/entrees", json=entry, headers={"X-CSRFToken": csrf_token(client, "/terrain/")}
    )
    with runtime.sessions() as session:
        contribution = session.scalars(select(Contribution)).one()
    url = f"/contributions/{contribution.id}"
    login_as(client, territory.users["chef_de_projet"])
    page = html.unescape(client.get(url).get_data(as_text=True))
    assert "porte-nord" in page and "Noté par" in page and "intervenant@ville.example" in page
    assert "sans numéro : on ne peut pas lui écrire" in page
    team = list(
        csv.reader(io.StringIO(client.get("/exports/contributions.csv").text), delimiter=";")
    )
    assert team[0][-2:] == ["action", "intervenant"]
    assert team[1][-2:] == ["porte-nord", "intervenant@ville.example"]
    login_as(client, territory.users["conseil_citoyen"])
    page = html.unescape(client.get(url).get_data(as_text=True))
    assert "porte-nord" in page and "intervenant@ville.example" not in page
    conseil = list(
        csv.reader(io.StringIO(client.get("/exports/contributions.csv").text), delimiter=";")
    )
    assert conseil[0][-1] == "action" and "intervenant" not in conseil[0]
    assert "intervenant@ville.example" not in client.get("/exports/contributions.csv").text
