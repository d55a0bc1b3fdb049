"""One participant's data on request: found one at a time, exported, erased; all journaled."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from bots.handler import Inbound, handle_inbound
from bots.runtime import Runtime
from storage.models import AuditEntry, Contribution, Message, Participant
from tests.web.conftest import Territory, login_as, page, post

ADDRESS = "+33639981234"
_ids = iter(range(1, 10**6))


def send(runtime: Runtime, text: str, address: str = ADDRESS) -> list[str]:
    outcome = handle_inbound(runtime, Inbound("sms", address, text, external_id=f"a{next(_ids)}"))
    with runtime.sessions() as session:
        return [session.get(Message, i).body for i in outcome.reply_ids]  # type: ignore[union-attr]


@pytest.fixture
def habitant(runtime: Runtime) -> str:
    for text in ("Bonjour", "oui", "Il faut des bancs au parc"):
        send(runtime, text)
    send(runtime, "Bonjour", "+33639985678")  # someone else
    with runtime.sessions() as session:
        return session.scalars(
            select(Participant.pseudonym).where(Participant.consent_at.is_not(None))
        ).one()


def actions(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.mark.parametrize("role", ["chef_de_projet", "conseil_citoyen", "lecteur"])
def test_only_an_administrateur_may_look(client: Any, territory: Territory, role: str) -> None:
    login_as(client, territory.users[role])
    assert client.get("/participants/").status_code == 403


def test_never_listed_found_by_the_number_the_person_gives(
    client: Any, runtime: Runtime, territory: Territory, habitant: str
) -> None:
    login_as(client, territory.users["administrateur"])
    assert habitant not in page(client, "/participants/")
    found = post(client, "/participants/", {"q": "06 39 98 12 34"}).get_data(as_text=True)
    assert habitant in found and "Exporter tout" in found
    assert "+33639985678" not in found
    missing = post(client, "/participants/", {"q": "06 00 00 00 00"}).get_data(as_text=True)
    assert "Aucun participant" in missing
    assert actions(runtime) == ["participant.find", "participant.find"]


def test_the_one_time_code_finds_once_and_the_copy_is_complete(
    client: Any, runtime: Runtime, territory: Territory, habitant: str
) -> None:
    send(runtime, "MES DONNEES")
    code = send(runtime, "oui")[0].split(" : ")[1].split(".")[0]
    login_as(client, territory.users["administrateur"])
    assert habitant in post(client, "/participants/", {"q": code}).get_data(as_text=True)
    again = post(client, "/participants/", {"q": code}).get_data(as_text=True)
    assert "Aucun participant" in again  # one use only
    response = post(client, f"/participants/{habitant}/export.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    copy = json.loads(response.get_data(as_text=True))
    assert copy["participant"]["pseudonyme"] == habitant
    assert [c["texte"] for c in copy["contributions"]] == ["Il faut des bancs au parc"]
    assert "MES DONNEES" in [m["texte"] for m in copy["messages"]]
    assert ADDRESS not in response.get_data(as_text=True)
    table = post(client, f"/participants/{habitant}/export.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(table.lstrip("\ufeff")), delimiter=";"))
    assert {"participant", "message", "contribution"} <= {r["rubrique"] for r in rows}
    assert actions(runtime)[-2:] == ["participant.export", "participant.export"]


def test_erasure_on_request_is_what_oublier_does(
    client: Any, runtime: Runtime, territory: Territory, habitant: str
) -> None:
    login_as(client, territory.users["administrateur"])
    unconfirmed = post(client, f"/participants/{habitant}/effacer").get_data(as_text=True)
    assert "Cochez la case" in unconfirmed
    response = post(client, f"/participants/{habitant}/effacer", {"confirm": "oui"})
    assert response.status_code == 302
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Contribution.id))) == 0
        assert session.scalar(select(func.count(Participant.id))) == 1  # the other one
        assert "Il faut des bancs au parc" not in session.scalars(select(Message.body)).all()
    assert actions(runtime)[-1] == "participant.erase"
