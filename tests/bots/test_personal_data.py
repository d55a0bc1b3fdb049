"""The personal-data detector: each kind, the check digits, the team's marks, health flags."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODES_FOR_NON_GEO_REGIONS, SUPPORTED_REGIONS

from bots.personal_data import (
    PHONE_MIN_DIGITS,
    Marks,
    Span,
    detect,
    detect_many,
    mask,
    normalise_phrase,
)


def kinds(text: str, marks: Marks | None = None) -> list[tuple[str, str]]:
    return [(s.kind, s.text(text)) for s in detect(text, marks or Marks())]


@pytest.mark.parametrize(
    "number",
    [
        "06 11 22 33 44",
        "0611223344",
        "06.11.22.33.44",
        "06-11-22-33-44",
        "+33 6 11 22 33 44",
        "+33611223344",
        "0033 6 11 22 33 44",
        "01 43 22 11 00",
        "+212 6 61 23 45 67",
        "+44 7911 123456",
        "07 00 42 6675",  # unallocated range and odd grouping: masked all the same
    ],
)
def test_phone_numbers_in_any_format(number: str) -> None:
    text = f"appelez moi au {number} svp"
    assert kinds(text) == [("phone", number)]
    assert mask(text, detect(text)) == "appelez moi au [téléphone] svp"


def test_no_phone_number_is_shorter_than_the_bound_the_matcher_is_skipped_under() -> None:
    """A text with fewer than `PHONE_MIN_DIGITS` digits skips the phone matcher: no region's
    number has fewer (its country code and its shortest national number; a number written
    without "+" is French). The shortest ones are still found."""
    metadata = [PhoneMetadata.metadata_for_region(r) for r in SUPPORTED_REGIONS] + [
        PhoneMetadata.metadata_for_nongeo_region(c) for c in COUNTRY_CODES_FOR_NON_GEO_REGIONS
    ]
    shortest = min(
        len(str(m.country_code)) + min(m.general_desc.possible_length) for m in metadata if m
    )
    assert shortest >= PHONE_MIN_DIGITS
    assert kinds("appelez le +43 1112 merci") == [("phone", "+43 1112")]  # six digits


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"0123456789+ -.()/", "٠", "٦", "６", "00", "+33", "+43", "poste", "a"]),
        max_size=14,
    ).map("".join)
)
def test_the_phone_matcher_finds_nothing_in_a_text_with_fewer_digits(text: str) -> None:
    if sum(c.isdecimal() for c in text) < PHONE_MIN_DIGITS:
        assert list(phonenumbers.PhoneNumberMatcher(text, "FR")) == []


def test_a_nir_needs_its_key_and_an_iban_its_check_digits() -> None:
    assert kinds("sécu 1 85 05 78 006 084 91 merci") == [("nir", "1 85 05 78 006 084 91")]
    assert kinds("sécu 185057800608491") == [("nir", "185057800608491")]
    assert ("nir", "1 85 05 78 006 084 92") not in kinds("sécu 1 85 05 78 006 084 92")
    iban = "FR76 3000 6000 0112 3456 7890 189"
    assert kinds(f"mon rib {iban} et voila") == [("iban", iban)]
    assert not [k for k, _ in kinds("mon rib FR76 3000 6000 0112 3456 7890 188") if k == "iban"]


def test_emails_and_plates() -> None:
    assert kinds("écrivez à nadia.b93@gmail.com") == [("email", "nadia.b93@gmail.com")]
    assert kinds("la voiture GH-456-JK brûle") == [("plate", "GH-456-JK")]
    assert kinds("la voiture gh 456 jk brûle") == [("plate", "gh 456 jk")]
    assert kinds("la 1234 AB 93 est garée") == [("plate", "1234 AB 93")]
    assert kinds("au bâtiment 4 du 60 boulevard Anatole France") == [
        ("address", "bâtiment 4"),
        ("address", "60 boulevard Anatole France"),
    ]


def test_addresses_and_flats_but_not_every_street_word() -> None:
    text = "jhabite 12 rue des Lilas bât. C, 3e étage, appt 41, ya des cafards"
    assert kinds(text) == [
        ("address", "12 rue des Lilas"),
        ("address", "bât. C"),
        ("address", "3e étage"),
        ("address", "appt 41"),
    ]
    assert mask(text, detect(text)) == (
        "jhabite [adresse] [adresse], [adresse], [adresse], ya des cafards"
    )
    assert kinds("Le banc du square est cassé") == []
    assert kinds("une voiture sur la place handicapé") == [("health", "handicapé")]
    assert kinds("des cours de français pour les mamans") == []


def test_names_by_rule_in_lowercase_sms_and_by_the_recogniser() -> None:
    assert kinds("mon voisin M. Dupont fait du bruit") == [("name", "Dupont")]
    assert kinds("mme haddad du bat C est tombée") == [("name", "haddad"), ("address", "bat C")]
    assert kinds("la famille Traoré a des souris") == [("name", "Traoré")]
    assert kinds("slt c Fatou, jpeux aider") == [("name", "Fatou")]
    assert kinds("chez moi il fait froid") == []
    recognised = kinds("Hier soir Karim Benali criait dans l'escalier")
    assert recognised == [("name", "Karim Benali")]
    assert kinds("Merci Madame la Maire pour le nouveau parc") == []


def test_health_words_are_flagged_never_masked() -> None:
    text = "ma mère est malade et le médecin ne vient pas"
    spans = detect(text)
    assert {s.kind for s in spans} == {"health"}
    assert mask(text, spans) == text


def test_the_teams_marks_mask_everywhere_or_never() -> None:
    marks = Marks(masked=(("le grand Momo", "name"),), kept=frozenset({"dupont"}))
    text = "le grand momo et M. Dupont"
    assert mask(text, detect(text, marks)) == "[nom] et M. Dupont"
    assert normalise_phrase("  Le  GRAND momo ") == "le grand momo"


def test_batches_and_one_at_a_time_agree_and_mask_ignores_bad_spans() -> None:
    texts = ["M. Dupont 06 11 22 33 44", "", "rien à signaler", "Karim Benali est là"]
    assert detect_many(texts) == [detect(t) for t in texts]
    assert mask("abc", [Span(1, 9, "name"), (0, 1, "unknown")]) == "abc"
    assert mask("abcdef", [(0, 2, "name"), (1, 3, "phone")]) == "[nom]cdef"
