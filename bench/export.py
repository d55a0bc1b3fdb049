"""Export benchmark: the contributions as XLSX and CSV, this code against a baseline, same run.

    python bench/export.py --baseline /path/to/worktree/of/main [--rows 100000] [--rounds 3]
                           [--postgres URL] [--unread]

Fills a fresh SQLite file (or the PostgreSQL database given, emptied first) with generated
contributions (`bench/inbox.py`'s generator) and lets the personal-data job read them all
(`detect_pending`, as the scheduler does every minute, so that an export applies the stored
spans); `--unread` leaves them unread, the state right after the team adds a mark, when every
text is masked by the rules on the spot until the job has read it again. Then, for each round
and each code (the baseline and this one, alternated, so that the machine's load falls on both)
runs one process of that code which downloads `/exports/contributions.<fmt>` through Flask's
test client, logged in as a chef de projet: the real view, audit line included. The file is
saved as it streams, as a browser saves it. Each line gives the time, the rows in the file, the
process's CPU time (what a loaded machine does not inflate much) and its peak resident-memory
growth during the export (VmHWM, reset just before, minus VmRSS before). The last lines give
the medians. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_database import empty_postgres  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-key-0123456789"


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    """Start the peak resident memory (VmHWM) again from the current size (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")


def measure(code: Path, url: str, data_dir: str, fmt: str) -> None:
    """In a process of `code`: one export, printed as a JSON line."""
    sys.path.insert(0, str(code))
    from sqlalchemy import select

    from bots.runtime import Runtime
    from storage.config import load_settings
    from storage.db import transaction
    from storage.models import User
    from web import create_app

    settings = load_settings(
        {"PAROLES_DATABASE_URL": url, "PAROLES_SECRET_KEY": SECRET, "PAROLES_DATA_DIR": data_dir}
    )
    runtime = Runtime.from_settings(settings)
    app = create_app({"TESTING": True}, settings=settings, runtime=runtime)
    client = app.test_client()
    with transaction(runtime.sessions) as session:
        user_id = session.scalars(select(User.id)).one()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = str(user_id)
        cookie["auth_at"] = cookie["seen_at"] = time.time()
    client.get("/exports/")  # warm: templates, first queries
    with tempfile.TemporaryFile() as body:
        _reset_peak()
        before = _status("VmRSS")
        started, cpu = time.perf_counter(), time.process_time()
        # Streamed to a file as a browser saves it: the growth is the server's, not a copy of
        # the whole body held by the client.
        response = client.get(f"/exports/contributions.{fmt}", buffered=False)
        for chunk in response.response:
            body.write(chunk)
        response.close()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        growth = _status("VmHWM") - before
        assert response.status_code == 200, response.status_code
        size = body.tell()
        body.seek(0)
        if fmt == "xlsx":
            from openpyxl import load_workbook

            sheet = load_workbook(body, read_only=True).worksheets[0]
            rows = sum(1 for _ in sheet.iter_rows(values_only=True)) - 1
        else:
            rows = body.read().decode("utf-8-sig").count("\n") - 1
    print(
        json.dumps(
            {
                "s": round(elapsed, 2),
                "cpu_s": round(cpu, 2),
                "rows": rows,
                "mib_growth": round(growth, 1),
                "file_mib": round(size / 2**20, 1),
            }
        )
    )
    runtime.engine.dispose()


def read_all(runtime: Any) -> int:
    """The personal-data job run until every text is read; how many contributions it read."""
    from bots.personal_data_job import detect_pending

    read = 0
    while any((counts := detect_pending(runtime, datetime.now(UTC), limit=5000)).values()):
        read += counts["contributions"]
    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a worktree of main")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--formats", nargs="+", default=["xlsx", "csv"])
    parser.add_argument("--postgres", default=os.environ.get("PAROLES_BENCH_DATABASE_URL"))
    parser.add_argument("--unread", action="store_true", help="skip the personal-data job")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--format", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.url, args.data_dir, args.format)
        return
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import inbox  # bench/inbox.py: the generated contributions

    from bots.runtime import Runtime
    from storage.config import load_settings

    data_dir = tempfile.mkdtemp(prefix="paroles-bench-export-")
    url = args.postgres or f"sqlite:///{data_dir}/bench.db"
    if args.postgres:
        empty_postgres(url)
    settings = load_settings(
        {"PAROLES_DATABASE_URL": url, "PAROLES_SECRET_KEY": SECRET, "PAROLES_DATA_DIR": data_dir}
    )
    runtime = Runtime.from_settings(settings)
    inbox.fill(runtime, args.rows)
    read = 0 if args.unread else read_all(runtime)
    runtime.engine.dispose()
    print(
        f"# cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f} rows={args.rows} read={read} "
        f"database={url.rsplit('@', 1)[-1].split('/')[0] if args.postgres else 'sqlite'}",
        flush=True,
    )
    codes = {"baseline": args.baseline.resolve(), "current": ROOT}
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    for n in range(args.rounds):
        order = list(codes) if n % 2 == 0 else list(reversed(codes))
        for fmt in args.formats:
            for code in order:
                command = [sys.executable, __file__, "--baseline", str(codes["baseline"])]
                command += ["--measure", str(codes[code]), "--url", url]
                command += ["--data-dir", data_dir, "--format", fmt]
                output = subprocess.run(
                    command, capture_output=True, text=True, cwd=codes[code], check=True
                ).stdout
                result = json.loads(output.strip().splitlines()[-1])
                results.setdefault((code, fmt), []).append(result)
                line = {"round": n, "code": code, "format": fmt, **result}
                print(json.dumps(line | {"load": round(os.getloadavg()[0], 1)}), flush=True)
    for (code, fmt), found in results.items():
        summary = {"code": code, "format": fmt}
        summary |= {
            f"median_{key}": statistics.median(r[key] for r in found)
            for key in ("s", "cpu_s", "mib_growth")
        }
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
