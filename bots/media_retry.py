"""Downloading again the attachments a webhook could not fetch, for every channel that keeps files.

Telegram and WhatsApp download photos and voice notes as the drain processes a message
(`bots.inbound`); when the provider is
slow or the disk full, the message is recorded anyway with the file's id (Telegram's file id,
Twilio's media URL) and no path. A scheduler job per channel calls `fetch_missed` with that
channel's own download function: each attachment without a file gets `MEDIA_TRIES` tries in all,
the drain's then one per run, after which it stays "not retrieved" in the back-office. A file is
asked for once per run, for the inbound message and the contribution that share it (or the
thread message, when the habitant was answering the team). Downloads
happen outside any transaction; a row is updated only if its attachments did not change meanwhile
(OUBLIER, retention), else the new file is deleted.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from bots.handler import Media, remove_media_files
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import Contribution, Message, ThreadMessage

MEDIA_TRIES = 6  # the drain's, then one per run of the job (every 5 minutes)


def fetch_missed(
    runtime: Runtime,
    channel: str,
    kinds: Collection[str],
    fetch: Callable[[Media], Media],
) -> dict[str, int]:
    """Try once more every attachment of `channel` still without a file; returns the counts."""
    counts = {"fetched": 0, "failed": 0}
    media_dir = runtime.settings.media_dir
    paths: dict[str, str] = {}  # file id -> path this run ("" when it failed)
    model: type[Message] | type[Contribution]
    for model in (Message, Contribution):
        column = cast(model.media, String)  # JSON text on SQLite, JSONB on PostgreSQL
        query = select(model.id, model.media).where(
            model.channel == channel, column.like('%"path": ""%')
        )
        if model is Message:  # a message not processed yet gets its first try from the drain
            query = query.where(Message.status != "recorded")
        with runtime.sessions() as session:
            rows = session.execute(query).all()
        for row_id, media in rows:
            if not any(_missed(item, kinds) for item in media):
                continue
            for item in media:
                if _missed(item, kinds) and item["file_id"] not in paths:
                    got = fetch(Media(item["kind"], item["file_id"], "", item.get("mime", "")))
                    paths[item["file_id"]] = got.path
                    counts["fetched" if got.path else "failed"] += 1
            fetched = [_after_try(item, paths, kinds) for item in media]
            with transaction(runtime.sessions) as session:
                row = typing.cast(
                    "Message | Contribution | None",
                    session.get(model, row_id, with_for_update=True),
                )
                if row is not None and row.media == media:
                    row.media = fetched
                    if model is Message:
                        _follow_in_thread(session, row_id, media, fetched)
                    continue
            # Erased or changed while we downloaded: keep no file nobody points at.
            if not _still_pointed_at(runtime, fetched):
                remove_media_files(media_dir, [f for f in fetched if f.get("path")])
    return counts


def _follow_in_thread(
    session: Session, message_id: int, media: list[Any], fetched: list[dict[str, Any]]
) -> None:
    """A message that answered the team is also a thread message with the same attachments
    (which has no channel of its own): it gets the file too."""
    for answer in session.scalars(
        select(ThreadMessage).where(ThreadMessage.message_id == message_id).with_for_update()
    ):
        if answer.media == media:
            answer.media = fetched


def _missed(item: dict[str, Any], kinds: Collection[str]) -> bool:
    return bool(
        item.get("kind") in kinds
        and item.get("file_id")
        and not item.get("path")
        and int(item.get("tries", 1)) < MEDIA_TRIES
    )


def _after_try(
    item: dict[str, Any], paths: dict[str, str], kinds: Collection[str]
) -> dict[str, Any]:
    if not _missed(item, kinds):
        return item
    if paths.get(item["file_id"]):
        return {**item, "path": paths[item["file_id"]]}
    return {**item, "tries": int(item.get("tries", 1)) + 1}


def _still_pointed_at(runtime: Runtime, fetched: list[dict[str, Any]]) -> bool:
    """Whether another row already points at one of these files (the message's twin)."""
    paths = [f["path"] for f in fetched if f.get("path")]
    with runtime.sessions() as session:
        for path in paths:
            for other in (Message, Contribution):
                found = session.scalar(
                    select(other.id).where(cast(other.media, String).like(f'%"path": "{path}"%'))
                )
                if found is not None:
                    return True
    return False
