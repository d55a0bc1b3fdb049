"""The inbox search on masked texts (what conseils citoyens and lecteurs search) against the
search on originals (chefs de projet), same data, same run.

    python bench/masked_search.py [--rows 20000] [--postgres URL]

Fills a fresh database with `bench/inbox.py`'s generated contributions, writes the masked index
as the personal-data job does (`storage.search.index_masked`, here the texts hold no personal
data so they are indexed as written), then times the real inbox view through Flask's test
client for a chef de projet (originals: the baseline) and a lecteur (masked index). Prints one
JSON line per case with the median of 7 requests; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_database import empty_postgres  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from bench.inbox import fill  # noqa: E402
from bots.runtime import Runtime  # noqa: E402
from storage import search  # noqa: E402
from storage.config import load_settings  # noqa: E402
from storage.db import transaction  # noqa: E402
from storage.models import Contribution, User  # noqa: E402
from web import create_app  # noqa: E402

QUERIES = {"poubelle": "poubelle", "ecole cantine": "ecole+cantine", "ascenseurs": "ascenseurs"}


def timed(client: Any, url: str, repeat: int = 5) -> float:
    """The median time of `repeat` GETs of `url`, in milliseconds."""
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(durations) * 1000


def run(url: str, rows: int, data_dir: Path, database: str) -> None:
    settings = load_settings(
        {
            "PAROLES_DATABASE_URL": url,
            "PAROLES_SECRET_KEY": "bench-secret-key-0123456789",
            "PAROLES_DATA_DIR": str(data_dir),
        }
    )
    runtime = Runtime.from_settings(settings)
    fill(runtime, rows)
    started = time.perf_counter()
    with transaction(runtime.sessions) as session:
        texts = dict(session.execute(select(Contribution.id, Contribution.text)).all())
        search.index_masked(session, {i: t or "" for i, t in texts.items()})
        session.add(User(email="lecteur@bench.example", password_hash="x", role="lecteur"))
    indexed_ms = (time.perf_counter() - started) * 1000
    with runtime.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    print(
        json.dumps(
            {
                "db": database,
                "rows": rows,
                "case": "index_masked (all rows)",
                "ms": round(indexed_ms, 1),
            }
        )
    )
    app = create_app({"TESTING": True}, settings=settings, runtime=runtime)
    with transaction(runtime.sessions) as session:
        users = dict(session.execute(select(User.role, User.id)).all())
    for role in ("chef_de_projet", "lecteur"):
        client = app.test_client()
        with client.session_transaction() as cookie:
            cookie["_user_id"] = str(users[role])
            cookie["auth_at"] = cookie["seen_at"] = time.time()
        for name, query in QUERIES.items():
            ms = timed(client, f"/inbox/?q={query}", repeat=7)
            searched = "originals" if role == "chef_de_projet" else "masked"
            print(
                json.dumps(
                    {
                        "db": database,
                        "rows": rows,
                        "case": f"search '{name}'",
                        "role": role,
                        "searched": searched,
                        "median_ms": round(ms, 1),
                    }
                )
            )
    runtime.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--postgres", default=os.environ.get("PAROLES_BENCH_DATABASE_URL", ""))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", args.rows, Path(tmp), "sqlite")
        if args.postgres:
            empty_postgres(args.postgres)
            run(args.postgres, args.rows, Path(tmp), "postgresql")


if __name__ == "__main__":
    main()
