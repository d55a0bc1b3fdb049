"""Precision and recall of the personal-data detector (`bots.personal_data`), per kind, as JSON.

The labelled sets are `bench/pii_messages.txt` (written by `bench/pii_make.py`, one message a line,
spans as `{kind|text}`; the rules were tuned on it) and `bench/pii_heldout.txt` (40 messages
written afterwards, never tuned on: the figure to trust). A found span is right when it overlaps
a labelled span of the same kind; a labelled span is found when a found span of the same kind
overlaps it. `masked_recall` counts a labelled span as protected when any masking span covers
part of it (a phone number masked as a NIR still hides it).

Baseline in the same run: the rules alone, without spaCy's name recogniser.
Speed: CPU time per message (process time: the machine is shared), one message at a time as the
background job would at worst, and in batches as it does.

    .venv/bin/python bench/pii.py
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bots.personal_data import FLAGS, KINDS, Span, detect, detect_many  # noqa: E402

DATA = Path(__file__).with_name("pii_messages.txt")
# Written after the rules were tuned on DATA, and never tuned on: the honest figure.
HELD_OUT = Path(__file__).with_name("pii_heldout.txt")
MARK = re.compile(r"\{(\w+)\|([^{}]*)\}")


def parse(line: str) -> tuple[str, list[Span]]:
    text, spans, at = [], [], 0
    for m in MARK.finditer(line):
        text.append(line[at : m.start()])
        start = sum(len(t) for t in text)
        text.append(m.group(2))
        spans.append(Span(start, start + len(m.group(2)), m.group(1)))
        at = m.end()
    text.append(line[at:])
    return "".join(text), spans


def overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def score(items: list[tuple[str, list[Span]]], found: list[list[Span]]) -> dict[str, object]:
    tp_gold, gold_n, tp_found, found_n, masked = (
        Counter(),
        Counter(),
        Counter(),
        Counter(),
        Counter(),
    )
    for (_, gold), predicted in zip(items, found, strict=True):
        predicted = [s for s in predicted if s.kind not in FLAGS]
        for g in gold:
            gold_n[g.kind] += 1
            tp_gold[g.kind] += any(p.kind == g.kind and overlaps(p, g) for p in predicted)
            masked[g.kind] += any(overlaps(p, g) for p in predicted)
        for p in predicted:
            found_n[p.kind] += 1
            tp_found[p.kind] += any(g.kind == p.kind and overlaps(p, g) for g in gold)
    out: dict[str, object] = {}
    for kind in KINDS:
        out[kind] = {
            "labelled": gold_n[kind],
            "found": found_n[kind],
            "recall": round(tp_gold[kind] / gold_n[kind], 3) if gold_n[kind] else None,
            "precision": round(tp_found[kind] / found_n[kind], 3) if found_n[kind] else None,
            "masked_recall": round(masked[kind] / gold_n[kind], 3) if gold_n[kind] else None,
        }
    total_gold, total_found = sum(gold_n.values()), sum(found_n.values())
    out["all"] = {
        "recall": round(sum(tp_gold.values()) / total_gold, 3),
        "precision": round(sum(tp_found.values()) / max(1, total_found), 3),
        "masked_recall": round(sum(masked.values()) / total_gold, 3),
    }
    return out


def main() -> None:
    items = [parse(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [t for t, _ in items]
    started = time.process_time()
    detect("Bonjour M. Dupont")  # loads the model once, outside the timings
    load_seconds = time.process_time() - started
    started = time.process_time()
    single = [detect(t) for t in texts]
    single_ms = (time.process_time() - started) * 1000 / len(texts)
    started = time.process_time()
    batched = detect_many(texts)
    batch_ms = (time.process_time() - started) * 1000 / len(texts)
    assert single == batched
    started = time.process_time()
    rules = detect_many(texts, names=False)
    rules_ms = (time.process_time() - started) * 1000 / len(texts)
    health = sum(1 for spans in batched if any(s.kind in FLAGS for s in spans))
    held = [parse(line) for line in HELD_OUT.read_text(encoding="utf-8").splitlines() if line]
    print(
        json.dumps(
            {
                "messages": len(items),
                "labelled_spans": sum(len(g) for _, g in items),
                "detector": score(items, batched),
                "baseline_rules_only": score(items, rules),
                "held_out": {
                    "messages": len(held),
                    "detector": score(held, detect_many([t for t, _ in held])),
                    "baseline_rules_only": score(
                        held, detect_many([t for t, _ in held], names=False)
                    ),
                },
                "cpu_ms_per_message": {
                    "one_at_a_time": round(single_ms, 2),
                    "batched": round(batch_ms, 2),
                    "rules_only": round(rules_ms, 2),
                },
                "model_load_cpu_seconds": round(load_seconds, 1),
                "messages_flagged_health": health,
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
