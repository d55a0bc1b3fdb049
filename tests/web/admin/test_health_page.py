"""`GET /sante` for monitoring, and the banner staff see when messages are not going out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bots.runtime import Runtime
from bots.scheduler import acquire_lease
from storage.db import transaction
from storage.models import Message
from tests.factories import make_inbound
from tests.web.conftest import Territory, login_as

NOBODY_SENDS = "Aucun processus d'envoi ne tourne"


def test_the_probe_says_what_is_wrong_without_a_login(client: Any, runtime: Runtime) -> None:
    response = client.get("/sante")
    assert response.status_code == 503
    assert response.json == {
        "ok": False,
        "database": True,
        "scheduler": False,
        "outbox": {"due": 0, "waiting_minutes": 0, "stuck": False},
        "inbound": {"waiting": 0, "waiting_minutes": 0, "stuck": False, "failed_last_7_days": 0},
    }
    acquire_lease(runtime, "web-test:1:a", datetime.now(UTC))
    assert client.get("/sante").status_code == 200


def test_staff_see_why_messages_wait(client: Any, runtime: Runtime, territory: Territory) -> None:
    assert NOBODY_SENDS not in client.get("/auth/login").get_data(as_text=True)
    login_as(client, territory.users["lecteur"])
    assert NOBODY_SENDS in client.get("/inbox/").get_data(as_text=True)

    now = datetime.now(UTC)
    acquire_lease(runtime, "web-test:1:a", now)
    assert 'class="flash error service"' not in client.get("/inbox/").get_data(as_text=True)
    with transaction(runtime.sessions) as session:
        session.add(
            Message(
                direction="out",
                channel="sms",
                body="Merci pour votre message",
                status="pending",
                next_attempt_at=now - timedelta(minutes=25),
            )
        )
    page = client.get("/inbox/").get_data(as_text=True)
    assert "Des messages attendent depuis 25 minutes et rien n'est parti" in page


def test_staff_see_that_received_messages_wait(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    now = datetime.now(UTC)
    acquire_lease(runtime, "web-test:1:a", now)
    login_as(client, territory.users["chef_de_projet"])
    with transaction(runtime.sessions) as session:
        for status, minutes in (("recorded", 20), ("failed", 60)):
            make_inbound(session, status=status, created_at=now - timedelta(minutes=minutes))
    page = client.get("/inbox/").get_data(as_text=True)
    assert "Des messages reçus attendent depuis 20 minutes d'être traités" in page
    todo = client.get("/").get_data(as_text=True)
    assert "Des messages reçus attendent depuis 20 minutes." in todo
    assert "1 message(s) reçu(s) cette semaine n'ont pas pu être traités" in todo
    response = client.get("/sante")
    assert response.status_code == 503
    assert response.json["inbound"] == {
        "waiting": 1,
        "waiting_minutes": 20,
        "stuck": True,
        "failed_last_7_days": 1,
    }
