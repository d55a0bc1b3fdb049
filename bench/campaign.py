"""Campaign benchmark: enqueueing invitations, then draining the outbox with one and two workers.

    python bench/campaign.py [--sizes 10000 100000] [--seconds 30] [--code PATH]

On PostgreSQL (`PAROLES_BENCH_DATABASE_URL`, default the local `test_campaigns_bench`
database, which is wiped). For each size it prints: the time to enqueue the invitations (a real
`bots.campaigns.launch`), then the outbox rows processed per second by one worker process and
by two concurrent ones, through the real outbox code with a channel that answers at once
(`bench`, zero latency, no rate limit), the launch's memory growth (the peak resident memory
during the launch over the size before it) and the peak memory of the workers. A worker drains
until the outbox is empty or `--seconds` have passed; the rate is rows over wall time. With
`--code` a worktree of main, the same script measures that code: a baseline in the same run.
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `--code PATH`: the bots and storage of another tree (a worktree of main, for a baseline in the
# same run), measured by this same script.
CODE = Path(sys.argv[sys.argv.index("--code") + 1]) if "--code" in sys.argv else ROOT
sys.path.insert(0, str(CODE))

from bench_database import empty_postgres  # noqa: E402
from sqlalchemy import func, insert, select, text, update  # noqa: E402

from bots import campaigns  # noqa: E402
from bots.channels import Outgoing, register  # noqa: E402
from bots.runtime import Runtime  # noqa: E402
from storage.config import load_settings  # noqa: E402
from storage.crypto import mask  # noqa: E402
from storage.models import Message, Participant  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test_campaigns_bench"
SECRET = "bench-secret-key-0123456789abcdef"


@dataclass
class ZeroLatencyChannel:
    """Accepts every message at once: what is measured is the outbox, not a provider."""

    name: str = "bench"
    rate_per_second: float = 1e9

    def send(self, message: Outgoing) -> str:
        return f"bench-{message.message_id}"


@register("bench", configured=lambda settings: "PAROLES_BENCH" in settings.extra)
def _make(runtime: Runtime) -> ZeroLatencyChannel:
    return ZeroLatencyChannel()


def runtime_for(url: str) -> Runtime:
    settings = load_settings(
        {
            "PAROLES_DATABASE_URL": url,
            "PAROLES_SECRET_KEY": SECRET,
            "PAROLES_DATA_DIR": str(ROOT / "var" / "bench"),
            "PAROLES_BENCH": "1",
        },
        dotenv=False,
    )
    return Runtime.from_settings(settings)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak() -> None:
    """Start the high-water mark again from the current size (Linux: `clear_refs` 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_mib() -> float:
    """This process's resident-memory high-water mark (VmHWM: reset by exec, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- one worker process ---------------------------------------------------------------------


def worker(url: str, seconds: float) -> None:
    """Drain the `bench` outbox until empty or `seconds`; print a JSON line of what it did."""

    from bots.outbox import run_channel

    # Named, so that the bench can find this worker's PostgreSQL backends (their CPU time, what
    # they wait for).
    name = f"bench-worker-{os.getpid()}"
    runtime = runtime_for(url + ("&" if "?" in url else "?") + f"application_name={name}")
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    started, cpu_started = time.perf_counter(), time.process_time()
    timer.start()
    run_channel(runtime, "bench", stop, exit_when_idle=True, idle_pause=0.05)
    ended = time.perf_counter()
    timer.cancel()
    report = {"pid": os.getpid(), "elapsed": ended - started, "peak_mib": peak_mib()}
    report["drain_cpu_s"] = time.process_time() - cpu_started  # start-up left out
    with runtime.engine.connect() as connection:  # the backends' CPU time, before they exit
        pids = connection.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
            {"name": name},
        ).all()
    report["backend_cpu_s"] = sum(process_cpu_s(pid) for pid in pids)
    print(json.dumps(report | {"cpu_s": time.process_time()}))


def process_cpu_s(pid: int) -> float:
    """User + system CPU time of a process of this machine (`/proc/PID/stat`), 0 if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain(url: str, workers: int, seconds: float, runtime: Runtime) -> dict[str, float]:
    with runtime.sessions.begin() as session:  # every run starts from the same queue
        session.execute(
            update(Message)
            .where(Message.direction == "out")
            .values(status="pending", claimed_by=None, attempts=0, provider_id=None)
        )
    command = [sys.executable, __file__, "--worker", "--url", url, "--seconds", str(seconds)]
    command += ["--code", str(CODE)]
    started = time.perf_counter()
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(workers)
    ]
    reports = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in processes]
    wall = time.perf_counter() - started
    with runtime.sessions() as session:
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
    return {
        "rows": sent,
        "rows_per_s": sent / busy,
        "wall_s_with_process_start": wall,
        "worker_peak_mib": max(r["peak_mib"] for r in reports),
        "duplicates": twice or 0,
    }


# --- the benchmark ---------------------------------------------------------------------------


def reset(url: str) -> Runtime:
    from web.cli.database import prepare_database

    empty_postgres(url)
    runtime = runtime_for(url)
    prepare_database(runtime)
    return runtime


def add_participants(runtime: Runtime, count: int) -> None:
    now = datetime.now(UTC)
    with runtime.sessions.begin() as session:
        for start in range(0, count, 5000):
            rows = []
            for n in range(start, min(count, start + 5000)):
                address = f"+3363{n:07d}"
                rows.append(
                    {
                        "pseudonym": runtime.vault.pseudonym("bench", address),
                        "channel": "bench",
                        "address_enc": runtime.vault.encrypt(address),
                        "address_mask": mask(address),
                        "language": "fr" if n % 5 else "en",
                        "consent_at": now,
                        "last_seen_at": now.replace(year=now.year - 1),
                        "state": {"consent": True},
                    }
                )
            session.execute(insert(Participant), rows)


def bench(url: str, size: int, seconds: float) -> None:
    runtime = reset(url)
    started = time.perf_counter()
    add_participants(runtime, size)
    generated = time.perf_counter() - started
    with runtime.engine.begin() as connection:  # as autovacuum would, after a bulk load
        connection.execute(text("ANALYZE"))
    now = datetime.now(UTC)
    with runtime.sessions.begin() as session:
        campaign = campaigns.create_campaign(
            session,
            "scolarite",
            campaigns.Target(everyone=True),
            now=now,
            allow_quiet_hours=True,
        )
    reset_peak()
    before = rss_mib()
    started = time.perf_counter()
    invited = campaigns.launch(runtime, campaign.id, now)
    enqueue = time.perf_counter() - started
    growth = peak_mib() - before
    print(
        json.dumps(
            {
                "targets": size,
                "participants_generated_s": round(generated, 2),
                "invitations": invited,
                "enqueue_s": round(enqueue, 2),
                "enqueue_per_s": round(invited / enqueue),
                "launch_memory_growth_mib": round(growth, 1),
                "bench_process_peak_mib": round(peak_mib(), 1),
            }
        ),
        flush=True,
    )
    for workers in (1, 2):
        result = drain(url, workers, seconds, runtime)
        print(
            json.dumps(
                {"targets": size, "workers": workers}
                | {k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}
            ),
            flush=True,
        )
    runtime.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("PAROLES_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, default=ROOT, help="the tree whose code is measured")
    args = parser.parse_args()
    if args.worker:
        worker(args.url, args.seconds)
        return
    print(
        f"# cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f} code={args.code} "
        f"database={args.url.rsplit('@', 1)[-1]}",
        flush=True,
    )
    for size in args.sizes:
        bench(args.url, size, args.seconds)


if __name__ == "__main__":
    main()
