"""The tableau de bord page and its exports: roles, quartier scope, period, files, escaping."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import AuditEntry, Theme, User
from tests.factories import make_contribution, make_participant
from tests.web.conftest import Territory, login_as, page
from tests.web.evaluation.test_indicators import categorise

ROLES = ("administrateur", "chef_de_projet", "conseil_citoyen", "lecteur")
TABLES = ("synthese", "diversite", "themes", "enquetes")
MARCH = "du=2026-03&au=2026-03"


def at(month: int, day: int = 10) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


@pytest.fixture
def activity(runtime: Runtime, territory: Territory) -> None:
    """March 2026: six habitants write in nord (five by SMS), one in sud; one more in May."""
    with transaction(runtime.sessions) as s:
        for n in range(6):
            p = make_participant(
                s,
                runtime,
                channel="sms" if n else "telegram",
                quartier_id=territory.nord,
                first_seen_at=at(3, 1) if n < 3 else at(1),
            )
            c = make_contribution(
                s, participant_id=p.id, quartier_id=territory.nord, created_at=at(3)
            )
            if n == 0:
                categorise(s, c, "cadre-de-vie", "staff")
        p = make_participant(
            s, runtime, channel="sms", quartier_id=territory.sud, first_seen_at=at(1)
        )
        make_contribution(s, participant_id=p.id, quartier_id=territory.sud, created_at=at(3))
        make_contribution(s, participant_id=p.id, quartier_id=territory.sud, created_at=at(5))


def figures(text: str) -> dict[str, str]:
    return dict(re.findall(r'<dd data-key="(\w+)">(\d+)', text))


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


@pytest.mark.parametrize("role", ROLES)
def test_every_role_opens_the_page_and_its_exports(
    client: Any, territory: Territory, role: str
) -> None:
    login_as(client, territory.users[role])
    assert 'href="/tableau-de-bord/"' in page(client, "/inbox/")  # in the navigation
    assert "Tableau de bord" in page(client, "/tableau-de-bord/")
    for table in TABLES:
        for fmt in ("csv", "xlsx"):
            with client.get(f"/tableau-de-bord/{table}.{fmt}") as response:
                assert response.status_code == 200, (table, fmt)
    assert client.get("/tableau-de-bord/autre.csv").status_code == 404
    assert client.get("/tableau-de-bord/themes.pdf").status_code == 404


def test_visitors_are_sent_to_the_login_page(client: Any, territory: Territory) -> None:
    for url in ("/tableau-de-bord/", "/tableau-de-bord/diversite.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_period_and_the_quartier_choose_what_is_counted(
    client: Any, territory: Territory, activity: None
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    march = page(client, f"/tableau-de-bord/?{MARCH}")
    assert figures(march) == {
        "participants": "7",
        "new": "3",
        "contributions": "7",
        "campaigns": "0",
    }
    assert "(43 %)" in march.replace("\u202f", " ").replace("\xa0", " ")
    assert re.search(r'<th scope="col">mars 2026</th><th scope="col">Total</th>', march)
    assert 'value="2026-03"' in march  # the form shows the period it counted
    spring = page(client, "/tableau-de-bord/?du=2026-03&au=2026-05")
    assert figures(spring)["contributions"] == "8" and figures(spring)["participants"] == "7"
    nord = page(client, f"/tableau-de-bord/?{MARCH}&quartier={territory.nord}")
    assert figures(nord)["participants"] == "6"
    assert f'<option value="{territory.nord}" selected>' in nord
    # Nothing in the default period (the last twelve months, whatever today is) is invented.
    default = page(client, "/tableau-de-bord/")
    assert figures(default)["participants"] in {"0", "7"}


def test_small_counts_are_hidden_on_the_page(
    client: Any, territory: Territory, activity: None
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    text = page(client, f"/tableau-de-bord/?{MARCH}")
    # Channel: 6 by SMS, 1 on Telegram; quartier: 6 in nord, 1 in sud.
    assert '<th scope="row">SMS</th><td>≥ 5</td>' in text  # else 7 - 6 would tell Telegram's
    assert '<th scope="row">Telegram</th><td>< 5</td>' in text
    assert '<th scope="row">Les Tilleuls</th><td>≥ 5</td>' in text
    assert '<th scope="row">Le Val Fleuri</th><td>< 5</td>' in text
    assert figures(text)["participants"] == "7"  # the total stays exact
    assert "moins de 5 participants" in text  # the note says why


def test_a_conseil_citoyen_sees_only_its_quartier(
    client: Any, territory: Territory, activity: None
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    text = page(client, f"/tableau-de-bord/?{MARCH}")
    assert figures(text)["participants"] == "6" and figures(text)["contributions"] == "6"
    assert "Le Val Fleuri" not in text
    assert f'value="{territory.sud}"' not in text
    elsewhere = client.get(f"/tableau-de-bord/?{MARCH}&quartier={territory.sud}")
    assert elsewhere.status_code == 400  # not one of its quartiers: said, and counts nobody
    said = html.unescape(elsewhere.text)
    assert f"« {territory.sud} » n'est pas un des quartiers proposés" in said
    assert figures(said)["participants"] == "0"
    export = client.get(f"/tableau-de-bord/diversite.csv?{MARCH}&quartier={territory.sud}")
    assert export.status_code == 400


@pytest.mark.parametrize("value", ["QP-NORD", "abc", "999999"])
def test_a_quartier_that_is_no_choice_is_said_and_counts_nobody(
    client: Any, territory: Territory, activity: None, value: str
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    assert figures(page(client, f"/tableau-de-bord/?{MARCH}"))["participants"] != "0"
    response = client.get(f"/tableau-de-bord/?{MARCH}&quartier={value}")
    assert response.status_code == 400
    said = html.unescape(response.text)
    assert f"« {value} » n'est pas un des quartiers proposés" in said
    assert figures(said)["participants"] == "0"
    assert client.get(f"/tableau-de-bord/synthese.csv?quartier={value}").status_code == 400


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("du=2026-13", "Mois illisible : « 2026-13 »"),
        ("au=mars", "Mois illisible : « mars »"),
        ("du=2026-05&au=2026-03", "Le début de la période est après sa fin"),
        ("du=2020-01&au=2026-03", "36 mois au plus"),
    ],
)
def test_a_wrong_period_is_said_and_something_sensible_shown(
    client: Any, territory: Territory, query: str, message: str
) -> None:
    login_as(client, territory.users["lecteur"])
    text = page(client, f"/tableau-de-bord/?{query}")
    assert message in text
    assert 'role="alert"' in text
    months = re.findall(r'<th scope="col">(\w+\.? \d{4})</th>', text)
    assert 1 <= len(months) <= 36


def test_exports_hold_the_page_tables_and_are_audited(
    client: Any, runtime: Runtime, territory: Territory, activity: None
) -> None:
    with transaction(runtime.sessions) as s:
        theme = s.scalars(select(Theme).where(Theme.code == "cadre-de-vie")).one()
        theme.name = '=HYPERLINK("http://evil.example")'
    login_as(client, territory.users["chef_de_projet"])
    diversity = rows_of(client.get(f"/tableau-de-bord/diversite.csv?{MARCH}").data)
    assert diversity[0] == ["dimension", "valeur", "participants"]
    assert ["quartier", "Les Tilleuls", "≥ 5"] in diversity
    assert ["quartier", "Le Val Fleuri", "< 5"] in diversity
    assert ["canal", "sms", "≥ 5"] in diversity and ["canal", "telegram", "< 5"] in diversity
    summary = dict(rows_of(client.get(f"/tableau-de-bord/synthese.csv?{MARCH}").data)[1:])
    assert summary["participants"] == "7" and summary["nouveaux_participants"] == "3"
    assert summary["periode_debut"] == summary["periode_fin"] == "2026-03"
    themes = rows_of(client.get("/tableau-de-bord/themes.csv?du=2026-02&au=2026-03").data)
    assert themes[0] == ["theme_code", "theme", "2026-02", "2026-03", "total"]
    by_code = {row[0]: row for row in themes[1:]}
    assert by_code["cadre-de-vie"][1:] == ['\'=HYPERLINK("http://evil.example")', "0", "1", "1"]
    assert by_code["a_trier"][2:] == ["0", "6", "6"]
    assert by_code["total"][2:] == ["0", "7", "7"]

    book = load_workbook(io.BytesIO(client.get(f"/tableau-de-bord/diversite.xlsx?{MARCH}").data))
    sheet = [[cell.value for cell in row] for row in book.active.iter_rows()]
    assert sheet == [[int(v) if v.isdigit() else v for v in row] for row in diversity]

    with runtime.sessions() as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id)
        ).all()
    targets = [(e.target, e.detail["format"]) for e in entries]
    assert targets == [
        ("indicators_diversite", "csv"),
        ("indicators_synthese", "csv"),
        ("indicators_themes", "csv"),
        ("indicators_diversite", "xlsx"),
    ]
    assert entries[0].detail["filters"] == {"du": "2026-03", "au": "2026-03"}
    assert entries[0].user_id == territory.users["chef_de_projet"]


def test_names_are_shown_as_text(client: Any, runtime: Runtime, territory: Territory) -> None:
    script = "<script>alert(1)</script>"
    with transaction(runtime.sessions) as s:
        theme = s.scalars(select(Theme).where(Theme.code == "sante")).one()
        theme.name = script
        p = make_participant(s, runtime, quartier_id=territory.nord, first_seen_at=at(3))
        c = make_contribution(s, participant_id=p.id, quartier_id=territory.nord, created_at=at(3))
        categorise(s, c, "sante", "staff")
    login_as(client, territory.users["chef_de_projet"])
    raw = client.get(f"/tableau-de-bord/?{MARCH}").get_data(as_text=True)
    assert script not in raw
    assert html.escape(script, quote=False) in raw  # in the table
    chart = re.search(r'data-chart="([^"]+)"', raw)
    assert chart and "<" not in chart.group(1)  # in the chart's data, escaped too


def test_the_page_speaks_english_to_who_asks(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    with transaction(runtime.sessions) as s:
        user = s.get(User, territory.users["lecteur"])
        assert user is not None
        user.language = "en"
    login_as(client, territory.users["lecteur"])
    text = page(client, f"/tableau-de-bord/?{MARCH}")
    assert "<h1>Dashboard" in text and "Per language" in text
    assert '<th scope="col">Mar 2026</th>' in text
