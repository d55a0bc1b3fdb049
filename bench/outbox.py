"""Outbox benchmark: one worker against two, this code against a baseline, in the same run.

    python bench/outbox.py --baseline /path/to/worktree/of/main [--messages 20000]
                           [--seconds 10] [--rounds 3]

On PostgreSQL (`PAROLES_BENCH_DATABASE_URL`, default the local `test_outbox_bench` database,
which is wiped). A campaign writes `--messages` invitations once; then, for each round and each
code (the baseline and this one, alternated, so that the machine's load falls on both), every
row is put back to `pending` and one, then two, worker processes of that code drain the outbox
(`bench/campaign.py --worker --code` that tree: its real `run_channel`, a channel that answers
at once). A worker stops when the outbox is empty or after `--seconds`; the rate is the rows sent
over the longest worker's time. Each measurement is a JSON line; the last lines give the medians
and the two-workers / one-worker ratio. `rows_per_worker_cpu_s` (rows over the workers' CPU
time, start-up included) is the figure a machine shared with other work distorts least;
`worker_us_per_row` / `backend_us_per_row` are the CPU per row of the workers (start-up left
out) and of their PostgreSQL backends, `cores_used` both over the wall time, `backend_waits`
what those backends were doing (`pg_stat_activity`, sampled every 5 ms). The table is
vacuumed after every reset (autovacuum may be off). Rows
sent twice (one provider id on two rows) are counted and should be 0. Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import func, select, text, update  # noqa: E402

from bots import campaigns  # noqa: E402
from storage.models import Message  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test_outbox_bench"


def drain(root: Path, url: str, workers: int, seconds: float, runtime: object) -> dict[str, float]:
    sessions = runtime.sessions  # type: ignore[attr-defined]
    with sessions.begin() as session:
        session.execute(
            update(Message)
            .where(Message.direction == "out")
            .values(status="pending", claimed_by=None, attempts=0, provider_id=None, sent_at=None)
        )
    vacuum(runtime)
    # This tree's worker script (`bench/campaign.py --worker`), running `root`'s code.
    command = [sys.executable, str(ROOT / "bench" / "campaign.py"), "--worker", "--url", url]
    command += ["--seconds", str(seconds), "--code", str(root)]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=root)
        for _ in range(workers)
    ]
    waits = WaitSampler(runtime)
    waits.start()
    reports = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in processes]
    waits.stop()
    with sessions() as session:
        sent = session.scalar(select(func.count()).where(Message.status == "sent")) or 0
        twice = session.scalar(
            select(func.count()).select_from(
                select(Message.provider_id)
                .where(Message.provider_id.is_not(None))
                .group_by(Message.provider_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
    busy = max(r["elapsed"] for r in reports)
    worker_cpu = sum(r["cpu_s"] for r in reports)
    backend_cpu = sum(r.get("backend_cpu_s", 0.0) for r in reports)
    drain_cpu = sum(r.get("drain_cpu_s", r["cpu_s"]) for r in reports)
    return {
        "rows": sent,
        "rows_per_s": round(sent / busy),
        # CPU seconds of the workers (start-up included): what a loaded machine inflates least
        "rows_per_worker_cpu_s": round(sent / worker_cpu),
        # ... and of their PostgreSQL backends: together, the cores a row costs
        "rows_per_backend_cpu_s": round(sent / backend_cpu) if backend_cpu else None,
        # per row, start-up left out
        "worker_us_per_row": round(drain_cpu / sent * 1e6, 1) if sent else None,
        "backend_us_per_row": round(backend_cpu / sent * 1e6, 1) if sent else None,
        # cores busy while draining (workers + backends over the longest worker's time)
        "cores_used": round((drain_cpu + backend_cpu) / busy, 2),
        "backend_waits": waits.summary(),
        "worker_peak_mib": round(max(r["peak_mib"] for r in reports), 1),
        "duplicates": twice or 0,
    }


def vacuum(runtime: object) -> None:
    """After rewriting every row: autovacuum may be off, and dead rows would slow later runs."""
    engine = runtime.engine  # type: ignore[attr-defined]
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE messages"))


class WaitSampler:
    """What the workers' backends are doing, sampled every 5 ms from `pg_stat_activity`:
    a count per state / wait event (`Lock:transactionid` is one worker waiting for another,
    `Client:ClientRead` a backend waiting for its worker)."""

    QUERY = text(
        "SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
        " WHERE application_name LIKE 'bench-worker-%'"
    )

    def __init__(self, runtime: object) -> None:
        self.engine = runtime.engine  # type: ignore[attr-defined]
        self.counts: Counter[str] = Counter()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def run(self) -> None:
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
            while not self.done.wait(0.005):
                for state, kind, event in db.execute(self.QUERY):
                    if state == "active" or kind not in (None, "Client"):
                        self.counts[f"{state}:{kind}:{event}"] += 1
                    else:
                        self.counts[f"{state}"] += 1

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def summary(self) -> dict[str, float]:
        total = sum(self.counts.values()) or 1
        return {k: round(v / total, 3) for k, v in self.counts.most_common(6)}


def main() -> None:
    import campaign as campaign_bench  # bench/campaign.py: the database set-up and the channel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("PAROLES_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--baseline", type=Path, required=True, help="a worktree of main")
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"# cpus={os.cpu_count()} load={load:.1f} database={args.url.rsplit('@', 1)[-1]}")
    runtime = campaign_bench.reset(args.url)
    campaign_bench.add_participants(runtime, args.messages)
    now = datetime.now(UTC)
    with runtime.sessions.begin() as session:
        campaign = campaigns.create_campaign(
            session, "scolarite", campaigns.Target(everyone=True), now=now, allow_quiet_hours=True
        )
    campaigns.launch(runtime, campaign.id, now)
    vacuum(runtime)
    codes = {"baseline": args.baseline.resolve(), "current": ROOT}
    rates: dict[tuple[str, int], list[float]] = {}
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for n in range(args.rounds):
        order = list(codes) if n % 2 == 0 else list(reversed(codes))
        for code in order:
            for workers in (1, 2):
                started = time.perf_counter()
                result = drain(codes[code], args.url, workers, args.seconds, runtime)
                rates.setdefault((code, workers), []).append(result["rows_per_s"])
                results.setdefault((code, workers), []).append(result)
                line = {"round": n, "code": code, "workers": workers, **result}
                line["wall_s"] = round(time.perf_counter() - started, 1)
                line["load"] = [round(x, 1) for x in os.getloadavg()]
                print(json.dumps(line), flush=True)
    for code in codes:
        one = statistics.median(rates[(code, 1)])
        two = statistics.median(rates[(code, 2)])
        summary = {"code": code, "median_rows_per_s_1_worker": one}
        summary |= {"median_rows_per_s_2_workers": two, "two_over_one": round(two / one, 2)}
        for workers in (1, 2):
            for key in ("rows_per_worker_cpu_s", "worker_us_per_row", "backend_us_per_row"):
                values = [r[key] for r in results[(code, workers)] if r[key] is not None]
                summary[f"median_{key}_{workers}"] = statistics.median(values) if values else None
            cores = [r["cores_used"] for r in results[(code, workers)]]
            summary[f"median_cores_used_{workers}"] = statistics.median(cores)
        summary["duplicates"] = sum(
            r["duplicates"] for k in results for r in results[k] if k[0] == code
        )
        print(json.dumps(summary), flush=True)
    runtime.engine.dispose()


if __name__ == "__main__":
    main()
