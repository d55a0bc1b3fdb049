"""Inbox speed at 100,000 contributions: every view, p50 and p95, against a baseline checkout.

    python bench/inbox.py [--rows 100000] [--postgres URL] [--baseline /path/to/other/checkout]

Fills a fresh SQLite file (and PostgreSQL when `PAROLES_BENCH_DATABASE_URL` or --postgres is
given; the database is emptied first) with generated contributions (thèmes confirmed, suggested
or not; a few hundred conversations waiting for the team's answer), then times the real inbox
views through Flask's test client, logged in as a chef de projet. With --baseline, the same
views are first timed on the same database by the code of another checkout (e.g. `main`, in a
subprocess), so both figures come from one run. Prints one JSON object per line; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
CODE = Path(os.environ.get("PAROLES_BENCH_CODE", HERE.parents[1]))
sys.path.insert(0, str(CODE))

from sqlalchemy import insert, select, text  # noqa: E402

from bots.runtime import Runtime  # noqa: E402
from storage.config import load_settings  # noqa: E402
from storage.db import make_engine, transaction  # noqa: E402
from storage.models import (  # noqa: E402
    Categorisation,
    Contribution,
    Quartier,
    StaffReply,
    Theme,
    ThreadMessage,
    User,
)
from web import create_app  # noqa: E402
from web.cli.database import prepare_database  # noqa: E402

SUBJECTS = [
    "les poubelles",
    "l'ascenseur du bâtiment B",
    "l'éclairage du parking",
    "la cantine de l'école",
    "le bus 12",
    "les jeux pour enfants",
    "la sécurité le soir",
    "le centre social",
    "les horaires de la mairie annexe",
    "le marché du samedi",
]
PREDICATES = [
    "ne marche plus depuis une semaine",
    "c'est vraiment bien merci",
    "il faudrait plus de bénévoles",
    "debordent encore ce matin",
    "personne ne répond au téléphone",
    "les enfants ont peur",
]
REPEAT = 20
THREADS = 300  # contributions a habitant answered; two thirds still wait for the team


def fill(runtime: Runtime, rows: int) -> None:
    rng = random.Random(7)
    prepare_database(runtime)
    with transaction(runtime.sessions) as session:
        quartiers = [Quartier(code=f"QP{n:03d}", name=f"Quartier {n}") for n in range(4)]
        session.add_all(quartiers)
        session.flush()
        quartier_ids = [q.id for q in quartiers]
        theme_ids = list(session.scalars(select(Theme.id)))
        session.add(User(email="chef@bench.example", password_hash="x", role="chef_de_projet"))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = 5000
    for offset in range(0, rows, batch):
        values = [
            {
                "quartier_id": rng.choice(quartier_ids),
                "channel": rng.choice(("telegram", "sms", "simulator")),
                "text": f"{rng.choice(SUBJECTS)} {rng.choice(PREDICATES)} ({n})",
                "status": rng.choice(("nouveau", "nouveau", "a_traiter", "traite", "archive")),
                "created_at": start + timedelta(minutes=n),
            }
            for n in range(offset, min(offset + batch, rows))
        ]
        with transaction(runtime.sessions) as session:
            session.execute(insert(Contribution), values)
    with transaction(runtime.sessions) as session:
        ids = list(session.scalars(select(Contribution.id)))
        suggestions = [
            {
                "contribution_id": cid,
                "theme_id": rng.choice(theme_ids),
                "source": rng.choice(("suggestion", "suggestion", "staff")),
                "confidence": round(rng.random(), 2),
            }
            for cid in ids
            if rng.random() < 0.6
        ]
        for n in range(0, len(suggestions), batch):
            session.execute(insert(Categorisation), suggestions[n : n + batch])
        threads = rng.sample(ids, min(THREADS, len(ids)))
        replied = start + timedelta(minutes=rows)
        session.execute(
            insert(StaffReply),
            [{"contribution_id": cid, "created_at": replied} for cid in threads],
        )
        session.execute(
            insert(ThreadMessage),
            [
                {
                    "contribution_id": cid,
                    "text": "merci, et pour la suite ?",
                    "created_at": replied + timedelta(hours=1),
                }
                for cid in threads[: 2 * len(threads) // 3]
            ],
        )
    with runtime.engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def settings_for(url: str, data_dir: Path) -> Any:
    return load_settings(
        {
            "PAROLES_DATABASE_URL": url,
            "PAROLES_SECRET_KEY": "bench-secret-key-0123456789",
            "PAROLES_DATA_DIR": str(data_dir),
        }
    )


def deep_cursor(runtime: Runtime, depth: int) -> str:
    with transaction(runtime.sessions) as session:
        row = session.execute(
            select(Contribution.created_at, Contribution.id)
            .where(Contribution.status != "archive")
            .order_by(Contribution.created_at.desc(), Contribution.id.desc())
            .offset(depth)
            .limit(1)
        ).one()
    return f"{row.created_at.isoformat()}_{row.id}"


def cases(runtime: Runtime) -> dict[str, str]:
    return {
        "first page (with counts)": "/inbox/",
        "page at depth 50,000 (keyset)": "/inbox/?apres=" + deep_cursor(runtime, 50_000),
        "one quartier": "/inbox/?quartier=2",
        "à trier (no thème)": "/inbox/?etat=a_trier",
        "suggéré": "/inbox/?etat=suggere",
        "confirmé": "/inbox/?etat=confirme",
        "one thème": "/inbox/?theme=cadre-de-vie",
        "waiting for an answer": "/inbox/?suite=attente",
        "search 'poubelle'": "/inbox/?q=poubelle",
        "search 'ecole cantine'": "/inbox/?q=ecole+cantine",
        "search + quartier + status": "/inbox/?q=ascenseurs&quartier=1&statut=nouveau",
        "home 'À faire'": "/",
    }


def measure(url: str, data_dir: Path, database: str, code: str) -> None:
    """Time every view with the code found on `sys.path` (this checkout or the baseline's)."""
    settings = settings_for(url, data_dir)
    runtime = Runtime.from_settings(settings)
    app = create_app({"TESTING": True}, settings=settings, runtime=runtime)
    client = app.test_client()
    with transaction(runtime.sessions) as session:
        user_id = session.scalars(select(User.id)).one()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = str(user_id)
        cookie["auth_at"] = cookie["seen_at"] = time.time()
    for name, path in cases(runtime).items():
        client.get(path)  # warm: templates compiled, statements cached
        durations, status = [], 0
        for _ in range(REPEAT):
            started = time.perf_counter()
            status = client.get(path).status_code
            durations.append((time.perf_counter() - started) * 1000)
        durations.sort()
        figures = {
            "database": database,
            "code": code,
            "case": name,
            "status": status,
            "p50_ms": round(statistics.median(durations), 1),
            "p95_ms": round(durations[int(0.95 * (len(durations) - 1) + 0.5)], 1),
        }
        print(json.dumps(figures, ensure_ascii=False), flush=True)
    runtime.engine.dispose()


def run(url: str, rows: int, data_dir: Path, database: str, baseline: str) -> None:
    runtime = Runtime.from_settings(settings_for(url, data_dir))
    started = time.perf_counter()
    fill(runtime, rows)
    runtime.engine.dispose()
    filled = {"database": database, "filled": rows, "seconds": round(time.perf_counter() - started)}
    print(json.dumps(filled), flush=True)
    if baseline:
        environment = {**os.environ, "PAROLES_BENCH_CODE": baseline}
        subprocess.run(
            [sys.executable, str(HERE), "--measure", url, "--data-dir", str(data_dir)],
            env=environment,
            check=True,
        )
    measure(url, data_dir, database, "this")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("PAROLES_BENCH_DATABASE_URL", ""))
    parser.add_argument("--baseline", default="", help="another checkout to time first")
    parser.add_argument("--measure", default="", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # the baseline's subprocess: the database is already filled
        database = "postgresql" if args.measure.startswith("postgresql") else "sqlite"
        measure(args.measure, Path(args.data_dir), database, "baseline")
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", args.rows, Path(tmp), "sqlite", args.baseline)
        if args.postgres:
            engine = make_engine(args.postgres)
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            engine.dispose()
            run(args.postgres, args.rows, Path(tmp), "postgresql", args.baseline)


if __name__ == "__main__":
    main()
