"""SMS webhook over real HTTP: the app under gunicorn against a bare Flask app, same settings.

    python bench/webhook_http.py [--seconds 20] [--rate 100] [--habitants 200] [--rounds 1]
        [--baseline /path/to/another/checkout]

Each target is started as `gunicorn -w 2` (sync workers, the production default) on loopback:
the bare app (checks the Twilio signature, reads the form, answers an empty TwiML), then the real
app on a fresh SQLite file, then on PostgreSQL at `PAROLES_BENCH_DATABASE_URL` (default
`postgresql://postgres@127.0.0.1:5432/test_demo_bench`, created if missing, its schema dropped
and recreated). With `--baseline`, the real app of that checkout (a `git worktree` of an older
commit) is measured too, alternating with this one, round after round, so that the comparison
shares the machine's load.

The load is ~200 habitants having the conversations of `bench/dialogue.py` by SMS: hello,
consent, the survey's keyword, sloppy answers, a free message and its thème, STOP, START,
merci; a habitant never has two messages in flight, and one who is done is replaced by a new
number (first message, consent...). Every post is signed as Twilio signs it, over the public
URL. Two figures per target:

- `max`: as many messages as `--concurrency` senders get answered in `--seconds`;
- `steady`: a fixed `--rate` messages per second for `--seconds`, latency counted from the
  planned send time (a slow answer delays nothing else, so queueing shows in the tail).

The webhook only records a message; the dialogue step is the drain's (`bots.inbound`, run by
`paroles worker`). For a checkout that has it, two more figures:

- `drain_alone`: the messages the `max` phase left recorded, processed by one drain process
  alone, for at most `--seconds` (what it did not reach is set aside before the next phase);
- `steady` runs with a drain process beside the webhook (the worker's drain thread alone,
  without scheduler or outbox), and `delay` is the time from a message's record to its
  processing, replies in the outbox (`processed_at - created_at`), p50/p99.

A baseline without a drain (the step inside the request) has neither.

Prints one JSON line per target and phase, then one `summary` line per target with the median
of the rounds and the share of the bare app's throughput. For the real app it also checks that
every answered message is in the database once (`recorded`). Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bench_database import empty_postgres  # noqa: E402
from flask import Flask, Response, request
from twilio.request_validator import RequestValidator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test_demo_bench"
TOKEN = "bench-twilio-auth-token-0123456789"
ACCOUNT = "AC" + "0" * 32
SHORT_CODE = "+33600000000"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'

# The conversations of bench/dialogue.py, by SMS: the survey starts on its keyword.
SCRIPTS = {
    "SCOLARITE": [
        "Bonjour",
        "ouais",
        "👍",
        "1 et 3",
        "hein",
        "⭐⭐⭐⭐",
        "le mercrdi",
        "Plus de profs",
    ],
    "ASSOCIATIONS": ["slt", "ok", "oui", "2,3", "4/5", "aide", "non", "Un atelier couture"],
    "ALLERVERS": ["bjr", "oui", "les tilleul", "2", "nan", "1", "PASSER", "qu'on vienne nous voir"],
}
AFTER = ["Les poubelles débordent rue des Lilas 😡", "3", "STOP", "coucou", "START", "merci"]


def bare_app() -> Flask:
    """What any Twilio webhook must do at least: check the signature, read the form, answer."""
    app = Flask("bare")
    validator = RequestValidator(os.environ.get("TWILIO_AUTH_TOKEN", TOKEN))
    public = os.environ.get("PAROLES_PUBLIC_URL", "")

    @app.post("/hooks/sms")
    def sms() -> Response:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(public + request.path, request.form, signature):
            return Response("invalid Twilio signature", status=403)
        request.form.get("Body", "")
        return Response(EMPTY_TWIML, mimetype="text/xml")

    return app


def emit(**figures: Any) -> None:
    print(json.dumps(figures, ensure_ascii=False), flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Target:
    name: str  # bare, sqlite, postgresql
    source: Path  # the checkout whose code runs
    label: str  # "bare", "new", "baseline"
    database_url: str = ""


@dataclass
class Habitant:
    number: str
    plan: list[str]
    turn: int = 0


@dataclass
class Crowd:
    """~N habitants; one who has said everything is replaced by a newcomer."""

    size: int
    prefix: int
    made: int = 0
    idle: deque[Habitant] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        for _ in range(self.size):
            self.idle.append(self._newcomer())

    def _newcomer(self) -> Habitant:
        keyword = list(SCRIPTS)[self.made % len(SCRIPTS)]
        script = SCRIPTS[keyword]
        self.made += 1
        number = f"+336{self.prefix:02d}{self.made:06d}"
        return Habitant(number, [script[0], script[1], keyword, *script[2:], *AFTER])

    def take(self) -> Habitant | None:
        try:
            return self.idle.popleft()  # deque operations are atomic: threads share the crowd
        except IndexError:
            return None

    def give_back(self, habitant: Habitant) -> None:
        habitant.turn += 1
        if habitant.turn >= len(habitant.plan):
            with self.lock:
                habitant = self._newcomer()
        self.idle.append(habitant)


def twilio_form(habitant: Habitant) -> dict[str, str]:
    sid = "SM" + uuid.uuid4().hex
    return {
        "ToCountry": "FR",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": habitant.plan[habitant.turn],
        "FromCountry": "FR",
        "To": SHORT_CODE,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT,
        "From": habitant.number,
        "ApiVersion": "2010-04-01",
    }


class Sender:
    """Signed posts through one pooled httpx client, shared by the threads (it is thread-safe)."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        self.client = client
        self.url = url
        self.validator = RequestValidator(TOKEN)
        self.errors = 0
        self.lock = threading.Lock()

    def post(self, habitant: Habitant) -> bool:
        form = twilio_form(habitant)
        signature = self.validator.compute_signature(self.url, form)
        try:
            response = self.client.post(
                self.url, data=form, headers={"X-Twilio-Signature": signature}
            )
            if response.status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        with self.lock:
            self.errors += 1
        return False


def client(connections: int) -> httpx.Client:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.Client(limits=limits, timeout=30)


def max_throughput(url: str, crowd: Crowd, seconds: float, concurrency: int) -> dict[str, Any]:
    with client(concurrency) as http:
        sender = Sender(http, url)
        deadline = time.perf_counter() + seconds

        def loop() -> int:
            done = 0
            while time.perf_counter() < deadline:
                habitant = crowd.take()
                if habitant is None:
                    time.sleep(0.001)
                    continue
                done += sender.post(habitant)
                crowd.give_back(habitant)
            return done

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            done = sum(pool.map(lambda _: loop(), range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"per_second": round(done / elapsed, 1), "answered": done, "errors": sender.errors}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def steady(url: str, crowd: Crowd, seconds: float, rate: float) -> dict[str, Any]:
    latencies: list[float] = []
    missed = 0
    with client(256) as http, ThreadPoolExecutor(256) as pool:
        sender = Sender(http, url)

        def one(habitant: Habitant, planned: float) -> None:
            if sender.post(habitant):
                latencies.append(time.perf_counter() - planned)
            crowd.give_back(habitant)

        futures = []
        start = time.perf_counter() + 0.05
        for k in range(int(seconds * rate)):
            planned = start + k / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            habitant = crowd.take()
            if habitant is None:
                missed += 1  # every habitant is waiting for an answer
                continue
            futures.append(pool.submit(one, habitant, planned))
        for future in futures:
            future.result()
    ms = [1000 * x for x in latencies]
    return {
        "rate": rate,
        "answered": len(ms),
        "errors": sender.errors,
        "not_sent": missed,
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms, default=float("nan")), 1),
    }


def run_python(source: Path, env: dict[str, str], code: str) -> None:
    subprocess.run([sys.executable, "-c", code], cwd=source, env=env, check=True)


def reset_postgres(url: str) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    subprocess.run(
        ["createdb", "-h", parsed.host or "127.0.0.1", "-U", parsed.username or "postgres"]
        + ["-p", str(parsed.port or 5432), str(parsed.database)],
        capture_output=True,
        check=False,
    )
    empty_postgres(url)


def count_recorded(url: str) -> int:
    from sqlalchemy import create_engine, text

    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.connect() as connection:
        n = connection.execute(text("SELECT count(*) FROM messages WHERE direction = 'in'"))
        value = int(n.scalar_one())
    engine.dispose()
    return value


def workers_cpu(master: int) -> float:
    """CPU seconds used so far by the gunicorn master's workers (Linux `/proc`): a figure the
    other sessions of a shared machine disturb less than a rate."""
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return float("nan")
    total = 0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            httpx.post(url, data={}, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def environment(target: Target, data_dir: Path, port: int) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PAROLES_", "TWILIO_", "TELEG"))
    }
    env.update(
        PYTHONPATH=str(target.source),
        PAROLES_SECRET_KEY="bench-secret-key-0123456789",
        PAROLES_DATA_DIR=str(data_dir),
        PAROLES_PUBLIC_URL=f"http://127.0.0.1:{port}",
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_FROM=SHORT_CODE,
        TWILIO_API_BASE_URL="http://127.0.0.1:9",  # nothing is sent: the outbox only fills
    )
    if target.database_url:
        env["PAROLES_DATABASE_URL"] = target.database_url
    return env


DRAIN_ALONE = """
import json, sys, time
from sqlalchemy import update
from bots.inbound import MESSAGES, backlog, process_inbound
from bots.runtime import Runtime
from storage.config import load_settings

runtime = Runtime.from_settings(load_settings())
waiting, done, limit = backlog(runtime), 0, float(sys.argv[1])
started = time.perf_counter()
while time.perf_counter() - started < limit:
    counts = process_inbound(runtime, limit=100)
    if not counts["processed"] and not counts["failed"]:
        break
    done += counts["processed"] + counts["failed"]
elapsed = time.perf_counter() - started
with runtime.engine.begin() as connection:  # what was not reached: out of the next phase
    left = connection.execute(
        update(MESSAGES).where(MESSAGES.c.status == "recorded").values(status="set_aside")
    ).rowcount
print(json.dumps({"backlog": waiting, "processed": done, "seconds": round(elapsed, 2),
                  "per_second": round(done / elapsed, 1), "set_aside": left}))
"""
DRAIN_WORKER = """
import threading
from bots.runtime import Runtime
from bots.scheduler import Service
from storage.config import load_settings

service = Service(Runtime.from_settings(load_settings()), scheduler=False, outbox=False)
service.start()
print("draining", flush=True)
threading.Event().wait()
"""
DELAYS = """
import json, sys
from datetime import datetime
from sqlalchemy import select
from bots.inbound import MESSAGES, backlog
from bots.runtime import Runtime
from storage.config import load_settings

runtime = Runtime.from_settings(load_settings())
since = datetime.fromisoformat(sys.argv[1])
with runtime.sessions() as session:
    rows = session.execute(
        select(MESSAGES.c.created_at, MESSAGES.c.processed_at).where(
            MESSAGES.c.direction == "in", MESSAGES.c.created_at >= since
        )
    ).all()
ms = sorted(1000 * (p - c).total_seconds() for c, p in rows if p is not None)
def pick(q):
    return round(ms[min(len(ms) - 1, max(0, round(q / 100 * len(ms)) - 1))], 1) if ms else None


print(json.dumps({"processed": len(ms), "not_processed": len(rows) - len(ms),
                  "p50_ms": pick(50), "p99_ms": pick(99), "max_ms": pick(100)}))
"""


def has_drain(source: Path) -> bool:
    return (source / "bots" / "inbound.py").exists()


def python_json(source: Path, env: dict[str, str], code: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=source,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def start_drain(source: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    drain = subprocess.Popen(
        [sys.executable, "-c", DRAIN_WORKER],
        cwd=source,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert drain.stdout is not None
    if drain.stdout.readline().strip() != "draining":
        raise SystemExit("the drain did not start")
    return drain


def measure(target: Target, args: argparse.Namespace, prefix: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        if target.name == "sqlite":
            target.database_url = f"sqlite:///{data_dir}/bench.db"
        port = free_port()
        env = environment(target, data_dir, port)
        if target.name == "postgresql":
            reset_postgres(target.database_url)
        if target.name != "bare":
            run_python(
                target.source,
                env,
                "from bots.runtime import Runtime; from storage.config import load_settings;"
                "from web.cli.database import prepare_database;"
                "prepare_database(Runtime.from_settings(load_settings()))",
            )
            app, chdir = "web:create_app()", str(target.source)
        else:
            app, chdir = "webhook_http:bare_app()", str(HERE)
        command = [sys.executable, "-m", "gunicorn", "-w", str(args.workers)]
        command += ["-b", f"127.0.0.1:{port}", "--chdir", chdir, "--backlog", "2048"]
        command += ["--log-level", "warning", app]
        # Started in the checkout: `python -m` puts the working directory first on sys.path.
        process = subprocess.Popen(command, env=env, cwd=chdir)
        url = f"http://127.0.0.1:{port}/hooks/sms"
        try:
            wait_until_up(url, process)
            crowd = Crowd(args.habitants, prefix)
            warm = max_throughput(url, crowd, min(3.0, args.seconds), args.concurrency)
            cpu = workers_cpu(process.pid)
            top = max_throughput(url, crowd, args.seconds, args.concurrency)
            cpu = workers_cpu(process.pid) - cpu
            top["server_cpu_ms_per_message"] = round(1000 * cpu / max(1, top["answered"]), 2)
            drains = target.name != "bare" and has_drain(target.source)
            extra: dict[str, Any] = {}
            if drains:
                code = DRAIN_ALONE
                extra["drain_alone"] = python_json(target.source, env, code, str(args.seconds))
                drain = start_drain(target.source, env)
            since = datetime.now(UTC).isoformat()
            crowd = Crowd(args.habitants, prefix + 1)
            try:
                calm = steady(url, crowd, args.seconds, args.rate)
                if drains:
                    time.sleep(2.0)  # the last ones recorded, processed
            finally:
                if drains:
                    drain.terminate()
                    drain.wait(timeout=30)
            if drains:
                extra["delay"] = python_json(target.source, env, DELAYS, since)
        finally:
            process.terminate()
            process.wait(timeout=30)
        result = {"max": top, "steady": calm, **extra}
        if target.name != "bare":
            result["answered_200"] = warm["answered"] + top["answered"] + calm["answered"]
            result["recorded_in"] = count_recorded(target.database_url)
        return result


def postgres_url() -> str:
    return os.environ.get("PAROLES_BENCH_DATABASE_URL", DEFAULT_PG)


def targets(args: argparse.Namespace) -> Iterator[Target]:
    yield Target("bare", ROOT, "bare")
    for name in ("sqlite", "postgresql"):
        if name == "postgresql" and args.no_postgres:
            continue
        url = postgres_url() if name == "postgresql" else ""
        yield Target(name, ROOT, "new", url)
        if args.baseline:
            yield Target(name, Path(args.baseline).resolve(), "baseline", url)


def drain_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    if not all("delay" in r for r in runs):
        return {}
    return {
        "drain_alone_per_second": statistics.median(r["drain_alone"]["per_second"] for r in runs),
        "delay_p50_ms": statistics.median(r["delay"]["p50_ms"] for r in runs),
        "delay_p99_ms": statistics.median(r["delay"]["p99_ms"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--habitants", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--baseline", help="another checkout whose app is measured too")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    prefix = 10
    for round_ in range(1, args.rounds + 1):
        for target in targets(args):
            prefix += 2
            loadavg = os.getloadavg()[0]
            figures = measure(target, args, prefix)
            results.setdefault((target.name, target.label), []).append(figures)
            emit(
                bench="webhook_http",
                round=round_,
                target=target.name,
                code=target.label,
                load_1min=round(loadavg, 2),
                **figures,
            )
    bare = statistics.median(r["max"]["per_second"] for r in results[("bare", "bare")])
    for (name, label), runs in results.items():
        top = statistics.median(r["max"]["per_second"] for r in runs)
        emit(
            bench="webhook_http",
            summary=True,
            target=name,
            code=label,
            rounds=len(runs),
            max_per_second=top,
            share_of_bare=round(top / bare, 3),
            server_cpu_ms_per_message=statistics.median(
                r["max"]["server_cpu_ms_per_message"] for r in runs
            ),
            steady_p50_ms=statistics.median(r["steady"]["p50_ms"] for r in runs),
            steady_p95_ms=statistics.median(r["steady"]["p95_ms"] for r in runs),
            steady_p99_ms=statistics.median(r["steady"]["p99_ms"] for r in runs),
            **drain_summary(runs),
            cpus=os.cpu_count(),
        )


if __name__ == "__main__":
    main()
