"""SMS text shaping: stay in GSM-7 and in as few segments as possible.

One character outside the GSM 03.38 alphabet (`ê`, `ç`, `œ`, `’`, `«`) turns a whole SMS into
UCS-2: 70 characters per segment instead of 160, two or three times the price. We swap such
characters for their nearest GSM-7 equivalent, keeping the French letters GSM-7 has
(`é è à ù É Ç`...). The alphabet itself comes from the `gsm0338` codec, not from a table of ours.
"""

from __future__ import annotations

import unicodedata

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM_SINGLE = 160
GSM_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67

# Nearest GSM-7 spelling of what French typography and phones commonly produce.
_NEAREST = {
    "’": "'",
    "‘": "'",
    "‚": ",",
    "“": '"',
    "”": '"',
    "„": '"',
    "«": '"',
    "»": '"',
    "…": "...",
    "–": "-",
    "—": "-",
    "‐": "-",
    "‑": "-",
    "•": "-",
    "·": ".",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\u2007": " ",
    "\u200b": "",
    "œ": "oe",
    "Œ": "OE",
    "æ": "ae",
    "ç": "c",
    "ê": "e",
    "ë": "e",
    "â": "a",
    "î": "i",
    "ï": "i",
    "ô": "o",
    "û": "u",
    "ÿ": "y",
    "È": "E",
    "Ê": "E",
    "Ë": "E",
    "À": "A",
    "Â": "A",
    "Î": "I",
    "Ï": "I",
    "Ô": "O",
    "Û": "U",
    "Ù": "U",
    "°": "o",
    "º": "o",
    "ª": "a",
    "½": "1/2",
    "×": "x",
    "÷": "/",
}


def is_gsm7(text: str) -> bool:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def _gsm_char(char: str) -> str:
    if is_gsm7(char):
        return char
    if char in _NEAREST and is_gsm7(_NEAREST[char]):
        return _NEAREST[char]
    # Other accented letters: drop the accent (`ã` -> `a`) if that lands in GSM-7.
    base = "".join(c for c in unicodedata.normalize("NFD", char) if unicodedata.category(c) != "Mn")
    return base if base and is_gsm7(base) else ""


def to_gsm7(text: str) -> str:
    """The same message, in GSM-7 only. Characters with no equivalent (emoji) are dropped."""
    if is_gsm7(text):
        return text
    return "".join(_gsm_char(c) for c in text)


def septets(text: str) -> int:
    """Length in GSM-7 septets (`€`, `[`, `{`... count twice)."""
    return len(text.encode("gsm03.38"))


def segments(text: str) -> int:
    """How many SMS segments a text costs, as the network counts them."""
    if not text:
        return 1
    if is_gsm7(text):
        length = septets(text)
        return 1 if length <= GSM_SINGLE else -(-length // GSM_PART)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= UCS2_SINGLE else -(-units // UCS2_PART)


def render_sms(text: str, choices: tuple[str, ...] = (), numbered: bool = True) -> str:
    """The SMS a habitant receives: the text, then choices as `1 Oui 2 Non`, in GSM-7."""
    body = text.strip()
    if choices and numbered:
        body = f"{body}\n" + " ".join(f"{n} {label}" for n, label in enumerate(choices, 1))
    return to_gsm7(body)
