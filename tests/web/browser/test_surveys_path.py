"""A conseil's whole path in a real Chromium: write a survey, try it, launch it, a habitant
answers, read the results and the chart, close, send the retour; nothing breaks the CSP."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from bots.handler import Inbound, handle_inbound
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Message
from tests.factories import make_participant
from tests.web.browser.conftest import log_in
from tests.web.conftest import PASSWORD, Territory

HABITANT = "+33639984001"


def test_create_try_launch_answer_results_close_and_retour(
    page: Any, runtime: Runtime, territory: Territory
) -> None:
    with transaction(runtime.sessions) as session:
        habitant = make_participant(
            session, runtime, address=HABITANT, quartier_id=territory.nord
        ).id
    log_in(page, "chef_de_projet@ville.example", PASSWORD)

    # write the survey; the SMS count follows the typing
    page.goto("/enquetes/nouvelle")
    page.locator("#title-fr").fill("Aide aux devoirs du samedi")
    counter = page.locator('[data-count="q1-fr"]').first
    before = counter.inner_text()
    page.locator("#q-1-text-fr").fill("Votre enfant viendrait-il le samedi matin ?")
    page.wait_for_function(
        "before => document.querySelector('[data-count=\"q1-fr\"]').innerText !== before",
        arg=before,
    )
    assert re.search(r"\d+ caractères, 1 SMS", counter.inner_text())
    page.locator("#q-1-text-fr").fill("Votre enfant viendrait-il le samedi matin ? " * 4)
    warning = page.locator('[data-count="q1-fr"] [data-part="warning"]').first
    warning.wait_for(state="visible")
    page.locator("#q-1-text-fr").fill("Votre enfant viendrait-il le samedi matin ?")
    page.get_by_role("button", name="Ajouter une question").click()
    page.locator("#q-2-kind").select_option("single")
    page.locator("#q-2-text-fr").fill("Quel horaire ?")
    page.locator("#q-2-choices-fr").fill("Matin\nAprès-midi")
    page.get_by_role("button", name="Enregistrer l'enquête").click()
    page.get_by_text("Enquête enregistrée.").wait_for()

    # try it as a habitant would, by SMS and on Telegram
    page.get_by_role("link", name="Essayer dans le simulateur").click()
    page.get_by_role("button", name="Commencer l'essai").click()
    sms = page.locator('[data-view="sms"]')
    assert "1/2." in sms.inner_text() and "1 Oui 2 Non" in sms.inner_text()
    page.locator('[data-view="telegram"]').get_by_role("button", name="Oui").click()
    assert "1 Matin 2 Après-midi" in page.locator('[data-view="sms"]').inner_text()

    # launch it to the quartier, after the estimate
    page.get_by_role("link", name="Retour à l'enquête").click()
    page.get_by_role("link", name="Lancer une campagne").click()
    page.get_by_label("Les Tilleuls").check()
    page.get_by_label("Envoyer aussi pendant les heures calmes").check()
    page.get_by_role("button", name="Estimer").click()
    assert "1 habitants joignables" in page.locator('[data-key="reach"]').inner_text()
    page.get_by_role("button", name="Lancer la campagne").click()
    page.get_by_text("1 invitations en file d'envoi.").wait_for()
    results_url = page.url

    # a habitant answers
    handle_inbound(runtime, Inbound("simulator", HABITANT, "oui", "b-1"))
    handle_inbound(runtime, Inbound("simulator", HABITANT, "2", "b-2"))

    page.goto(results_url)
    assert page.locator('[data-key="started"]').inner_text() == "1"
    assert page.locator('[data-key="finished"]').inner_text() == "1"
    page.locator("canvas[data-drawn=true]").first.wait_for(state="attached")
    assert page.locator("canvas[data-drawn=true]").count() == 2
    first = page.locator("table.counts").first
    assert first.locator("tr", has_text="Oui").locator("td").inner_text() == "1"

    # close, then the retour, once
    page.get_by_role("button", name="Clore maintenant").click()
    page.get_by_role("link", name="Écrire le retour aux habitants").click()
    text = page.get_by_label("Message de retour")
    text.fill("Merci ! Un atelier ouvre le samedi matin à la maison de quartier.")
    page.wait_for_function(
        "() => /\\d+ caractères, 1 SMS/.test("
        "document.querySelector('[data-count=\"retour\"]').innerText)"
    )
    page.get_by_role("button", name="Envoyer le retour à 1 habitants").click()
    page.get_by_text("Retour mis en file d'envoi pour 1 habitants.").wait_for()

    with runtime.sessions() as session:
        [retour] = session.scalars(select(Message).where(Message.kind == "retour")).all()
    assert retour.participant_id == habitant and "atelier" in retour.body
    assert page.errors == [] and page.dialogs == []
