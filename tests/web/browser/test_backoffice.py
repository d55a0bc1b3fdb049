"""The back-office in a real Chromium: log in, filter, confirm, keyboard, bulk, reply, export,
and a habitant's script payload that stays text everywhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Categorisation, Message, Theme
from tests.factories import make_contribution
from tests.web.browser.conftest import log_in
from tests.web.conftest import PASSWORD, Sample, Territory

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
CHEF = "chef_de_projet@ville.example"


def suggest(runtime: Runtime, contribution_id: int, code: str, confidence: float) -> None:
    with transaction(runtime.sessions) as session:
        theme = session.scalars(select(Theme).where(Theme.code == code)).one()
        session.add(
            Categorisation(
                contribution_id=contribution_id,
                theme_id=theme.id,
                source="suggestion",
                confidence=confidence,
                model_version="test",
            )
        )


def wait_until(page: Any, condition: Any, tries: int = 100) -> None:
    """Poll `condition` (the CSP forbids the string `wait_for_function` evaluates)."""
    for _ in range(tries):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("condition never held")


def staff_themes(runtime: Runtime) -> dict[int, set[str]]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(
            select(Categorisation.contribution_id, Theme.code)
            .join(Theme, Theme.id == Categorisation.theme_id)
            .where(Categorisation.source == "staff")
        )
        found: dict[int, set[str]] = {}
        for contribution_id, code in rows:
            found.setdefault(contribution_id, set()).add(code)
        return found


def test_log_in_filter_confirm_and_keyboard(
    page: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    suggest(runtime, sample.nord, "cadre-de-vie", 0.91)
    suggest(runtime, sample.sud, "transition-ecologique", 0.64)
    log_in(page, CHEF, PASSWORD)
    assert page.locator("article.contribution").count() == 2
    page.locator(f"#c-{sample.nord} summary").click()  # the line opens in place
    assert page.locator(f"#c-{sample.nord} img").get_attribute("alt")  # the photo is shown

    page.get_by_text("Filtrer et rechercher").click()
    page.get_by_label("Rechercher dans les textes").fill("poubelle")
    page.get_by_role("button", name="Filtrer", exact=True).click()
    page.wait_for_url(re.compile(r"q=poubelle"))
    assert page.locator("article.contribution").count() == 1
    card = page.locator(f"#c-{sample.sud}")
    assert "Transition écologique 64 %" in card.locator("summary").inner_text()
    card.locator("summary").click()
    assert "Suggéré : Transition écologique (64 %)" in card.inner_text()
    card.get_by_role("button", name=re.compile("^Confirmer")).click()
    wait_until(page, lambda: staff_themes(runtime) == {sample.sud: {"transition-ecologique"}})
    assert "q=poubelle" in page.url  # the same filtered view, not reloaded
    assert "Transition écologique" in page.locator(f"#c-{sample.sud} .chip.confirmed").inner_text()

    page.goto("/inbox/")
    page.keyboard.press("j")  # first card
    focused = page.evaluate("document.activeElement.id")
    assert focused == f"c-{sample.sud}"
    page.keyboard.press("j")
    assert page.evaluate("document.activeElement.id") == f"c-{sample.nord}"
    page.keyboard.press("c")  # confirm its suggestion without the mouse, without a page load
    wait_until(page, lambda: staff_themes(runtime).get(sample.nord) == {"cadre-de-vie"})
    line = page.locator(f"#c-{sample.nord}")
    wait_until(page, lambda: line.get_attribute("data-state") == "confirme")  # redrawn
    assert page.evaluate("document.activeElement.id") == f"c-{sample.nord}"
    page.keyboard.press("t")  # the line's thème list (the line opens)...
    assert page.evaluate("document.activeElement.dataset.key") == "theme"
    page.locator(f"#theme-{sample.nord}").select_option(label="Emploi et développement économique")
    page.keyboard.press("Enter")  # ...and Enter applies it
    wait_until(page, lambda: staff_themes(runtime).get(sample.nord) == {"emploi"})
    wait_until(page, lambda: page.evaluate("document.activeElement.id") == f"c-{sample.nord}")
    assert page.dialogs == [] and page.errors == []


def test_bulk_categorise_reply_and_export(
    page: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    log_in(page, CHEF, PASSWORD)
    page.get_by_label(f"Cocher la contribution {sample.nord}").check()
    page.get_by_label(f"Cocher la contribution {sample.sud}").check()
    bulk = page.locator("#bulk")
    bulk.get_by_label("Action").select_option("set")
    bulk.get_by_label("Thème").select_option(label="Tranquillité publique")
    bulk.get_by_role("button", name="Appliquer").click()
    page.wait_for_load_state()
    assert "2 contribution(s) mise(s) à jour sur 2." in page.content()
    assert staff_themes(runtime) == {
        sample.nord: {"tranquillite"},
        sample.sud: {"tranquillite"},
    }

    page.goto(f"/contributions/{sample.nord}")
    page.get_by_label("Partir d'un modèle").select_option(label="Merci (fr)")
    reply = page.get_by_label(re.compile("^Votre réponse"))
    assert reply.input_value().startswith("Merci pour votre message.")
    reply.fill("Merci, le banc sera réparé jeudi.")
    page.get_by_role("button", name="Envoyer").click()
    page.wait_for_url(re.compile("#repondre$"))
    assert "en attente d'envoi" in page.locator("#repondre").inner_text()
    with transaction(runtime.sessions) as session:
        message = session.scalars(select(Message).where(Message.kind == "staff_reply")).one()
        assert message.body == "Merci, le banc sera réparé jeudi."

    page.goto("/inbox/?canal=simulator")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    assert "Le banc du square est cassé" in content and "tranquillite" in content
    assert page.dialogs == [] and page.errors == []


def test_a_script_payload_from_a_habitant_is_shown_as_text(
    page: Any, runtime: Runtime, territory: Territory
) -> None:
    with transaction(runtime.sessions) as session:
        contribution = make_contribution(session, text=XSS, quartier_id=territory.nord)
    suggest(runtime, contribution.id, "sante", 0.5)
    log_in(page, CHEF, PASSWORD)
    for url in ("/inbox/", "/inbox/?q=script+alert", f"/contributions/{contribution.id}"):
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.get_by_text(XSS, exact=True).first.is_visible(), url
        assert page.locator("img[src=x]").count() == 0, url
    page.goto(f"/contributions/{contribution.id}")
    page.get_by_role("button", name=re.compile("^Confirmer")).click()
    page.wait_for_load_state("load")
    assert page.get_by_text(XSS, exact=True).first.is_visible()
    assert page.dialogs == []
