"""Field fixtures: a running campaign in each quartier and an action (join code) in each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Campaign, JoinCode, Survey
from tests.web.conftest import Territory


@dataclass
class Field:
    campaign_nord: int
    campaign_sud: int
    action_nord: int
    action_sud: int


@pytest.fixture
def field(runtime: Runtime, territory: Territory) -> Field:
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        survey = session.scalars(select(Survey).where(Survey.slug == "scolarite")).one()
        nord = Campaign(
            survey_id=survey.id,
            name="Devoirs aux Tilleuls",
            status="running",
            target={"quartiers": ["QP-NORD"]},
            launched_at=now,
        )
        sud = Campaign(
            survey_id=survey.id,
            name="Devoirs au Val",
            status="running",
            target={"quartiers": ["QP-SUD"]},
            launched_at=now,
        )
        porte = JoinCode(code="porte-nord", quartier_id=territory.nord, action="Porte-à-porte")
        stand = JoinCode(code="stand-sud", quartier_id=territory.sud, action="Stand du marché")
        session.add_all([nord, sud, porte, stand])
        session.flush()
        return Field(nord.id, sud.id, porte.id, stand.id)
