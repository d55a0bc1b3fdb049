"""Answering a habitant: through the outbox, on their channel, never to someone who left."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from bots.channels import make_channel
from bots.outbox import deliver
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import AuditEntry, Message, Participant, ReplyTemplate, StaffReply
from tests.web.conftest import Sample, Territory, login_as, page, post


def outbox(runtime: Runtime) -> list[Message]:
    with transaction(runtime.sessions) as session:
        return list(session.scalars(select(Message).where(Message.direction == "out")))


def test_a_reply_goes_to_the_outbox_then_shows_its_delivery(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    response = post(
        client, f"/reponses/contribution/{sample.nord}", {"text": "Merci, on s'en occupe."}
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/contributions/{sample.nord}#repondre")
    [message] = outbox(runtime)
    assert (message.kind, message.status, message.channel) == (
        "staff_reply",
        "pending",
        "simulator",
    )
    assert message.participant_id == sample.participant_nord
    assert runtime.vault.decrypt(message.address_enc or "") == "+33639980001"
    html = page(client, f"/contributions/{sample.nord}")
    assert "Merci, on s'en occupe." in html and "en attente d'envoi" in html
    assert deliver(runtime, make_channel("simulator", runtime)) == 1
    html = page(client, f"/contributions/{sample.nord}")
    assert "envoyé" in html and "chef_de_projet@ville.example" in html
    with transaction(runtime.sessions) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "reply.send")).one()
        assert entry.detail == {"message_id": message.id, "length": 22}
        assert session.scalars(select(StaffReply.message_id)).one() == message.id


def test_a_failed_reply_says_why(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users["administrateur"])
    post(client, f"/reponses/contribution/{sample.nord}", {"text": "Bonjour"})
    with transaction(runtime.sessions) as session:
        session.execute(update(Message).values(status="failed", last_error="numéro invalide"))
    html = page(client, f"/contributions/{sample.nord}")
    assert "échec de l'envoi" in html and "numéro invalide" in html


def test_no_reply_to_who_said_stop_is_unreachable_or_erased(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    url = f"/reponses/contribution/{sample.nord}"
    cases = [
        ({"opted_out_at": datetime.now(UTC)}, "ne plus recevoir de messages (STOP)"),
        ({"opted_out_at": None, "unreachable_at": datetime.now(UTC)}, "ne répond plus"),
    ]
    for values, reason in cases:
        with transaction(runtime.sessions) as session:
            session.execute(update(Participant).values(**values))
        html = page(client, f"/contributions/{sample.nord}")
        assert reason in html and 'name="text"' not in html
        post(client, url, {"text": "Bonjour"})
        assert reason in page(client, f"/contributions/{sample.nord}")
    with transaction(runtime.sessions) as session:
        session.delete(session.get(Participant, sample.participant_nord))
    post(client, url, {"text": "Bonjour"})
    assert "effacé ses données" in page(client, f"/contributions/{sample.nord}")
    assert outbox(runtime) == []


def test_an_empty_or_too_long_reply_is_refused(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    for text in ("   ", "x" * 1001):
        post(client, f"/reponses/contribution/{sample.nord}", {"text": text})
    assert outbox(runtime) == []


def test_templates_are_offered_and_managed(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    html = page(client, f"/contributions/{sample.nord}")
    assert 'data-text="Merci pour votre message.' in html  # seeded French templates
    post(
        client,
        "/reponses/modeles",
        {"name": "RDV", "text": "Venez mardi à 18 h.", "language": "fr", "active": "on"},
    )
    with transaction(runtime.sessions) as session:
        template = session.scalars(select(ReplyTemplate).where(ReplyTemplate.name == "RDV")).one()
    assert "Venez mardi à 18 h." in page(client, f"/contributions/{sample.nord}")
    post(
        client,
        f"/reponses/modeles/{template.id}",
        {"name": "RDV", "text": "Mardi.", "language": "fr"},
    )
    with transaction(runtime.sessions) as session:
        template = session.get(ReplyTemplate, template.id)
        assert template is not None and template.text == "Mardi." and not template.active
    assert "Mardi." not in page(client, f"/contributions/{sample.nord}")
    assert (
        post(client, "/reponses/modeles", {"name": "", "text": "x", "language": "fr"}).status_code
        == 200
    )
    assert (
        post(
            client, "/reponses/modeles", {"name": "a", "text": "x", "language": "klingon"}
        ).status_code
        == 200
    )
    assert (
        post(
            client, "/reponses/modeles/9999", {"name": "a", "text": "b", "language": "fr"}
        ).status_code
        == 404
    )
    with transaction(runtime.sessions) as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["template.create", "template.update"]
