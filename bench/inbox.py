"""Inbox speed at 100,000 contributions: every view, p50 and p95, against a baseline checkout.

    python bench/inbox.py [--rows 100000] [--postgres URL] [--baseline /path/to/other/checkout]

Fills a fresh SQLite file (and PostgreSQL when `PAROLES_BENCH_DATABASE_URL` or --postgres is
given; the database is emptied first) with generated contributions (thèmes confirmed, suggested
or not; a few hundred conversations waiting for the team's answer; every text read by the
personal-data job), then times the real inbox views through Flask's
test client: every view as a chef de projet (who searches the original texts), and as a
lecteur and a conseil citoyen of two quartiers (who search the masked index only). With
--baseline, the same rows (same generator, same seed) are first filled into a database with
the schema of another checkout (e.g. `main`, in a subprocess) and timed with its code, so both
figures come from one run, each code on its own schema. Prints one JSON object per line;
asserts nothing.
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

from bench_database import empty_postgres  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from bots.personal_data_job import detect_pending  # noqa: E402
from bots.runtime import Runtime  # noqa: E402
from storage.config import load_settings  # noqa: E402
from storage.db import transaction  # noqa: E402
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
        session.add(User(email="lecteur@bench.example", password_hash="x", role="lecteur"))
        session.add(
            User(
                email="conseil@bench.example",
                password_hash="x",
                role="conseil_citoyen",
                quartiers=quartiers[:2],
            )
        )
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
        ids = list(session.scalars(select(Contribution.id).order_by(Contribution.id)))
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
    # Every text read by the personal-data job, as it leaves them a minute after they came:
    # spans stored, masked index written, nothing left to detect on the spot.
    while detect_pending(runtime, replied, limit=batch)["contributions"]:
        pass
    # The statistics, and on PostgreSQL the visibility map that index-only scans read, as
    # autovacuum leaves them on a database in use.
    with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        vacuum = "VACUUM ANALYZE" if runtime.engine.name == "postgresql" else "ANALYZE"
        connection.execute(text(vacuum))


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


CHEF, LECTEUR, CONSEIL = "chef@bench.example", "lecteur@bench.example", "conseil@bench.example"


def cases(runtime: Runtime) -> list[tuple[str, str, str]]:
    """(account, view, path): every view as a chef de projet, and what reads differently for
    the roles that search the masked index and for one scoped to its quartiers."""
    with transaction(runtime.sessions) as session:
        shown = session.scalar(select(func.count()).where(Contribution.status != "archive"))
    depth = min(50_000, (shown or 0) // 2)
    return [
        (CHEF, "first page (with counts)", "/inbox/"),
        (CHEF, f"page at depth {depth:,} (keyset)", "/inbox/?apres=" + deep_cursor(runtime, depth)),
        (CHEF, "one quartier", "/inbox/?quartier=2"),
        (CHEF, "à trier (no thème)", "/inbox/?etat=a_trier"),
        (CHEF, "suggéré", "/inbox/?etat=suggere"),
        (CHEF, "confirmé", "/inbox/?etat=confirme"),
        (CHEF, "one thème", "/inbox/?theme=cadre-de-vie"),
        (CHEF, "one thème, suggéré", "/inbox/?theme=cadre-de-vie&etat=suggere"),
        (CHEF, "waiting for an answer", "/inbox/?suite=attente"),
        (CHEF, "search 'poubelle'", "/inbox/?q=poubelle"),
        (CHEF, "search 'ecole cantine'", "/inbox/?q=ecole+cantine"),
        (CHEF, "search + quartier + status", "/inbox/?q=ascenseurs&quartier=1&statut=nouveau"),
        (CHEF, "home 'À faire'", "/"),
        (LECTEUR, "lecteur: first page", "/inbox/"),
        (LECTEUR, "lecteur: search 'poubelle' (masked)", "/inbox/?q=poubelle"),
        (LECTEUR, "lecteur: search 'ecole cantine' (masked)", "/inbox/?q=ecole+cantine"),
        (CONSEIL, "conseil citoyen, 2 quartiers: first page", "/inbox/"),
        (CONSEIL, "conseil citoyen, 2 quartiers: à trier", "/inbox/?etat=a_trier"),
        (CONSEIL, "conseil citoyen, 2 quartiers: search 'poubelle'", "/inbox/?q=poubelle"),
    ]


def client_of(app: Any, runtime: Runtime, email: str) -> Any:
    client = app.test_client()
    with transaction(runtime.sessions) as session:
        user_id = session.scalars(select(User.id).where(User.email == email)).one()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = str(user_id)
        cookie["auth_at"] = cookie["seen_at"] = time.time()
    return client


def measure(url: str, data_dir: Path, database: str, code: str) -> None:
    """Time every view with the code found on `sys.path` (this checkout or the baseline's)."""
    settings = settings_for(url, data_dir)
    runtime = Runtime.from_settings(settings)
    app = create_app({"TESTING": True}, settings=settings, runtime=runtime)
    clients = {email: client_of(app, runtime, email) for email in (CHEF, LECTEUR, CONSEIL)}
    for email, name, path in cases(runtime):
        client = clients[email]
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


def run(url: str, rows: int, data_dir: Path, code: str) -> None:
    """Fill a new database with the schema of the code on `sys.path`, then time every view."""
    database = "postgresql" if url.startswith("postgresql") else "sqlite"
    if database == "postgresql":
        empty_postgres(url)
    runtime = Runtime.from_settings(settings_for(url, data_dir))
    started = time.perf_counter()
    fill(runtime, rows)
    runtime.engine.dispose()
    seconds = round(time.perf_counter() - started)
    print(json.dumps({"database": database, "code": code, "filled": rows, "seconds": seconds}))
    measure(url, data_dir, database, code)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("PAROLES_BENCH_DATABASE_URL", ""))
    parser.add_argument("--baseline", default="", help="another checkout to time first")
    parser.add_argument("--run", default="", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:  # the baseline's subprocess: its own database, with its own schema
        run(args.run, args.rows, Path(args.data_dir), "baseline")
        return
    with tempfile.TemporaryDirectory() as tmp:
        urls = [f"sqlite:///{tmp}/bench.db"] + ([args.postgres] if args.postgres else [])
        for n, url in enumerate(urls):
            if args.baseline:  # same generator, same seed: the same rows, in that code's schema
                base_url = f"sqlite:///{tmp}/baseline.db" if n == 0 else url
                subprocess.run(
                    [sys.executable, str(HERE), "--run", base_url, "--rows", str(args.rows)]
                    + ["--data-dir", tmp],
                    env={**os.environ, "PAROLES_BENCH_CODE": args.baseline},
                    check=True,
                )
            run(url, args.rows, Path(tmp), "this")


if __name__ == "__main__":
    main()
