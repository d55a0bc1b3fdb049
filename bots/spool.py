"""Incoming messages kept on disk while the database does not answer, recorded when it does.

Twilio calls the SMS webhook once: if it gets an error, the habitant's SMS is gone (Telegram
retries its webhook for a day, so it needs none of this). When recording fails because the
database is unreachable or locked (`OperationalError`, `InterfaceError`), the webhook writes the
message here and still answers 200; the scheduler's `replay` job records every kept message
as soon as the database answers again, in the order they arrived, with their own date. A
message is recorded once even if it is replayed twice (its provider id is unique).

Each message is one file, `PAROLES_DATA_DIR/spool/<channel>-<hash>.msg`, written atomically
(temporary file, then rename) and encrypted with the installation's key: it holds a phone
number and what the habitant wrote.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import InterfaceError, OperationalError

from bots.handler import Inbound, Media
from bots.inbound import record
from bots.runtime import Runtime

log = logging.getLogger(__name__)

DATABASE_DOWN = (OperationalError, InterfaceError)


def folder(runtime: Runtime) -> Path:
    return runtime.settings.data_dir / "spool"


def keep(runtime: Runtime, inbound: Inbound) -> Path:
    """Write `inbound` to the spool; returns its file."""
    data = {
        "channel": inbound.channel,
        "address": inbound.address,
        "text": inbound.text,
        "external_id": inbound.external_id,
        "media": [m.to_json() for m in inbound.media],
        "start_code": inbound.start_code,
        "received_at": inbound.received_at.isoformat(),
    }
    token = runtime.vault.encrypt(json.dumps(data, ensure_ascii=False))
    key = inbound.external_id or f"{inbound.address}|{inbound.received_at.isoformat()}"
    name = f"{inbound.channel}-{hashlib.sha256(key.encode()).hexdigest()[:32]}.msg"
    target = folder(runtime) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, target)
    log.warning("database unavailable: %s message %s kept in %s", inbound.channel, name, target)
    return target


def load(runtime: Runtime, path: Path) -> Inbound:
    data = json.loads(runtime.vault.decrypt(path.read_text(encoding="utf-8")))
    return Inbound(
        channel=data["channel"],
        address=data["address"],
        text=data["text"],
        external_id=data["external_id"],
        media=tuple(Media(**m) for m in data["media"]),
        start_code=data["start_code"],
        received_at=datetime.fromisoformat(data["received_at"]),
    )


def replay(runtime: Runtime, now: datetime) -> dict[str, int]:
    """Record the kept messages, oldest first; stop at the first sign the database is down."""
    kept = []
    for path in folder(runtime).glob("*.msg"):
        try:
            kept.append((load(runtime, path), path))
        except (ValueError, KeyError, TypeError) as error:  # another key, a damaged file
            log.error("spooled message %s cannot be read (%s): renamed .bad", path.name, error)
            path.rename(path.with_suffix(".bad"))
    recorded = 0
    for inbound, path in sorted(kept, key=lambda pair: pair[0].received_at):
        try:
            record(runtime, inbound)
        except DATABASE_DOWN as error:
            log.warning("database still unavailable, %d messages kept: %s", len(kept), error)
            break
        path.unlink()
        recorded += 1
    return {"recorded": recorded, "kept": len(kept) - recorded}
