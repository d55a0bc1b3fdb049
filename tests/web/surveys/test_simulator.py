"""The web simulator: staff-only outside demo mode, and the same engine and texts as SMS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Participant
from tests.web.conftest import Territory, login_as, post


def test_closed_to_visitors_outside_demo_mode(client: Any) -> None:
    assert client.get("/simulateur/").status_code == 403


def test_a_logged_in_agent_talks_to_the_bot(client: Any, territory: Territory) -> None:
    """Sending hands the message to the bots, which write in their own transaction: the
    request must not hold SQLite's write lock meanwhile (it used to wait 30 s, then fail)."""
    login_as(client, territory.users["chef_de_projet"])
    response = post(client, "/simulateur/", {"text": "Bonjour"}, follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Bonjour" in page and "1 Oui 2 Non" in page


def test_open_in_demo_mode_and_text_is_escaped(app: Any, client: Any) -> None:
    app.config["PAROLES_DEMO"] = True
    post(client, "/simulateur/", {"text": "Bonjour"}, follow_redirects=True)
    post(client, "/simulateur/", {"text": "oui"}, follow_redirects=True)
    page = post(
        client, "/simulateur/", {"text": "<script>alert(1)</script>"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_writing_again_makes_an_unreachable_habitant_reachable(
    app: Any, client: Any, runtime: Runtime
) -> None:
    app.config["PAROLES_DEMO"] = True
    post(client, "/simulateur/", {"text": "Bonjour"}, follow_redirects=True)
    with transaction(runtime.sessions) as session:
        session.execute(update(Participant).values(unreachable_at=datetime.now(UTC)))
    post(client, "/simulateur/", {"text": "oui"}, follow_redirects=True)
    with runtime.sessions() as session:
        participant = session.scalars(select(Participant)).one()
        assert participant.channel == "simulator" and participant.unreachable_at is None


def test_the_simulator_is_a_trial_and_never_counts_as_participation(
    app: Any, client: Any, runtime: Runtime
) -> None:
    from storage.models import Contribution

    app.config["PAROLES_DEMO"] = True
    for text in ("Bonjour", "oui", "Le parc est fermé le dimanche"):
        post(client, "/simulateur/", {"text": text}, follow_redirects=True)
    with runtime.sessions() as session:
        participant = session.scalars(select(Participant)).one()
        assert participant.is_test is True
        assert session.scalars(select(Contribution)).all() == []
