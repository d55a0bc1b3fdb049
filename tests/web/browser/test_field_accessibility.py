"""Accessibility of the field pages, checked by axe-core in Chromium (WCAG 2.1 AA, as the
back-office pages in test_accessibility.py), at a phone's width: 360 px."""

from __future__ import annotations

from typing import Any

from tests.web.browser.test_accessibility import violations
from tests.web.browser.test_field_offline import log_in_field
from tests.web.conftest import Territory
from tests.web.field.conftest import Field, field  # noqa: F401  (fixture)


def test_the_field_pages_have_no_wcag_aa_fault_axe_can_find_on_a_phone(
    page: Any,
    territory: Territory,
    field: Field,  # noqa: F811
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    log_in_field(page, territory)
    campaign = field.campaign_nord
    urls = [
        "/terrain/",
        "/terrain/mes-entrees",
        "/terrain/enquetes",
        f"/terrain/enquetes/{campaign}",
        f"/terrain/enquetes/{campaign}/papier?action={field.action_nord}",
        f"/terrain/enquetes/{campaign}/saisie",
    ]
    found = {}
    for url in urls:
        assert page.goto(url).status == 200, url
        found[url] = violations(page)
    # A refused entry: the error next to its field.
    page.goto("/terrain/")
    page.get_by_role("button", name="Enregistrer l'entrée").click()
    page.wait_for_url("**/terrain/entrees")
    found["/terrain/entrees (refusée)"] = violations(page)
    # A survey face to face: the first question, then one not understood.
    page.goto(f"/terrain/enquetes/{campaign}")
    page.get_by_role("button", name="Commencer").click()
    page.wait_for_url("**/terrain/passages/*")
    found["question 1"] = violations(page)
    page.get_by_role("button", name="Valider").click()
    page.wait_for_load_state()
    found["question 1, à nouveau"] = violations(page)
    page.get_by_label("Oui").check()
    page.get_by_role("button", name="Valider").click()
    page.wait_for_load_state()
    found["question 2"] = violations(page)
    assert {url: v for url, v in found.items() if v} == {}
