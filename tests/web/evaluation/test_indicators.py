"""The tableau de bord's figures on hand-built data whose answers are known, on both databases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import (
    Answer,
    Campaign,
    Categorisation,
    Contribution,
    Conversation,
    Participant,
    Question,
    Survey,
    Theme,
)
from tests.factories import make_contribution, make_participant, make_quartier
from web.counts import Cell, Scope, protect
from web.indicators import Indicators, Period, compute, parse_month
from web.results import campaign_results
from web.theme_state import theme_view

PARIS = ZoneInfo("Europe/Paris")
TZ = "Europe/Paris"
Q1 = Period(date(2026, 1, 1), date(2026, 3, 1))  # January to March 2026


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


@dataclass
class World:
    nord: int
    sud: int
    ids: dict[str, int]


def theme_id(session: Session, code: str) -> int:
    return session.scalars(select(Theme.id).where(Theme.code == code)).one()


def categorise(session: Session, contribution: Contribution, code: str, source: str) -> None:
    session.add(
        Categorisation(
            contribution_id=contribution.id,
            theme_id=theme_id(session, code),
            source=source,
            confidence=0.8 if source == "suggestion" else None,
        )
    )


def answer(session: Session, conversation: Conversation, at: datetime, understood: bool = True):
    question = session.scalars(
        select(Question).where(Question.survey_id == conversation.survey_id).order_by(Question.id)
    ).first()
    assert question is not None
    session.add(
        Answer(
            conversation_id=conversation.id,
            question_id=question.id,
            raw_text="oui" if understood else "hein ?",
            value="oui" if understood else None,
            understood=understood,
            created_at=at,
        )
    )


def conversation(
    session: Session, participant: Participant, campaign: Campaign | None, status: str = "active"
) -> Conversation:
    row = Conversation(
        participant_id=participant.id,
        survey_id=campaign.survey_id if campaign else survey_id(session),
        campaign_id=campaign.id if campaign else None,
        status=status,
    )
    session.add(row)
    session.flush()
    return row


def survey_id(session: Session) -> int:
    return session.scalars(select(Survey.id).where(Survey.slug == "scolarite")).one()


@pytest.fixture
def world(runtime: Runtime) -> World:
    """Habitants whose figures are worked out by hand in each test's comments.

    A (nord, telegram, fr, known since 2025): two contributions in January, one of them at
        00:30 on 1 January in Paris (still 31 December in UTC), and one just after March.
    B (nord, sms, en, new in February): one contribution with only a suggested thème.
    C (sud, sms, fr, new in January): answers a survey in March, writes in sud in March.
    D (sud, telegram): wrote in December (before), and one answer the bot did not understand.
    E (now sud, telegram, known since 2025): wrote in nord in February, then answered in March.
    F (sud): invited by the campaign, never answered.
    T: a staff member's test phone in nord: answers and a contribution that never count.
    A contribution of March 31st (23:30 in Paris) whose author was unlinked (retention).
    """
    with transaction(runtime.sessions) as s:
        nord = make_quartier(s, code="QP-NORD", name="Les Tilleuls").id
        sud = make_quartier(s, code="QP-SUD", name="Le Val Fleuri").id

        def person(channel: str, quartier: int, first: datetime, **kw: Any) -> Participant:
            return make_participant(
                s, runtime, channel=channel, quartier_id=quartier, first_seen_at=first, **kw
            )

        a = person("telegram", nord, paris(2025, 6, 1))
        b = person("sms", nord, paris(2026, 2, 3), language="en")
        c = person("sms", sud, paris(2026, 1, 20))
        d = person("telegram", sud, paris(2025, 1, 1))
        e = person("telegram", sud, paris(2025, 11, 2))
        f = person("sms", sud, paris(2025, 3, 3))
        t = person("simulator", nord, paris(2026, 1, 5), is_test=True)

        def write(p: Participant | None, quartier: int, at: datetime) -> Contribution:
            return make_contribution(
                s,
                participant_id=p.id if p else None,
                quartier_id=quartier,
                channel=p.channel if p else "sms",
                created_at=at,
            )

        c1 = write(a, nord, paris(2026, 1, 10, 18))
        categorise(s, c1, "cadre-de-vie", "staff")
        categorise(s, c1, "sante", "habitant")  # the habitant's choice: not confirmed
        c2 = write(a, nord, paris(2026, 1, 1, 0, 30))
        categorise(s, c2, "cadre-de-vie", "staff")
        categorise(s, c2, "sante", "staff")  # two confirmed thèmes
        c3 = write(b, nord, paris(2026, 2, 5))
        categorise(s, c3, "sante", "suggestion")
        c4 = write(e, nord, paris(2026, 2, 20))
        categorise(s, c4, "sante", "habitant")  # still "à trier", as in the inbox
        write(None, nord, paris(2026, 3, 31, 23, 30))  # unlinked, à trier
        write(d, sud, paris(2025, 12, 15))  # before the period
        write(a, nord, paris(2026, 4, 1, 0, 30))  # after the period (31 March in UTC)
        c8 = write(t, nord, paris(2026, 2, 10))
        categorise(s, c8, "cadre-de-vie", "staff")
        c9 = write(c, sud, paris(2026, 3, 10))
        categorise(s, c9, "emploi", "staff")

        campaign = Campaign(
            survey_id=survey_id(s),
            name="Aide aux devoirs",
            status="closed",
            target={"quartiers": ["QP-NORD", "QP-SUD"]},
            launched_at=paris(2026, 2, 15),
            closed_at=paris(2026, 3, 20),
        )
        s.add(campaign)
        s.flush()
        answer(s, conversation(s, c, campaign, "finished"), paris(2026, 3, 3))
        answer(s, conversation(s, e, campaign), paris(2026, 3, 5))
        answer(s, conversation(s, d, None), paris(2026, 2, 1), understood=False)
        answer(s, conversation(s, t, campaign, "finished"), paris(2026, 2, 2))
        conversation(s, f, campaign, "invited")
        ids = {"a": a.id, "b": b.id, "c": c.id, "e": e.id, "campaign": campaign.id}
        return World(nord, sud, ids)


def run(runtime: Runtime, scope: Scope, period: Period = Q1, **kw: Any) -> Indicators:
    with runtime.sessions() as session:
        return compute(session, period, scope, TZ, **kw)


def rows(found: Indicators) -> dict[str, list[int]]:
    return {row.key: row.per_month for row in found.themes if any(row.per_month)}


def test_participants_new_ones_and_contributions(runtime: Runtime, world: World) -> None:
    found = run(runtime, Scope())
    # A, B, C, E; not D (before the period, or not understood), not T (test), not F (invited)
    assert found.participants == 4
    assert found.new_participants == 2  # B and C were first seen in the period
    assert found.new_share == 0.5
    assert found.contributions == 6  # c1, c2, c3, c4, the unlinked one, c9
    assert rows(found) == {
        "cadre-de-vie": [2, 0, 0],  # not c8: a test phone's
        "sante": [1, 0, 0],  # confirmed on c2 only
        "emploi": [0, 0, 1],
        "suggere": [0, 1, 0],
        "a_trier": [0, 1, 1],  # c4 (a habitant's choice is not a thème), the unlinked one
        "total": [2, 2, 2],
    }
    # Active thèmes are listed even without contributions; the states and total come last.
    assert [row.key for row in found.themes[-3:]] == ["suggere", "a_trier", "total"]
    assert any(row.key == "transition-ecologique" for row in found.themes)


def test_diversity_counts_each_habitant_once_per_quartier_channel_and_language(
    runtime: Runtime, world: World
) -> None:
    found = run(runtime, Scope())
    quartiers = {name: cell.value for name, cell in found.by_quartier.rows}
    assert quartiers == {"Les Tilleuls": 3, "Le Val Fleuri": 2}  # E in both, once in total
    assert {k: c.value for k, c in found.by_channel.rows} == {"telegram": 2, "sms": 2}
    assert {k: c.value for k, c in found.by_language.rows} == {"fr": 3, "en": 1}
    # Every cell is under 5: none is shown as a number.
    for breakdown in (found.by_quartier, found.by_channel, found.by_language):
        assert {cell.shown for _, cell in breakdown.rows} == {"< 5"}


def test_a_conseil_citoyen_counts_only_its_quartiers(runtime: Runtime, world: World) -> None:
    nord = frozenset({world.nord})
    found = run(runtime, Scope(nord))
    assert found.participants == 3  # A, B, and E for what they wrote in nord; not C
    assert found.new_participants == 1  # B
    assert found.contributions == 5  # c9, written in sud, is never counted
    assert rows(found)["total"] == [2, 2, 1]
    assert "emploi" not in rows(found)
    assert [name for name, _ in found.by_quartier.rows] == ["Les Tilleuls"]
    # Asking for another quartier than its own gives nothing, not that quartier's figures.
    elsewhere = run(runtime, Scope(nord, world.sud))
    assert (elsewhere.participants, elsewhere.contributions) == (0, 0)
    assert elsewhere.campaigns == []
    # One quartier among all: the team's view of sud.
    sud = run(runtime, Scope(None, world.sud))
    assert (sud.participants, sud.contributions) == (2, 1)  # C and E (her answer)


def test_months_are_the_territorys_months(runtime: Runtime, world: World) -> None:
    january = run(runtime, Scope(), Period(date(2026, 1, 1), date(2026, 1, 1)))
    assert rows(january)["total"] == [2]  # 1 January 00:30 in Paris is in January
    april = run(runtime, Scope(), Period(date(2026, 4, 1), date(2026, 4, 1)))
    assert rows(april)["total"] == [1]  # 1 April 00:30 in Paris, 31 March in UTC
    assert april.participants == 1 and april.new_participants == 0
    december = run(runtime, Scope(), Period(date(2025, 12, 1), date(2025, 12, 1)))
    assert december.participants == 1 and december.new_participants == 0  # D, known since 2025


def test_the_table_agrees_with_the_inbox_reading_of_each_contribution(
    runtime: Runtime, world: World
) -> None:
    """Per contribution, `web.theme_state.theme_view` says confirmed, suggested or to sort."""
    found = run(runtime, Scope())
    start, end = Q1.bounds(TZ)[0], Q1.bounds(TZ)[-1]
    with runtime.sessions() as session:
        contributions = session.scalars(
            select(Contribution)
            .outerjoin(Participant, Participant.id == Contribution.participant_id)
            .where(Contribution.created_at >= start, Contribution.created_at < end)
            .where(Participant.is_test.is_not(True))
            .options(selectinload(Contribution.categorisations).selectinload(Categorisation.theme))
        ).all()
        views = [theme_view(c) for c in contributions]
    totals = {row.key: row.total for row in found.themes}
    for code in ("cadre-de-vie", "sante", "emploi"):
        assert totals[code] == sum(code in [t.code for t in v.confirmed] for v in views)
    assert totals["a_trier"] == sum(v.to_sort for v in views)
    assert totals["suggere"] == sum(not v.confirmed and bool(v.suggestions) for v in views)
    assert totals["total"] == len(views)


def test_campaign_rates_are_the_results_page_funnel(runtime: Runtime, world: World) -> None:
    found = run(runtime, Scope())
    (rate,) = found.campaigns
    with runtime.sessions() as session:
        campaign = session.get(Campaign, world.ids["campaign"])
        assert campaign is not None
        funnel = campaign_results(session, campaign, Scope()).funnel
    assert (rate.invited.value, rate.started.value, rate.finished.value) == (
        funnel.invited,
        funnel.started,
        funnel.finished,
    )
    assert (funnel.invited, funnel.started, funnel.finished) == (3, 2, 1)  # C, E, F; not T
    assert rate.invited.shown == "< 5" and rate.response_rate is None  # it would tell 2 of 3
    # Outside the period, or not visible to the account: not listed.
    assert run(runtime, Scope(), Period(date(2026, 4, 1), date(2026, 5, 1))).campaigns == []
    assert run(runtime, Scope(), campaign_visible=lambda c: False).campaigns == []


def test_enough_habitants_show_their_numbers_and_rates(runtime: Runtime) -> None:
    """Seven on Telegram and one on SMS: the SMS cell is hidden, Telegram's is blurred."""
    with transaction(runtime.sessions) as s:
        quartier = make_quartier(s, code="QP-EST", name="Les Bruyères").id
        campaign = Campaign(
            survey_id=survey_id(s),
            name="Les associations",
            status="running",
            target={"quartiers": ["QP-EST"]},
            launched_at=paris(2026, 1, 2),
        )
        s.add(campaign)
        s.flush()
        for n in range(8):
            p = make_participant(
                s,
                runtime,
                channel="sms" if n == 7 else "telegram",
                quartier_id=quartier,
                first_seen_at=paris(2026, 1, 1),
            )
            talk = conversation(s, p, campaign, "finished" if n < 6 else "active")
            if n < 7:
                answer(s, talk, paris(2026, 1, 3))
            else:
                make_contribution(
                    s, participant_id=p.id, quartier_id=quartier, created_at=paris(2026, 2, 1)
                )
    found = run(runtime, Scope())
    assert found.participants == 8 and found.new_participants == 8
    assert [(k, c.shown) for k, c in found.by_channel.rows] == [("telegram", "≥ 5"), ("sms", "< 5")]
    assert [(k, c.shown) for k, c in found.by_quartier.rows] == [("Les Bruyères", 8)]
    (rate,) = found.campaigns
    assert (rate.invited.shown, rate.started.shown, rate.finished.shown) == (8, 7, 6)
    assert rate.response_rate == pytest.approx(7 / 8)
    assert rate.completion_rate == pytest.approx(6 / 8)


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        ([10, 20], [10, 20]),
        ([0, 7], [0, 7]),
        ([135, 2], ["≥ 130", "< 5"]),  # 137 in total: 2 must not be 137 - 135
        ([6, 3], ["≥ 5", "< 5"]),
        ([40, 12, 3], [40, "≥ 5", "< 5"]),
        ([10, 3, 2], [10, "< 5", "< 5"]),  # two hidden cells: neither can be worked out
        ([4], ["< 5"]),
        ([], []),
    ],
)
def test_small_counts_are_hidden(values: list[int], shown: list[Any]) -> None:
    cells = protect(values)
    assert [cell.shown for cell in cells] == shown
    assert [cell.value for cell in cells] == values  # the exact value stays for totals


def test_a_blurred_count_tells_nothing_of_the_hidden_one() -> None:
    for big in range(5, 300):
        for hidden in range(1, 5):
            bound = int(str(protect([big, hidden])[0].shown).removeprefix("≥ "))
            total = big + hidden
            # All a reader knows: big >= bound, 1 <= hidden <= 4, big + hidden == total.
            possible = {h for h in range(1, 5) if total - h >= bound}
            assert possible == {1, 2, 3, 4} or big < 8, (big, hidden)
    assert Cell(3, "< 5").shown == "< 5"


def test_periods_and_months() -> None:
    assert Period.last_twelve_months(date(2026, 11, 23)) == Period(
        date(2025, 12, 1), date(2026, 11, 1)
    )
    assert len(Period.last_twelve_months(date(2026, 1, 31)).months) == 12
    assert Q1.bounds(TZ)[0] == datetime(2025, 12, 31, 23, tzinfo=UTC)
    assert Q1.bounds(TZ)[-1] == datetime(2026, 3, 31, 22, tzinfo=UTC)  # summer time
    assert parse_month("2026-03") == date(2026, 3, 1)
    for bad in ("2026-13", "2026-3", "mars", "", "2026-03-01", "20260-01"):
        assert parse_month(bad) is None


def test_the_languages_habitants_write_in_are_counted_too(runtime: Runtime, world: World) -> None:
    """`Par langue écrite`: each contribution's identified language, not only the bot's."""
    from sqlalchemy import update

    from storage.models import Contribution

    with runtime.sessions.begin() as session:
        session.execute(
            update(Contribution)
            .where(Contribution.participant_id == world.ids["a"])
            .values(language="ar")
        )
    found = run(runtime, Scope())
    written = {k: c.value for k, c in found.by_written_language.rows}
    assert written["ar"] == 1 and "fr" in written
    assert {k: c.value for k, c in found.by_language.rows} == {"fr": 3, "en": 1}  # unchanged
