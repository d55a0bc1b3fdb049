"""The inbox's pages and counts read the same rows, however each database is told to plan them.

A page reads the conversations waiting for the team first (from their ids: `storage.sql.led_by`),
then the others: along the date index, testing a search's or a thème's rows one by one, when
the view has many rows (`walk`), else reading those sets first, as a count does. These tests
walk every page of views that mix the waiting ones, a thème state, a thème, a quartier and a
search, both ways, and check that each row comes once, in order (waiting ones first, newest
first, then the others), and that the tabs' counts are the rows the pages showed. On SQLite
and PostgreSQL.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Categorisation, Contribution, StaffReply, Theme, ThreadMessage
from tests.web.conftest import Territory, login_as
from web.review import inbox as inbox_view

CARD = re.compile(r'<article class="contribution line[^"]*" id="c-(\d+)"')
NEXT = re.compile(r'href="([^"]+)" rel="next"')
COUNT = re.compile(r'<b data-count="(\w+)">(\d+)</b>')
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WORDS = ("poubelles", "ascenseur", "cantine", "parc")


def walk(client: Any, url: str) -> list[int]:
    """Every row of a view, page after page."""
    seen: list[int] = []
    while url:
        response = client.get(url.replace("&amp;", "&"))
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        seen.extend(int(i) for i in CARD.findall(page))
        link = NEXT.search(page)
        url = link.group(1) if link else ""
    return seen


@pytest.fixture
def inbox(runtime: Runtime, territory: Territory) -> dict[str, Any]:
    """130 contributions in two quartiers, a third waiting for the team (some answered since,
    which no longer wait), thèmes confirmed, suggested, chosen by the habitant or none."""
    rng = random.Random(17)
    with transaction(runtime.sessions) as session:
        themes = list(session.scalars(select(Theme.id).order_by(Theme.id).limit(3)))
        rows = [
            {
                "channel": "sms",
                "quartier_id": rng.choice((territory.nord, territory.sud)),
                "text": f"les {rng.choice(WORDS)} encore ({n})",
                "status": rng.choice(("nouveau", "traite", "archive")),
                # Pairs at the same instant: the id breaks the tie.
                "created_at": T0 + timedelta(minutes=n // 2),
            }
            for n in range(130)
        ]
        session.execute(insert(Contribution), rows)
        ids = list(session.scalars(select(Contribution.id).order_by(Contribution.id)))
        for cid in ids:
            for source in ("staff", "suggestion", "habitant"):
                if rng.random() < 0.3:
                    theme_id = rng.choice(themes)
                    session.add(
                        Categorisation(contribution_id=cid, theme_id=theme_id, source=source)
                    )
        threads = rng.sample(ids, 50)
        for n, cid in enumerate(threads):
            asked = T0 + timedelta(days=2, minutes=n)
            session.add(ThreadMessage(contribution_id=cid, text="et alors ?", created_at=asked))
            if n % 5 == 0:
                session.add(ThreadMessage(contribution_id=cid, text="?", created_at=asked))
            if n % 3 == 0:  # answered since: no longer waiting
                session.add(StaffReply(contribution_id=cid, created_at=asked + timedelta(hours=1)))
        waiting = {cid for n, cid in enumerate(threads) if n % 3 != 0}
        code = session.scalar(select(Theme.code).where(Theme.id == themes[0]))
    return {"waiting": waiting, "theme": code}


def expected(runtime: Runtime, chosen: set[int], waiting: set[int]) -> list[int]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Contribution.id, Contribution.created_at).where(Contribution.id.in_(chosen))
        ).all()
    newest = sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)
    return [r.id for r in newest if r.id in waiting] + [r.id for r in newest if r.id not in waiting]


def rows_of(runtime: Runtime, territory: Territory, view: dict[str, str], code: str) -> set[int]:
    """The view's rows, by the definitions (in Python, from the rows)."""
    with runtime.sessions() as session:
        contributions = session.execute(
            select(
                Contribution.id, Contribution.quartier_id, Contribution.status, Contribution.text
            )
        ).all()
        cats: dict[int, list[tuple[str, str]]] = {}
        for cid, source, theme in session.execute(
            select(Categorisation.contribution_id, Categorisation.source, Theme.code).join(
                Theme, Theme.id == Categorisation.theme_id
            )
        ):
            cats.setdefault(cid, []).append((source, theme))
    found = set()
    for c in contributions:
        given = cats.get(c.id, [])
        staff = [t for s, t in given if s == "staff"]
        state = (
            "confirme"
            if staff
            else ("suggere" if any(s == "suggestion" for s, _ in given) else "a_trier")
        )
        themes = staff or [t for s, t in given if s in ("suggestion", "habitant")]
        if c.status == "archive":
            continue
        if view.get("etat") and state != view["etat"]:
            continue
        if view.get("theme") and code not in themes:
            continue
        if view.get("quartier") and c.quartier_id != territory.nord:
            continue
        if view.get("q") and view["q"] not in c.text:
            continue
        found.add(c.id)
    return found


VIEWS = [
    {},
    {"etat": "a_trier"},
    {"etat": "suggere"},
    {"etat": "confirme"},
    {"theme": "x"},
    {"theme": "x", "etat": "suggere"},
    {"quartier": "nord"},
    {"quartier": "nord", "etat": "a_trier"},
    {"q": "poubelles"},
    {"q": "cantine", "quartier": "nord"},
    {"q": "ascenseur", "theme": "x"},
]


@pytest.fixture(params=["walk", "sets first"])
def planned(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways a page is read: along the date index, or from the sets (`inbox.WALK_FROM`)."""
    monkeypatch.setattr(inbox_view, "WALK_FROM", 0 if request.param == "walk" else 10**9)


@pytest.mark.usefixtures("planned")
@pytest.mark.parametrize("view", VIEWS, ids=lambda v: "&".join(f"{k}={x}" for k, x in v.items()))
def test_every_page_once_waiting_first_and_the_counts_are_those_rows(
    client: Any, runtime: Runtime, territory: Territory, inbox: dict[str, Any], view: dict[str, str]
) -> None:
    login_as(client, territory.users["chef_de_projet"])  # searches the original texts
    args = {
        "etat": view.get("etat", ""),
        "theme": inbox["theme"] if "theme" in view else "",
        "quartier": str(territory.nord) if "quartier" in view else "",
        "q": view.get("q", ""),
    }
    query = "&".join(f"{k}={v}" for k, v in args.items() if v)
    chosen = rows_of(runtime, territory, view, inbox["theme"])
    assert walk(client, "/inbox/?" + query) == expected(runtime, chosen, inbox["waiting"])
    # The tabs count the view without its thème state: each tab is the rows its link shows.
    page = client.get("/inbox/?" + query).get_data(as_text=True)
    counts = {name: int(n) for name, n in COUNT.findall(page)}
    for state in ("a_trier", "suggere", "confirme"):
        assert counts[state] == len(
            rows_of(runtime, territory, {**view, "etat": state}, inbox["theme"])
        )
    assert counts["total"] == len(rows_of(runtime, territory, {**view, "etat": ""}, inbox["theme"]))
