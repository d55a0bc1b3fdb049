"""Campaigns: a survey sent to a target, now or at a set time, with one reminder and a closing.

The database is the source of truth. The back-office (or `paroles campaign launch`) writes a
campaign row with its dates; the scheduler's periodic jobs below pick it up. Every job is a plain
function `job(runtime, now)`, safe to run twice and safe to resume after a crash: the
conversations of a campaign are its list of recipients, written in the same transaction as the
invitations, so a relaunch skips whoever already has one.

Life of a campaign: `scheduled -> launching -> running -> closed`, or `cancelled` at any time.
Life of a recipient (a `Conversation` of the campaign): `waiting` or `invited`, then `active`
once they answer (started), then `finished` or `stopped` (the handler moves it), or `expired` /
`undelivered` when the invitation never reached them.

Choices:
- Only habitants who consented, did not say STOP, are reachable and still have contact data
  are targeted.
- A habitant already busy in another survey (or answering one of our questions) in the last 24
  hours is **not interrupted: the campaign waits** for them (`waiting`) and invites them once
  they have finished or gone quiet for 24 hours. Skipping them would silently leave out the
  most active habitants; interrupting them would lose the answer they are typing.
- Invitations and reminders are campaign messages: they respect quiet hours unless the campaign
  allows them. The jobs do not even write them during quiet hours (the campaign waits), so that
  a habitant's state never points at a question they have not received yet; the outbox also
  holds any that are still queued when quiet hours begin.
- A habitant on several channels (one number by SMS and WhatsApp) is invited once, on the
  channel `bots.routing.route` picks (WhatsApp first when it can take the message); one that no
  channel can reach with this message is counted as left out (`estimate`, `campaign_status`).
- A campaign whose estimate exceeds what is left of the month's budget (`bots.budget`) is
  refused, or waits for a chef de projet's approval when the territory allows it. The budget is
  checked again when a scheduled campaign's time comes (what was spent meanwhile counts): over
  it, the campaign waits for approval, or is cancelled where no approval is allowed. Approved
  despite the budget (`Campaign.budget_approved`), it is not checked again.
- Closing cancels what was not sent yet; answers that come later are kept and flagged late by
  the handler, and thanked by the survey's ordinary end message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from bots import budget, routing
from bots.audience import CAMPAIGN_PRIORITY, reachable
from bots.budget import PAID, Check
from bots.channels.whatsapp import NO_TEMPLATE, OUTSIDE_WINDOW
from bots.engine import (
    Context,
    QuartierOption,
    Reply,
    State,
    remind,
    start_survey,
    started_state,
)
from bots.outgoing import insert_outgoing, outgoing_row
from bots.quiet_hours import is_quiet
from bots.runtime import Runtime
from bots.survey_store import spec_from_row
from bots.surveys import SurveySpec
from storage.bulk import among, insert_from
from storage.db import transaction
from storage.models import Answer, Campaign, Conversation, Message, Participant, Quartier, Survey

log = logging.getLogger(__name__)

BATCH = 500
LAUNCH_BATCH = 2000  # habitants per launch transaction: fewer round trips, memory still flat
BUSY_FOR = timedelta(hours=24)
LAUNCHABLE = ("scheduled", "launching")
LIVE = ("scheduled", "launching", "running")
AWAITING = "awaiting_approval"  # a conseil citoyen's campaign, waiting for a chef de projet
RETOUR = "retour"  # message kind of the results sent back to those who took part
REMINDER = "reminder"


class CampaignError(ValueError):
    """A campaign cannot be created or changed as asked; the message says why, in French."""


# --- target -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Who a campaign writes to: every criterion given must match (AND); values within one OR."""

    quartiers: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    join_codes: tuple[str, ...] = ()
    everyone: bool = False

    def __post_init__(self) -> None:
        if not self.everyone and not any(
            (self.quartiers, self.channels, self.languages, self.join_codes)
        ):
            raise CampaignError("cible vide : choisissez des quartiers, canaux, langues ou codes")

    def to_json(self) -> dict[str, Any]:
        return {
            "quartiers": list(self.quartiers),
            "channels": list(self.channels),
            "languages": list(self.languages),
            "join_codes": list(self.join_codes),
            "everyone": self.everyone,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Target:
        return cls(
            quartiers=tuple(data.get("quartiers", ())),
            channels=tuple(data.get("channels", ())),
            languages=tuple(data.get("languages", ())),
            join_codes=tuple(data.get("join_codes", ())),
            everyone=bool(data.get("everyone", False)),
        )

    def conditions(self, channel: ColumnElement[str] | None = None) -> list[ColumnElement[bool]]:
        """Who matches; `channel` is the channel each one would be written to (default: the one
        they used last), which the channels criterion is about."""
        where: list[ColumnElement[bool]] = list(reachable())
        if self.quartiers:
            codes = select(Quartier.id).where(Quartier.code.in_(self.quartiers))
            where.append(Participant.quartier_id.in_(codes))
        if self.channels:
            column = Participant.channel if channel is None else channel
            where.append(column.in_(self.channels))
        if self.languages:
            where.append(Participant.language.in_(self.languages))
        if self.join_codes:
            where.append(Participant.joined_via.in_(self.join_codes))
        return where


# --- creating, cancelling ------------------------------------------------------------------------


def create_campaign(
    session: Session,
    survey_slug: str,
    target: Target,
    *,
    now: datetime,
    name: str = "",
    starts_at: datetime | None = None,
    closes_at: datetime | None = None,
    remind_after_hours: int | None = None,
    allow_quiet_hours: bool = False,
    created_by_id: int | None = None,
    needs_approval: bool = False,
    budget: Check | None = None,
) -> Campaign:
    """Write a scheduled campaign; the scheduler launches it at `starts_at` (default: now).

    With `needs_approval` it waits, untouched by the scheduler, until `approve_campaign`. With
    a `budget` check its estimate overruns, it is refused (CampaignError) or, when the territory
    allows it, waits for approval too.
    """
    reasons = ["conseil"] if needs_approval else []
    if budget is not None and budget.over:
        if not budget.approval_allowed:
            raise CampaignError(over_budget_fr(budget))
        reasons.append("budget")
    survey = session.scalars(select(Survey).where(Survey.slug == survey_slug)).one_or_none()
    if survey is None:
        raise CampaignError(f"enquête inconnue : {survey_slug}")
    if not survey.questions:
        raise CampaignError(f"l'enquête {survey_slug} n'a pas de question")
    starts_at = starts_at or now
    if closes_at is not None and closes_at <= starts_at:
        raise CampaignError("la clôture doit venir après le lancement")
    if remind_after_hours is not None and remind_after_hours <= 0:
        raise CampaignError("le délai de relance se compte en heures, au moins 1")
    campaign = Campaign(
        survey_id=survey.id,
        name=name or survey.title.get("fr", survey_slug),
        status=AWAITING if reasons else "scheduled",
        hold_reason=",".join(reasons) or None,
        target=target.to_json(),
        starts_at=starts_at,
        closes_at=closes_at,
        remind_after_hours=remind_after_hours,
        allow_quiet_hours=allow_quiet_hours,
        created_by_id=created_by_id,
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    return campaign


UNITS_FR = {"sms": "segments SMS", "whatsapp": "conversations WhatsApp"}


def over_budget_fr(budget: Check) -> str:
    """Why the budget refuses a campaign, in French, per channel it overruns."""
    parts = [
        f"{need} {UNITS_FR.get(channel, channel)} estimés, il en reste {left} ce mois-ci"
        for channel, (need, left) in sorted(budget.over.items())
    ]
    return "budget mensuel dépassé : " + " ; ".join(parts)


def cancel_campaign(runtime: Runtime, campaign_id: int, now: datetime) -> None:
    """Stop a campaign: nothing more goes out; answers already given are kept."""
    with transaction(runtime.sessions) as session:
        campaign = _campaign_to_change(session, campaign_id)
        if campaign.status in ("closed", "cancelled"):
            raise CampaignError(f"la campagne {campaign_id} est déjà {_STATUS_FR[campaign.status]}")
        campaign.status = "cancelled"
        campaign.closed_at = now
        _wind_down(session, campaign, "campaign cancelled")


def approve_campaign(runtime: Runtime, campaign_id: int, user_id: int | None) -> Campaign:
    """A chef de projet lets a conseil citoyen's campaign go out (at its date, or now)."""
    with transaction(runtime.sessions) as session:
        campaign = _campaign_to_change(session, campaign_id)
        if campaign.status != AWAITING:
            raise CampaignError(f"la campagne {campaign_id} n'attend pas de validation")
        campaign.status = "scheduled"
        campaign.approved_by_id = user_id
        if "budget" in (campaign.hold_reason or ""):
            campaign.budget_approved = True  # its launch must not hold it again
        return campaign


def close_campaign(runtime: Runtime, campaign_id: int, now: datetime) -> None:
    """Close a campaign now, as its closing date would: results stay, late answers are kept."""
    with transaction(runtime.sessions) as session:
        campaign = _campaign_to_change(session, campaign_id)
        if campaign.status not in LIVE:
            raise CampaignError(f"la campagne {campaign_id} est {_STATUS_FR[campaign.status]}")
        campaign.status, campaign.closed_at = "closed", now
        _wind_down(session, campaign, "campaign closed")


def send_retour(runtime: Runtime, campaign_id: int, text: str, now: datetime) -> int:
    """Write the retour once, to everyone who answered at least one question; returns how many.

    Only after closing, and only to habitants still reachable (STOP is respected). The messages
    go through the outbox as campaign messages and always wait for the end of quiet hours.
    """
    text = text.strip()
    if not text:
        raise CampaignError("le message de retour est vide")
    with transaction(runtime.sessions) as session:
        campaign = _campaign_to_change(session, campaign_id)
        if campaign.status != "closed":
            raise CampaignError("le retour s'envoie après la clôture de la campagne")
        if campaign.retour_sent_at is not None:
            raise CampaignError(f"le retour de la campagne {campaign_id} est déjà parti")
        ids = session.scalars(
            select(Participant.id).where(Participant.id.in_(took_part(campaign.id)), *reachable())
        ).all()
        insert_outgoing(
            session,
            ids,
            channel=routing.route(runtime.settings, now, RETOUR),
            reply=Reply(text),
            kind=RETOUR,
            now=now,
            priority=CAMPAIGN_PRIORITY,
            wait_quiet_hours=True,
            campaign_id=campaign.id,
        )
        campaign.retour_text, campaign.retour_sent_at = text, now
        return len(ids)


def took_part(campaign_id: int) -> Select[Any]:
    """Ids of the habitants who answered at least one question of the campaign."""
    return (
        select(Conversation.participant_id)
        .where(
            Conversation.campaign_id == campaign_id,
            exists().where(Answer.conversation_id == Conversation.id),
        )
        .distinct()
    )


def retour_recipients(session: Session, campaign_id: int) -> int:
    """How many habitants the retour would reach: they took part and are still reachable."""
    count = session.scalar(
        select(func.count(Participant.id)).where(
            Participant.id.in_(took_part(campaign_id)), *reachable()
        )
    )
    return count or 0


def count_target(
    session: Session, target: Target, channel: ColumnElement[str] | None = None
) -> dict[tuple[str, str], int]:
    """How many habitants a campaign would invite, per (channel, language); `channel` is the
    routing of `bots.routing.route` (default: the channel each one used last)."""
    column = (Participant.channel if channel is None else channel).label("channel")
    rows = session.execute(
        select(column, Participant.language, func.count())
        .where(*target.conditions(channel))
        .group_by(column, Participant.language)
    )
    return {(channel, language): count for channel, language, count in rows}


@dataclass(frozen=True)
class Estimate:
    """Who a campaign would invite now: per (channel it goes by, language), and those left out
    (WhatsApp only, outside the 24-hour window, no approved template in their language)."""

    counts: Mapping[tuple[str, str], int]
    left_out: Mapping[str, int]  # language -> habitants

    @property
    def by_channel(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for (channel, _), n in self.counts.items():
            totals[channel] = totals.get(channel, 0) + n
        return totals


def estimate(session: Session, runtime: Runtime, target: Target, now: datetime) -> Estimate:
    """The launch's own selection, routed as the launch would route it at `now`."""
    settings = runtime.settings
    channel = routing.route(settings, now, "invitation")
    counts = count_target(session, target, channel)
    rows = session.execute(
        select(Participant.language, func.count())
        .where(*target.conditions(channel), routing.left_out(settings, now, "invitation"))
        .group_by(Participant.language)
    )
    return Estimate(counts, {language: n for language, n in rows})


def budget_check(
    session: Session, runtime: Runtime, survey_slug: str, target: Target, now: datetime
) -> Check:
    """The campaign's estimate (`estimate`, `bots.budget.needed`) against this month's budget."""
    survey = session.scalars(select(Survey).where(Survey.slug == survey_slug)).one_or_none()
    if survey is None:
        raise CampaignError(f"enquête inconnue : {survey_slug}")
    return _budget_check(session, runtime, survey, target, now)


def _budget_check(
    session: Session, runtime: Runtime, survey: Survey, target: Target, now: datetime
) -> Check:
    found = estimate(session, runtime, target, now)
    units = budget.needed(spec_from_row(survey), runtime.catalog, found.counts, found.left_out)
    return budget.check(session, runtime.settings, units, now)


def _over_budget_at_launch(
    session: Session, runtime: Runtime, campaign: Campaign, now: datetime
) -> bool:
    """Check the budget again as a scheduled campaign starts; True when it must not go.

    Over what is left, it waits for a chef de projet (`hold_reason="budget"`), or is cancelled
    with that reason where the territory allows no approval. No budget set: nothing to count.
    """
    settings = runtime.settings
    if campaign.budget_approved or all(budget.monthly_budget(settings, c) is None for c in PAID):
        return False
    check = _budget_check(session, runtime, campaign.survey, Target.from_json(campaign.target), now)
    if not check.over:
        return False
    log.warning("campaign %s over budget at launch: %s", campaign.id, over_budget_fr(check))
    campaign.hold_reason = "budget"
    if check.approval_allowed:
        campaign.status = AWAITING
    else:
        campaign.status, campaign.closed_at = "cancelled", now
    return True


# --- the jobs -----------------------------------------------------------------------------------


def launch_due(runtime: Runtime, now: datetime) -> int:
    """Launch (or go on launching) every campaign whose time has come; returns invitations."""
    with runtime.sessions() as session:
        due = session.scalars(
            select(Campaign.id)
            .where(
                Campaign.status.in_(LAUNCHABLE),
                Campaign.starts_at <= now,
                or_(Campaign.closes_at.is_(None), Campaign.closes_at > now),
            )
            .order_by(Campaign.starts_at, Campaign.id)
        ).all()
    return sum(launch(runtime, campaign_id, now) for campaign_id in due)


def launch(runtime: Runtime, campaign_id: int, now: datetime, *, batch: int = LAUNCH_BATCH) -> int:
    """Invite the campaign's target, `batch` habitants per transaction; resumable.

    Returns the number of invitations written. During quiet hours a campaign that does not
    allow them waits (returns 0) and is picked up again by the next run.
    """
    invited = 0
    shaped: dict[str, Reply] = {}  # the invitation per language, shaped once for the launch
    while True:
        with transaction(runtime.sessions) as session:
            campaign = _locked_campaign(session, campaign_id)
            if (
                campaign is None
                or campaign.status not in LAUNCHABLE
                or _held(runtime, campaign, now)
            ):
                return invited
            if campaign.status == "scheduled":
                if _over_budget_at_launch(session, runtime, campaign, now):
                    return invited
                campaign.status, campaign.launched_at = "launching", now
            # Batches go up the participant ids and each writes its conversations in the same
            # transaction, under the campaign's lock (nothing else adds conversations to a
            # campaign that is still launching): the highest one is where to go on from.
            after = session.scalar(
                select(func.max(Conversation.participant_id)).where(
                    Conversation.campaign_id == campaign.id
                )
            )
            target = Target.from_json(campaign.target)
            inviter = _Inviter(session, runtime, campaign, now, shaped)
            recipients = inviter.recipients(
                Participant.id > (after or 0), *target.conditions(inviter.channel), limit=batch
            )
            if not recipients:
                campaign.status = "running"
                log.info("campaign %s launched: %s invitations", campaign.id, invited)
                return invited
            invited += inviter.invite(recipients)


def invite_waiting(runtime: Runtime, now: datetime) -> int:
    """Invite the habitants a running campaign was waiting for, once they are free."""
    invited = 0
    for campaign_id in _campaign_ids(runtime, ("running",)):
        with transaction(runtime.sessions) as session:
            campaign = _locked_campaign(session, campaign_id)
            if campaign is None or campaign.status != "running" or _held(runtime, campaign, now):
                continue
            waiting = (
                select(Conversation.participant_id)
                .where(Conversation.campaign_id == campaign.id, Conversation.status == "waiting")
                .scalar_subquery()
            )
            inviter = _Inviter(session, runtime, campaign, now)
            recipients = inviter.recipients(Participant.id.in_(waiting))
            eligible = {
                r.id
                for r in session.execute(
                    select(Participant.id).where(Participant.id.in_(waiting), *reachable())
                )
            }
            gone = [r.id for r in recipients if r.id not in eligible]
            _set_status(session, campaign.id, gone, "waiting", "expired", now)
            invited += inviter.invite([r for r in recipients if r.id in eligible], waiting=True)
    return invited


def send_reminders(runtime: Runtime, now: datetime) -> int:
    """Once, after the campaign's delay, remind those who started and did not finish."""
    sent = 0
    for campaign_id in _campaign_ids(runtime, ("running",)):
        with transaction(runtime.sessions) as session:
            campaign = _locked_campaign(session, campaign_id)
            if (
                campaign is None
                or campaign.remind_after_hours is None
                or _held(runtime, campaign, now)
            ):
                continue
            stale = now - timedelta(hours=campaign.remind_after_hours)
            # Routed as the invitations are: a WhatsApp habitant silent for more than a day,
            # with no reminder template in their language, is reminded by SMS if they have it.
            channel = routing.route(runtime.settings, now, REMINDER)
            conversations = session.execute(
                select(Conversation, channel)
                .join(Participant, Participant.id == Conversation.participant_id)
                .where(
                    Conversation.campaign_id == campaign.id,
                    Conversation.status.in_(("invited", "active")),
                    exists().where(Answer.conversation_id == Conversation.id),  # started
                    Conversation.reminded_at.is_(None),
                    Conversation.updated_at <= stale,
                    *reachable(),
                )
                .limit(BATCH * 20)
            ).all()
            inviter = _Inviter(session, runtime, campaign, now)
            for conversation, routed in conversations:
                participant = session.get(Participant, conversation.participant_id)
                assert participant is not None
                state = State.from_json(participant.state)
                conversation.reminded_at = now  # once, even if they moved on
                if state.survey != inviter.spec.key or state.asking:
                    continue
                reply = remind(state, inviter.spec, inviter.ctx)
                inviter.enqueue(participant, reply, REMINDER, channel=routed)
                sent += 1
    return sent


def close_due(runtime: Runtime, now: datetime) -> int:
    """Close the campaigns whose closing time has passed; returns how many."""
    closed = 0
    with runtime.sessions() as session:
        due = session.scalars(
            select(Campaign.id).where(Campaign.status.in_(LIVE), Campaign.closes_at <= now)
        ).all()
    for campaign_id in due:
        with transaction(runtime.sessions) as session:
            campaign = _locked_campaign(session, campaign_id)
            if campaign is None or campaign.status not in LIVE:
                continue
            campaign.status, campaign.closed_at = "closed", now
            _wind_down(session, campaign, "campaign closed")
            closed += 1
    return closed


def settle_undelivered(runtime: Runtime, now: datetime) -> int:
    """Invitations that failed for good: free the habitant from a question never received."""
    settled = 0
    for campaign_id in _campaign_ids(runtime, ("running",)):
        with transaction(runtime.sessions) as session:
            campaign = session.get(Campaign, campaign_id)
            assert campaign is not None
            settled += _release_unsent(session, campaign, "undelivered", now)
    return settled


def campaign_jobs(runtime: Runtime, now: datetime) -> dict[str, int]:
    """Everything the scheduler does for campaigns, in a sensible order."""
    return {
        "closed": close_due(runtime, now),
        "invited": launch_due(runtime, now),
        "waiting_invited": invite_waiting(runtime, now),
        "reminded": send_reminders(runtime, now),
        "undelivered": settle_undelivered(runtime, now),
    }


# --- reporting ----------------------------------------------------------------------------------

_STATUS_FR = {
    "draft": "brouillon",
    AWAITING: "en attente de validation",
    "scheduled": "programmée",
    "launching": "en cours de lancement",
    "running": "en cours",
    "closed": "clôturée",
    "cancelled": "annulée",
}


@dataclass(frozen=True)
class CampaignStatus:
    campaign: Campaign
    survey_slug: str
    recipients: Mapping[str, int]
    messages: Mapping[str, Mapping[str, int]]
    late_answers: int
    left_out: int = 0  # WhatsApp messages not sent: outside the 24-hour window, no template

    @property
    def status_fr(self) -> str:
        return _STATUS_FR.get(self.campaign.status, self.campaign.status)


def campaign_status(session: Session, campaign_id: int) -> CampaignStatus:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise CampaignError(f"campagne inconnue : {campaign_id}")
    recipients = dict(
        session.execute(
            select(Conversation.status, func.count())
            .where(Conversation.campaign_id == campaign_id)
            .group_by(Conversation.status)
        ).all()
    )
    messages: dict[str, dict[str, int]] = {}
    for kind, status, count in session.execute(
        select(Message.kind, Message.status, func.count())
        .where(Message.campaign_id == campaign_id, Message.direction == "out")
        .group_by(Message.kind, Message.status)
    ):
        messages.setdefault(kind, {})[status] = count
    late = session.scalar(
        select(func.count(Answer.id))
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .where(Conversation.campaign_id == campaign_id, Answer.late.is_(True))
    )
    left_out = session.scalar(
        select(func.count(func.distinct(Message.participant_id))).where(
            Message.campaign_id == campaign_id,
            Message.direction == "out",
            Message.status == "failed",
            Message.error_code.in_((NO_TEMPLATE, OUTSIDE_WINDOW)),
        )
    )
    return CampaignStatus(
        campaign, campaign.survey.slug, recipients, messages, late or 0, left_out or 0
    )


# --- helpers ------------------------------------------------------------------------------------


def _campaign_ids(runtime: Runtime, statuses: Sequence[str]) -> list[int]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Campaign.id).where(Campaign.status.in_(statuses))))


def _locked_campaign(session: Session, campaign_id: int) -> Campaign | None:
    """The campaign, locked: two launches or a launch and a cancel never interleave."""
    return session.scalars(
        select(Campaign).where(Campaign.id == campaign_id).with_for_update()
    ).one_or_none()


def _campaign_to_change(session: Session, campaign_id: int) -> Campaign:
    """The campaign, locked for a change by staff; an unknown id is an error for them."""
    campaign = _locked_campaign(session, campaign_id)
    if campaign is None:
        raise CampaignError(f"campagne inconnue : {campaign_id}")
    return campaign


def _held(runtime: Runtime, campaign: Campaign, now: datetime) -> bool:
    return not campaign.allow_quiet_hours and is_quiet(now, runtime.settings.timezone)


def is_busy(state: State, last_seen_at: datetime, now: datetime) -> bool:
    """In a survey or answering one of our questions, and active in the last 24 hours."""
    if not (state.survey or state.asking):
        return False
    last = datetime.fromisoformat(state.last_at) if state.last_at else last_seen_at
    return now - max(last, last_seen_at) < BUSY_FOR


def _set_status(
    session: Session, campaign_id: int, ids: Iterable[int], old: str, new: str, now: datetime
) -> None:
    ids = list(ids)
    if ids:
        session.execute(
            update(Conversation)
            .where(
                Conversation.campaign_id == campaign_id,
                among(session, Conversation.participant_id, ids),
                Conversation.status == old,
            )
            .values(status=new, updated_at=now)
            .execution_options(synchronize_session=False)
        )


def _wind_down(session: Session, campaign: Campaign, reason: str) -> None:
    """What closing and cancelling share: nothing more goes out, nobody waits any more."""
    now = campaign.closed_at
    assert now is not None
    session.execute(
        update(Message)
        .where(
            Message.campaign_id == campaign.id,
            Message.direction == "out",
            Message.status == "pending",
            Message.kind.in_(("invitation", "reminder")),
        )
        .values(status="cancelled", last_error=reason)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Conversation)
        .where(Conversation.campaign_id == campaign.id, Conversation.status == "waiting")
        .values(status="expired", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    _release_unsent(session, campaign, "expired", now)


def _release_unsent(session: Session, campaign: Campaign, new_status: str, now: datetime) -> int:
    """Invited habitants whose invitation was cancelled or failed: reset their state."""
    unsent = (
        select(Message.participant_id)
        .where(
            Message.campaign_id == campaign.id,
            Message.kind == "invitation",
            Message.status.in_(("failed", "cancelled")),
        )
        .scalar_subquery()
    )
    conversations = session.scalars(
        select(Conversation).where(
            Conversation.campaign_id == campaign.id,
            Conversation.status == "invited",
            Conversation.participant_id.in_(unsent),
        )
    ).all()
    key = str(campaign.survey_id)
    for conversation in conversations:
        conversation.status, conversation.updated_at = new_status, now
        participant = session.get(Participant, conversation.participant_id)
        if participant is None:
            continue
        state = State.from_json(participant.state)
        if state.survey == key and state.question == 0:
            participant.state = replace(state, survey=None, misses=0).to_json()
    return len(conversations)


# The fields `bots.engine.started_state` sets, and the time of the invitation; the campaign
# tests check that merging them into any state gives what the engine gives.
STARTED_KEYS = ("survey", "question", "misses", "asking", "last_at")


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _merge_state(session: Session, ids: Sequence[int], changes: Mapping[str, Any]) -> None:
    """Set `changes` in the stored state of the participants `ids`, other keys kept: what
    `State.from_json(...)` then `replace(...)` then `to_json()` would store, read back the same,
    in one statement for the whole batch instead of one a habitant."""
    if not ids:
        return
    participants = _table(Participant)
    state = participants.c.state
    if session.connection().dialect.name == "postgresql":
        merged: ColumnElement[Any] = state.op("||")(literal(dict(changes), JSONB()))
    else:  # SQLite's json_patch: same top-level merge (no value here is null)
        merged = func.json_patch(state, json.dumps(dict(changes)))
    where = among(session, participants.c.id, ids)
    session.execute(update(participants).where(where).values(state=merged))


class _Recipient(NamedTuple):
    id: int
    language: str  # of their state: what the bot talks to them in
    maybe_busy: bool  # in a survey or asked something: `is_busy` reads their state


class _Inviter:
    """Writes invitations and reminders of one campaign, many at a time."""

    def __init__(
        self,
        session: Session,
        runtime: Runtime,
        campaign: Campaign,
        now: datetime,
        shaped: dict[str, Reply] | None = None,
    ):
        self.session = session
        self.campaign = campaign
        self.now = now
        survey = session.get(Survey, campaign.survey_id)
        assert survey is not None
        self.spec: SurveySpec = spec_from_row(survey)
        quartiers: tuple[QuartierOption, ...] = ()
        if any(q.kind == "quartier" for q in self.spec.questions):
            quartiers = tuple(
                QuartierOption(q.code, q.name)
                for q in session.scalars(select(Quartier).order_by(Quartier.name))
            )
        self.ctx = Context(
            catalog=runtime.catalog, surveys={self.spec.key: self.spec}, quartiers=quartiers
        )
        self._invitations: dict[str, Reply] = {} if shaped is None else shaped
        # What starting the survey changes in a habitant's state: the same for everyone.
        started = replace(started_state(State(), self.spec), last_at=now.isoformat()).to_json()
        self._started = {key: started[key] for key in STARTED_KEYS}
        self.channel = routing.route(runtime.settings, now, "invitation")
        self._options: dict[str, Any] = {
            "priority": CAMPAIGN_PRIORITY,
            "wait_quiet_hours": not campaign.allow_quiet_hours,
            "campaign_id": campaign.id,
        }

    def recipients(self, *where: ColumnElement[bool], limit: int | None = None) -> list[_Recipient]:
        """The habitants matching `where`, up their ids, locked until the invitations are
        written. Their states are not decoded here: the database tells which ones could be
        busy (in a survey, or asked something), and only those are read again by `invite`."""
        state = Participant.state
        asked = [func.coalesce(state[key].as_string(), "") != "" for key in ("survey", "asking")]
        query = (
            select(
                Participant.id,
                func.coalesce(state["language"].as_string(), State().language),
                or_(*asked),
            )
            .where(*where)
            .order_by(Participant.id)
            .limit(limit)
            .with_for_update()
        )
        return [_Recipient(*row) for row in self.session.execute(query)]

    def invite(self, recipients: Sequence[_Recipient], *, waiting: bool = False) -> int:
        """Invite the free ones among `recipients`; the busy ones wait. Every write is one
        statement for all of them (one per language for the invitations)."""
        busy = self._busy([r.id for r in recipients if r.maybe_busy])
        by_language: dict[str, list[int]] = {}
        for r in recipients:
            if r.id not in busy:
                by_language.setdefault(r.language, []).append(r.id)
        invited = [pid for ids in by_language.values() for pid in ids]
        self._leave_previous(invited)
        if waiting:
            _set_status(self.session, self.campaign.id, invited, "waiting", "invited", self.now)
        else:
            self._add_conversations(invited, "invited")
            self._add_conversations(sorted(busy), "waiting")
        _merge_state(self.session, invited, self._started)
        for language, ids in by_language.items():
            insert_outgoing(
                self.session,
                ids,
                channel=self.channel,
                reply=self._invitation(language),
                kind="invitation",
                now=self.now,
                **self._options,
            )
        return len(invited)

    def _busy(self, ids: Sequence[int]) -> set[int]:
        """Those of `ids` whose state `is_busy` (none read when none may be)."""
        if not ids:
            return set()
        rows = self.session.execute(
            select(Participant.id, Participant.state, Participant.last_seen_at).where(
                among(self.session, Participant.id, ids)
            )
        )
        return {
            pid
            for pid, state, last_seen_at in rows
            if is_busy(State.from_json(state), last_seen_at, self.now)
        }

    def _invitation(self, language: str) -> Reply:
        """The invitation in `language`, shaped once per language: the same text for everyone
        (`bots.engine.started_state` reads only the language), and shaping an SMS is costly."""
        reply = self._invitations.get(language)
        if reply is None:
            state = State(language=language, consent=True)
            reply = start_survey(state, self.spec, self.ctx).replies[0]
            self._invitations[language] = reply
        return reply

    def enqueue(self, participant: Participant, reply: Reply, kind: str, *, channel: str) -> None:
        message = self._message(participant.id, channel, participant.address_enc, reply, kind)
        self.session.execute(insert(Message), [message])

    def _message(
        self, participant_id: int, channel: str, address_enc: str, reply: Reply, kind: str
    ) -> dict[str, Any]:
        return outgoing_row(
            channel=channel,
            participant_id=participant_id,
            address_enc=address_enc,
            reply=reply,
            kind=kind,
            now=self.now,
            **self._options,
        )

    def _add_conversations(self, ids: Sequence[int], status: str) -> None:
        if ids:
            insert_from(
                self.session,
                _table(Conversation),
                {
                    "survey_id": self.campaign.survey_id,
                    "campaign_id": self.campaign.id,
                    "status": status,
                    "started_at": self.now,
                    "updated_at": self.now,
                },
                {"participant_id": Participant.id},
                among(self.session, Participant.id, ids),
            )

    def _leave_previous(self, ids: Sequence[int]) -> None:
        """An older survey they had gone quiet on is left, as when they switch by a code."""
        if ids:
            self.session.execute(
                update(Conversation)
                .where(
                    among(self.session, Conversation.participant_id, ids),
                    Conversation.status.in_(("invited", "active")),
                    or_(
                        Conversation.campaign_id.is_(None),
                        Conversation.campaign_id != self.campaign.id,
                    ),
                )
                .values(status="stopped", updated_at=self.now)
                .execution_options(synchronize_session=False)
            )
