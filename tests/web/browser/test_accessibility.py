"""Accessibility of the back-office pages, checked by axe-core in Chromium.

French public bodies must follow the RGAA, which builds on WCAG 2.1 level AA. axe-core finds the
faults a machine can find (names of fields and buttons, contrast, headings, landmarks, ARIA);
what it cannot judge (the order of reading, plain language) stays a human review.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from bots.runtime import Runtime
from storage.models import (
    Campaign,
    Contribution,
    Engagement,
    JoinCode,
    Publication,
    Survey,
    Theme,
    User,
)
from tests.web.browser.conftest import log_in
from web.cli.demo import DEMO_EMAIL, seed_demo

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def demo(runtime: Runtime) -> dict[str, Any]:
    password = seed_demo(runtime, now=datetime(2026, 11, 16, 10, tzinfo=UTC))
    with runtime.sessions() as session:
        contribution = session.scalars(select(Contribution.id).limit(1)).one()
        survey = session.scalars(select(Survey.id).limit(1)).one()
        campaign = session.scalars(select(Campaign.id).limit(1)).first()
        ids = {
            "theme": session.scalars(select(Theme.id).limit(1)).one(),
            "user": session.scalars(select(User.id).limit(1)).one(),
            "code": session.scalars(select(JoinCode.id).limit(1)).one(),
            "engagement": session.scalars(select(Engagement.id).limit(1)).one(),
            "published": session.scalars(select(Publication.campaign_id)).one(),
            "slug": session.scalars(select(Publication.slug)).one(),
        }
    return {
        "password": password,
        "contribution": contribution,
        "survey": survey,
        "campaign": campaign,
        **ids,
    }


def violations(page: Any) -> list[str]:
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}})
    assert len(results.response["passes"]) >= 10, page.url  # axe did run on this page
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]


def test_the_back_office_pages_have_no_wcag_aa_fault_axe_can_find(
    page: Any, demo: dict[str, Any]
) -> None:
    page.goto("/auth/login")
    found = {"/auth/login": violations(page)}
    log_in(page, DEMO_EMAIL, demo["password"])
    urls = [
        "/inbox/",
        "/tableau-de-bord/",
        f"/contributions/{demo['contribution']}",
        "/themes/",
        "/themes/nouveau",
        f"/themes/{demo['theme']}",
        "/exports/",
        "/reponses/modeles",
        "/enquetes/",
        f"/enquetes/{demo['survey']}",
        "/enquetes/nouvelle",
        f"/enquetes/{demo['survey']}/essai",
        "/campagnes/",
        "/campagnes/nouvelle",
        "/affiches/",
        f"/affiches/{demo['code']}",
        "/simulateur/",
        "/journal/",
        "/comptes/",
        f"/comptes/{demo['user']}",
        "/comptes/moi",
        "/engagements/",
        f"/engagements/{demo['engagement']}",
        f"/affiches/resultats/{demo['published']}",
        f"/campagnes/{demo['published']}/retour",
        "/rapport/",
    ]
    if demo["campaign"]:
        urls.append(f"/campagnes/{demo['campaign']}")
    for url in urls:
        assert page.goto(url).status == 200, url
        found[url] = violations(page)
    assert {url: v for url, v in found.items() if v} == {}


def test_the_public_pages_have_no_fault_and_fit_a_small_phone(
    browser: Any, live_server: str, demo: dict[str, Any]
) -> None:
    """Without login, on a 360-pixel-wide phone: axe finds nothing, nothing scrolls sideways,
    and no script is loaded."""
    context = browser.new_context(
        base_url=live_server, locale="fr-FR", viewport={"width": 360, "height": 740}
    )
    phone = context.new_page()
    found = {}
    try:
        for url in ("/resultats/", f"/resultats/{demo['slug']}", "/suivi/"):
            assert phone.goto(url).status == 200, url
            found[url] = violations(phone)
            overflow = phone.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (url, overflow)
            assert phone.evaluate("document.scripts.length") == 0, url
    finally:
        context.close()
    assert {url: v for url, v in found.items() if v} == {}
