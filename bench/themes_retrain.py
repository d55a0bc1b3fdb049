"""How long retraining and suggesting take, at the sizes the issue names.

    python bench/themes_retrain.py --train corpus/grand_debat_dev.csv \\
        --descriptions bench/descriptions/grand_debat.toml --labels 10000

Builds ``--labels`` labelled examples from the CSV (``text,label``): its rows first, then new
texts made by joining two random texts of the same label, so every example is a distinct text
and the per-word caches do not flatter the figure. Then, in this fresh process:

- ``train_s`` / ``train_cpu_s``: one ``Suggester.train`` (everything it does: features, word
  vectors, the fit, the calibration); the word vectors are loaded before (``vectors_load_s``,
  once per process, as in the worker that retrains);
- ``ms_5000_chars``: one ``suggest`` on a 5,000-character text, and ``ms_short`` on the CSV's
  own texts, single calls, warm (the back-office asks one at a time).

Wall times depend on what else runs on the machine: the load average is printed alongside, and
the CPU time of training (single-threaded) is the figure to compare between runs. Printed,
never asserted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from web.suggestions import Example, Suggester, ThemeSpec  # noqa: E402
from web.suggestions import vectors as word_vectors  # noqa: E402
from web.suggestions.taxonomy import load_themes  # noqa: E402


def labelled(path: str, n: int, seed: int = 0) -> list[Example]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = [(r["text"], r["label"]) for r in csv.DictReader(f) if r["text"] and r["label"]]
    by_label: dict[str, list[str]] = {}
    for text, label in rows:
        by_label.setdefault(label, []).append(text)
    rng = random.Random(seed)
    out = [Example(text, label) for text, label in rows[:n]]
    labels = sorted(label for label, texts in by_label.items() if len(texts) >= 2)
    while len(out) < n:
        label = rng.choice(labels)
        a, b = rng.sample(by_label[label], 2)
        out.append(Example(f"{a} {b}", label))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True, help="CSV with text,label")
    parser.add_argument("--descriptions", help="TOML [[themes]] whose codes are the labels")
    parser.add_argument("--labels", type=int, default=10_000)
    parser.add_argument("--no-word-vectors", action="store_true")
    args = parser.parse_args(argv)

    examples = labelled(args.train, args.labels)
    themes = list(load_themes(args.descriptions)) if args.descriptions else []
    described = {t.code for t in themes}
    themes += [ThemeSpec(c, c) for c in sorted({e.theme for e in examples} - described)]
    use_vectors = not args.no_word_vectors

    started = time.perf_counter()
    loaded = word_vectors.load() if use_vectors else None
    vectors_load_s = time.perf_counter() - started

    started, cpu = time.perf_counter(), time.process_time()
    model = Suggester.train(themes, examples, word_vectors=use_vectors)
    train_s, train_cpu_s = time.perf_counter() - started, time.process_time() - cpu

    texts = [e.text for e in examples[:300]]
    long_text = " ".join(e.text for e in examples[:400])[:5000]
    model.suggest(long_text)
    started = time.perf_counter()
    for _ in range(50):
        model.suggest(long_text)
    ms_long = 1000 * (time.perf_counter() - started) / 50
    started = time.perf_counter()
    for text in texts:
        model.suggest(text)
    ms_short = 1000 * (time.perf_counter() - started) / len(texts)

    line = {
        "corpus": Path(args.train).stem,
        "labels": len(examples),
        "word_vectors": loaded.name if loaded else None,
        "vectors_load_s": round(vectors_load_s, 2),
        "train_s": round(train_s, 2),
        "train_cpu_s": round(train_cpu_s, 2),
        "features": model.featurizer.size,
        "ms_5000_chars": round(ms_long, 2),
        "ms_short": round(ms_short, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(line, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
