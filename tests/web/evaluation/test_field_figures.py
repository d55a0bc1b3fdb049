"""The tableau de bord's field figures: per action, and the declared age and gender, with the
same small-count protection as the rest."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any

from bots.field import Entry, record_entry
from bots.runtime import Runtime
from storage.db import transaction
from tests.factories import make_contribution, make_participant
from tests.web.conftest import Territory, login_as
from tests.web.field.conftest import Field, field  # noqa: F401  (fixture)
from web.counts import Scope
from web.field_figures import compute

NOW = datetime.now(UTC)


def met(runtime: Runtime, territory: Territory, field: Field, n: int, **values: Any) -> None:  # noqa: F811
    record_entry(
        runtime,
        Entry(
            client_id=f"entry-{n:04d}-abcdef",
            text=f"Entrée {n}",
            quartier_id=territory.nord,
            intervenant_id=territory.users["intervenant"],
            at=values.pop("at", NOW),
            action_id=field.action_nord,
            action_code="porte-nord",
            **values,
        ),
    )


def test_an_action_counts_who_it_met_face_to_face_and_who_its_code_brought(
    runtime: Runtime,
    territory: Territory,
    field: Field,  # noqa: F811
) -> None:
    for n in range(8):
        met(
            runtime,
            territory,
            field,
            n,
            age_range="26_40" if n < 2 else "61_plus",
            gender="femme",
            at=NOW - timedelta(days=1 if n < 3 else 0),
        )
    with transaction(runtime.sessions) as session:
        poster = make_participant(
            session, runtime, channel="sms", joined_via="porte-nord", quartier_id=territory.nord
        )
        make_contribution(
            session,
            participant_id=poster.id,
            quartier_id=territory.nord,
            channel="sms",
            created_at=NOW,
        )
        trial = make_participant(
            session, runtime, joined_via="porte-nord", is_test=True, quartier_id=territory.nord
        )
        make_contribution(
            session, participant_id=trial.id, quartier_id=territory.nord, created_at=NOW
        )
    with runtime.sessions() as session:
        figures = compute(
            session,
            NOW - timedelta(days=30),
            NOW + timedelta(days=1),
            Scope(None, None),
            "Europe/Paris",
        )
    [row] = figures.actions
    assert (row.code, row.name, row.quartier) == ("porte-nord", "Porte-à-porte", "Les Tilleuls")
    assert (row.participants.shown, row.new.shown, row.contributions) == (9, 9, 9)
    assert row.days == 2  # yesterday and today, 24 hours apart
    assert figures.held == 1
    assert [(label, cell.shown) for label, cell in figures.by_age] == [
        ("26 à 40 ans", "< 5"),
        ("61 ans et plus", "≥ 5"),
    ]
    assert [(label, cell.shown) for label, cell in figures.by_gender] == [("Femme", 8)]
    with runtime.sessions() as session:
        sud_only = compute(
            session,
            NOW - timedelta(days=30),
            NOW + timedelta(days=1),
            Scope(frozenset({territory.sud}), None),
            "Europe/Paris",
        )
    assert sud_only.actions == [] and sud_only.by_gender == []


def test_the_tableau_de_bord_shows_the_actions_and_the_declared_diversity(
    client: Any,
    runtime: Runtime,
    territory: Territory,
    field: Field,  # noqa: F811
) -> None:
    for n in range(5):
        met(runtime, territory, field, n, gender="homme" if n else "non_dit")
    login_as(client, territory.users["chef_de_projet"])
    page = html.unescape(client.get("/tableau-de-bord/").get_data(as_text=True))
    assert "Nombre d'actions ayant associé les habitants" in page
    assert "porte-nord" in page and "Ne souhaite pas répondre" in page
