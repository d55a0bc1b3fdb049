"""The tableau de bord in a real Chromium: change the period, read a figure, draw the chart, and a
script in a thème's name stays text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Theme
from tests.factories import make_contribution, make_participant
from tests.web.browser.conftest import log_in
from tests.web.conftest import PASSWORD, Territory
from tests.web.evaluation.test_indicators import categorise

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_change_the_period_and_read_the_figures(
    page: Any, runtime: Runtime, territory: Territory
) -> None:
    with transaction(runtime.sessions) as s:
        theme = s.scalars(select(Theme).where(Theme.code == "sante")).one()
        theme.name = XSS
        for n in range(3):  # three habitants write in March 2026, one again in April
            p = make_participant(
                s,
                runtime,
                quartier_id=territory.nord,
                first_seen_at=datetime(2026, 3, 1, tzinfo=UTC),
            )
            c = make_contribution(
                s,
                participant_id=p.id,
                quartier_id=territory.nord,
                created_at=datetime(2026, 3, 10 + n, 12, tzinfo=UTC),
            )
            categorise(s, c, "sante", "staff")
        make_contribution(
            s,
            participant_id=p.id,
            quartier_id=territory.nord,
            created_at=datetime(2026, 4, 2, 12, tzinfo=UTC),
        )
    log_in(page, "chef_de_projet@ville.example", PASSWORD)
    page.get_by_text("Évaluation", exact=True).click()  # the menu's group opens...
    page.get_by_role("link", name="Tableau de bord").click()  # ...on its pages
    page.wait_for_url("**/tableau-de-bord/")

    page.get_by_label("Du mois").fill("2026-04")
    page.get_by_label("Au mois (inclus)").fill("2026-04")
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url(re.compile(r"du=2026-04&au=2026-04"))
    assert page.locator('dd[data-key="participants"]').inner_text() == "1"
    assert page.locator('dd[data-key="contributions"]').inner_text() == "1"

    page.get_by_label("Du mois").fill("2026-03")
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url(re.compile(r"du=2026-03&au=2026-04"))
    assert page.locator('dd[data-key="participants"]').inner_text() == "3"
    row = page.locator('tr[data-theme="sante"]')
    assert row.locator("th").inner_text() == XSS  # the name, as text
    assert row.locator("td").all_inner_texts() == ["3", "0", "3"]
    assert page.get_by_role("table", name="Par canal").locator("td").all_inner_texts() == ["< 5"]
    page.wait_for_selector('canvas[data-drawn="true"]')
    chart = page.evaluate("document.querySelector('canvas[data-chart]').chart.data.datasets[0]")
    assert chart["label"] == XSS and chart["data"] == [3, 0]
    assert page.locator("img[src=x]").count() == 0
    assert page.dialogs == [] and page.errors == []
