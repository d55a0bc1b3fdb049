"""`storage.bulk`: a long id list and an INSERT ... SELECT store what the plain statements do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Table, func, insert, select

from bots.runtime import Runtime
from storage.bulk import among, insert_from
from storage.db import transaction
from storage.models import Message, Participant
from tests.factories import make_participant

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("count", [0, 1, 3000])
def test_among_is_in(runtime: Runtime, count: int) -> None:
    with transaction(runtime.sessions) as session:
        people = [make_participant(session, runtime) for _ in range(3)]
        wanted = [people[0].id, people[2].id][:count] + list(range(10**6, 10**6 + count))
        found = session.scalars(
            select(Participant.id).where(among(session, Participant.id, wanted))
        ).all()
        assert sorted(found) == sorted(p.id for p in people if p.id in wanted)


def test_insert_from_stores_what_an_insert_stores(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        people = [make_participant(session, runtime) for _ in range(2)]
        same = {
            "direction": "out",
            "body": "Bonjour « Amina » l'été\nتجربة 👋",
            "choices": ["Oui", "Non"],
            "expects": "choice",
            "media": [],
            "status": "pending",
            "priority": 1,
            "wait_quiet_hours": True,
            "attempts": 0,
            "next_attempt_at": NOW + timedelta(seconds=1),
            "in_reply_to_id": None,
            "campaign_id": None,
            "created_at": NOW,
        }
        session.execute(
            insert(Message),
            [
                {
                    **same,
                    "kind": "plain",
                    "channel": p.channel,
                    "participant_id": p.id,
                    "address_enc": p.address_enc,
                }
                for p in people
            ],
        )
        table = Message.__table__
        assert isinstance(table, Table)
        read = {
            "channel": Participant.channel,
            "participant_id": Participant.id,
            "address_enc": Participant.address_enc,
        }
        ids = [p.id for p in people]
        insert_from(session, table, {**same, "kind": "bulk"}, read, Participant.id.in_(ids))
    columns = [c for c in Message.__table__.c if c.name not in ("id", "kind")]
    with runtime.sessions() as session:
        plain, bulk = (
            sorted(tuple(r) for r in session.execute(select(*columns).where(Message.kind == kind)))
            for kind in ("plain", "bulk")
        )
        assert bulk == plain and len(bulk) == 2
        assert session.scalar(select(func.count()).select_from(Message)) == 4
