"""Public results page benchmark: `/resultats/<slug>` at 10,000 answers, through the whole app.

    python bench/public_results.py [--answers 10000] [--runs 15] [--database-url URL]

Builds the same campaign as `bench/results.py` (the `scolarite` survey, 5 questions, every
habitant answers every question: 2,000 habitants make 10,000 answers) in a fresh SQLite file by
default (or the given database, wiped), publishes it with one chosen free-text answer, then
times full GET requests through Flask's test client: the public page, and as a baseline in the
same run the public index (the same app, templates and database session, almost no counting).
The first request counts the answers; the following ones find them counted (`web.public.pages`
keeps them until an answer, a conversation or a quote of the campaign changes).
Prints JSON (median and 90th percentile in milliseconds); never asserts a time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# PAROLES_BENCH_CODE: another checkout's code under the same bench (`bench/alternate.py`).
sys.path.insert(0, os.environ.get("PAROLES_BENCH_CODE") or str(ROOT))

from sqlalchemy import select, text  # noqa: E402

from bots.runtime import Runtime  # noqa: E402
from storage.config import load_settings  # noqa: E402
from storage.models import Base, Contribution, Publication, PublicQuote, Question  # noqa: E402
from web import create_app  # noqa: E402
from web.cli.database import prepare_database  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_results", ROOT / "bench" / "results.py")
assert _spec and _spec.loader
bench_results: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_results)


def timed(client: Any, url: str, runs: int) -> dict[str, float]:
    started = time.perf_counter()
    client.get(url)  # the first request counts (and compiles the templates)
    first = (time.perf_counter() - started) * 1000
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return {
        "first_ms": round(first, 1),
        "median_ms": round(statistics.median(samples), 1),
        "p90_ms": round(samples[int(len(samples) * 0.9) - 1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    habitants = args.answers // 5
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        settings = load_settings(
            {
                "PAROLES_DATABASE_URL": url,
                "PAROLES_SECRET_KEY": "bench-" * 6,
                "PAROLES_DATA_DIR": folder,
            },
            dotenv=False,
        )
        runtime = Runtime.from_settings(settings)
        if args.database_url:
            with runtime.engine.begin() as connection:
                for table in reversed(Base.metadata.sorted_tables):
                    connection.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE'))
                connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        prepare_database(runtime)
        campaign_id = bench_results.build(runtime, habitants)
        with runtime.sessions.begin() as session:
            campaign = session.get(bench_results.campaigns.Campaign, campaign_id)
            assert campaign is not None
            campaign.status = "closed"
            campaign.retour_text = "Merci : 2 000 réponses, le soutien du mercredi continue."
            session.add(Publication(campaign_id=campaign_id, slug="bench"))
            question = session.scalars(
                select(Question).where(
                    Question.survey_id == campaign.survey_id, Question.kind == "text"
                )
            ).one()
            quoted = Contribution(
                channel="sms",
                kind="answer",
                text="Plus de bénévoles",
                campaign_id=campaign_id,
                question_id=question.id,
                survey_id=campaign.survey_id,
            )
            session.add(quoted)
            session.flush()
            session.add(PublicQuote(contribution_id=quoted.id))
        app = create_app({"TESTING": True}, settings=settings, runtime=runtime)
        client = app.test_client()
        figures = {
            "answers": habitants * 5,
            "habitants": habitants,
            "database": runtime.engine.dialect.name,
            "runs": args.runs,
            "baseline_public_index": timed(client, "/resultats/", args.runs),
            "public_results_page": timed(client, "/resultats/bench", args.runs),
        }
        page = client.get("/resultats/bench").get_data(as_text=True)
        figures["page_bytes"] = len(page.encode())
        figures["scripts"] = page.count("<script")
        runtime.engine.dispose()
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
