"""Benchmark of the thème suggestions on real labelled corpora.

    python bench/themes.py --train corpus/paris_bp_dev.csv \\
        --descriptions bench/descriptions/paris_bp.toml --shots 0 10 50 all

CSV files have columns ``text,label`` (more columns are ignored); labels are the thèmes. Without
``--test`` the training file is split 50/50, stratified, with a fixed seed, so the development
files alone give honest figures; ``--folds K`` uses K stratified folds of it instead (each fold
scored by models whose pool is the other K-1 folds: closer to training on a whole file); with
``--test`` the whole training file is the pool of labels.
``--shots N`` samples N labelled examples per thème from that pool (``all``: every one, ``0``:
descriptions only); for a number of shots the run is repeated over ``--seeds`` samplings and the
figures are averaged.

One JSON line is printed per (shots, model), for three models measured in the same run:

- ``paroles``: ``web.suggestions.Suggester`` (``paroles-words``, on request: the same without
  the French word vectors);
- ``keywords``: keywords and name of each thème from the description file, most matches wins,
  no match abstains (forced: the most frequent label of the labelled examples);
- ``tfidf-lr``: TF-IDF word (1-2) + character (2-5) n-grams and a logistic regression trained on
  the sampled examples only (at 0 shots: one document per thème made of its description).

Fields: ``macro_f1`` and ``accuracy`` when every item gets its top thème (comparable with the
usual figures); ``coverage`` the share of items whose top probability reaches the threshold;
``accuracy_covered`` accuracy on those; ``macro_f1_abstain`` macro-F1 when abstentions count as
misses; ``ms_per_item`` wall time of one ``suggest`` call per item (single calls, as in the
inbox); ``train_s`` training time; ``f1_by_label`` the F1 of each thème when every item gets its
top thème (Paris has thèmes with a handful of rows: look at them, judge on the larger ones).
Figures are printed, never asserted.

Multilingual: when the test CSV has a ``language`` column (ISO 639-1: ``fr``, ``ar``, ``tr``...),
each text's language is given to the model as the stored detected language would be, and after
the line of each (shots, model) one line per language follows, with ``top1_accuracy`` (the first
thème of the ranking), ``coverage`` and ``accuracy`` (on what is suggested). Without ``--train``
(``--shots 0`` only) the model learns from the descriptions alone::

    python bench/themes.py --descriptions prompts/themes.toml \\
        --test bench/multilingual_dev.csv --shots 0

``paroles-french`` is the model without the multilingual sentence embeddings (what Paroles did
before them), to compare in the same run: ``--models paroles paroles-french``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline, make_union

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from web.suggestions import DEFAULT_THRESHOLD, Example, Suggester, ThemeSpec  # noqa: E402
from web.suggestions.taxonomy import load_themes  # noqa: E402
from web.suggestions.text import keys  # noqa: E402

Rows = list[tuple[str, str]]
Languages = Sequence[str | None] | None
# A trained model: texts (and their languages, when known) -> (top label, its probability) per
# text, and one-text timing function.
Predictions = list[tuple[str | None, float]]
Predict = Callable[[Sequence[str], Languages], Predictions]


def read_rows(path: str) -> Rows:
    return [(text, label) for text, label, _ in read_rows_with_languages(path)]


def read_rows_with_languages(path: str) -> list[tuple[str, str, str | None]]:
    """``(text, label, language)`` of each usable row; language ``None`` without the column."""
    with open(path, encoding="utf-8", newline="") as f:
        return [
            (r["text"], r["label"], (r.get("language") or "").strip() or None)
            for r in csv.DictReader(f)
            if r["text"] and r["label"]
        ]


def split(rows: Rows, seed: int) -> tuple[Rows, Rows]:
    """A stratified 50/50 split of ``rows``."""
    labels = [label for _, label in rows]
    train, test = train_test_split(rows, test_size=0.5, stratify=labels, random_state=seed)
    return list(train), list(test)


def folds(rows: Rows, k: int, seed: int) -> list[tuple[Rows, Rows]]:
    """``k`` stratified (pool, test) pairs: each row is scored once."""
    labels = [label for _, label in rows]
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [
        ([rows[i] for i in pool], [rows[i] for i in test])
        for pool, test in splitter.split(rows, labels)
    ]


def sample(rows: Rows, shots: int | None, seed: int) -> Rows:
    """``shots`` rows per label (all rows of a label that has fewer), in a seeded order."""
    if shots is None:
        return list(rows)
    by_label: dict[str, Rows] = {}
    for row in rows:
        by_label.setdefault(row[1], []).append(row)
    rng = random.Random(seed)
    out: Rows = []
    for label in sorted(by_label):
        group = by_label[label]
        out.extend(rng.sample(group, min(shots, len(group))))
    return out


# -- the three models ------------------------------------------------------------------------


def train_paroles(
    themes: Sequence[ThemeSpec],
    examples: Rows,
    *,
    word_vectors: bool = True,
    sentence_embeddings: bool = True,
) -> tuple[Predict, Callable]:
    model = Suggester.train(
        themes,
        [Example(t, label) for t, label in examples],
        word_vectors=word_vectors,
        sentence_embeddings=sentence_embeddings,
    )

    def predict(texts: Sequence[str], languages: Languages = None) -> Predictions:
        return [(s.ranking[0][0], s.confidence) for s in model.suggest_many(texts, languages)]

    return predict, model.suggest


def train_keywords(themes: Sequence[ThemeSpec], examples: Rows) -> tuple[Predict, Callable]:
    patterns = {t.code: [tuple(keys(k)) for k in (*t.keywords, t.name) if keys(k)] for t in themes}
    counts = Counter(label for _, label in examples)
    fallback = counts.most_common(1)[0][0] if counts else themes[0].code

    def one(text: str) -> tuple[str | None, float]:
        present = set(keys(text))
        scores = {
            code: sum(all(k in present for k in p) for p in ps) for code, ps in patterns.items()
        }
        best = max(scores, key=scores.__getitem__)
        if scores[best] == 0:
            return fallback, 0.0
        ties = sum(s == scores[best] for s in scores.values())
        return best, 1.0 / ties

    def predict(texts: Sequence[str], languages: Languages = None) -> Predictions:
        return [one(t) for t in texts]

    return predict, one


def train_tfidf_lr(themes: Sequence[ThemeSpec], examples: Rows) -> tuple[Predict, Callable]:
    if examples:
        texts, labels = [t for t, _ in examples], [label for _, label in examples]
    else:
        texts = [" ".join([t.name, t.description, " ".join(t.keywords)]) for t in themes]
        labels = [t.code for t in themes]
    pipeline = make_pipeline(
        make_union(
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(C=10.0, max_iter=1000),
    )
    pipeline.fit(texts, labels)
    classes = pipeline.classes_

    def predict(batch: Sequence[str], languages: Languages = None) -> Predictions:
        p = pipeline.predict_proba(list(batch))
        best = p.argmax(axis=1)
        return [(classes[k], float(p[i, k])) for i, k in enumerate(best)]

    return predict, lambda text: predict([text])


def train_paroles_words(themes: Sequence[ThemeSpec], examples: Rows) -> tuple[Predict, Callable]:
    return train_paroles(themes, examples, word_vectors=False)


def train_paroles_french(themes: Sequence[ThemeSpec], examples: Rows) -> tuple[Predict, Callable]:
    return train_paroles(themes, examples, sentence_embeddings=False)


MODELS = {
    "paroles": train_paroles,
    "paroles-words": train_paroles_words,
    "paroles-french": train_paroles_french,
    "keywords": train_keywords,
    "tfidf-lr": train_tfidf_lr,
}
DEFAULT_MODELS = ["paroles", "keywords", "tfidf-lr"]


# -- measuring -------------------------------------------------------------------------------


def measure(
    train_fn, themes, examples: Rows, test: Rows, timing_items: int, languages: Languages = None
) -> dict:
    started = time.perf_counter()
    predict, one = train_fn(themes, examples)
    train_s = time.perf_counter() - started
    texts = [t for t, _ in test]
    truth = [label for _, label in test]
    predictions = predict(texts, languages)
    forced = [label for label, _ in predictions]
    covered = [p >= DEFAULT_THRESHOLD for _, p in predictions]
    abstain = [label if c else "(à trier)" for label, c in zip(forced, covered, strict=True)]
    labels = sorted(set(truth))
    right = [f == t for f, t in zip(forced, truth, strict=True)]
    n_covered = sum(covered)
    started = time.perf_counter()
    for text in texts[:timing_items]:
        one(text)
    ms = 1000 * (time.perf_counter() - started) / max(1, min(timing_items, len(texts)))
    return {
        "macro_f1": f1_score(truth, forced, labels=labels, average="macro", zero_division=0),
        "accuracy": sum(right) / len(truth),
        "coverage": n_covered / len(truth),
        "accuracy_covered": (
            sum(r for r, c in zip(right, covered, strict=True) if c) / n_covered
            if n_covered
            else None
        ),
        "macro_f1_abstain": f1_score(
            truth, abstain, labels=labels, average="macro", zero_division=0
        ),
        "ms_per_item": ms,
        "f1_by_label": dict(
            zip(
                labels,
                f1_score(truth, forced, labels=labels, average=None, zero_division=0).tolist(),
                strict=True,
            )
        ),
        "train_s": train_s,
        "n_train": len(examples),
        "by_language": by_language(truth, predictions, languages) if languages else {},
    }


def by_language(
    truth: Sequence[str], predictions: Sequence[tuple[str | None, float]], languages: Languages
) -> dict[str, dict[str, float | None]]:
    """Per language: top-1 accuracy, the share suggested (coverage), accuracy on those."""
    assert languages is not None
    out: dict[str, dict[str, float | None]] = {}
    for language in sorted({lang or "?" for lang in languages}):
        rows = [i for i, lang in enumerate(languages) if (lang or "?") == language]
        right = [predictions[i][0] == truth[i] for i in rows]
        covered = [predictions[i][1] >= DEFAULT_THRESHOLD for i in rows]
        n_covered = sum(covered)
        out[language] = {
            "top1_accuracy": sum(right) / len(rows),
            "coverage": n_covered / len(rows),
            "accuracy": (
                sum(r for r, c in zip(right, covered, strict=True) if c) / n_covered
                if n_covered
                else None
            ),
            "n_test": len(rows),
        }
    return out


def average(runs: list[dict]) -> dict:
    out: dict = {}
    for key in runs[0]:
        if key == "by_language":
            continue
        if isinstance(runs[0][key], dict):
            out[key] = {
                k: round(statistics.fmean(r[key][k] for r in runs), 4) for k in runs[0][key]
            }
            continue
        values = [r[key] for r in runs if r[key] is not None]
        out[key] = round(statistics.fmean(values), 4) if values else None
    if len(runs) > 1:
        out["macro_f1_std"] = round(statistics.pstdev(r["macro_f1"] for r in runs), 4)
    return out


def parse_shots(values: Sequence[str]) -> list[int | None]:
    return [None if v == "all" else int(v) for v in values]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", help="CSV with text,label: the labels' pool (none: 0 shots)")
    parser.add_argument(
        "--test", help="CSV with text,label (and language); default: half of --train"
    )
    parser.add_argument("--shots", nargs="+", default=["0", "10", "50", "all"])
    parser.add_argument("--descriptions", help="TOML [[themes]] whose codes are the labels")
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS, choices=list(MODELS))
    parser.add_argument("--seeds", type=int, default=3, help="samplings per number of shots")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split or folds")
    parser.add_argument("--folds", type=int, help="K-fold over --train instead of 50/50")
    parser.add_argument("--timing-items", type=int, default=300)
    args = parser.parse_args(argv)
    if args.train is None and (args.test is None or args.shots != ["0"]):
        parser.error("without --train, give --test and --shots 0 (descriptions only)")

    rows = read_rows(args.train) if args.train else []
    languages: Languages = None
    if args.test:
        tested = read_rows_with_languages(args.test)
        splits = [(rows, [(text, label) for text, label, _ in tested])]
        if any(language for _, _, language in tested):
            languages = [language for _, _, language in tested]
        setting = "test-file"
    elif args.folds:
        splits = folds(rows, args.folds, args.seed)
        setting = f"dev-{args.folds}-fold"
    else:
        splits = [split(rows, args.seed)]
        setting = "dev-split-50-50"
    labels = sorted({label for pool, test in splits for _, label in pool + test})
    themes: list[ThemeSpec] = list(load_themes(args.descriptions)) if args.descriptions else []
    described = {t.code for t in themes}
    themes += [ThemeSpec(label, label) for label in labels if label not in described]

    corpus = Path(args.train or args.test).stem
    for shots in parse_shots(args.shots):
        seeds = [0] if shots is None or shots == 0 else list(range(args.seeds))
        for name in args.models:
            runs = [
                measure(
                    MODELS[name], themes, sample(pool, shots, s), test, args.timing_items, languages
                )
                for pool, test in splits
                for s in seeds
            ]
            line = {
                "corpus": corpus,
                "setting": setting,
                "shots": "all" if shots is None else shots,
                "model": name,
                **average(runs),
                "seeds": len(seeds),
                "folds": len(splits),
                "n_test": sum(len(test) for _, test in splits),
                "threshold": DEFAULT_THRESHOLD,
            }
            print(json.dumps(line, ensure_ascii=False), flush=True)
            for language, figures in runs[0]["by_language"].items():
                # With a test file there is one split; 0 shots has one seed: nothing to average.
                per = {k: line[k] for k in ("corpus", "setting", "shots", "model")}
                per.update(language=language, **_rounded(figures), threshold=DEFAULT_THRESHOLD)
                print(json.dumps(per, ensure_ascii=False), flush=True)
    return 0


def _rounded(figures: dict[str, float | None]) -> dict[str, float | None]:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()}


if __name__ == "__main__":
    raise SystemExit(main())
