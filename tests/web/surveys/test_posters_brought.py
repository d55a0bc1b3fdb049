"""The posters page says how many people each code brought, by channel, with small counts
hidden and trial phones never counted."""

from __future__ import annotations

import html
from typing import Any

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import JoinCode
from tests.factories import make_participant
from tests.web.conftest import Territory, login_as


def test_each_code_shows_the_people_it_brought_per_channel(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    with transaction(runtime.sessions) as session:
        session.add(JoinCode(code="fete-nord", quartier_id=territory.nord, action="Fête"))
        for _ in range(7):
            make_participant(session, runtime, channel="terrain", joined_via="fete-nord")
        for _ in range(6):
            make_participant(session, runtime, channel="telegram", joined_via="fete-nord")
        make_participant(session, runtime, channel="sms", joined_via="fete-nord")
        make_participant(session, runtime, joined_via="fete-nord", is_test=True)
    login_as(client, territory.users["conseil_citoyen"])
    page = html.unescape(client.get("/affiches/").get_data(as_text=True))
    assert "Terrain : 7 · Telegram : ≥ 5 · SMS : < 5" in page
    assert "Simulateur :" not in page  # the trial phone
