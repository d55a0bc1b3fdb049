"""Tableau de bord speed: 100,000 contributions from 20,000 participants, SQLite and PostgreSQL.

    python bench/indicators.py [--contributions 100000] [--participants 20000] [--postgres URL]
        [--repeat 5] [--baseline /path/to/other/checkout]

Fills a fresh SQLite file (and PostgreSQL when `PAROLES_BENCH_DATABASE_URL` or --postgres is
given; that database is emptied first) with a year of generated activity: contributions over
four quartiers, three channels and two languages, thèmes confirmed, suggested or not, and ten
campaigns whose habitants answer a few questions. Then times `web.indicators.compute`
alone, the real page and one export through Flask's test client (as a chef de projet, then as a
conseil citoyen of one quartier). Prints one JSON object per line; asserts nothing.

With --baseline, each database is first filled and timed with another checkout's code and
schema (e.g. `main`, in a subprocess: same generator, same seed, the same rows), then with this
checkout's; every line says whose code it timed (`"code": "baseline"` or `"this"`).
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# PAROLES_BENCH_CODE: another checkout's code under the same bench (`bench/alternate.py`).
sys.path.insert(0, os.environ.get("PAROLES_BENCH_CODE") or str(Path(__file__).resolve().parents[1]))

from bench_database import empty_postgres  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from bots.runtime import Runtime  # noqa: E402
from storage.config import load_settings  # noqa: E402
from storage.db import transaction  # noqa: E402
from storage.models import (  # noqa: E402
    Answer,
    Campaign,
    Categorisation,
    Contribution,
    Conversation,
    JoinCode,
    Participant,
    Quartier,
    Question,
    Survey,
    Theme,
    User,
)
from web import create_app  # noqa: E402
from web import field_figures as actions  # noqa: E402
from web.cli.database import prepare_database  # noqa: E402
from web.counts import Scope  # noqa: E402
from web.indicators import Period, compute  # noqa: E402

END = datetime(2026, 11, 20, tzinfo=UTC)
YEAR = timedelta(days=365)
CAMPAIGNS = 10
ACTIONS = 20  # join codes: posters and actions in the field
AGES = ("18_25", "26_40", "41_60", "61_plus", "non_dit")
GENDERS = ("femme", "homme", "non_dit")
BATCH = 5000


def _insert(runtime: Runtime, model: Any, rows: list[dict[str, Any]]) -> None:
    for n in range(0, len(rows), BATCH):
        with transaction(runtime.sessions) as session:
            session.execute(insert(model), rows[n : n + BATCH])


def fill(runtime: Runtime, contributions: int, participants: int) -> None:
    rng = random.Random(11)
    prepare_database(runtime)
    with transaction(runtime.sessions) as session:
        quartiers = [Quartier(code=f"QP{n:03d}", name=f"Quartier {n}") for n in range(4)]
        session.add_all(quartiers)
        session.flush()
        quartier_ids = [q.id for q in quartiers]
        theme_ids = list(session.scalars(select(Theme.id)))
        survey = session.scalars(select(Survey).where(Survey.slug == "scolarite")).one()
        question_ids = list(
            session.scalars(select(Question.id).where(Question.survey_id == survey.id))
        )
        session.add(User(email="chef@bench.example", password_hash="x", role="chef_de_projet"))
        session.add(
            User(
                email="conseil@bench.example",
                password_hash="x",
                role="conseil_citoyen",
                quartiers=[quartiers[0]],
            )
        )
        campaigns = []
        for n in range(CAMPAIGNS):
            launched = END - YEAR + timedelta(days=30 * n + 5)
            campaign = Campaign(
                survey_id=survey.id,
                name=f"Campagne {n}",
                status="closed",
                target={"quartiers": [q.code for q in quartiers]},
                launched_at=launched,
                closed_at=launched + timedelta(days=20),
            )
            session.add(campaign)
            campaigns.append(campaign)
        session.flush()
        campaign_rows = [(c.id, c.launched_at) for c in campaigns]
        codes = [
            JoinCode(code=f"ACTION-{n}", quartier_id=quartier_ids[n % 4], action=f"Action {n}")
            for n in range(ACTIONS)
        ]
        session.add_all(codes)
        session.flush()
        code_ids = {c.code: c.id for c in codes}
    _insert(
        runtime,
        Participant,
        [
            {
                "pseudonym": f"p{n}",
                "channel": channel,
                # A poster or an action brought most; those met in the field may say more.
                "joined_via": rng.choice(sorted(code_ids)) if rng.random() < 0.6 else None,
                "age_range": rng.choice(AGES) if channel == "terrain" else None,
                "gender": rng.choice(GENDERS) if channel == "terrain" else None,
                "address_enc": "x",
                "language": "en" if rng.random() < 0.04 else "fr",
                "quartier_id": rng.choice(quartier_ids),
                "first_seen_at": END - timedelta(days=540 * rng.random() ** 1.5),
                "is_test": n % 1000 == 0,
                "state": {},
            }
            for n in range(participants)
            for channel in [rng.choices(("telegram", "sms", "terrain"), (45, 45, 10))[0]]
        ],
    )
    with transaction(runtime.sessions) as session:
        people = session.execute(
            select(
                Participant.id, Participant.quartier_id, Participant.channel, Participant.joined_via
            )
        ).all()
    _insert(
        runtime,
        Contribution,
        [
            {
                "participant_id": person.id if rng.random() > 0.03 else None,
                "quartier_id": person.quartier_id,
                "channel": person.channel,
                "text": f"contribution {n}",
                "created_at": END - YEAR * rng.random(),
                "action_id": code_ids.get(person.joined_via or "")
                if person.channel == "terrain"
                else None,
            }
            for n in range(contributions)
            for person in [rng.choice(people)]
        ],
    )
    with transaction(runtime.sessions) as session:
        ids = list(session.scalars(select(Contribution.id)))
    _insert(
        runtime,
        Categorisation,
        [
            {
                "contribution_id": cid,
                "theme_id": rng.choice(theme_ids),
                "source": "staff" if roll < 0.5 else "suggestion",
                "confidence": None if roll < 0.5 else round(rng.random(), 2),
            }
            for cid in ids
            for roll in [rng.random()]
            if roll < 0.8
        ],
    )
    invited = []
    for campaign_id, launched in campaign_rows:
        for person in rng.sample(people, min(len(people), 2000)):
            invited.append(
                {
                    "participant_id": person.id,
                    "survey_id": survey.id,
                    "campaign_id": campaign_id,
                    "status": rng.choice(("invited", "finished", "finished", "stopped")),
                    "started_at": launched,
                    "updated_at": launched,
                }
            )
    _insert(runtime, Conversation, invited)
    with transaction(runtime.sessions) as session:
        talks = session.execute(
            select(Conversation.id, Conversation.status, Campaign.launched_at).join(
                Campaign, Campaign.id == Conversation.campaign_id
            )
        ).all()
    _insert(
        runtime,
        Answer,
        [
            {
                "conversation_id": talk.id,
                "question_id": question_id,
                "raw_text": "oui",
                "value": "oui",
                "created_at": talk.launched_at + timedelta(hours=rng.uniform(1, 400)),
            }
            for talk in talks
            if talk.status != "invited"
            for question_id in question_ids[: 2 if talk.status == "stopped" else None]
        ],
    )
    # Statistics: on SQLite what the nightly job keeps (`storage.db.refresh_statistics`, not
    # called: a --baseline checkout may not have it); on PostgreSQL what autovacuum would do,
    # done here (outside a transaction) so that it does not start while the figures are timed.
    if runtime.engine.dialect.name == "postgresql":
        with runtime.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
            db.execute(text("VACUUM ANALYZE"))
    else:
        with runtime.engine.begin() as db:
            db.execute(text("ANALYZE"))


REPEAT = 5


def timed(action: Any, repeat: int) -> float:
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        durations.append(time.perf_counter() - started)
    return round(statistics.median(durations) * 1000, 1)


def get(client: Any, url: str) -> Any:
    def action() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        response.get_data()

    return action


def run(
    url: str,
    contributions: int,
    participants: int,
    data_dir: Path,
    repeat: int = REPEAT,
    code: str = "this",
) -> None:
    settings = load_settings(
        {
            "PAROLES_DATABASE_URL": url,
            "PAROLES_SECRET_KEY": "bench-secret-key-0123456789",
            "PAROLES_DATA_DIR": str(data_dir),
        }
    )
    runtime = Runtime.from_settings(settings)
    database = runtime.engine.dialect.name
    label = {"database": database, "code": code}
    started = time.perf_counter()
    fill(runtime, contributions, participants)
    with runtime.sessions() as session:
        answers = session.scalar(select(func.count(Answer.id)))
    print(
        json.dumps(
            {
                **label,
                "step": "fill",
                "contributions": contributions,
                "participants": participants,
                "answers": answers,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )
    period = Period.last_twelve_months(date(2026, 11, 20))
    with runtime.sessions() as session:
        quartier = session.scalars(select(Quartier.id).order_by(Quartier.id)).first()
        found = compute(session, period, Scope(), settings.timezone)
        figures = {
            "participants": found.participants,
            "new": found.new_participants,
            "contributions": found.contributions,
            "campaigns": len(found.campaigns),
        }

        def scoped(scope: Scope) -> Any:
            return lambda: compute(session, period, scope, settings.timezone)

        cases = {
            "compute, all quartiers": scoped(Scope()),
            "compute, one quartier": scoped(Scope(None, quartier)),
            "compute, conseil scope": scoped(Scope(frozenset({quartier or 0}))),
        }
        bounds = period.bounds(settings.timezone)

        def field(scope: Scope) -> Any:
            return lambda: actions.compute(session, bounds[0], bounds[-1], scope, settings.timezone)

        # What the field adds to the page (per action, age, gender), beside the same baseline.
        cases["field figures, all quartiers"] = field(Scope())
        cases["field figures, conseil scope"] = field(Scope(frozenset({quartier or 0})))
        for name, action in cases.items():
            print(json.dumps({**label, "case": name, "ms": timed(action, repeat)}))
    app = create_app({"TESTING": True}, settings=settings, runtime=runtime)
    client = app.test_client()
    with runtime.sessions() as session:
        users = dict(session.execute(select(User.role, User.id)).all())
    for role in ("chef_de_projet", "conseil_citoyen"):
        with client.session_transaction() as cookie:
            cookie["_user_id"] = str(users[role])
            cookie["auth_at"] = cookie["seen_at"] = time.time()
        pages = {
            "page": "/tableau-de-bord/?du=2025-12&au=2026-11",
            "export themes.xlsx": "/tableau-de-bord/themes.xlsx?du=2025-12&au=2026-11",
        }
        for name, path in pages.items():
            print(
                json.dumps(
                    {
                        **label,
                        "role": role,
                        "case": name,
                        "ms": timed(get(client, path), repeat),
                    }
                )
            )
    print(json.dumps({**label, "figures": figures}))
    runtime.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contributions", type=int, default=100_000)
    parser.add_argument("--participants", type=int, default=20_000)
    parser.add_argument("--postgres", default=os.environ.get("PAROLES_BENCH_DATABASE_URL", ""))
    parser.add_argument("--repeat", type=int, default=REPEAT, help="runs per measure (median)")
    parser.add_argument("--baseline", default="", help="another checkout to time first")
    parser.add_argument("--run", default="", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [str(args.contributions), str(args.participants), str(args.repeat)]
    if args.run:  # the baseline's subprocess: its own database, with its own schema
        if args.run.startswith("postgresql"):
            empty_postgres(args.run)
        run(
            args.run,
            args.contributions,
            args.participants,
            Path(args.data_dir),
            args.repeat,
            "baseline",
        )
        return
    with tempfile.TemporaryDirectory() as tmp:
        urls = [f"sqlite:///{tmp}/bench.db"] + ([args.postgres] if args.postgres else [])
        for n, url in enumerate(urls):
            if args.baseline:
                base_url = f"sqlite:///{tmp}/baseline.db" if n == 0 else url
                subprocess.run(
                    [sys.executable, __file__, "--run", base_url, "--data-dir", tmp]
                    + ["--contributions", sizes[0], "--participants", sizes[1]]
                    + ["--repeat", sizes[2]],
                    env={**os.environ, "PAROLES_BENCH_CODE": args.baseline},
                    check=True,
                )
            if url.startswith("postgresql"):
                empty_postgres(url)
            run(url, args.contributions, args.participants, Path(tmp), args.repeat)


if __name__ == "__main__":
    main()
