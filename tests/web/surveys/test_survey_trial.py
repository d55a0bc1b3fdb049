"""Trying a survey: SMS and Telegram views, a test phone that never counts anywhere."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import func, select

from bots import campaigns
from bots.campaigns import Target
from bots.runtime import Runtime
from storage.models import Answer, Contribution, Conversation, Participant
from tests.web.conftest import Territory, login_as, post
from tests.web.surveys.test_surveys import survey_by_title


def test_a_trial_shows_sms_and_telegram_and_leaves_no_trace_in_results(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    survey = survey_by_title(runtime, "L'aide aux devoirs")
    assert post(client, f"/enquetes/{survey.id}/essai/debut", {"language": "fr"}).status_code == 302
    page = html.unescape(client.get(f"/enquetes/{survey.id}/essai").text)
    sms, telegram = page.split('data-view="sms"')[1].split('data-view="telegram"')
    assert "1/5. Avez-vous un enfant" in sms and "1 Oui 2 Non" in sms
    assert 'name="text" value="Oui"' in telegram and "1 Oui 2 Non" not in telegram

    post(client, f"/enquetes/{survey.id}/essai", {"text": "Non"})  # "non" goes to question 5
    post(client, f"/enquetes/{survey.id}/essai", {"text": "Des cours le samedi"})
    page = html.unescape(client.get(f"/enquetes/{survey.id}/essai").text)
    assert "5/5." in page and "Merci, c'est fini" in page
    with runtime.sessions() as session:
        phone = session.scalars(select(Participant).where(Participant.is_test)).one()
        assert session.scalar(select(func.count(Answer.id))) == 2
        assert session.scalar(select(func.count(Contribution.id))) == 0  # nothing in the inbox
        conversation = session.scalars(select(Conversation)).one()
        assert (conversation.participant_id, conversation.campaign_id) == (phone.id, None)
        assert campaigns.count_target(session, Target(everyone=True)) == {}

    exported = client.get("/exports/reponses.csv").data.decode("utf-8-sig")
    assert len(exported.strip().splitlines()) == 1  # the header only: trials are not answers

    post(client, f"/enquetes/{survey.id}/essai/debut", {"language": "en"})  # a fresh start
    page = html.unescape(client.get(f"/enquetes/{survey.id}/essai").text)
    assert "Do you have a child at school?" in page and "Des cours le samedi" not in page
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Answer.id))) == 0


def test_each_staff_member_has_their_own_test_phone(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    survey = survey_by_title(runtime, "L'aide aux devoirs")
    for role in ("chef_de_projet", "conseil_citoyen"):
        login_as(client, territory.users[role])
        post(client, f"/enquetes/{survey.id}/essai/debut", {"language": "fr"})
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Participant.id)).where(Participant.is_test)) == 2
