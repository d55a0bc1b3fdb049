"""Thèmes managed in the back-office: edit, create, six at most offered, audited, coloured."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import AuditEntry, Theme
from tests.web.conftest import Territory, login_as, post


def get_theme(runtime: Runtime, code: str) -> Theme:
    with transaction(runtime.sessions) as session:
        return session.scalars(select(Theme).where(Theme.code == code)).one()


def test_the_seeded_thèmes_are_listed(client: Any, territory: Territory) -> None:
    login_as(client, territory.users["chef_de_projet"])
    page = client.get("/themes/").get_data(as_text=True)
    assert "Accompagnement à la scolarité" in page and "École, devoirs" in page


def test_edit_a_thème_and_the_change_is_audited(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    theme = get_theme(runtime, "scolarite")
    login_as(client, territory.users["chef_de_projet"])
    form = {
        "name": "Réussite éducative",
        "description": "Devoirs, école",
        "keywords": "école, devoirs ,, collège",
        "colour": "#AA3300",
        "active": "on",
        "offered": "on",
        "label_fr": "École",
        "label_en": "School",
    }
    assert post(client, f"/themes/{theme.id}", form).status_code == 302
    after = get_theme(runtime, "scolarite")
    assert after.name == "Réussite éducative"
    assert after.keywords == ["école", "devoirs", "collège"]
    assert after.colour == "#aa3300"
    assert after.labels["fr"] == "École" and after.labels["en"] == "School"
    with transaction(runtime.sessions) as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert entry.action == "theme_def.update" and entry.target == "theme:scolarite"
    assert entry.detail["changed"]["name"] == [
        "Accompagnement à la scolarité",
        "Réussite éducative",
    ]
    css = client.get("/themes/couleurs.css")
    assert css.mimetype == "text/css"
    assert f".theme-{theme.id}{{border-left-color:#aa3300}}" in css.get_data(as_text=True)


def test_bad_values_are_refused(client: Any, runtime: Runtime, territory: Territory) -> None:
    theme = get_theme(runtime, "scolarite")
    login_as(client, territory.users["chef_de_projet"])
    for form in (
        {"name": "", "colour": "#112233"},
        {"name": "X", "colour": "red;}body{display:none"},
    ):
        response = post(client, f"/themes/{theme.id}", form)
        assert response.status_code == 200
    assert get_theme(runtime, "scolarite").name == theme.name
    assert post(client, "/themes/999999", {"name": "x"}).status_code == 404


def test_at_most_six_thèmes_are_offered_to_habitants(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["administrateur"])
    with transaction(runtime.sessions) as session:
        themes = list(session.scalars(select(Theme).order_by(Theme.position)))
    refused = 0
    for theme in themes:
        response = post(
            client,
            f"/themes/{theme.id}",
            {"name": theme.name, "colour": theme.colour, "active": "on", "offered": "on"},
        )
        refused += response.status_code == 200
    with transaction(runtime.sessions) as session:
        offered = session.scalar(
            select(func.count(Theme.id)).where(
                Theme.offered_to_habitants.is_(True), Theme.active.is_(True)
            )
        )
    assert offered == 6
    assert refused == len(themes) - 6


def test_create_a_thème(client: Any, runtime: Runtime, territory: Territory) -> None:
    login_as(client, territory.users["chef_de_projet"])
    form = {
        "code": "jardins-partages",
        "name": "Jardins partagés",
        "colour": "#118844",
        "active": "on",
    }
    assert post(client, "/themes/nouveau", form).status_code == 302
    assert get_theme(runtime, "jardins-partages").name == "Jardins partagés"
    assert post(client, "/themes/nouveau", form).status_code == 200  # same code again
    assert post(client, "/themes/nouveau", {**form, "code": "Pas Bon!"}).status_code == 200
    with transaction(runtime.sessions) as session:
        actions = list(session.scalars(select(AuditEntry.action)))
    assert actions == ["theme_def.create"]
    page = client.get("/inbox/").get_data(as_text=True)
    assert ">Jardins partagés</option>" in page  # offered for sorting at once
