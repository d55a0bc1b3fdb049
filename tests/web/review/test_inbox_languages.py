"""The team sees the language each text is written in: badge, inbox filter, export column."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from bots.runtime import Runtime
from storage.db import transaction
from tests.factories import make_contribution
from tests.web.conftest import Territory, login_as

CARD = re.compile(r'<article class="contribution line[^"]*" id="c-(\d+)"')


def test_badge_filter_and_export_carry_the_written_language(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    with transaction(runtime.sessions) as session:
        arabic = make_contribution(session, text="نحتاج إلى طبيب في الحي", language="ar")
        french = make_contribution(session, text="il manque un médecin", language="fr")
    login_as(client, territory.users["chef_de_projet"])
    page = client.get("/inbox/").get_data(as_text=True)
    assert '<span class="lang-badge" lang="ar"' in page and ">arabe</span>" in page
    assert '<option value="uk">ukrainien</option>' in page  # every catalogue language
    only = client.get("/inbox/?langue=ar").get_data(as_text=True)
    assert [int(i) for i in CARD.findall(only)] == [arabic.id]
    assert 'lang="ar" dir="auto">نحتاج' in only
    detail = client.get(f"/contributions/{arabic.id}").get_data(as_text=True)
    assert "Écrit en" in detail and ">arabe</span>" in detail
    exported = client.get("/exports/contributions.csv?langue=ar").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported.lstrip("\ufeff")), delimiter=";"))
    assert [(r["id"], r["langue"]) for r in rows] == [(str(arabic.id), "ar")]
    assert "il manque un médecin" not in exported and french.id != arabic.id
