"""SMS shaping: GSM-7 only, segments counted as the network counts them, cuts between words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bots.sms_text import (
    compact_choices,
    is_gsm7,
    render_sms,
    segments,
    septets,
    split_sms,
    to_gsm7,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Êtes-vous d’accord ?", "Etes-vous d'accord ?"),
        ("Ça, c’est « génial »…", 'Ça, c\'est "génial"...'),
        (
            "Cœur, garçon, fête, île, hôte, flûte, Noël",
            "Coeur, garcon, fete, ile, hote, flute, Noel",
        ),
        ("à\u00a0bientôt\u202f!", "à bientot !"),
        ("Merci 👍", "Merci "),
        ("é è à ù É Ç ì ò ñ Ñ ü Ü ö Ä ß", "é è à ù É Ç ì ò ñ Ñ ü Ü ö Ä ß"),  # GSM-7 has these
    ],
)
def test_text_is_shaped_to_its_nearest_gsm7_spelling(text: str, expected: str) -> None:
    assert to_gsm7(text) == expected
    assert is_gsm7(to_gsm7(text))


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # escaped: 2 septets each
        ("€" * 81, 2),
        ("a" * 152 + "€" + "a" * 10, 2),  # the escape pair is not split between parts
        ("ê" * 70, 1),  # UCS-2
        ("ê" * 71, 2),
        ("ê" * 134, 2),
        ("ê" * 135, 3),
        ("😀" * 35, 1),  # surrogate pairs: 2 units each
        ("😀" * 36, 2),
    ],
)
def test_segments_are_counted_as_the_network_counts_them(text: str, count: int) -> None:
    assert segments(text) == count


def test_one_character_outside_gsm7_would_double_the_price() -> None:
    text = "Bonjour ! " * 9 + "Ê"
    assert segments(text) == 2
    assert segments(to_gsm7(text)) == 1


def test_choices_are_offered_compactly_on_their_own_line() -> None:
    assert compact_choices(("Oui", "Non")) == "1 Oui 2 Non"
    assert render_sms("D’accord ?", ("Oui", "Non")) == "D'accord ?\n1 Oui 2 Non"
    assert render_sms("Note de 1 à 5", ("1", "2", "3", "4", "5"), numbered=False) == "Note de 1 à 5"


def test_a_message_that_fits_is_never_split() -> None:
    assert split_sms("Bonjour", ("Oui", "Non"), limit=160) == ["Bonjour\n1 Oui 2 Non"]


def test_choices_stay_together_and_keep_their_numbers() -> None:
    parts = split_sms("Un deux trois quatre cinq six", ("Une affiche", "Dans la rue"), limit=24)
    assert parts == ["Un deux trois quatre", "cinq six", "1 Une affiche", "2 Dans la rue"]
    parts = split_sms("Un deux trois", ("Oui", "Non"), limit=25)
    assert parts == ["Un deux trois\n1 Oui 2 Non"]
    parts = split_sms("Un deux trois quatre", ("Oui", "Non"), limit=25)
    assert parts == ["Un deux trois quatre", "1 Oui 2 Non"]


def test_only_a_word_longer_than_a_message_is_cut() -> None:
    link = "https://example.org/" + "x" * 30
    assert split_sms(f"voir {link}", limit=20) == ["voir", link[:20], link[20:40], link[40:]]


words = st.text(alphabet="abcdéèàùxyzÇ€", min_size=1, max_size=12)
labels = st.lists(words, min_size=1, max_size=3).map(" ".join)


@given(
    st.lists(words, min_size=1, max_size=60),
    st.lists(labels, max_size=6),
    st.integers(min_value=30, max_value=200),
)
def test_split_never_cuts_a_word_nor_an_offer(
    text_words: list[str], choices: list[str], limit: int
) -> None:
    text = " ".join(text_words)
    parts = split_sms(text, tuple(choices), limit=limit)
    assert all(septets(p) <= limit for p in parts)
    # Every word arrives whole and in order (words here are at most 24 septets: shorter).
    tokens = " ".join(parts).split()
    offers = [f"{n} {label}" for n, label in enumerate(choices, 1)]
    text_tokens = tokens[: len(tokens) - sum(len(o.split()) for o in offers)]
    assert text_tokens == text.split()
    # Every offer keeps its number next to its label, in one part when it can fit in one.
    for offer in offers:
        if septets(offer) <= limit:
            assert any(offer in p for p in parts), (offer, parts)
        else:
            number, first = offer.split()[:2]
            assert any(f"{number} {first}" in p for p in parts)
