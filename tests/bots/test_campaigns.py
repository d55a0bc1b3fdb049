"""Campaigns: targeting, invitations, waiting, reminders, closing, quiet hours, at scale."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bots import campaigns
from bots.campaigns import CampaignError, Target
from bots.engine import State
from bots.handler import Inbound, handle_inbound
from bots.runtime import Runtime
from storage.models import Answer, Campaign, Conversation, Message, Participant, Survey
from tests.bots.campaign_support import MONDAY_10H, add_participants, drain
from tests.bots.campaign_support import flaky_runtime as flaky_runtime
from tests.bots.campaign_support import flaky_server as flaky_server
from tests.factories import make_quartier
from tests.fakes.flaky_channel import FlakyServer

SATURDAY_2030 = datetime(2026, 11, 28, 19, 30, tzinfo=MONDAY_10H.tzinfo)
ADDRESS = "+3363998{:05d}"


def new_campaign(runtime: Runtime, target: Target | None = None, **kwargs: Any) -> int:
    kwargs.setdefault("now", MONDAY_10H)
    with runtime.sessions.begin() as session:
        campaign = campaigns.create_campaign(
            session, "scolarite", target or Target(everyone=True), **kwargs
        )
        return campaign.id


def say(runtime: Runtime, pid: int, text: str, at: datetime) -> list[str]:
    """The participant `pid` (added by `add_participants` on the simulator) writes `text`."""
    outcome = handle_inbound(
        runtime,
        Inbound(
            "simulator", ADDRESS.format(pid - 1), text, f"in-{pid}-{at.isoformat()}", received_at=at
        ),
    )
    with runtime.sessions() as session:
        return [session.get(Message, i).body for i in outcome.reply_ids]  # type: ignore[union-attr]


def outbound(runtime: Runtime, **where: Any) -> list[Message]:
    with runtime.sessions() as session:
        query = select(Message).where(Message.direction == "out").order_by(Message.id)
        for key, value in where.items():
            query = query.where(getattr(Message, key) == value)
        return list(session.scalars(query))


def recipients(runtime: Runtime, campaign_id: int) -> dict[int | None, str]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Conversation.participant_id, Conversation.status).where(
                Conversation.campaign_id == campaign_id
            )
        )
        return {pid: status for pid, status in rows}


def state_of(runtime: Runtime, pid: int) -> State:
    with runtime.sessions() as session:
        return State.from_json(session.get(Participant, pid).state)  # type: ignore[union-attr]


# --- at scale ------------------------------------------------------------------------------


def test_a_campaign_to_1000_habitants_sends_each_message_once_or_says_why(
    flaky_runtime: Runtime, flaky_server: FlakyServer
) -> None:
    targets = add_participants(flaky_runtime, 1000)
    excluded_prefix = "+3363997"
    add_participants(flaky_runtime, 10, prefix=excluded_prefix, opted_out_at=MONDAY_10H)
    add_participants(flaky_runtime, 10, prefix=excluded_prefix + "1", unreachable_at=MONDAY_10H)
    add_participants(flaky_runtime, 10, prefix=excluded_prefix + "2", consent_at=None)
    add_participants(flaky_runtime, 10, prefix=excluded_prefix + "3", address_enc="")
    campaign_id = new_campaign(flaky_runtime, Target(channels=("flaky",)))

    assert campaigns.launch_due(flaky_runtime, MONDAY_10H) == 1000
    drain(flaky_runtime, MONDAY_10H)

    invitations = outbound(flaky_runtime, kind="invitation")
    assert sorted(m.participant_id for m in invitations) == targets
    assert max(flaky_server.deliveries.values()) == 1  # never twice
    assert not any(a.startswith(excluded_prefix) for a in flaky_server.addresses)
    sent = [m for m in invitations if m.status == "sent"]
    failed = [m for m in invitations if m.status == "failed"]
    assert len(sent) + len(failed) == 1000
    assert all(flaky_server.deliveries[m.id] == 1 and m.provider_id for m in sent)
    assert set(flaky_server.deliveries) == {m.id for m in sent}
    assert 0 < len(failed) < 40  # about 1%
    for message in failed:
        assert message.last_error and message.error_code == "21211"
        assert flaky_server.fails_for_good(message.id)
    retried = [m for m in sent if m.attempts > 1]
    assert 50 < len(retried) < 200  # about 10% failed once, then went through

    # Those whose invitation failed for good are unreachable and freed from question 1.
    assert campaigns.settle_undelivered(flaky_runtime, MONDAY_10H) == len(failed)
    with flaky_runtime.sessions() as session:
        for message in failed:
            participant = session.get(Participant, message.participant_id)
            assert participant is not None and participant.unreachable_at is not None
            assert State.from_json(participant.state).survey is None
    statuses = recipients(flaky_runtime, campaign_id)
    assert list(statuses.values()).count("undelivered") == len(failed)


# --- one habitant ----------------------------------------------------------------------------


def test_the_invitation_makes_the_next_message_answer_question_one(flaky_runtime: Runtime) -> None:
    [pid] = add_participants(flaky_runtime, 1, channel="simulator")
    campaign_id = new_campaign(flaky_runtime)
    assert campaigns.launch(flaky_runtime, campaign_id, MONDAY_10H) == 1
    [invitation] = outbound(flaky_runtime, kind="invitation")
    assert "1/5" in invitation.body and invitation.choices == ["Oui", "Non"]
    assert (invitation.priority, invitation.wait_quiet_hours) == (1, True)
    assert recipients(flaky_runtime, campaign_id) == {pid: "invited"}

    replies = say(flaky_runtime, pid, "ouais", MONDAY_10H + timedelta(hours=2))
    assert "2/5" in replies[0]
    with flaky_runtime.sessions() as session:
        answer = session.scalars(select(Answer)).one()
        assert (answer.value, answer.late) == ("oui", False)
        conversation = session.get(Conversation, answer.conversation_id)
        assert conversation is not None and conversation.campaign_id == campaign_id


def test_only_the_target_is_invited(flaky_runtime: Runtime) -> None:
    with flaky_runtime.sessions.begin() as session:
        north, south = make_quartier(session), make_quartier(session)
        codes = {"north": north.code, "south": south.code}
        ids = {"north": north.id, "south": south.id}
    a, b, c, d = add_participants(flaky_runtime, 4)
    with flaky_runtime.sessions.begin() as session:
        for pid, values in {
            a: {"quartier_id": ids["north"], "language": "fr"},
            b: {"quartier_id": ids["north"], "language": "en", "joined_via": "MARCHE"},
            c: {"quartier_id": ids["south"], "language": "en", "joined_via": "MARCHE"},
            d: {"channel": "simulator"},
        }.items():
            for key, value in values.items():
                setattr(session.get(Participant, pid), key, value)

    def targeted(target: Target) -> set[int]:
        campaign_id = new_campaign(flaky_runtime, target)
        campaigns.launch(flaky_runtime, campaign_id, MONDAY_10H)
        campaigns.cancel_campaign(flaky_runtime, campaign_id, MONDAY_10H)  # free them again
        with flaky_runtime.sessions.begin() as session:
            for participant in session.scalars(select(Participant)):
                participant.state = {"consent": True}
        return set(recipients(flaky_runtime, campaign_id))

    assert targeted(Target(quartiers=(codes["north"],))) == {a, b}
    assert targeted(Target(quartiers=(codes["north"],), languages=("en",))) == {b}
    assert targeted(Target(join_codes=("MARCHE",))) == {b, c}
    assert targeted(Target(channels=("simulator",))) == {d}
    assert targeted(Target(everyone=True)) == {a, b, c, d}
    with pytest.raises(CampaignError, match="cible vide"):
        Target()


def test_someone_in_another_survey_is_not_interrupted_the_campaign_waits(
    flaky_runtime: Runtime,
) -> None:
    busy, quiet_since_long, free = add_participants(flaky_runtime, 3, channel="simulator")
    now = MONDAY_10H
    with flaky_runtime.sessions.begin() as session:
        other = session.scalars(select(Survey).where(Survey.slug == "associations")).one()
        for pid, ago in ((busy, timedelta(hours=1)), (quiet_since_long, timedelta(days=2))):
            participant = session.get(Participant, pid)
            assert participant is not None
            participant.state = State(
                consent=True, survey=str(other.id), question=2, last_at=(now - ago).isoformat()
            ).to_json()
            participant.last_seen_at = now - ago
            session.add(
                Conversation(
                    participant_id=pid, survey_id=other.id, status="active", started_at=now - ago
                )
            )
    campaign_id = new_campaign(flaky_runtime)
    assert campaigns.launch(flaky_runtime, campaign_id, now) == 2
    statuses = recipients(flaky_runtime, campaign_id)
    assert statuses == {busy: "waiting", quiet_since_long: "invited", free: "invited"}
    assert state_of(flaky_runtime, busy).survey == str(other.id)  # untouched
    with flaky_runtime.sessions() as session:
        left = session.scalars(
            select(Conversation.status).where(
                Conversation.participant_id == quiet_since_long, Conversation.survey_id == other.id
            )
        ).one()
        assert left == "stopped"

    # Still busy an hour later: still waiting. Once they are done, they are invited.
    assert campaigns.invite_waiting(flaky_runtime, now + timedelta(hours=1)) == 0
    with flaky_runtime.sessions.begin() as session:
        participant = session.get(Participant, busy)
        participant.state = State(consent=True, last_at=now.isoformat()).to_json()  # type: ignore[union-attr]
    assert campaigns.invite_waiting(flaky_runtime, now + timedelta(hours=2)) == 1
    assert recipients(flaky_runtime, campaign_id)[busy] == "invited"
    assert state_of(flaky_runtime, busy).survey == str(
        campaigns_survey_id(flaky_runtime, campaign_id)
    )
    assert len(outbound(flaky_runtime, kind="invitation", participant_id=busy)) == 1


def campaigns_survey_id(runtime: Runtime, campaign_id: int) -> int:
    with runtime.sessions() as session:
        return session.get(Campaign, campaign_id).survey_id  # type: ignore[union-attr]


def test_a_waiting_habitant_who_says_stop_is_never_invited(flaky_runtime: Runtime) -> None:
    [pid] = add_participants(flaky_runtime, 1, channel="simulator")
    with flaky_runtime.sessions.begin() as session:
        session.get(Participant, pid).state = State(  # type: ignore[union-attr]
            consent=True, asking="theme", last_at=MONDAY_10H.isoformat()
        ).to_json()
    campaign_id = new_campaign(flaky_runtime)
    campaigns.launch(flaky_runtime, campaign_id, MONDAY_10H)
    say(flaky_runtime, pid, "STOP", MONDAY_10H + timedelta(minutes=5))
    assert campaigns.invite_waiting(flaky_runtime, MONDAY_10H + timedelta(days=2)) == 0
    assert recipients(flaky_runtime, campaign_id) == {pid: "expired"}
    assert outbound(flaky_runtime, kind="invitation") == []


def test_one_reminder_after_the_delay_to_those_who_started(flaky_runtime: Runtime) -> None:
    started, finished, silent = add_participants(flaky_runtime, 3, channel="simulator")
    campaign_id = new_campaign(flaky_runtime, remind_after_hours=24)
    campaigns.launch(flaky_runtime, campaign_id, MONDAY_10H)
    t = MONDAY_10H + timedelta(hours=1)
    say(flaky_runtime, started, "oui", t)
    for text in ("non", "rien"):
        say(flaky_runtime, finished, text, t + timedelta(minutes=len(text)))
    assert recipients(flaky_runtime, campaign_id)[finished] == "finished"

    assert campaigns.send_reminders(flaky_runtime, t + timedelta(hours=23)) == 0
    assert campaigns.send_reminders(flaky_runtime, t + timedelta(hours=25)) == 1
    [reminder] = outbound(flaky_runtime, kind="reminder")
    assert reminder.participant_id == started
    assert reminder.body.startswith("Rebonjour") and "2/5" in reminder.body
    assert (reminder.campaign_id, reminder.priority) == (campaign_id, 1)
    assert campaigns.send_reminders(flaky_runtime, t + timedelta(hours=60)) == 0  # once


def test_closing_cancels_what_was_not_sent_and_late_answers_are_kept_and_flagged(
    flaky_runtime: Runtime,
) -> None:
    answering, not_reached = add_participants(flaky_runtime, 2, channel="simulator")
    closes = MONDAY_10H + timedelta(days=2)
    campaign_id = new_campaign(flaky_runtime, closes_at=closes)
    campaigns.launch(flaky_runtime, campaign_id, MONDAY_10H)
    with flaky_runtime.sessions.begin() as session:  # this one went out, the other did not
        session.scalars(
            select(Message).where(Message.kind == "invitation", Message.participant_id == answering)
        ).one().status = "sent"
    say(flaky_runtime, answering, "oui", MONDAY_10H + timedelta(hours=1))

    assert campaigns.close_due(flaky_runtime, closes - timedelta(minutes=1)) == 0
    assert campaigns.close_due(flaky_runtime, closes) == 1
    with flaky_runtime.sessions() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None and (campaign.status, campaign.closed_at) == ("closed", closes)
    [unsent] = outbound(flaky_runtime, kind="invitation", participant_id=not_reached)
    assert (unsent.status, unsent.last_error) == ("cancelled", "campaign closed")
    assert recipients(flaky_runtime, campaign_id) == {answering: "active", not_reached: "expired"}
    assert state_of(flaky_runtime, not_reached).survey is None  # their next word is free again

    replies = say(flaky_runtime, answering, "1 et 3", closes + timedelta(hours=3))
    assert "3/5" in replies[0]
    with flaky_runtime.sessions() as session:
        late = session.scalars(select(Answer.late).order_by(Answer.id)).all()
    assert late == [False, True]
    assert campaigns.launch_due(flaky_runtime, closes + timedelta(days=1)) == 0


def test_quiet_hours_make_the_launch_wait_unless_allowed(flaky_runtime: Runtime) -> None:
    add_participants(flaky_runtime, 3, channel="simulator")
    waits = new_campaign(flaky_runtime, starts_at=SATURDAY_2030)
    assert campaigns.launch_due(flaky_runtime, SATURDAY_2030) == 0
    sunday = SATURDAY_2030 + timedelta(hours=16)
    assert campaigns.launch_due(flaky_runtime, sunday) == 0
    with flaky_runtime.sessions() as session:
        assert session.get(Campaign, waits).status == "scheduled"  # type: ignore[union-attr]
    monday_9h = datetime(2026, 11, 30, 8, 0, tzinfo=MONDAY_10H.tzinfo)
    assert campaigns.launch_due(flaky_runtime, monday_9h) == 3

    campaigns.cancel_campaign(flaky_runtime, waits, monday_9h)
    allowed = new_campaign(flaky_runtime, starts_at=sunday, allow_quiet_hours=True, now=sunday)
    assert campaigns.launch(flaky_runtime, allowed, sunday) == 3
    assert {m.wait_quiet_hours for m in outbound(flaky_runtime, campaign_id=allowed)} == {False}


def test_an_interrupted_launch_resumes_without_inviting_anyone_twice(
    flaky_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = add_participants(flaky_runtime, 10)
    campaign_id = new_campaign(flaky_runtime)
    real_invite = campaigns._Inviter.invite
    calls = []

    def crash_on_second_batch(self: Any, rows: Any, **kwargs: Any) -> int:
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real_invite(self, rows, **kwargs)

    monkeypatch.setattr(campaigns._Inviter, "invite", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        campaigns.launch(flaky_runtime, campaign_id, MONDAY_10H, batch=4)
    assert len(outbound(flaky_runtime, kind="invitation")) == 4
    monkeypatch.setattr(campaigns._Inviter, "invite", real_invite)
    assert campaigns.launch_due(flaky_runtime, MONDAY_10H + timedelta(minutes=1)) == 6
    assert campaigns.launch_due(flaky_runtime, MONDAY_10H + timedelta(minutes=2)) == 0
    invited = sorted(m.participant_id for m in outbound(flaky_runtime, kind="invitation"))
    assert invited == targets
    with flaky_runtime.sessions() as session:
        assert session.get(Campaign, campaign_id).status == "running"  # type: ignore[union-attr]


def test_cancel_stops_everything_not_yet_sent(flaky_runtime: Runtime) -> None:
    add_participants(flaky_runtime, 5, channel="simulator")
    campaign_id = new_campaign(flaky_runtime)
    campaigns.launch(flaky_runtime, campaign_id, MONDAY_10H)
    campaigns.cancel_campaign(flaky_runtime, campaign_id, MONDAY_10H + timedelta(minutes=1))
    assert {m.status for m in outbound(flaky_runtime, campaign_id=campaign_id)} == {"cancelled"}
    assert set(recipients(flaky_runtime, campaign_id).values()) == {"expired"}
    with pytest.raises(CampaignError, match="déjà annulée"):
        campaigns.cancel_campaign(flaky_runtime, campaign_id, MONDAY_10H)


def test_create_campaign_refuses_nonsense(flaky_runtime: Runtime) -> None:
    with flaky_runtime.sessions() as session, pytest.raises(CampaignError, match="inconnue"):
        campaigns.create_campaign(session, "nope", Target(everyone=True), now=MONDAY_10H)
    with pytest.raises(CampaignError, match="clôture"):
        new_campaign(flaky_runtime, closes_at=MONDAY_10H - timedelta(hours=1))
    with pytest.raises(CampaignError, match="relance"):
        new_campaign(flaky_runtime, remind_after_hours=0)


# --- the command line --------------------------------------------------------------------------


def test_cli_launch_status_cancel(runner: Any, runtime: Runtime) -> None:
    add_participants(runtime, 3, channel="simulator")
    result = runner.invoke(
        args=[
            "campaign",
            "launch",
            "scolarite",
            "--everyone",
            "--allow-quiet-hours",
            "--name",
            "Devoirs",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Campagne 1 « Devoirs » créée." in result.output
    assert "3 invitations en file d'envoi" in result.output

    result = runner.invoke(args=["campaign", "status", "1"])
    assert result.exit_code == 0, result.output
    assert "en cours" in result.output and "habitants invited : 3" in result.output
    assert "messages invitation : pending 3" in result.output
    assert "1\ten cours\tDevoirs\t3 habitants" in runner.invoke(args=["campaign", "status"]).output

    result = runner.invoke(args=["campaign", "cancel", "1"])
    assert result.exit_code == 0 and "annulée" in result.output
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).where(Message.status == "cancelled")) == 3

    result = runner.invoke(
        args=["campaign", "launch", "scolarite", "--quartier", "QP1", "--at", "2030-06-01 10:00"]
    )
    assert result.exit_code == 0 and "Lancement prévu le 01/06/2030 à 10:00" in result.output
    with runtime.sessions() as session:
        campaign = session.get(Campaign, 2)
        assert campaign is not None and campaign.starts_at is not None
        assert campaign.starts_at.hour == 8  # 10:00 in Paris in summer is 08:00 UTC

    assert (
        "enquête inconnue" in runner.invoke(args=["campaign", "launch", "x", "--everyone"]).output
    )
    assert "cible vide" in runner.invoke(args=["campaign", "launch", "scolarite"]).output
    assert "campagne inconnue" in runner.invoke(args=["campaign", "status", "9"]).output
