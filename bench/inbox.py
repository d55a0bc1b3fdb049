"""Inbox speed at 100,000 contributions: first page, a deep page, filters, French search.

    python bench/inbox.py [--rows 100000] [--postgres URL]

Fills a fresh SQLite file (and PostgreSQL when `PAROLES_BENCH_DATABASE_URL` or --postgres is
given; the database is emptied first) with generated contributions, then times the real inbox
view through Flask's test client, logged in as a chef de projet. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select, text  # noqa: E402

from bots.runtime import Runtime  # noqa: E402
from storage.config import load_settings  # noqa: E402
from storage.db import make_engine, transaction  # noqa: E402
from storage.models import (  # noqa: E402
    Categorisation,
    Contribution,
    Quartier,
    Theme,
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
    with runtime.engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def timed(client: Any, url: str, repeat: int = 5) -> float:
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(durations) * 1000


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


def run(url: str, rows: int, data_dir: Path) -> None:
    settings = load_settings(
        {
            "PAROLES_DATABASE_URL": url,
            "PAROLES_SECRET_KEY": "bench-secret-key-0123456789",
            "PAROLES_DATA_DIR": str(data_dir),
        }
    )
    runtime = Runtime.from_settings(settings)
    started = time.perf_counter()
    fill(runtime, rows)
    print(f"  filled {rows:,} contributions in {time.perf_counter() - started:.1f} s")
    app = create_app({"TESTING": True}, settings=settings, runtime=runtime)
    client = app.test_client()
    with transaction(runtime.sessions) as session:
        user_id = session.scalars(select(User.id)).one()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = str(user_id)
        cookie["auth_at"] = cookie["seen_at"] = time.time()
    cases = {
        "first page (50, with count)": "/inbox/",
        "page at depth 50,000 (keyset)": "/inbox/?apres=" + deep_cursor(runtime, 50_000),
        "one quartier": "/inbox/?quartier=2",
        "à trier (no thème)": "/inbox/?etat=a_trier",
        "one thème": "/inbox/?theme=cadre-de-vie",
        "search 'poubelle'": "/inbox/?q=poubelle",
        "search 'ecole cantine'": "/inbox/?q=ecole+cantine",
        "search + quartier + status": "/inbox/?q=ascenseurs&quartier=1&statut=nouveau",
    }
    for name, path in cases.items():
        print(f"  {name:<34} {timed(client, path):8.1f} ms")
    runtime.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("PAROLES_BENCH_DATABASE_URL", ""))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"SQLite ({args.rows:,} contributions)")
        run(f"sqlite:///{tmp}/bench.db", args.rows, Path(tmp))
        if args.postgres:
            engine = make_engine(args.postgres)
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            engine.dispose()
            print(f"PostgreSQL ({args.rows:,} contributions)")
            run(args.postgres, args.rows, Path(tmp))


if __name__ == "__main__":
    main()
