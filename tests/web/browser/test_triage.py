"""Triage at the speed of a chef de projet, in Chromium at 1366×768, on the demo territory:
a screen of lines, 50 suggestions confirmed from the keyboard alone with no page load, the top
bar on one line (a menu button on a phone), and axe on "À faire" and an opened line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Categorisation, Contribution, SchedulerLease, Theme
from tests.web.browser.conftest import log_in
from tests.web.browser.test_accessibility import violations
from tests.web.conftest import PASSWORD, Territory
from web.cli.demo import DEMO_EMAIL, seed_demo
from web.suivi import awaiting_ids

NOW = datetime(2026, 11, 16, 10, tzinfo=UTC)
TRIAGED = 50


def suggest_for_newest(runtime: Runtime, n: int) -> dict[int, str]:
    """What the thème model would have done overnight: a suggestion on the `n` newest
    contributions that have no thème yet (their ids, newest first, and the thème suggested)."""
    with transaction(runtime.sessions) as session:
        themes = list(session.scalars(select(Theme).where(Theme.active.is_(True))))
        staff = select(Categorisation.contribution_id).where(Categorisation.source == "staff")
        ids = session.scalars(
            select(Contribution.id)
            .where(
                Contribution.id.not_in(staff),
                Contribution.id.not_in(awaiting_ids()),
                Contribution.status != "archive",
            )
            .order_by(Contribution.created_at.desc(), Contribution.id.desc())
            .limit(n)
        ).all()
        chosen = {}
        for position, contribution_id in enumerate(ids):
            theme = themes[position % len(themes)]
            session.add(
                Categorisation(
                    contribution_id=contribution_id,
                    theme_id=theme.id,
                    source="suggestion",
                    confidence=0.8,
                    model_version="test",
                )
            )
            chosen[contribution_id] = theme.code
        # The worker runs (as in production): no "nothing is sent" banner over the inbox.
        session.add(
            SchedulerLease(name="scheduler", holder="test", expires_at=NOW + timedelta(days=3650))
        )
    return chosen


def confirmed(runtime: Runtime) -> dict[int, str]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(
            select(Categorisation.contribution_id, Theme.code)
            .join(Theme, Theme.id == Categorisation.theme_id)
            .where(Categorisation.source == "staff")
        )
        return {contribution_id: code for contribution_id, code in rows}


def poll(page: Any, condition: Any, tries: int = 200) -> None:
    for _ in range(tries):
        if condition():
            return
        page.wait_for_timeout(25)
    raise AssertionError("condition never held")


def test_fifty_suggestions_confirmed_from_the_keyboard_without_a_page_load(
    page: Any, runtime: Runtime
) -> None:
    password = seed_demo(runtime, now=NOW)
    suggested = suggest_for_newest(runtime, TRIAGED)
    before = confirmed(runtime)
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, DEMO_EMAIL, password, then="")
    todo = page.locator('[data-key="todo-sort"]')
    assert "à confirmer" in todo.inner_text()
    assert violations(page) == []  # "À faire"
    todo.get_by_role("link", name="suggestion(s) de thème à confirmer").click()
    page.wait_for_url("**/inbox/?etat=suggere")

    lines = page.locator("article.line")
    on_screen = page.evaluate(
        "Array.from(document.querySelectorAll('article.line')).filter(function (a) {"
        " var r = a.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight;"
        " }).length"
    )
    assert on_screen >= 20, on_screen  # the first screen, as it opens
    header = page.locator("header.top").bounding_box()
    assert header is not None and header["height"] < 60  # the top bar holds on one line
    waiting_first = page.locator("article.line.waiting").count()
    order = [int(i.removeprefix("c-")) for i in lines.evaluate_all("a => a.map(x => x.id)")]
    assert set(order[waiting_first : waiting_first + TRIAGED]) <= set(suggested)

    loads: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    keys = 0
    suggested_count = int(page.locator('[data-count="suggere"]').inner_text())
    page.keyboard.press("j")
    keys += 1
    for _ in range(waiting_first):  # the conversations waiting for an answer come first
        page.keyboard.press("j")
        keys += 1
    triaged = order[waiting_first : waiting_first + TRIAGED]
    assert len(triaged) == TRIAGED
    for contribution_id in triaged:
        page.wait_for_selector(f"#c-{contribution_id}:focus", state="attached")
        page.keyboard.press("c")
        keys += 1
        page.wait_for_selector(f"#c-{contribution_id}[data-state=confirme]", state="attached")
    now = confirmed(runtime)
    done = {i: code for i, code in now.items() if i not in before}
    assert done == {i: suggested[i] for i in triaged}
    assert loads == []  # not one page load for 50 confirmations
    assert (keys - waiting_first) / TRIAGED <= 2  # 1 key each, and one to start
    assert int(page.locator('[data-count="suggere"]').inner_text()) == suggested_count - TRIAGED

    page.keyboard.press("Enter")  # the focused line opens in place: text, words, actions
    assert page.locator("article.line:focus details[open]").count() == 1
    assert violations(page) == []
    assert page.errors == [] and page.dialogs == []


def test_a_phone_gets_a_menu_button(page: Any, territory: Territory) -> None:
    page.set_viewport_size({"width": 600, "height": 800})
    log_in(page, "chef_de_projet@ville.example", PASSWORD, then="")
    menu = page.get_by_role("button", name="Menu")
    assert menu.is_visible() and not page.locator("#menu").is_visible()
    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    page.get_by_text("Évaluation", exact=True).click()
    page.get_by_role("link", name="Tableau de bord").click()
    page.wait_for_url("**/tableau-de-bord/")
    assert page.errors == []
