"""Recording what was heard in the field: once per client-made id, anonymous by default, and
every mistake said next to its field."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import func, select

from bots.runtime import Runtime
from storage.models import Categorisation, Contribution, Message, Participant
from tests.web.conftest import Territory, csrf_token, login_as, post
from tests.web.field.conftest import Field


def entry(territory: Territory, field: Field, **values: Any) -> dict[str, Any]:
    return {
        "client_id": "a1b2c3d4e5f60718",
        "texte": "Il n'y a plus de lumière dans la cage d'escalier B",
        "quartier": str(territory.nord),
        "action": str(field.action_nord),
        "langue": "fr",
        **values,
    }


def send_json(client: Any, data: dict[str, Any]) -> Any:
    token = csrf_token(client, "/terrain/")
    return client.post("/terrain/entrees", json=data, headers={"X-CSRFToken": token})


def test_an_intervenant_records_an_entry_once_whatever_the_retries(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    data = entry(territory, field, theme="", age="26_40", genre="femme")
    first = send_json(client, data)
    again = send_json(client, data)
    assert (first.status_code, first.json["status"]) == (201, "recorded")
    assert (again.status_code, again.json["status"]) == (200, "duplicate")
    with runtime.sessions() as session:
        [contribution] = session.scalars(select(Contribution)).all()
        assert contribution.channel == "terrain"
        assert contribution.action_id == field.action_nord
        assert contribution.intervenant_id == territory.users["intervenant"]
        assert contribution.quartier_id == territory.nord
        person = session.get(Participant, contribution.participant_id)
        assert person is not None
        assert (person.channel, person.address_enc, person.joined_via) == (
            "terrain",
            "",
            "porte-nord",
        )
        assert (person.age_range, person.gender) == ("26_40", "femme")
        assert session.scalar(select(func.count(Message.id)).where(Message.channel == "sms")) == 0


def test_the_plain_form_works_without_javascript_and_keeps_the_action(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    response = post(client, "/terrain/entrees", entry(territory, field, theme="cadre-de-vie"))
    assert response.status_code == 302
    assert f"action={field.action_nord}" in response.headers["Location"]
    with runtime.sessions() as session:
        label = session.scalars(select(Categorisation)).one()
        assert (label.source, label.user_id) == ("staff", territory.users["intervenant"])


def test_an_entry_with_no_text_is_refused_next_to_the_field_and_nothing_is_recorded(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    response = post(client, "/terrain/entrees", entry(territory, field, texte="   "))
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert 'id="err-texte"' in page and "Écrivez ce que la personne a dit" in page
    assert 'aria-invalid="true"' in page
    as_json = send_json(client, entry(territory, field, texte=""))
    assert as_json.status_code == 400 and "texte" in as_json.json["errors"]
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Contribution.id))) == 0


def test_a_number_that_is_not_a_french_mobile_is_said_so(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    for wrong in ("01 23 45 67 89", "06 12", "+44 7911 123456", "bonjour"):
        response = post(client, "/terrain/entrees", entry(territory, field, telephone=wrong))
        page = html.unescape(response.get_data(as_text=True))
        assert response.status_code == 400, wrong
        assert "n'est pas un portable français" in page, wrong
        assert "Il n'y a plus de lumière" in page  # the words typed are not lost
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Contribution.id))) == 0


def test_a_habitant_who_wants_news_gets_only_the_consent_question_by_sms(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    response = send_json(client, entry(territory, field, telephone="06 12 34 56 78"))
    assert response.status_code == 201 and response.json["invited"] is True
    english = send_json(
        client,
        entry(
            territory, field, client_id="d1b2c3d4e5f60718", langue="en", telephone="07 81 23 45 67"
        ),
    )
    assert english.json["invited"] is True
    again = send_json(
        client, entry(territory, field, client_id="b1b2c3d4e5f60718", telephone="+33612345678")
    )
    assert again.json["invited"] is False  # the question already waits for them
    with runtime.sessions() as session:
        sms = session.scalars(
            select(Participant).where(
                Participant.channel == "sms", Participant.address_mask.endswith("78")
            )
        ).one()
        assert sms.consent_at is None and sms.joined_via == "porte-nord"
        assert sms.quartier_id == territory.nord
        [question] = session.scalars(select(Message).where(Message.participant_id == sms.id)).all()
        assert question.direction == "out" and question.status == "pending"
        assert question.choices == ["Oui", "Non"]
        # The entry itself stays anonymous: the number is not linked to what was said.
        contributions = session.scalars(select(Contribution)).all()
        english_sms = session.scalars(
            select(Message.body)
            .join(Participant, Participant.id == Message.participant_id)
            .where(Participant.language == "en", Participant.channel == "sms")
        ).one()
        assert english_sms.startswith("Hello, Paroles here"), english_sms
        assert len(contributions) == 3 and all(c.participant_id != sms.id for c in contributions)


def test_the_field_pages_and_the_own_entries(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    send_json(client, entry(territory, field))
    login_as(client, territory.users["chef_de_projet"])
    send_json(client, entry(territory, field, client_id="c1b2c3d4e5f60718", texte="Autre chose"))
    login_as(client, territory.users["intervenant"])
    mine = html.unescape(client.get("/terrain/mes-entrees").get_data(as_text=True))
    assert "Il n'y a plus de lumière" in mine and "Autre chose" not in mine
    index = html.unescape(client.get("/terrain/").get_data(as_text=True))
    assert "Il n'y a plus de lumière" not in index  # the page kept offline holds nobody's words
    assert "porte-nord" in index and "stand-sud" not in index
    assert client.get("/").headers["Location"].endswith("/terrain/")


def test_an_intervenant_creates_an_action_in_its_quartier(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    response = post(
        client,
        "/terrain/actions",
        {"type": "stand", "libelle": "Marché du jeudi", "quartier": str(territory.nord)},
    )
    assert response.status_code == 303
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Stand (marché, sortie d'école) : Marché du jeudi" in page
    assert (
        post(
            client, "/terrain/actions", {"type": "nope", "quartier": str(territory.nord)}
        ).status_code
        == 303
    )


def test_an_unreadable_payload_is_answered_and_nothing_is_lost(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    token = csrf_token(client, "/terrain/")
    response = client.post(
        "/terrain/entrees",
        data="{not json",
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 400 and "texte" in response.json["errors"]


def test_own_entries_show_the_theme_given_or_the_one_suggested_since(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    from storage.db import transaction
    from storage.models import Theme

    login_as(client, territory.users["intervenant"])
    send_json(client, entry(territory, field, theme="cadre-de-vie"))
    send_json(client, entry(territory, field, client_id="f1b2c3d4e5f60718", texte="Pas de bus"))
    with transaction(runtime.sessions) as session:
        bus = session.scalars(select(Contribution).where(Contribution.text == "Pas de bus")).one()
        emploi = session.scalars(select(Theme).where(Theme.code == "emploi")).one()
        session.add(Categorisation(contribution_id=bus.id, theme_id=emploi.id, source="suggestion"))
    response = client.get("/terrain/mes-entrees")
    page = html.unescape(response.get_data(as_text=True))
    assert response.headers["Cache-Control"] == "no-store"
    assert "badge confirmed" in page and "thème suggéré" in page
    # One tap confirms the suggestion: a human's thème from then on (the inbox counts it so).
    confirm = post(client, f"/terrain/mes-entrees/{bus.id}/theme", {"theme": "emploi"})
    assert confirm.status_code == 303
    with runtime.sessions() as session:
        sources = session.scalars(
            select(Categorisation.source).where(Categorisation.contribution_id == bus.id)
        ).all()
        assert sorted(sources) == ["staff", "suggestion"]
    page = html.unescape(client.get("/terrain/mes-entrees").get_data(as_text=True))
    assert "Confirmer ce thème" not in page and "thème suggéré" not in page


def test_only_the_intervenant_who_noted_an_entry_chooses_its_theme(
    client: Any, runtime: Runtime, territory: Territory, field: Field
) -> None:
    login_as(client, territory.users["intervenant"])
    send_json(client, entry(territory, field))
    with runtime.sessions() as session:
        noted = session.scalars(select(Contribution.id)).one()
    client.post("/deconnexion")
    login_as(client, territory.users["chef_de_projet"])
    assert (
        post(client, f"/terrain/mes-entrees/{noted}/theme", {"theme": "emploi"}).status_code == 403
    )
    assert post(client, "/terrain/mes-entrees/999999/theme", {"theme": "emploi"}).status_code == 404
