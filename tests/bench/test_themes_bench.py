"""The command line of bench/themes.py, as issue 8 specifies it (figures are the bench's job)."""

from __future__ import annotations

import csv
import json
import runpy
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).parents[2] / "bench" / "themes.py"
ROWS = [
    ("Les poubelles débordent encore rue des Lilas", "proprete"),
    ("Des déchets partout au pied de l'immeuble", "proprete"),
    ("Encombrants sur le trottoir depuis une semaine", "proprete"),
    ("Ramassage des ordures trop rare", "proprete"),
    ("Il faudrait un nouveau terrain de foot", "sport"),
    ("Le gymnase est fermé le week-end", "sport"),
    ("Plus de créneaux à la piscine pour les jeunes", "sport"),
    ("Un club de boxe pour les ados du quartier", "sport"),
]


@pytest.fixture(scope="module")
def bench_main() -> Any:
    return runpy.run_path(str(BENCH), run_name="bench_themes")["main"]


def write(path: Path, rows: list[tuple[str, str]]) -> str:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label", "source_id"])
        writer.writerows((text, label, str(i)) for i, (text, label) in enumerate(rows))
    return str(path)


def test_one_json_line_per_shots_and_model_with_the_fields_of_the_issue(
    bench_main: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = write(tmp_path / "train.csv", ROWS)
    assert bench_main(["--train", train, "--shots", "0", "all", "--timing-items", "2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["shots"], line["model"]) for line in lines] == [
        (shots, model) for shots in (0, "all") for model in ("paroles", "keywords", "tfidf-lr")
    ]
    for line in lines:
        assert {"macro_f1", "accuracy", "coverage", "ms_per_item"} <= set(line)
        assert 0 <= line["macro_f1"] <= 1 and 0 <= line["coverage"] <= 1
        assert (line["setting"], line["n_test"], line["folds"]) == ("dev-split-50-50", 4, 1)


def test_folds_score_every_row_once_and_a_test_file_is_used_whole(
    bench_main: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = write(tmp_path / "train.csv", ROWS)
    test = write(tmp_path / "test.csv", ROWS[:3] + ROWS[4:7])
    args = ["--train", train, "--shots", "all", "--models", "keywords", "--timing-items", "1"]
    bench_main([*args, "--folds", "2"])
    bench_main([*args, "--test", test])
    by_fold, by_file = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (by_fold["setting"], by_fold["folds"], by_fold["n_test"]) == ("dev-2-fold", 2, 8)
    assert (by_file["setting"], by_file["folds"], by_file["n_test"]) == ("test-file", 1, 6)


def test_a_test_file_with_languages_needs_no_train_file_and_prints_each_language(
    bench_main: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "multi.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label", "language"])
        writer.writerows(
            [
                ("Les poubelles débordent", "proprete", "fr"),
                ("Çöpler toplanmıyor", "proprete", "tr"),
                ("Spor salonu kapalı", "sport", "tr"),
                ("Il faudrait un terrain de foot", "sport", "fr"),
            ]
        )
    descriptions = tmp_path / "themes.toml"
    descriptions.write_text(
        '[[themes]]\ncode = "proprete"\nname = "Propreté"\ndescription = "Poubelles, déchets"\n'
        '[[themes]]\ncode = "sport"\nname = "Sport"\ndescription = "Gymnase, football"\n',
        encoding="utf-8",
    )
    args = ["--descriptions", str(descriptions), "--test", str(path), "--shots", "0"]
    assert bench_main([*args, "--models", "paroles", "--timing-items", "1"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("language") for line in lines] == [None, "fr", "tr"]
    for line in lines[1:]:
        assert {"top1_accuracy", "coverage", "accuracy"} <= set(line) and line["n_test"] == 2
    with pytest.raises(SystemExit):  # without --train, only descriptions: 0 shots
        bench_main([*args[:-1], "10"])
