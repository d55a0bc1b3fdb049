""" "À faire" after login, per role, and the top bar each role sees: only what it may use."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Campaign, StaffReply, Survey, ThreadMessage
from tests.web.conftest import Sample, Territory, login_as
from web.nav import NAV

LINK = re.compile(r'<a href="([^"]+)"')


def menu_of(client: Any) -> set[str]:
    page = client.get("/comptes/moi").get_data(as_text=True)
    nav = page[page.index('<nav id="menu"') : page.index("</nav>")]
    return set(LINK.findall(nav))


def test_each_role_is_offered_only_pages_it_may_open(
    app: Flask, client: Any, territory: Territory
) -> None:
    every = {link.endpoint for group in NAV for link in group.links}
    with app.test_request_context():
        from flask import url_for

        urls = {endpoint: url_for(endpoint) for endpoint in every}
    for role, user_id in territory.users.items():
        login_as(client, user_id)
        shown = menu_of(client) - {"/comptes/moi"}
        assert shown <= set(urls.values()), role
        for url in urls.values():  # shown if and only if it opens (the simulator, open to any
            status = client.get(url).status_code  # account, is the team's tool: not the field's)
            if url != "/simulateur/" or role != "intervenant":
                assert (url in shown) == (status == 200), (role, url, status)
    login_as(client, territory.users["lecteur"])
    assert "Administration" not in client.get("/comptes/moi").get_data(as_text=True)


def test_a_home_that_says_what_waits_each_item_a_link(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        session.add(StaffReply(contribution_id=sample.nord, created_at=now - timedelta(hours=2)))
        session.add(ThreadMessage(contribution_id=sample.nord, text="Et alors ?", created_at=now))
        survey = Survey(slug="bancs", title={"fr": "Les bancs"})
        session.add(survey)
        session.flush()
        session.add_all(
            [
                Campaign(survey_id=survey.id, name="Bancs du parc", status="awaiting_approval"),
                Campaign(
                    survey_id=survey.id,
                    name="Fête de quartier",
                    status="running",
                    closes_at=now + timedelta(days=3),
                ),
                Campaign(
                    survey_id=survey.id,
                    name="Plus tard",
                    status="running",
                    closes_at=now + timedelta(days=20),
                ),
            ]
        )
    login_as(client, territory.users["chef_de_projet"])
    page = client.get("/").get_data(as_text=True)
    assert 'href="/inbox/?etat=a_trier"><span class="figure">2</span>' in page
    assert 'href="/inbox/?suite=attente"><span class="figure">1</span>' in page
    assert "Bancs du parc" in page and "Fête de quartier" in page and "Plus tard" not in page
    held = client.get("/campagnes/?etat=awaiting_approval").get_data(as_text=True)
    assert "Bancs du parc" in held and "Fête de quartier" not in held
    login_as(client, territory.users["lecteur"])
    page = client.get("/").get_data(as_text=True)
    assert "suite=attente" not in page and "etat=a_trier" not in page  # nothing it may act on
    assert "Bancs du parc" not in page
    login_as(client, territory.users["intervenant"])
    assert client.get("/").headers["Location"].endswith("/terrain/")
