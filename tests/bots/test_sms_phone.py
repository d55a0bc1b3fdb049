"""Phone numbers: however a French number is written, it is one participant."""

from __future__ import annotations

import pytest

from bots.phone import InvalidPhone, masked, sender_address, to_e164


@pytest.mark.parametrize(
    "written",
    ["06 12 34 56 78", "0612345678", "06.12.34.56.78", "+33 6 12 34 56 78", "0033 6 12 34 56 78"],
)
def test_french_numbers_written_any_way_are_one_e164_number(written: str) -> None:
    assert to_e164(written) == "+33612345678"


def test_foreign_numbers_keep_their_country() -> None:
    assert to_e164("+44 7700 900123") == "+447700900123"
    assert to_e164("+1 (415) 555-0100") == "+14155550100"


@pytest.mark.parametrize("written", ["", "bonjour", "12", "+33 6 12 34 56 78 90 12"])
def test_what_cannot_be_a_number_is_refused(written: str) -> None:
    with pytest.raises(InvalidPhone):
        to_e164(written)


def test_short_codes_and_names_are_kept_as_senders() -> None:
    assert sender_address("0033612345678") == "+33612345678"
    assert sender_address(" 36179 ") == "36179"
    assert sender_address("MAIRIE") == "MAIRIE"


def test_numbers_are_shown_masked() -> None:
    assert masked("+33612345678") == "+33 •• •• •• •• 78"
    assert "1234" not in masked("06 12 34 56 78")
    assert masked("12") == "••••"
