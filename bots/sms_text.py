"""SMS text shaping: stay in GSM-7 and in as few segments as possible.

One character outside the GSM 03.38 alphabet (`ê`, `ç`, `œ`, `’`, `«`) turns a whole SMS into
UCS-2: 70 characters per segment instead of 160, two or three times the price. We swap such
characters for their nearest GSM-7 equivalent, keeping the French letters GSM-7 has
(`é è à ù É Ç`...). The alphabet itself comes from the `gsm0338` codec, not from a table of ours.
"""

from __future__ import annotations

import re
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


_GUILLEMETS = re.compile(r"«\s*|\s*»")  # \s covers the non-breaking spaces too


def to_gsm7(text: str) -> str:
    """The same message, in GSM-7 only. Characters with no equivalent (emoji) are dropped.

    French guillemets become straight quotes without their inner spaces: `« Oui »` -> `"Oui"`.
    """
    if is_gsm7(text):
        return text
    return "".join(_gsm_char(c) for c in _GUILLEMETS.sub('"', text))


def septets(text: str) -> int:
    """Length in GSM-7 septets (`€`, `[`, `{`... count twice)."""
    return len(text.encode("gsm03.38"))


def _units(text: str) -> list[int]:
    """What each character costs: septets in GSM-7, UTF-16 code units in UCS-2."""
    if is_gsm7(text):
        return [septets(c) for c in text]
    return [len(c.encode("utf-16-le")) // 2 for c in text]


def segments(text: str) -> int:
    """How many SMS segments a text costs, as the network counts them.

    A long message travels in parts of 153 septets (67 UCS-2 units); an escaped GSM character
    (`€`) or a surrogate pair (emoji) is never split between two parts, so we count greedily.
    """
    units = _units(text)
    single, part = (GSM_SINGLE, GSM_PART) if is_gsm7(text) else (UCS2_SINGLE, UCS2_PART)
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for cost in units:
        if used + cost > part:
            count, used = count + 1, 0
        used += cost
    return count


def compact_choices(choices: tuple[str, ...]) -> str:
    """`1 Oui 2 Non`: the cheapest way to offer choices that a number answers."""
    return " ".join(f"{n} {label.strip()}" for n, label in enumerate(choices, 1))


def render_sms(text: str, choices: tuple[str, ...] = (), numbered: bool = True) -> str:
    """The SMS a habitant receives: the text, then choices as `1 Oui 2 Non`, in GSM-7."""
    body = text.strip()
    if choices and numbered:
        body = f"{body}\n{compact_choices(choices)}"
    return to_gsm7(body)


def split_sms(
    text: str, choices: tuple[str, ...] = (), numbered: bool = True, *, limit: int
) -> list[str]:
    """`render_sms()` cut into messages of at most `limit` septets each.

    Cuts fall between words, never inside one, and never inside an offer such as `2 Non`: the
    choices stay together on the last message when they fit there, and a choice always keeps its
    number. Only a single word longer than `limit` (a link) has to be cut.
    """
    whole = render_sms(text, choices, numbered)
    if septets(whole) <= limit:
        return [whole]
    parts = _pack(re.split(r"(\s+)", to_gsm7(text.strip())), limit)
    if choices and numbered:
        offers = [to_gsm7(f"{n} {label.strip()}") for n, label in enumerate(choices, 1)]
        line = " ".join(offers)
        if parts and septets(parts[-1]) + 1 + septets(line) <= limit:
            parts[-1] = f"{parts[-1]}\n{line}"
        else:
            tokens = [t for offer in offers for t in (*_offer_tokens(offer, limit), " ")]
            parts.extend(_pack(tokens[:-1], limit))
    return [p for p in parts if p]


def _offer_tokens(offer: str, limit: int) -> list[str]:
    """An offer is one word for packing; if even that is too long, its number stays glued."""
    if septets(offer) <= limit:
        return [offer]
    number, first, *rest = re.split(r"(\s+)", offer)[::2] + [""]
    return [t for word in (f"{number} {first}", *rest) if word for t in (word, " ")][:-1]


def _pack(tokens: list[str], limit: int) -> list[str]:
    """Greedy packing of words (even indexes) and their separators (odd ones)."""
    parts: list[str] = []
    current = ""
    for index, token in enumerate(tokens):
        if index % 2:  # a separator: kept only inside a part
            continue
        separator = tokens[index - 1] if index and current else ""
        if septets(current + separator + token) <= limit:
            current += separator + token
            continue
        if current:
            parts.append(current)
        while septets(token) > limit:  # a word longer than a message: no choice but to cut
            cut = _prefix_within(token, limit)
            parts.append(token[:cut])
            token = token[cut:]
        current = token
    if current:
        parts.append(current)
    return parts


def _prefix_within(text: str, limit: int) -> int:
    used = 0
    for index, char in enumerate(text):
        used += septets(char)
        if used > limit:
            return index
    return len(text)
