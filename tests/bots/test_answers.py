"""The answer parsers: numbers, yes/no, choices, several choices, scales, however typed."""

from __future__ import annotations

from difflib import SequenceMatcher

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bots import answers
from bots.prompts import default_catalog
from bots.text import clean, emoji_core, normalise

CATALOG = default_catalog()
MOMENTS = [
    ["Après l'école", "After school"],
    ["Le mercredi"],
    ["Le samedi"],
    ["Pendant les vacances"],
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Ça VA ?! ", "ca va"),
        ("2️⃣", "2"),
        ("L’école", "l ecole"),
        ("ARRÊT", "arret"),
        ("👍", ""),
        ("ｏｕｉ", "oui"),  # full-width letters from some keyboards
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_clean_drops_control_characters_only() -> None:
    assert clean("\x00 bonjour\x07 é \n") == "bonjour é"
    assert emoji_core("👍🏽 👍") == "👍👍"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("2", 2),
        ("2.", 2),
        (" 2 ) ", 2),
        ("n°2", 2),
        ("#3", 3),
        ("deux", 2),
        ("Deuxième", 2),
        ("two", 2),
        ("3️⃣", 3),
        ("🔟", 10),
        ("4/5", 4),
        ("douze", None),
        ("2 3", None),
        ("", None),
    ],
)
def test_parse_number(text: str, number: int | None) -> None:
    assert answers.parse_number(text, CATALOG) == number


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("oui", True),
        ("OUAIS", True),
        ("ouii", True),
        ("ok", True),
        ("Oui, bien sûr", True),
        ("👍", True),
        ("👍🏾👍🏾", True),
        ("✅", True),
        ("yes", True),
        ("1", True),
        ("non", False),
        ("nan", False),
        ("Non merci", False),
        ("👎", False),
        ("❌", False),
        ("2", False),
        ("no", False),
        ("oui non", None),
        ("peut-être", None),
        ("👍👎", None),
        ("3", None),
        ("", None),
    ],
)
def test_parse_yes_no(text: str, value: bool | None) -> None:
    assert answers.parse_yes_no(text, CATALOG) is value


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("1", 0),
        ("quatre", 3),
        ("le samedi", 2),
        ("samedi", 2),
        ("SAMEDI", 2),
        ("le samdi", 2),
        ("pendant les vacance", 3),
        ("after school", 0),
        ("apres l ecole", 0),
        ("le samedi je crois", 2),
        ("5", None),
        ("0", None),
        ("le", None),
        ("dimanche", None),
        ("", None),
    ],
)
def test_parse_choice(text: str, index: int | None) -> None:
    assert answers.parse_choice(text, MOMENTS, CATALOG) == index


def test_two_equally_good_labels_are_not_a_guess() -> None:
    labels = [["Le samedi matin"], ["Le samedi soir"]]
    assert answers.parse_choice("samedi", labels, CATALOG) is None
    assert answers.parse_choice("le samedi soir", labels, CATALOG) == 1


@pytest.mark.parametrize(
    ("text", "indexes"),
    [
        ("1 et 3", [0, 2]),
        ("1,3", [0, 2]),
        ("1, 3.", [0, 2]),
        ("3;1", [0, 2]),
        ("13", [0, 2]),
        ("1 puis 2 et 4", [0, 1, 3]),
        ("un et trois", [0, 2]),
        ("le mercredi, le samedi", [1, 2]),
        ("2 2", [1]),
        ("1 et 9", None),
        ("bof", None),
        ("", None),
    ],
)
def test_parse_choices(text: str, indexes: list[int] | None) -> None:
    assert answers.parse_choices(text, MOMENTS, CATALOG) == indexes


@pytest.mark.parametrize(
    ("text", "value"),
    [("4", 4), ("4/5", 4), ("⭐⭐", 2), ("🌟🌟🌟", 3), ("★★★★★", 5), ("cinq", 5), ("6", None)],
)
def test_parse_scale(text: str, value: int | None) -> None:
    assert answers.parse_scale(text, CATALOG) == value


def test_scale_refuses_too_many_stars() -> None:
    assert answers.parse_scale("⭐" * 6, CATALOG) is None


@settings(max_examples=500, deadline=None)
@given(
    a=st.text(alphabet="abcdeéilmnorstu '-", min_size=1, max_size=16),
    b=st.text(alphabet="abcdeéilmnorstu '-", min_size=1, max_size=16),
)
def test_similar_is_difflibs_ratio_past_its_quick_bounds(a: str, b: str) -> None:
    """The bounds are computed without a matcher; the outcome is difflib's exactly."""
    matcher = SequenceMatcher(None, a, b)
    quick = matcher.real_quick_ratio() >= answers.FUZZY_RATIO
    quick = quick and matcher.quick_ratio() >= answers.FUZZY_RATIO
    assert answers._similar(a, b) == (matcher.ratio() if quick else 0.0)
