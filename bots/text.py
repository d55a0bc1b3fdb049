"""Forgiving text normalisation: case, accents, punctuation, keycap and skin-tone emoji."""

from __future__ import annotations

import re
import unicodedata

_KEYCAP = re.compile(r"([0-9#*])\ufe0f?\u20e3")
_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f\u200d]")
_NOT_WORD = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Arabic-Indic (٠-٩) and Persian (۰-۹) digits, as Arabic keyboards type them: NFKC keeps them.
DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)


def clean(text: str) -> str:
    """Drop control characters and surrounding space; keep everything a habitant meant."""
    return _CONTROL.sub("", text).strip()


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def normalise(text: str) -> str:
    """`  Ça VA ?! ` -> `ca va`; `2️⃣` -> `2`; `٣` -> `3`. Emoji other than keycaps are dropped."""
    text = _KEYCAP.sub(r"\1", text.translate(DIGITS))
    text = unicodedata.normalize("NFKC", text).casefold()
    text = strip_accents(text).replace("'", " ").replace("’", " ")
    text = _NOT_WORD.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def emoji_core(text: str) -> str:
    """The emoji of a text without skin tones or variation selectors, spaces removed."""
    return _SKIN_TONES.sub("", text).replace(" ", "")
