"""Telegram webhook throughput: updates handled per second against a bare Flask endpoint.

Each update is real Telegram update JSON posted with the secret header to `/hooks/telegram`
through Flask's test client (in-process WSGI, no sockets, so the figure is our code and the
database, not the network): checked, parsed, recorded once, stepped through the dialogue engine
and answered into the outbox, in one transaction. The bare endpoint, measured in the same run,
parses the same JSON and answers 200. Habitants first say hello and consent, then send free
messages and pick thèmes, as in real use.

Prints one JSON line per database: SQLite in a temporary folder always; PostgreSQL too when
`PAROLES_BENCH_DATABASE_URL` is set (a scratch database: its tables are emptied).

    python bench/telegram_webhook.py [--updates 600] [--habitants 30]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, request
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bots.channels.telegram import close_clients  # noqa: E402
from bots.runtime import Runtime  # noqa: E402
from storage.config import load_settings  # noqa: E402
from storage.models import Base, Message  # noqa: E402
from web import create_app  # noqa: E402
from web.cli.database import prepare_database  # noqa: E402
from web.hooks.telegram import SECRET_HEADER  # noqa: E402

SECRET = "bench-webhook-secret"
LINES = ["Bonjour", "oui", "Le bus 12 ne passe plus le soir", "2", "Merci pour la fête"]


def updates(count: int, habitants: int, first: int = 100_000) -> list[bytes]:
    """`count` update bodies: each habitant speaks in turn, through LINES then free text.

    Update ids and chat ids start from `first`, so a warm-up batch meets nobody of the real one.
    """
    bodies = []
    for n in range(count):
        chat, turn = first * 1000 + n % habitants, n // habitants
        line = LINES[turn] if turn < len(LINES) else f"Message libre numéro {turn}"
        message = {
            "message_id": n + 1,
            "from": {"id": chat, "is_bot": False, "first_name": "Amina"},
            "chat": {"id": chat, "first_name": "Amina", "type": "private"},
            "date": int(time.time()),
            "text": line,
        }
        bodies.append(json.dumps({"update_id": first + n, "message": message}).encode())
    return bodies


def rate(post: Callable[[bytes], int], bodies: list[bytes]) -> float:
    start = time.perf_counter()
    for body in bodies:
        status = post(body)
        if status != 200:
            raise SystemExit(f"unexpected HTTP {status}")
    return len(bodies) / (time.perf_counter() - start)


def bare_app() -> Flask:
    app = Flask("bare")

    @app.post("/hooks/telegram")
    def hook() -> tuple[str, int]:
        request.get_json(force=True)
        return "", 200

    return app


def measure(database_url: str, data_dir: Path, count: int, habitants: int) -> dict[str, Any]:
    settings = load_settings(
        {
            "PAROLES_DATABASE_URL": database_url,
            "PAROLES_SECRET_KEY": "bench-secret-key-0123456789",
            "PAROLES_DATA_DIR": str(data_dir),
            "TELEGRAM_BOT_TOKEN": "123:bench",
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9",  # never called: no media here
        }
    )
    runtime = Runtime.from_settings(settings)
    prepare_database(runtime)
    if database_url.startswith("postgresql"):
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with runtime.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        prepare_database(runtime)
    paroles = create_app({"TESTING": True}, settings=settings, runtime=runtime).test_client()
    bare = bare_app().test_client()
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    bodies = updates(count, habitants)
    warm = updates(20, 20, first=900_000)

    def hook(body: bytes) -> int:
        return int(paroles.post("/hooks/telegram", data=body, headers=headers).status_code)

    def plain(body: bytes) -> int:
        return int(bare.post("/hooks/telegram", data=body, headers=headers).status_code)

    rate(plain, warm)
    bare_rate = rate(plain, bodies)
    rate(hook, warm)
    handled_rate = rate(hook, bodies)
    with runtime.sessions() as session:
        replies = session.scalar(
            select(func.count(Message.id)).where(
                Message.direction == "out", Message.status == "pending"
            )
        )
    runtime.engine.dispose()
    close_clients()
    return {
        "bench": "telegram_webhook",
        "db": database_url.split(":", 1)[0],
        "updates": count,
        "habitants": habitants,
        "replies_queued": replies,
        "handled_per_s": round(handled_rate, 1),
        "bare_flask_per_s": round(bare_rate, 1),
        "ratio_bare_over_handled": round(bare_rate / handled_rate, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=600)
    parser.add_argument("--habitants", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        urls = [f"sqlite:///{folder}/bench.db"]
        if os.environ.get("PAROLES_BENCH_DATABASE_URL"):
            urls.append(os.environ["PAROLES_BENCH_DATABASE_URL"])
        for url in urls:
            print(json.dumps(measure(url, Path(folder), args.updates, args.habitants)), flush=True)


if __name__ == "__main__":
    main()
