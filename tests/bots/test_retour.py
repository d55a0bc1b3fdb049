"""The retour (sent back once to who took part), approval, closing now, counting a target."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bots import campaigns
from bots.campaigns import CampaignError, Target
from bots.channels import make_channel
from bots.outbox import deliver
from bots.runtime import Runtime
from storage.models import Campaign, Message, Participant
from tests.bots.campaign_support import MONDAY_10H, add_participants
from tests.bots.campaign_support import flaky_runtime as flaky_runtime
from tests.bots.campaign_support import flaky_server as flaky_server
from tests.bots.test_campaigns import SATURDAY_2030, new_campaign, outbound, say


def test_the_retour_goes_once_to_those_who_answered_and_not_to_those_who_said_stop(
    flaky_runtime: Runtime,
) -> None:
    runtime = flaky_runtime
    answered, stopped, silent = add_participants(runtime, 3, channel="simulator")
    campaign_id = new_campaign(runtime)
    assert campaigns.launch(runtime, campaign_id, MONDAY_10H) == 3
    say(runtime, answered, "oui", MONDAY_10H + timedelta(minutes=5))
    say(runtime, stopped, "oui", MONDAY_10H + timedelta(minutes=6))
    say(runtime, stopped, "STOP", MONDAY_10H + timedelta(minutes=7))

    with pytest.raises(CampaignError, match="après la clôture"):
        campaigns.send_retour(runtime, campaign_id, "Merci !", MONDAY_10H + timedelta(hours=1))
    campaigns.close_campaign(runtime, campaign_id, MONDAY_10H + timedelta(hours=1))
    with pytest.raises(CampaignError, match="vide"):
        campaigns.send_retour(runtime, campaign_id, "  ", MONDAY_10H + timedelta(hours=2))

    text = "Vous avez été 2 à répondre : l'aide aux devoirs ouvrira le mercredi."
    sent = campaigns.send_retour(runtime, campaign_id, text, MONDAY_10H + timedelta(hours=2))
    assert sent == 1
    [retour] = outbound(runtime, kind="retour")
    assert (retour.participant_id, retour.body, retour.campaign_id) == (
        answered,
        text,
        campaign_id,
    )
    assert (retour.priority, retour.wait_quiet_hours, retour.status) == (1, True, "pending")
    with pytest.raises(CampaignError, match="déjà parti"):
        campaigns.send_retour(runtime, campaign_id, text, MONDAY_10H + timedelta(hours=3))
    assert len(outbound(runtime, kind="retour")) == 1
    with runtime.sessions() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None and campaign.retour_text == text
    assert silent not in {m.participant_id for m in outbound(runtime, kind="retour")}


def test_the_retour_waits_for_the_end_of_quiet_hours(flaky_runtime: Runtime) -> None:
    runtime = flaky_runtime
    [pid] = add_participants(runtime, 1, channel="simulator")
    campaign_id = new_campaign(runtime)
    campaigns.launch(runtime, campaign_id, MONDAY_10H)
    say(runtime, pid, "non", MONDAY_10H + timedelta(minutes=5))
    campaigns.close_campaign(runtime, campaign_id, SATURDAY_2030 - timedelta(hours=1))
    campaigns.send_retour(runtime, campaign_id, "Merci à vous.", SATURDAY_2030)
    simulator = make_channel("simulator", runtime)
    deliver(runtime, simulator, now=SATURDAY_2030)
    [retour] = outbound(runtime, kind="retour")
    assert retour.status == "pending"  # Saturday 20:30: it waits
    deliver(runtime, simulator, now=SATURDAY_2030 + timedelta(days=2, hours=-10))  # Monday 10:30
    [retour] = outbound(runtime, kind="retour")
    assert retour.status == "sent"


def test_a_campaign_awaiting_approval_is_not_launched_until_approved(
    flaky_runtime: Runtime,
) -> None:
    runtime = flaky_runtime
    add_participants(runtime, 2, channel="simulator")
    campaign_id = new_campaign(runtime, needs_approval=True)
    assert campaigns.launch_due(runtime, MONDAY_10H) == 0
    with runtime.sessions() as session:
        assert campaigns.campaign_status(session, campaign_id).status_fr == (
            "en attente de validation"
        )
    campaigns.approve_campaign(runtime, campaign_id, None)
    with pytest.raises(CampaignError, match="n'attend pas"):
        campaigns.approve_campaign(runtime, campaign_id, None)
    assert campaigns.launch_due(runtime, MONDAY_10H) == 2


def test_test_phones_are_never_targeted_and_the_count_matches_the_launch(
    flaky_runtime: Runtime,
) -> None:
    runtime = flaky_runtime
    add_participants(runtime, 3, channel="simulator")
    add_participants(runtime, 1, channel="simulator", prefix="+3364000", language="en")
    add_participants(runtime, 1, channel="simulator", prefix="+3365000", is_test=True)
    add_participants(runtime, 1, channel="sms", prefix="+3366000", opted_out_at=MONDAY_10H)
    with runtime.sessions() as session:
        counts = campaigns.count_target(session, Target(everyone=True))
    assert counts == {("simulator", "fr"): 3, ("simulator", "en"): 1}
    campaign_id = new_campaign(runtime)
    assert campaigns.launch(runtime, campaign_id, MONDAY_10H) == 4
    with runtime.sessions() as session:
        test_ids = set(session.scalars(select(Participant.id).where(Participant.is_test)))
        invited = set(
            session.scalars(select(Message.participant_id).where(Message.kind == "invitation"))
        )
    assert test_ids and not test_ids & invited


def test_close_now_refuses_a_closed_campaign(flaky_runtime: Runtime) -> None:
    campaign_id = new_campaign(flaky_runtime)
    campaigns.close_campaign(flaky_runtime, campaign_id, MONDAY_10H)
    with pytest.raises(CampaignError, match="clôturée"):
        campaigns.close_campaign(flaky_runtime, campaign_id, MONDAY_10H)
