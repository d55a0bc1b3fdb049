"""A habitant blocks or unblocks the bot: Telegram's `my_chat_member` update, posted to the
webhook or fetched by polling, marks them unreachable or reachable again, and answers nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from bots.channels.telegram import client_for
from bots.runtime import Runtime
from bots.telegram_polling import Poller
from storage.models import Message, Participant
from tests.bots.test_telegram_flows import AMINA, participant_of, post, say, send_outbox
from tests.fakes.telegram_api import FakeTelegramAPI, make_member_update, make_update
from tests.fakes.telegram_fixtures import settings, telegram_api  # noqa: F401


def blocked(chat: int = AMINA, at: int | None = None) -> dict[str, Any]:
    return dated(make_member_update(chat, "kicked"), at)


def unblocked(chat: int = AMINA, at: int | None = None) -> dict[str, Any]:
    return dated(make_member_update(chat, "member", old_status="kicked"), at)


def dated(update: dict[str, Any], at: int | None) -> dict[str, Any]:
    if at is not None:
        update["my_chat_member"]["date"] = at
    return update


def outbox(runtime: Runtime) -> list[tuple[str, str | None]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(Message.status, Message.last_error)
            .where(Message.direction == "out")
            .order_by(Message.id)
        )
        return [(status, error) for status, error in rows]


def block_rows(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        query = select(Message.kind).where(Message.kind.in_(("blocked", "unblocked")))
        return list(session.scalars(query.order_by(Message.id)))


def test_blocking_the_bot_marks_unreachable_and_cancels_what_was_queued(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    say(client, runtime, telegram_api, "Bonjour")
    assert post(client, make_update(AMINA, "oui")) == 200  # its reply waits in the outbox
    update = blocked()
    assert post(client, update) == 200
    assert post(client, update) == 200  # Telegram retried it: recorded once
    participant = participant_of(runtime, AMINA)
    assert participant.unreachable_at == datetime.fromtimestamp(
        update["my_chat_member"]["date"], UTC
    )
    assert outbox(runtime) == [("sent", None), ("cancelled", "unreachable")]
    assert block_rows(runtime) == ["blocked"]
    sent_before = len(telegram_api.called("sendMessage"))
    assert send_outbox(runtime) == 0
    assert len(telegram_api.called("sendMessage")) == sent_before  # nothing answers a block


def test_unblocking_the_bot_makes_them_reachable_again_without_a_message(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    say(client, runtime, telegram_api, "Bonjour")
    assert post(client, blocked()) == 200
    assert participant_of(runtime, AMINA).unreachable_at is not None
    assert post(client, unblocked()) == 200
    assert participant_of(runtime, AMINA).unreachable_at is None
    assert block_rows(runtime) == ["blocked", "unblocked"]
    assert len(outbox(runtime)) == 1  # the first reply only: the bot waits to be spoken to


def test_a_chat_we_never_heard_from_leaves_no_trace(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    assert post(client, blocked(chat=777_000_001)) == 200
    assert post(client, unblocked(chat=777_000_002)) == 200
    with runtime.sessions() as session:
        assert session.scalar(select(func.count(Participant.id))) == 0
        assert session.scalar(select(func.count(Message.id))) == 0


def test_a_late_update_does_not_undo_what_came_after_it(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    """Telegram may deliver a block after the unblock that followed it (a retried webhook)."""
    say(client, runtime, telegram_api, "Bonjour")
    at = participant_of(runtime, AMINA).last_seen_at.timestamp()
    assert post(client, unblocked(at=int(at) + 20)) == 200
    assert post(client, blocked(at=int(at) + 10)) == 200
    assert participant_of(runtime, AMINA).unreachable_at is None
    assert post(client, blocked(at=int(at) - 5)) == 200  # before she wrote "Bonjour"
    assert participant_of(runtime, AMINA).unreachable_at is None
    assert block_rows(runtime) == ["unblocked", "blocked", "blocked"]  # all kept, once each


def test_an_unblock_does_not_undo_a_later_refusal(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    say(client, runtime, telegram_api, "Bonjour")
    telegram_api.block(AMINA)
    assert post(client, make_update(AMINA, "oui")) == 200
    assert send_outbox(runtime) == 0  # 403: blocked, we learn it by sending
    refused_at = participant_of(runtime, AMINA).unreachable_at
    assert refused_at is not None
    assert post(client, unblocked(at=int(refused_at.timestamp()) - 60)) == 200
    assert participant_of(runtime, AMINA).unreachable_at == refused_at


def test_blocks_come_by_polling_too(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    """Polling asks for `my_chat_member` updates: Telegram sends none to who does not ask."""
    telegram_api.push_update(make_update(AMINA, "Bonjour"))
    telegram_api.push_update(blocked())
    poller = Poller(runtime, client_for(runtime.settings))
    assert poller.poll(timeout=0) == 2
    assert participant_of(runtime, AMINA).unreachable_at is not None
    assert outbox(runtime) == [("cancelled", "unreachable")]  # the welcome never left
    telegram_api.push_update(unblocked())
    assert poller.poll(timeout=0) == 1
    assert participant_of(runtime, AMINA).unreachable_at is None
    [params] = telegram_api.called("getUpdates")[:1]
    assert params["allowed_updates"] == ["message", "my_chat_member"]


def test_a_habitant_who_writes_after_blocking_is_reachable_again(
    client: FlaskClient,
    runtime: Runtime,
    telegram_api: FakeTelegramAPI,  # noqa: F811
) -> None:
    """Even when the unblock itself never reached us: writing is proof enough."""
    say(client, runtime, telegram_api, "Bonjour")
    telegram_api.block(AMINA)
    assert post(client, make_update(AMINA, "oui")) == 200
    assert send_outbox(runtime) == 0
    assert participant_of(runtime, AMINA).unreachable_at is not None
    telegram_api.blocked.clear()
    text, _ = say(client, runtime, telegram_api, "Je suis revenue")
    assert text
    assert participant_of(runtime, AMINA).unreachable_at is None
