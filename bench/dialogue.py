"""How fast the dialogue goes: pure engine steps, and whole inbound messages through storage.

    python bench/dialogue.py [--conversations 60] [--rounds 100] [--baseline DIR --repeat 3]

Prints one JSON line per figure; asserts nothing. The inbound figure covers what a webhook does
for one message: record it once, find the participant, step the engine, write the state, the
answers or contribution and the reply in one transaction. It runs on a fresh SQLite file, then on
PostgreSQL at `PAROLES_BENCH_DATABASE_URL` (default `postgresql://postgres@127.0.0.1:5432/
test_demo_bench`, created with `createdb` if missing; its tables are dropped and recreated).
With each figure: the SQL statements sent per message (`BEGIN` aside: how a transaction starts
is the driver's business) and the ORM flushes, counted by SQLAlchemy events.

With `--baseline DIR`, the same is measured with the code of that checkout (a `git worktree` of
an older commit) and with this one's, alternately, `--repeat` times each, in fresh processes;
then one `summary` line per figure and code with the medians, so that before and after share
the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# PAROLES_BENCH_CODE: another checkout's code under the same bench (`--baseline`).
sys.path.insert(0, os.environ.get("PAROLES_BENCH_CODE") or str(ROOT))

from bench_database import empty_postgres  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bots.engine import Context, Incoming, Join, QuartierOption, State, ThemeOption, step  # noqa: E402
from bots.handler import Inbound, handle_inbound  # noqa: E402
from bots.prompts import default_catalog, load_ready_made_surveys, load_themes  # noqa: E402
from bots.runtime import Runtime  # noqa: E402
from storage.config import load_settings  # noqa: E402
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


COUNTS = {"statements": 0, "flushes": 0}


@event.listens_for(Engine, "before_cursor_execute")
def _count_statement(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
    if not statement.lstrip().upper().startswith("BEGIN"):
        COUNTS["statements"] += 1


@event.listens_for(Session, "after_flush")
def _count_flush(*_args: object) -> None:
    COUNTS["flushes"] += 1


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
        COUNTS.update(statements=0, flushes=0)
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
        statements_per_message=round(COUNTS["statements"] / messages, 2),
        flushes_per_message=round(COUNTS["flushes"] / messages, 2),
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
        empty_postgres(url)
    except Exception as error:  # noqa: BLE001 - a bench reports what it could not measure
        emit(bench="inbound_messages", database="postgresql", skipped=str(error).splitlines()[0])
        return None
    return url


FIGURES = ("per_second", "cpu_ms_per_message", "statements_per_message", "flushes_per_message")


def alternate(args: argparse.Namespace) -> None:
    """This bench with the baseline's code and with this checkout's, turn about."""
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    command = [sys.executable, __file__, "--rounds", str(args.rounds)]
    command += ["--conversations", str(args.conversations)]
    for repeat in range(1, args.repeat + 1):
        for code, source in (("baseline", Path(args.baseline).resolve()), ("new", ROOT)):
            load = os.getloadavg()[0]
            env = {**os.environ, "PAROLES_BENCH_CODE": str(source)}
            output = subprocess.run(
                command, env=env, check=True, capture_output=True, text=True
            ).stdout
            for text in output.splitlines():
                line = json.loads(text)
                what = line.get("database", line["bench"])
                emit(**line, code=code, repeat=repeat, load_1min=round(load, 2))
                if "per_second" in line:
                    runs.setdefault((what, code), []).append(line)
    for (what, code), lines in runs.items():
        medians = {
            name: statistics.median(line[name] for line in lines)
            for name in FIGURES
            if all(name in line for line in lines)
        }
        emit(bench="dialogue", summary=True, figure=what, code=code, runs=len(lines), **medians)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100, help="engine: scripted runs per survey")
    parser.add_argument("--conversations", type=int, default=60, help="storage: habitants")
    parser.add_argument("--baseline", help="another checkout whose code is measured too")
    parser.add_argument("--repeat", type=int, default=3, help="with --baseline: runs of each")
    args = parser.parse_args()
    if args.baseline:
        alternate(args)
        return
    bench_engine(args.rounds)
    with tempfile.TemporaryDirectory() as folder:
        bench_storage("sqlite", f"sqlite:///{folder}/bench.db", args.conversations)
    url = postgres_url()
    if url is not None:
        bench_storage("postgresql", url, args.conversations)


if __name__ == "__main__":
    main()
