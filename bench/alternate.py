"""Before and after in one run: a bench of this checkout against another checkout's code.

    python bench/alternate.py --baseline ../paroles-main [--rounds 3] -- bench/indicators.py ...

Runs the same bench script (this checkout's file) alternately with the baseline's code and with
this checkout's (`PAROLES_BENCH_CODE` tells the script whose modules to import; each run builds
its own database with that code's schema), `--rounds` times each, baseline first. Every JSON
line the script prints is read; each number under a key ending in `ms` is a measure, the
other fields name it. Prints one JSON line per measure: the medians over the rounds, before and
after, and their ratio. The baseline is typically `git worktree add --detach DIR COMMIT`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def measures(line: dict[str, Any], prefix: str = "") -> tuple[dict[str, Any], dict[str, float]]:
    """(what names the line, its measures), nested objects flattened with dots."""
    names: dict[str, Any] = {}
    found: dict[str, float] = {}
    for key, value in line.items():
        path = prefix + key
        if isinstance(value, dict):
            inner_names, inner = measures(value, path + ".")
            names.update(inner_names)
            found.update(inner)
        elif key.endswith("ms") and isinstance(value, int | float):
            found[path] = float(value)
        elif isinstance(value, str):
            names[path] = value
    return names, found


def run(code: Path, script: list[str]) -> dict[str, float]:
    env = {**os.environ, "PAROLES_BENCH_CODE": str(code)}
    output = subprocess.run(
        [sys.executable, *script], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    found: dict[str, float] = {}
    for text in output.splitlines():
        if not text.startswith("{"):
            continue
        line = json.loads(text)
        names, numbers = measures(line)
        # Fields that are not measures but tell lines apart (a size, a database, a case).
        names.update({k: v for k, v in line.items() if isinstance(v, int) and k in SIZES})
        label = ", ".join(f"{v}" for v in names.values())
        for key, value in numbers.items():
            found[f"{label} | {key}"] = value
    return found


SIZES = ("habitants", "answers", "contributions")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", required=True, type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("script", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    script = [a for a in args.script if a != "--"]
    samples: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    for n in range(args.rounds):
        for side, code in (("before", args.baseline.resolve()), ("after", ROOT)):
            found = run(code, script)
            for key, value in found.items():
                samples[side].setdefault(key, []).append(value)
            # Each run as it ends, should the whole be cut short.
            print(json.dumps({"round": n + 1, "side": side, **found}), file=sys.stderr, flush=True)
    for key, before in samples["before"].items():
        after = samples["after"].get(key)
        if not after:
            continue
        b, a = statistics.median(before), statistics.median(after)
        print(
            json.dumps(
                {
                    "measure": key,
                    "before_ms": round(b, 1),
                    "after_ms": round(a, 1),
                    "speedup": round(b / a, 1) if a else None,
                    "rounds": len(after),
                },
                ensure_ascii=False,
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
