"""The public results pages: published by a chef de projet, read without login, small counts
protected, free texts only once a staff member chose them; the back-office's own protection."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import select

from bots.handler import Inbound, handle_inbound
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Campaign, Contribution, PersonalDataMark, Publication, Survey
from tests.factories import make_participant
from tests.web.conftest import Territory, login_as, post
from web.publication import problems as quote_problems

NORD = tuple(f"+3363998{n:04d}" for n in range(4001, 4008))  # seven habitants in nord
SUD = "+33639985001"
LATE = ("+33639986001", "+33639986002", "+33639986003")  # invited, answer later


def answer(runtime: Runtime, address: str, text: str, n: int) -> None:
    handle_inbound(runtime, Inbound("simulator", address, text, f"p-{address}-{n}"))


@pytest.fixture
def campaign(client: Any, runtime: Runtime, territory: Territory) -> Campaign:
    """Six "oui" and two "non" (each with a free text) to the scolarité survey's question 1."""
    with transaction(runtime.sessions) as session:
        for address in NORD:
            make_participant(session, runtime, address=address, quartier_id=territory.nord)
        for address in (SUD, *LATE):
            make_participant(session, runtime, address=address, quartier_id=territory.sud)
        survey_id = session.scalars(select(Survey.id).where(Survey.slug == "scolarite")).one()
    login_as(client, territory.users["chef_de_projet"])
    form = {"enquete": str(survey_id), "when": "now", "action": "launch"}
    post(client, "/campagnes/nouvelle", {**form, "everyone": "on", "allow_quiet_hours": "on"})
    for address in NORD[:6]:
        answer(runtime, address, "oui", 1)
    answer(runtime, NORD[6], "non", 1)
    answer(runtime, NORD[6], "Plus de soutien scolaire le mercredi", 2)
    answer(runtime, SUD, "non", 1)
    answer(runtime, SUD, "Appelez Mme Durand au 06 39 98 50 01", 2)
    with runtime.sessions() as session:
        return session.scalars(select(Campaign)).one()


def text_of(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.get_data(as_text=True))


def test_a_published_campaign_is_read_without_login_with_small_counts_protected(
    client: Any, runtime: Runtime, territory: Territory, campaign: Campaign
) -> None:
    assert post(client, f"/campagnes/{campaign.id}/publier").status_code == 302
    with runtime.sessions() as session:
        slug = session.scalars(select(Publication.slug)).one()
    assert slug.endswith(f"-{campaign.id}")
    screen = text_of(client, f"/campagnes/{campaign.id}")
    assert re.search(r'<th scope="row">Non</th><td>2</td>', screen)  # a chef sees exact counts
    csv = client.get(f"/campagnes/{campaign.id}/resultats.csv").data.decode("utf-8-sig")
    assert csv.count(";< 5") >= 2 and ";1\r\n" not in csv  # an export is protected for all

    client.post("/auth/logout")
    with client.session_transaction() as session:
        session.clear()
    index = text_of(client, "/resultats/")
    assert campaign.name in index
    public = text_of(client, f"/resultats/{slug}")
    assert "<script" not in public
    assert re.search(r'<th scope="row">Non</th><td>< 5</td>', public)
    assert re.search(r'<th scope="row">Oui</th><td>≥ 5</td>', public)  # the complement blurred
    assert "<td>2</td>" not in public and "<td>6</td>" not in public
    assert "Plus de soutien scolaire" not in public  # no free text before a staff choice
    assert client.get("/resultats/inconnue").status_code == 404
    # Three more "non": the counted page is counted again, and 5 is shown as it is.
    for address in LATE:
        answer(runtime, address, "non", 1)
    assert re.search(r'<th scope="row">Non</th><td>5</td>', text_of(client, f"/resultats/{slug}"))


def test_a_free_text_is_published_only_when_chosen_and_free_of_names_and_numbers(
    client: Any, runtime: Runtime, territory: Territory, campaign: Campaign
) -> None:
    post(client, f"/campagnes/{campaign.id}/publier")
    with runtime.sessions() as session:
        slug = session.scalars(select(Publication.slug)).one()
        texts = dict(
            session.execute(
                select(Contribution.text, Contribution.id).order_by(Contribution.id)
            ).all()
        )
    fine, risky = (
        texts["Plus de soutien scolaire le mercredi"],
        texts["Appelez Mme Durand au 06 39 98 50 01"],
    )
    refused = post(client, f"/campagnes/{campaign.id}/citations/{risky}", follow_redirects=True)
    shown = html.unescape(refused.get_data(as_text=True))
    assert "un numéro de téléphone, un nom de personne" in shown
    post(client, f"/campagnes/{campaign.id}/citations/{fine}")
    public = text_of(client, f"/resultats/{slug}")
    assert "Plus de soutien scolaire le mercredi" in public
    assert "Durand" not in public
    post(client, f"/campagnes/{campaign.id}/citations/{fine}")  # withdrawn again
    assert "Plus de soutien scolaire" not in text_of(client, f"/resultats/{slug}")


def test_a_conseil_citoyen_sees_protected_counts_and_may_not_publish(
    client: Any, runtime: Runtime, territory: Territory, campaign: Campaign
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    assert post(client, f"/campagnes/{campaign.id}/publier").status_code in (403, 404)
    with runtime.sessions() as session:
        assert session.scalars(select(Publication)).first() is None


def test_the_retour_ends_with_the_results_link_and_the_poster_carries_its_qr_code(
    client: Any, runtime: Runtime, territory: Territory, campaign: Campaign
) -> None:
    post(client, f"/campagnes/{campaign.id}/publier")
    post(client, f"/campagnes/{campaign.id}/clore")
    with runtime.sessions() as session:
        slug = session.scalars(select(Publication.slug)).one()
    post(client, f"/campagnes/{campaign.id}/retour", {"text": "Merci à tous !", "link": "on"})
    with runtime.sessions() as session:
        retour = session.get(Campaign, campaign.id)
        assert retour is not None
        assert retour.retour_text == f"Merci à tous ! http://localhost/resultats/{slug}"
    poster = text_of(client, f"/affiches/resultats/{campaign.id}")
    assert f"QR code vers http://localhost/resultats/{slug}" in poster
    assert 'src="data:image/svg+xml' in poster


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Plus de bancs au square, 3 ou 4, depuis 2024", []),
        ("Le bus 12 passe toutes les 20 minutes", []),
        ("Écrivez-moi : amina.k@example.org", ["une adresse e-mail"]),
        ("M. Martin du 3e fait du bruit", ["un nom de personne"]),
        ("mon numéro +33 6 39 98 50 01", ["un numéro de téléphone"]),
    ],
)
def test_the_check_before_publishing_finds_numbers_e_mails_and_names(
    app: Any, text: str, found: list[str]
) -> None:
    with app.test_request_context():
        assert quote_problems(text) == found


def test_a_published_quote_is_shown_masked_once_the_team_marks_a_phrase_in_it(
    client: Any, runtime: Runtime, territory: Territory, campaign: Campaign
) -> None:
    post(client, f"/campagnes/{campaign.id}/publier")
    with runtime.sessions() as session:
        slug = session.scalars(select(Publication.slug)).one()
        fine = session.scalars(
            select(Contribution.id).where(
                Contribution.text == "Plus de soutien scolaire le mercredi"
            )
        ).one()
    post(client, f"/campagnes/{campaign.id}/citations/{fine}")
    assert "le mercredi" in text_of(client, f"/resultats/{slug}")  # counted and kept
    with transaction(runtime.sessions) as session:
        session.add(PersonalDataMark(phrase="mercredi", kind="name", verdict="mask"))
    public = text_of(client, f"/resultats/{slug}")  # the mark changes the kept page's key
    assert "Plus de soutien scolaire le [nom]" in public
    assert "scolaire le mercredi" not in public
