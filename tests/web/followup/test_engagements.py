"""Engagements in the back-office and on /suivi/: who may keep them, linking contributions,
the habitants told once per change, the public history; threads in the inbox."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bots.engine import Reply
from bots.handler import enqueue_reply
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import (
    Engagement,
    EngagementUpdate,
    Message,
    Participant,
    StaffReply,
    ThreadMessage,
)
from tests.web.conftest import Sample, Territory, login_as, post


def text_of(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return html.unescape(response.get_data(as_text=True))


def create(client: Any, territory: Territory, **form: Any) -> int:
    response = post(
        client,
        "/engagements/",
        {"title": "Réparer l'éclairage du parc", "partner": "Service voirie", **form},
    )
    assert response.status_code == 302, response.status_code
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_an_engagement_moves_on_tells_linked_habitants_once_and_shows_its_history(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    engagement_id = create(client, territory, quartier=str(territory.nord))
    post(client, f"/engagements/lier/{sample.nord}", {"engagement_id": engagement_id})
    assert "Réparer l'éclairage du parc" in text_of(client, f"/contributions/{sample.nord}")
    status = {"status": "en_cours", "text": "Les travaux commencent lundi"}
    done = post(client, f"/engagements/{engagement_id}/statut", status, follow_redirects=True)
    assert "1 habitant(s) prévenu(s)" in html.unescape(done.get_data(as_text=True))
    again = post(client, f"/engagements/{engagement_id}/statut", status, follow_redirects=True)
    assert "déjà ce statut" in html.unescape(again.get_data(as_text=True))
    with runtime.sessions() as session:
        sent = session.scalars(select(Message).where(Message.kind == "engagement")).all()
        assert [m.participant_id for m in sent] == [sample.participant_nord]
        assert "est maintenant en cours" in sent[0].body
    refused = post(client, f"/engagements/{engagement_id}/statut", {"status": "non_retenu"})
    assert refused.status_code == 302
    with runtime.sessions() as session:
        assert session.get(Engagement, engagement_id).status == "en_cours"  # type: ignore[union-attr]

    with client.session_transaction() as session:
        session.clear()
    public = text_of(client, "/suivi/")
    assert "Réparer l'éclairage du parc" in public and "Les Tilleuls" in public
    assert "en cours : Les travaux commencent lundi" in public
    assert "Messages d'habitants liés : < 5" in public
    assert "<script" not in public
    assert "Réparer" not in text_of(client, "/suivi/?quartier=QP-SUD")


def test_only_chefs_keep_engagements_and_a_conseil_reads_those_of_its_quartiers(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    sud = create(client, territory, quartier=str(territory.sud))
    login_as(client, territory.users["conseil_citoyen"])
    assert client.get(f"/engagements/{sud}").status_code == 404
    assert "Réparer" not in text_of(client, "/engagements/")
    assert post(client, "/engagements/", {"title": "Autre"}).status_code == 403
    assert post(client, f"/engagements/{sud}/statut", {"status": "decide"}).status_code == 403
    with runtime.sessions() as session:
        assert session.scalars(select(EngagementUpdate)).first() is None


def test_a_habitants_answer_shows_in_the_thread_new_in_the_inbox_until_read(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        participant = session.get(Participant, sample.participant_nord)
        assert participant is not None
        message_id = enqueue_reply(session, participant, Reply("Où exactement ?"), now=now)
        session.add(StaffReply(contribution_id=sample.nord, message_id=message_id, created_at=now))
        session.add(
            ThreadMessage(
                contribution_id=sample.nord,
                text="Devant l'école",
                created_at=now + timedelta(minutes=5),
            )
        )
    login_as(client, territory.users["chef_de_projet"])
    inbox = text_of(client, "/inbox/")
    assert "1 nouvelle(s) réponse(s) de l'habitant" in inbox
    assert "1 conversation(s) attendent une réponse" in inbox
    waiting = text_of(client, "/inbox/?suite=attente")
    assert f"/contributions/{sample.nord}" in waiting
    assert f"/contributions/{sample.sud}" not in waiting
    page = text_of(client, f"/contributions/{sample.nord}")
    assert page.index("Où exactement ?") < page.index("Devant l'école")
    assert "nouvelle(s) réponse(s)" not in text_of(client, "/inbox/")  # seen now


def test_a_habitants_answer_in_the_thread_is_shown_masked_like_every_text(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        session.add(
            ThreadMessage(
                contribution_id=sample.nord,
                text="Rappelez-moi au 06 39 98 50 01",
                created_at=now,
            )
        )
    login_as(client, territory.users["conseil_citoyen"])
    page = text_of(client, f"/contributions/{sample.nord}")
    assert "Rappelez-moi au [téléphone]" in page and "06 39 98 50 01" not in page


def test_a_public_engagement_text_naming_someone_is_refused_and_the_field_says_why(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    named = post(client, "/engagements/", {"title": "Voir avec M. Dupont", "description": "ok"})
    shown = html.unescape(named.get_data(as_text=True))
    assert named.status_code == 200 and 'id="err-title"' in shown and "un nom de personne" in shown
    assert 'id="err-description"' not in shown
    with runtime.sessions() as session:
        assert session.scalars(select(Engagement)).all() == []
    # A street name alone is what an engagement is about: it passes.
    engagement_id = create(client, territory, title="Éclairage rue Victor Hugo")
    url = f"/engagements/{engagement_id}"
    edited = post(client, url, {"title": "Éclairage", "description": "écrire à a.b@mairie.fr"})
    assert "une adresse e-mail" in html.unescape(edited.get_data(as_text=True))
    phone = {"status": "en_cours", "text": "Appelez le 06 11 22 33 44", "reason": ""}
    refused = post(client, f"{url}/statut", phone)
    shown = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 200 and 'id="err-status-text"' in shown
    assert "un numéro de téléphone" in shown and ">Appelez le 06 11 22 33 44</textarea>" in shown
    note = post(client, f"{url}/note", {"text": "Vu avec Madame Martin"})
    assert 'id="err-note"' in note.get_data(as_text=True)
    with runtime.sessions() as session:
        engagement = session.get(Engagement, engagement_id)
        assert engagement is not None and engagement.status == "etude"
        assert engagement.title == "Éclairage rue Victor Hugo" and engagement.description == ""
        assert session.scalars(select(EngagementUpdate)).all() == []
    assert "Éclairage rue Victor Hugo" in text_of(client, "/suivi/")


def test_a_name_without_civility_is_asked_about_and_saved_once_staff_confirm_it_names_no_one(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    """The name finder's persons are not refused: the field names the words, the form shows a
    checkbox, and the text is saved once it is ticked. A place named after someone is not asked
    about."""
    login_as(client, territory.users["chef_de_projet"])
    title = "Karim Benali a signalé la fuite du local"
    asked = post(client, "/engagements/", {"title": title})
    shown = html.unescape(asked.get_data(as_text=True))
    assert asked.status_code == 200 and 'id="err-title"' in shown and "« Karim Benali »" in shown
    assert 'id="engagement-names" name="names_checked"' in shown and f'value="{title}"' in shown
    with runtime.sessions() as session:
        assert session.scalars(select(Engagement)).all() == []
    engagement_id = create(client, territory, title=title, names_checked="1")
    # A gymnasium named after someone is a place: saved at once.
    create(client, territory, title="Réfection du gymnase Jean Moulin")
    url = f"/engagements/{engagement_id}"
    note = post(client, f"{url}/note", {"text": "Vu avec Sophie Martin du bailleur"})
    shown = html.unescape(note.get_data(as_text=True))
    assert 'id="err-note"' in shown and 'id="note-names"' in shown
    assert (
        'id="status-names"' not in shown
        and ">Vu avec Sophie Martin du bailleur</textarea>" in shown
    )
    # Ticking the box never lets a civility, a phone or an e-mail through.
    refused = post(client, f"{url}/note", {"text": "Vu avec M. Dupont", "names_checked": "1"})
    assert "un nom de personne" in html.unescape(refused.get_data(as_text=True))
    saved = post(client, f"{url}/note", {"text": "Vu avec Sophie Martin", "names_checked": "1"})
    assert saved.status_code == 302
    with runtime.sessions() as session:
        titles = {e.title for e in session.scalars(select(Engagement))}
        assert titles == {title, "Réfection du gymnase Jean Moulin"}
        assert [u.text for u in session.scalars(select(EngagementUpdate))] == [
            "Vu avec Sophie Martin"
        ]
