"""Routing benchmark: what choosing each habitant's channel (SMS or WhatsApp) costs a campaign.

    python bench/routing.py [--sizes 10000 50000] [--repeat 5]

Builds a territory of `size` consenting habitants (half by SMS only, a quarter by WhatsApp only,
a quarter on both, with WhatsApp messages inside and outside the 24-hour window), then times, in
the same run, the campaign estimate as it was before (`count_target` grouped by the channel used
last: the baseline) and with the routing of `bots.routing` (WhatsApp first when it can take the
message, the left-out count). On SQLite in a temporary folder by default, or on
`PAROLES_BENCH_DATABASE_URL` (wiped). Prints JSON; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_database import empty_postgres  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from bots import campaigns, routing  # noqa: E402
from bots.campaigns import Target  # noqa: E402
from bots.runtime import Runtime  # noqa: E402
from storage.config import load_settings  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Message, Participant, ParticipantChannel  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)


def runtime_for(url: str, data_dir: str) -> Runtime:
    env = {
        "PAROLES_DATABASE_URL": url,
        "PAROLES_SECRET_KEY": SECRET,
        "PAROLES_DATA_DIR": data_dir,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "bench",
        "TWILIO_FROM": "38000",
        "TWILIO_WHATSAPP_FROM": "whatsapp:+33700000000",
        "PAROLES_WHATSAPP_TEMPLATE_INVITATION_FR": "HX" + "1" * 32,
    }
    return Runtime.from_settings(load_settings(env, dotenv=False))


def populate(runtime: Runtime, size: int) -> None:
    participants, channels, inbound = [], [], []
    for n in range(1, size + 1):
        kind = ("sms", "sms", "whatsapp", "both")[n % 4]
        last = "sms" if kind == "sms" else "whatsapp"
        participants.append(
            {
                "id": n,
                "pseudonym": f"p-bench{n:08d}",
                "channel": last,
                "address_enc": "x",
                "address_mask": "",
                "language": "ar" if n % 10 == 0 else "fr",
                "consent_at": NOW - timedelta(days=30),
                "first_seen_at": NOW - timedelta(days=30),
                "last_seen_at": NOW - timedelta(days=2),
                "state": {"consent": True},
                "is_test": False,
            }
        )
        used = {"sms": ["sms"], "whatsapp": ["whatsapp"], "both": ["sms", "whatsapp"]}[kind]
        channels += [{"participant_id": n, "channel": c} for c in used]
        if "whatsapp" in used:
            hours = 3 if n % 3 == 0 else 72  # a third inside the window
            inbound.append(
                {
                    "direction": "in",
                    "channel": "whatsapp",
                    "provider_id": f"SMbench{n:010d}",
                    "participant_id": n,
                    "status": "processed",
                    "created_at": NOW - timedelta(hours=hours),
                }
            )
    with runtime.sessions.begin() as session:
        for rows, model in ((participants, Participant), (channels, ParticipantChannel)):
            for start in range(0, len(rows), 5000):
                session.execute(insert(model), rows[start : start + 5000])
        for start in range(0, len(inbound), 5000):
            session.execute(insert(Message), inbound[start : start + 5000])


def timed(function: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(url: str, size: int, repeat: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as data_dir:
        if url.startswith("sqlite"):
            url = f"sqlite:///{data_dir}/bench.db"
        else:
            empty_postgres(url)
        upgrade(make_engine(url))
        runtime = runtime_for(url, data_dir)
        populate(runtime, size)
        if not url.startswith("sqlite"):
            with runtime.engine.begin() as connection:  # as autovacuum would, after a bulk load
                connection.execute(text("ANALYZE"))
        target = Target(everyone=True)
        with runtime.sessions() as session:
            baseline = timed(lambda: campaigns.count_target(session, target), repeat)
            routed = timed(lambda: campaigns.estimate(session, runtime, target, NOW), repeat)
            estimate = campaigns.estimate(session, runtime, target, NOW)
            route = routing.route(runtime.settings, NOW, "invitation")
            selection = timed(
                lambda: session.execute(
                    select(Participant.id, route.label("channel"), Participant.address_enc)
                    .where(*target.conditions(route))
                    .order_by(Participant.id)
                    .limit(campaigns.BATCH)
                ).all(),
                repeat,
            )
        runtime.engine.dispose()
        return {
            "size": size,
            "database": url.split(":", 1)[0],
            "estimate_baseline_ms": round(baseline * 1000, 1),
            "estimate_routed_ms": round(routed * 1000, 1),
            "launch_batch_routed_ms": round(selection * 1000, 1),
            "by_channel": estimate.by_channel,
            "left_out": dict(estimate.left_out),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = os.environ.get("PAROLES_BENCH_DATABASE_URL", "sqlite")
    for size in args.sizes:
        print(json.dumps(measure(url, size, args.repeat)), flush=True)


if __name__ == "__main__":
    main()
