"""How fast the dialogue goes: pure engine steps, and whole inbound messages through storage.

    python bench/dialogue.py [--conversations 200] [--rounds 200]

Prints one JSON line per figure; asserts nothing. The inbound figure covers what a webhook does
for one message: record it once, find the participant, step the engine, write the state, the
answers or contribution and the reply in one transaction. It runs on a fresh SQLite file, then on
PostgreSQL at `PAROLES_BENCH_DATABASE_URL` (default `postgresql://postgres@127.0.0.1:5432/
test_demo_bench`, created with `createdb` if missing; its tables are dropped and recreated).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bots.engine import Context, Incoming, Join, QuartierOption, State, ThemeOption, step  # noqa: E402
from bots.handler import Inbound, handle_inbound  # noqa: E402
from bots.prompts import default_catalog, load_ready_made_surveys, load_themes  # noqa: E402
from bots.runtime import Runtime  # noqa: E402
from storage.config import load_settings  # noqa: E402
from storage.db import make_engine  # noqa: E402
from web.cli.database import prepare_database  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test_demo_bench"

# Realistic scripts: sloppy answers, a miss, keywords, a free contribution and its thème.
SCRIPTS = {
    "scolarite": [
        "Bonjour",
        "ouais",
        "👍",
        "1 et 3",
        "hein",
        "⭐⭐⭐⭐",
        "le mercrdi",
        "Plus de profs",
    ],
    "associations": ["slt", "ok", "oui", "2,3", "4/5", "aide", "non", "Un atelier couture"],
    "aller-vers": [
        "bjr",
        "oui",
        "les tilleul",
        "2",
        "nan",
        "1",
        "PASSER",
        "qu'on vienne nous voir",
    ],
}
AFTER = ["Les poubelles débordent rue des Lilas 😡", "3", "STOP", "coucou", "START", "merci"]


def emit(**figures: object) -> None:
    print(json.dumps(figures, ensure_ascii=False), flush=True)


def engine_context() -> Context:
    surveys = {spec.key: spec for spec, _ in load_ready_made_surveys()}
    themes = tuple(
        ThemeOption(t.code, dict(t.short)) for t in load_themes() if t.offered_to_habitants
    )
    quartiers = (
        QuartierOption("QP093012", "Les Tilleuls"),
        QuartierOption("QP093013", "Le Marché"),
    )
    return Context(default_catalog(), surveys, themes, quartiers)


def bench_engine(rounds: int) -> None:
    ctx = engine_context()
    steps = 0
    started = time.perf_counter()
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for _ in range(rounds):
        for survey, script in SCRIPTS.items():
            state = State()
            lines: list[tuple[str, Join | None]] = [(script[0], None), (script[1], None)]
            lines.append(("", Join(survey.upper(), survey, "QP093012")))
            lines += [(line, None) for line in script[2:] + AFTER]
            for line, join in lines:
                at += timedelta(minutes=1)
                state = step(state, Incoming(line, at=at, join=join), ctx).state
                steps += 1
    seconds = time.perf_counter() - started
    emit(
        bench="engine_steps",
        steps=steps,
        seconds=round(seconds, 3),
        per_second=round(steps / seconds),
    )


def bench_storage(label: str, url: str, conversations: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings(
            {
                "PAROLES_DATABASE_URL": url,
                "PAROLES_SECRET_KEY": "bench-secret-key-0123456789",
                "PAROLES_DATA_DIR": data_dir,
            }
        )
        runtime = Runtime.from_settings(settings)
        prepare_database(runtime)
        codes = {slug: slug.upper().replace("-", "") for slug in SCRIPTS}
        messages = 0
        started = time.perf_counter()
        cpu = time.process_time()
        for n in range(conversations):
            survey = list(SCRIPTS)[n % len(SCRIPTS)]
            script = SCRIPTS[survey]
            address = f"+336399{n:05d}"
            plan = [(script[0], None), (script[1], None), ("", codes[survey])]
            plan += [(line, None) for line in script[2:] + AFTER]
            for i, (line, code) in enumerate(plan):
                handle_inbound(
                    runtime,
                    Inbound("sms", address, line, external_id=f"{n}-{i}", start_code=code),
                )
                messages += 1
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        runtime.engine.dispose()
    emit(
        bench="inbound_messages",
        database=label,
        messages=messages,
        seconds=round(seconds, 3),
        per_second=round(messages / seconds, 1),
        # this process's CPU per message: what a shared machine's other loads disturb least
        # (PostgreSQL's own work is not in it)
        cpu_ms_per_message=round(1000 * cpu / messages, 2),
    )


def postgres_url() -> str | None:
    """The bench database, created if missing and emptied; None if PostgreSQL is not there."""
    url = os.environ.get("PAROLES_BENCH_DATABASE_URL", DEFAULT_PG)
    parsed = make_url(url)
    if parsed.database and subprocess.run(
        [
            "createdb",
            "-h",
            parsed.host or "127.0.0.1",
            "-U",
            parsed.username or "postgres",
            "-p",
            str(parsed.port or 5432),
            parsed.database,
        ],
        capture_output=True,
        check=False,
    ).returncode not in (0, 1):
        return None
    try:
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - a bench reports what it could not measure
        emit(bench="inbound_messages", database="postgresql", skipped=str(error).splitlines()[0])
        return None
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100, help="engine: scripted runs per survey")
    parser.add_argument("--conversations", type=int, default=60, help="storage: habitants")
    args = parser.parse_args()
    bench_engine(args.rounds)
    with tempfile.TemporaryDirectory() as folder:
        bench_storage("sqlite", f"sqlite:///{folder}/bench.db", args.conversations)
    url = postgres_url()
    if url is not None:
        bench_storage("postgresql", url, args.conversations)


if __name__ == "__main__":
    main()
