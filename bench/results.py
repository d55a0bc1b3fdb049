"""Campaign results benchmark: the results page's counts and the launch page's estimate.

    python bench/results.py [--sizes 1000 10000] [--database-url URL]

Builds a campaign of the ready-made `scolarite` survey (5 questions) in which every habitant
answers every question, in a fresh SQLite file by default (or the given database, wiped), then
times `web.results.campaign_results` (everything the results page, its charts and the
CSV show; median of --runs) and `web.surveys.campaigns.estimate`'s two parts (`count_target`,
`run_segments`). Prints one JSON object per size, never asserts a figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# PAROLES_BENCH_CODE: another checkout's code under the same bench (`bench/alternate.py`).
sys.path.insert(0, os.environ.get("PAROLES_BENCH_CODE") or str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from bots import campaigns  # noqa: E402
from bots.campaigns import Target  # noqa: E402
from bots.runtime import Runtime  # noqa: E402
from bots.survey_preview import run_segments  # noqa: E402
from bots.survey_store import spec_from_row  # noqa: E402
from storage.config import load_settings  # noqa: E402
from storage.models import Answer, Base, Conversation, Participant, Quartier, Survey  # noqa: E402
from web.cli.database import prepare_database  # noqa: E402
from web.counts import Scope  # noqa: E402
from web.results import campaign_results  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def build(runtime: Runtime, size: int) -> int:
    rng = random.Random(size)
    with runtime.sessions.begin() as session:
        session.add_all(Quartier(code=f"Q{n}", name=f"Quartier {n}") for n in range(4))
        session.flush()
        quartiers = list(session.scalars(select(Quartier.id)))
        session.execute(
            insert(Participant),
            [
                {
                    "pseudonym": f"p{n}",
                    "channel": "sms" if n % 3 else "telegram",
                    "address_enc": "x",
                    "language": "fr",
                    "quartier_id": quartiers[n % 4],
                    "consent_at": NOW,
                    "state": {},
                }
                for n in range(size)
            ],
        )
        survey = session.scalars(select(Survey).where(Survey.slug == "scolarite")).one()
        campaign = campaigns.create_campaign(session, "scolarite", Target(everyone=True), now=NOW)
        ids = list(session.scalars(select(Participant.id)))
        session.execute(
            insert(Conversation),
            [
                {
                    "participant_id": pid,
                    "survey_id": survey.id,
                    "campaign_id": campaign.id,
                    "status": "finished",
                }
                for pid in ids
            ],
        )
        conversations = list(session.scalars(select(Conversation.id)))
        values = {
            "yes_no": lambda: rng.choice(["oui", "non"]),
            "multiple": lambda: rng.sample(["famille", "association", "ecole"], 2),
            "scale": lambda: rng.randint(1, 5),
            "single": lambda: rng.choice(["soir", "mercredi", "samedi"]),
            "text": lambda: "Plus de bénévoles",
        }
        session.execute(
            insert(Answer),
            [
                {"conversation_id": c, "question_id": q.id, "value": values[q.kind]()}
                for c in conversations
                for q in survey.questions
            ],
        )
        return campaign.id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            url = args.database_url or f"sqlite:///{folder}/bench.db"
            settings = load_settings(
                {"PAROLES_DATABASE_URL": url, "PAROLES_SECRET_KEY": "bench-" * 6},
                dotenv=False,
            )
            runtime = Runtime.from_settings(settings)
            if args.database_url:
                with runtime.engine.begin() as connection:
                    for table in reversed(Base.metadata.sorted_tables):
                        connection.execute(text(f'DROP TABLE IF EXISTS "{table.name}" CASCADE'))
                    connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            prepare_database(runtime)
            campaign_id = build(runtime, size)
            with runtime.sessions() as session:
                campaign = session.get(campaigns.Campaign, campaign_id)
                assert campaign is not None
                durations = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    found = campaign_results(session, campaign, Scope())
                    durations.append(time.perf_counter() - started)
                results_s = statistics.median(durations)
                started = time.perf_counter()
                reach = campaigns.count_target(session, Target(everyone=True))
                count_s = time.perf_counter() - started
                started = time.perf_counter()
                per_run = run_segments(spec_from_row(campaign.survey), runtime.catalog, "fr")
                segments_s = time.perf_counter() - started
            print(
                json.dumps(
                    {
                        "habitants": size,
                        "answers": size * 5,
                        "database": runtime.engine.dialect.name,
                        "results_ms": round(results_s * 1000, 1),
                        "finished": found.funnel.finished,
                        "export_rows": len(found.rows),
                        "count_target_ms": round(count_s * 1000, 1),
                        "reachable": sum(reach.values()),
                        "run_segments_ms": round(segments_s * 1000, 1),
                        "segments": per_run,
                    }
                ),
                flush=True,
            )
            runtime.engine.dispose()


if __name__ == "__main__":
    main()
