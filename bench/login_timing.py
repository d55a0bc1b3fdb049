"""Login timing: does a refused login take as long for an unknown address as for a known one?

    python bench/login_timing.py [--tries 15]

Through the real login view (Flask test client, SQLite in a temporary folder): a wrong password
for an existing account (the baseline), then for an address without an account, then for a
deactivated account, alternating, `--tries` times each. Failed attempts are cleared between
tries so the rate limit never answers first. Prints the median milliseconds of each and the
ratio unknown/known (close to 1 when timing tells nothing). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete  # noqa: E402

from bots.runtime import Runtime  # noqa: E402
from storage.config import load_settings  # noqa: E402
from storage.db import transaction  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import LoginAttempt  # noqa: E402
from web import create_app  # noqa: E402
from web.auth import create_user  # noqa: E402


def measure(folder: Path, tries: int) -> dict[str, object]:
    settings = load_settings(
        {
            "PAROLES_DATABASE_URL": f"sqlite:///{folder}/bench.db",
            "PAROLES_SECRET_KEY": "bench-secret-key-0123456789abcdef",
            "PAROLES_DATA_DIR": str(folder),
        }
    )
    runtime = Runtime.from_settings(settings)
    upgrade(runtime.engine)
    with transaction(runtime.sessions) as session:
        create_user(session, "chef@ville.example", "motdepasse-solide", "chef_de_projet")
        inactive = create_user(session, "parti@ville.example", "motdepasse-solide", "lecteur")
        inactive.active = False
    app = create_app(
        {"TESTING": True, "WTF_CSRF_ENABLED": False}, settings=settings, runtime=runtime
    )
    client = app.test_client()
    cases = {
        "known": "chef@ville.example",
        "unknown": "personne@ville.example",
        "inactive": "parti@ville.example",
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(tries + 1):  # the first round warms up (and makes the dummy hash)
        for name, email in cases.items():
            with transaction(runtime.sessions) as session:
                session.execute(delete(LoginAttempt))
            start = time.perf_counter()
            response = client.post(
                "/auth/login", data={"email": email, "password": "pas-le-bon-mot"}
            )
            times[name].append((time.perf_counter() - start) * 1000)
            if response.status_code != 401:
                raise SystemExit(f"unexpected HTTP {response.status_code} for {name}")
    runtime.engine.dispose()
    median = {name: statistics.median(values[1:]) for name, values in times.items()}
    return {
        "bench": "login_timing",
        "db": "sqlite",
        "tries": tries,
        "refusal_ms_known": round(median["known"], 1),
        "refusal_ms_unknown": round(median["unknown"], 1),
        "refusal_ms_inactive": round(median["inactive"], 1),
        "ratio_unknown_over_known": round(median["unknown"] / median["known"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(measure(Path(folder), args.tries)), flush=True)


if __name__ == "__main__":
    main()
