"""A photo sent in a conversation and not downloaded by the webhook is fetched later, for the
thread message too (it has no channel of its own: it follows its inbound message)."""

from __future__ import annotations

from bots.handler import Media
from bots.media_retry import fetch_missed
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Message, ThreadMessage
from tests.factories import make_contribution


def test_a_thread_photo_fetched_later_reaches_the_thread(runtime: Runtime) -> None:
    missed = [{"kind": "photo", "file_id": "AgAD-late", "path": "", "mime": "image/jpeg"}]
    with transaction(runtime.sessions) as session:
        contribution = make_contribution(session, text="La porte")
        message = Message(
            direction="in", channel="telegram", body="", media=missed, status="processed"
        )
        session.add(message)
        session.flush()
        answer = ThreadMessage(
            contribution_id=contribution.id, message_id=message.id, text="", media=missed
        )
        session.add(answer)
        session.flush()
        answer_id = answer.id
    fetched = fetch_missed(
        runtime, "telegram", {"photo"}, lambda m: Media(m.kind, m.file_id, "t/late.jpg", m.mime)
    )
    assert fetched == {"fetched": 1, "failed": 0}
    with runtime.sessions() as session:
        thread = session.get(ThreadMessage, answer_id)
        assert thread is not None and thread.media[0]["path"] == "t/late.jpg"
