"""The field pages with the network cut (Playwright's offline mode, in Debian's Chromium).

An intervenant opens /terrain/ once with network; in a basement, with none, they keep writing
entries down: each waits in the browser (IndexedDB), the page says how many wait, a reload
still shows the page (served by the service worker) and the count; when the network returns,
the entries go, and the server records each one once.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from bots.runtime import Runtime
from storage.models import Contribution
from tests.web.conftest import PASSWORD, Territory
from tests.web.field.conftest import Field, field  # noqa: F401  (fixture)


def log_in_field(page: Any, territory: Territory) -> None:
    page.goto("/auth/login")
    page.get_by_label("Adresse e-mail").fill("intervenant@ville.example")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/terrain/")


def wait_until_kept_offline(page: Any) -> None:
    """The service worker controls the page and holds the entry form in its cache."""
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("navigator.serviceWorker.controller !== null"):
        # The worker became active while this page was loading (its `clients.claim()` ran
        # between the navigation and the new page): the next load of the page is under it.
        page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function("() => caches.match('/terrain/').then(r => !!r)")


def write(page: Any, text: str) -> None:
    page.get_by_label("Ce que la personne a dit").fill(text)
    page.get_by_role("button", name="Enregistrer l'entrée").click()


def test_entries_wait_offline_survive_a_reload_and_go_once_when_the_network_returns(
    page: Any,
    runtime: Runtime,
    territory: Territory,
    field: Field,  # noqa: F811
) -> None:
    log_in_field(page, territory)
    page.goto(f"/terrain/?action={field.action_nord}")  # the worker now controls the page
    wait_until_kept_offline(page)
    count = page.locator(".waiting-count")
    assert count.inner_text() == "Aucune entrée en attente d'envoi."

    page.context.set_offline(True)
    write(page, "L'ascenseur du 12 est en panne depuis trois semaines")
    expect(count).to_have_text(re.compile("^1 entrée"))
    assert page.get_by_label("Ce que la personne a dit").input_value() == ""  # ready for the next

    page.reload()  # still no network: the worker serves the page, IndexedDB kept the entry
    expect(count).to_have_text(re.compile("^1 entrée"))
    write(page, "Les jeunes voudraient un local le soir")
    expect(count).to_have_text(re.compile("^2 entrées"))
    with runtime.sessions() as session:
        assert session.scalars(select(Contribution)).all() == []  # nothing could leave

    page.context.set_offline(False)
    expect(count).to_have_text(re.compile("^Aucune"))
    with runtime.sessions() as session:
        rows = session.scalars(select(Contribution).order_by(Contribution.id)).all()
        assert sorted((c.channel, c.action_id, c.text) for c in rows) == [
            ("terrain", field.action_nord, "L'ascenseur du 12 est en panne depuis trois semaines"),
            ("terrain", field.action_nord, "Les jeunes voudraient un local le soir"),
        ]
        ids = {c.participant_id for c in rows}
        assert len(ids) == 2  # two habitants met, two anonymous participants
    # The server records an entry but its answer is lost on the way back: the page keeps the
    # entry, sends it again later, and the server says "already recorded" (once, not twice).
    dropped: list[str] = []

    def lose_first_answer(route: Any) -> None:
        if route.request.method == "POST" and not dropped:
            route.fetch()  # it reaches the server...
            dropped.append(route.request.url)
            route.abort()  # ...but the page never hears back
        else:
            route.continue_()

    page.context.route("**/terrain/entrees", lose_first_answer)
    write(page, "Il manque un passage piéton devant l'école")
    for _ in range(50):
        if dropped:
            break
        page.wait_for_timeout(100)
    assert dropped
    expect(count).to_have_text(re.compile("^1 entrée"))  # still on the phone
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(count).to_have_text(re.compile("^Aucune"))
    with runtime.sessions() as session:
        texts = [c.text for c in session.scalars(select(Contribution))]
        assert texts.count("Il manque un passage piéton devant l'école") == 1
    assert page.errors == ["Failed to load resource: net::ERR_FAILED"]  # the answer we cut


def test_a_paper_sheet_typed_in_offline_waits_and_is_recorded_through_the_engine(
    page: Any,
    runtime: Runtime,
    territory: Territory,
    field: Field,  # noqa: F811
) -> None:
    from storage.models import Answer, Conversation

    log_in_field(page, territory)
    url = f"/terrain/enquetes/{field.campaign_nord}/saisie"
    page.goto(url)
    page.goto(url)  # now under the worker, which keeps this page too
    wait_until_kept_offline(page)
    page.wait_for_function(f"() => caches.match('{url}').then(r => !!r)")
    page.context.set_offline(True)
    page.reload()
    page.get_by_role("group", name="1. Avez-vous un enfant").get_by_label("Oui").check()
    helpers = page.get_by_role("group", name="2. Qui l'aide")
    helpers.get_by_label("Une association").check()
    helpers.get_by_label("L'école").check()
    page.get_by_label("5. Une idée").fill("Un soutien le samedi matin")
    page.get_by_role("button", name="Enregistrer la feuille").click()
    count = page.locator(".waiting-count")
    expect(count).to_have_text(re.compile("^1 entrée"))
    page.context.set_offline(False)
    expect(count).to_have_text(re.compile("^Aucune"))
    with runtime.sessions() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.status == "finished"
        values = [a.value for a in session.scalars(select(Answer).order_by(Answer.id))]
        assert values == ["oui", ["association", "ecole"], None, None, "Un soutien le samedi matin"]


def test_a_survey_run_face_to_face_offline_survives_a_reload_and_is_recorded_once(
    page: Any,
    runtime: Runtime,
    territory: Territory,
    field: Field,  # noqa: F811
) -> None:
    from storage.models import Answer, Conversation
    from tests.web.browser.test_accessibility import violations

    page.set_viewport_size({"width": 360, "height": 740})
    log_in_field(page, territory)
    page.goto("/terrain/enquetes")
    page.goto("/terrain/enquetes")  # under the worker; the list keeps each survey for later
    wait_until_kept_offline(page)
    start = f"/terrain/enquetes/{field.campaign_nord}"
    for url in (start, f"{start}/questions.json"):
        page.wait_for_function(f"() => caches.match('{url}').then(r => !!r)")

    page.context.set_offline(True)
    page.goto(start)  # never opened before: the worker serves what the list kept
    page.get_by_role("button", name="Commencer").click()
    expect(page.locator(".offline-screen .progress")).to_have_text("Question 1 sur 5")
    page.get_by_role("button", name="Valider").click()  # required: said next to it
    expect(page.locator("#offline-q1-error")).to_contain_text("obligatoire")
    assert violations(page) == []  # the screen drawn on the phone, its error included (axe)
    page.get_by_label("Non").check()
    page.get_by_role("button", name="Valider").click()
    # « Non » leads to question 5, as the engine says (the definition holds its answer).
    expect(page.locator(".offline-screen .progress")).to_have_text("Question 5 sur 5")

    page.reload()  # still offline: the run resumes where it was
    expect(page.locator(".offline-screen .progress")).to_have_text("Question 5 sur 5")
    page.locator("#offline-q5").fill("Des bénévoles le samedi")
    page.get_by_role("button", name="Valider").click()
    expect(page.locator(".offline-screen h2")).to_have_text("Enquête terminée")
    count = page.locator(".waiting-count")
    expect(count).to_have_text(re.compile("^1 entrée"))
    with runtime.sessions() as session:
        assert session.scalars(select(Conversation)).all() == []  # nothing could leave

    page.context.set_offline(False)
    expect(count).to_have_text(re.compile("^Aucune"))
    page.evaluate("() => window.ParolesQueue.flush()")  # sending again changes nothing
    with runtime.sessions() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.status == "finished" and conversation.campaign_id == field.campaign_nord
        values = [a.value for a in session.scalars(select(Answer).order_by(Answer.id))]
        assert values == ["non", "Des bénévoles le samedi"]
