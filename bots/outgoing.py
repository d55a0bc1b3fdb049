"""The row of one outgoing message, as every writer puts it in the outbox (`bots.outbox`).

The replies of the dialogue (`bots.handler.enqueue_reply`) and the campaign messages
(`bots.campaigns`: invitations, reminders, retours, one row at a time or by the thousand)
are built here, every column given, so that a new outbox column is set in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bots.engine import Reply


def outgoing_row(
    *,
    channel: str,
    participant_id: int | None,
    address_enc: str,
    reply: Reply,
    kind: str,
    now: datetime,
    priority: int = 0,
    wait_quiet_hours: bool = False,
    campaign_id: int | None = None,
    in_reply_to: int | None = None,
) -> dict[str, Any]:
    """A `pending` message due `now`; replies have priority 0, campaign messages more."""
    return {
        "direction": "out",
        "channel": channel,
        "participant_id": participant_id,
        "address_enc": address_enc,
        "body": reply.text,
        "choices": list(reply.choices),
        "expects": reply.expects,
        "media": [],
        "kind": kind,
        "status": "pending",
        "priority": priority,
        "wait_quiet_hours": wait_quiet_hours,
        "attempts": 0,
        "next_attempt_at": now,
        "in_reply_to_id": in_reply_to,
        "campaign_id": campaign_id,
        "created_at": now,
    }
