"""Every route, every role: what each account may see and do is checked on the server.

A conseil citoyen only reaches the contributions of their quartier(s), whatever id they type
in the URL, and never sees a phone number or a chat id.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Contribution, Message, Theme
from tests.web.conftest import Sample, Territory, csrf_token, login_as, post

ALL = {"administrateur", "chef_de_projet", "conseil_citoyen", "lecteur"}
TEAM = {"administrateur", "chef_de_projet"}
ADMIN = {"administrateur"}
CATEGORISERS = {"administrateur", "chef_de_projet", "conseil_citoyen"}


def get_routes(sample: Sample, territory: Territory, theme_id: int) -> list[tuple[str, set[str]]]:
    """(url, roles that get 200); every other role gets 403, or 404 outside its quartiers."""
    return [
        ("/inbox/", ALL),
        ("/inbox/?q=banc&statut=tous", ALL),
        (f"/contributions/{sample.nord}", ALL),
        (f"/contributions/{sample.sud}", ALL - {"conseil_citoyen"}),
        (f"/contributions/{sample.nord}/media/0", ALL),
        ("/themes/", TEAM),
        ("/themes/nouveau", TEAM),
        (f"/themes/{theme_id}", TEAM),
        ("/themes/couleurs.css", ALL),
        ("/reponses/modeles", TEAM),
        ("/journal/", ADMIN),
        ("/comptes/", ADMIN),
        (f"/comptes/{territory.users['lecteur']}", ADMIN),
        ("/comptes/moi", ALL | {"intervenant"}),
        ("/exports/", ALL),
        ("/exports/contributions.csv", ALL),
        ("/exports/contributions.xlsx", ALL),
        ("/exports/reponses.csv", ALL),
        ("/exports/reponses.xlsx", ALL),
    ]


def first_theme(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return session.scalars(select(Theme.id).order_by(Theme.position)).first()  # type: ignore


@pytest.mark.parametrize("role", sorted(ALL | {"intervenant"}))
def test_pages_each_role_may_open(
    role: str, client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users[role])
    refused = {}
    for url, allowed in get_routes(sample, territory, first_theme(runtime)):
        with client.get(url) as response:  # closes the media file a WSGI server would close
            status = response.status_code
        expected = 200 if role in allowed else 403
        if role == "conseil_citoyen" and str(sample.sud) in url.split("/"):
            expected = 404  # outside their quartier: not even "forbidden"
        if status != expected:
            refused[url] = status
    assert refused == {}


def test_anonymous_visitors_are_sent_to_the_login_page(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    for url, _allowed in get_routes(sample, territory, first_theme(runtime)):
        with client.get(url) as response:
            assert response.status_code == 302, url
            assert "/auth/login" in response.headers["Location"]


def actions(sample: Sample, theme_id: int) -> list[tuple[str, dict[str, Any], set[str]]]:
    """(url, form, roles allowed) for every form that changes something."""
    return [
        (
            f"/contributions/{sample.nord}/theme",
            {"action": "set", "theme_id": theme_id},
            CATEGORISERS,
        ),
        (f"/contributions/{sample.nord}/status", {"status": "traite"}, CATEGORISERS),
        (
            "/contributions/bulk",
            {"ids": [sample.nord], "action": "status", "status": "a_traiter"},
            CATEGORISERS,
        ),
        (f"/reponses/contribution/{sample.nord}", {"text": "Merci, c'est noté."}, TEAM),
        ("/reponses/modeles", {"name": "Merci", "text": "Merci !", "language": "fr"}, TEAM),
        (f"/themes/{theme_id}", {"name": "Renommé", "colour": "#123456", "active": "on"}, TEAM),
        (
            "/comptes/",
            {"email": "x@ville.example", "password": "0123456789ab", "role": "lecteur"},
            ADMIN,
        ),
    ]


@pytest.mark.parametrize("role", sorted(ALL))
def test_forms_each_role_may_send(
    role: str, client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users[role])
    wrong = {}
    for url, form, allowed in actions(sample, first_theme(runtime)):
        status = post(client, url, form).status_code
        ok = status in (302, 303)
        if ok != (role in allowed) or (not ok and status != 403):
            wrong[url] = status
    assert wrong == {}


def test_a_conseil_citoyen_cannot_touch_another_quartier_by_changing_the_id(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    theme_id = first_theme(runtime)
    for url, form in [
        (f"/contributions/{sample.sud}/theme", {"action": "set", "theme_id": theme_id}),
        (f"/contributions/{sample.sud}/status", {"status": "archive"}),
        (
            "/contributions/bulk",
            {"ids": [sample.nord, sample.sud], "action": "status", "status": "archive"},
        ),
    ]:
        assert post(client, url, form).status_code == 404, url
    with client.get(f"/contributions/{sample.sud}/media/0") as response:
        assert response.status_code == 404
    with transaction(runtime.sessions) as session:
        statuses = set(session.scalars(select(Contribution.status)))
        assert statuses == {"nouveau"}  # the bulk action was refused as a whole
    inbox = client.get("/inbox/?statut=tous").get_data(as_text=True)
    assert "Le banc du square" in inbox and "poubelles" not in inbox
    csv = client.get("/exports/contributions.csv").get_data(as_text=True)
    assert "Le banc du square" in csv and "poubelles" not in csv
    quartier_filter = client.get(f"/inbox/?quartier={territory.sud}").get_data(as_text=True)
    assert "poubelles" not in quartier_filter


def test_no_page_or_export_shows_a_phone_number(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    for role in ("conseil_citoyen", "administrateur"):
        login_as(client, territory.users[role])
        post(client, f"/reponses/contribution/{sample.nord}", {"text": "Merci !"})
        for url, _allowed in get_routes(sample, territory, first_theme(runtime)):
            with client.get(url) as response:
                body = response.get_data()
            for secret in (b"639980001", b"639980002", b"+336", b"06 39"):
                assert secret not in body, (role, url, secret)
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(Message.id)).first() is not None  # a reply was queued


def test_the_lecteur_sees_no_action_buttons(
    client: Any, territory: Territory, sample: Sample
) -> None:
    login_as(client, territory.users["lecteur"])
    page = client.get(f"/contributions/{sample.nord}").get_data(as_text=True)
    assert 'action="/contributions/' not in page
    assert "/reponses/contribution/" not in page
    inbox = client.get("/inbox/").get_data(as_text=True)
    assert 'id="bulk"' not in inbox and 'data-key="confirm"' not in inbox
    assert csrf_token(client, "/comptes/moi")  # their own preferences stay theirs
