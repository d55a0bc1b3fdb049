"""Who a message the team sends in bulk may go to, and where it waits in the outbox.

Shared by campaigns (`bots.campaigns`) and the news of an engagement (`bots.followup`); kept
apart so that the dialogue's side (`bots.handler`, which reads a habitant's follow-up) does not
depend on the campaigns' sending machinery.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement

from storage.models import Participant

CAMPAIGN_PRIORITY = 1  # replies (0) go first


def reachable() -> tuple[ColumnElement[bool], ...]:
    """Consented, not opted out, not unreachable, contact data not erased, not a staff trial."""
    return (
        Participant.is_test.is_(False),
        Participant.consent_at.is_not(None),
        Participant.opted_out_at.is_(None),
        Participant.unreachable_at.is_(None),
        Participant.address_enc != "",
    )
