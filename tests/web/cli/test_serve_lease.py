"""`paroles serve` as a real process: SIGTERM stops it cleanly and releases the scheduler lease,
so that a quick restart sends at once (issue 16, item 1)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bots.runtime import Runtime
from storage.models import SchedulerLease
from tests.conftest import SECRET

ROOT = Path(__file__).resolve().parents[3]
SERVE = "from web.cli.main import main; main()"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_serve(runtime: Runtime, port: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PAROLES_DATABASE_URL": runtime.settings.database_url,
        "PAROLES_SECRET_KEY": SECRET,
        "PAROLES_DATA_DIR": str(runtime.settings.data_dir),
    }
    return subprocess.Popen(
        [sys.executable, "-c", SERVE, "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def lease_holder(runtime: Runtime) -> str | None:
    with runtime.sessions() as session:
        lease = session.get(SchedulerLease, "scheduler")
        return lease.holder if lease is not None else None


def wait_for_lease(runtime: Runtime, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        holder = lease_holder(runtime)
        if holder is not None and f":{process.pid}:" in holder:
            return holder
        assert process.poll() is None, process.communicate()[0]
        time.sleep(0.1)
    raise AssertionError("paroles serve never took the scheduler lease")


@pytest.mark.slow
def test_sigterm_stops_serve_cleanly_and_releases_the_lease(runtime: Runtime) -> None:
    port = free_port()
    first = start_serve(runtime, port)
    wait_for_lease(runtime, first)
    first.send_signal(signal.SIGTERM)
    output, _ = first.communicate(timeout=60)
    assert first.returncode == 0, output
    assert "Paroles est arrêté." in output
    assert lease_holder(runtime) is None  # released: a restart takes it at once
