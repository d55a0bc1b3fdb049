"""SMS text shaping: stay in GSM-7 and in as few segments as possible.

One character outside the GSM 03.38 alphabet (`ê`, `ç`, `œ`, `’`, `«`) turns a whole SMS into
UCS-2: 70 characters per segment instead of 160, two or three times the price. We swap such
characters for their nearest GSM-7 equivalent, keeping the letters GSM-7 has (`é è à ù É Ç ñ ö ü
¿ ¡`...). The alphabet itself comes from the `gsm0338` codec, not from a table of ours.

Per language (`LANGUAGE_SHAPING`), what a reader of that language accepts in an SMS, as SMS are
commonly written there:
- fr: keeps é è à ù É Ç; ê ë â î ï ô û ç œ → e e a i i o u c oe.
- en: nothing to change.
- es: keeps é ñ ü ¿ ¡ (GSM-7 has them); á í ó ú → a i o u.
- pt: keeps à é; á â ã → a, ç → c, ê → e, í → i, ó ô õ → o, ú → u ("nao", as SMS are written).
- ro: ă â → a, î → i, ș ş → s, ț ţ → t: no Romanian letter is in GSM-7, and Romanian SMS are
  commonly written without diacritics.
- tr: keeps ö ü; ç → c, ğ → g, ı → i, İ → I, ş → s (Turkish SMS without the Turkish letters).
- ar, uk: not shaped — Arabic and Cyrillic letters have no Latin spelling a reader accepts; such
  a message goes as UCS-2 (the catalogue keeps each within two segments, 134 characters).
A text whose letters cannot all be written in GSM-7 is never shaped (its letters would be
dropped): it goes as UCS-2, as written. Where only some lines need UCS-2 (the welcome's last line
lists the languages in their own scripts), those lines go as an SMS of their own when that costs
fewer segments (`sms_messages`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

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

# Letters of each catalogue language outside GSM-7, and the spelling its SMS use (lower case;
# upper case follows). See the module docstring for what each keeps.
LANGUAGE_SHAPING: dict[str, dict[str, str]] = {
    "fr": {
        "ê": "e",
        "ë": "e",
        "â": "a",
        "î": "i",
        "ï": "i",
        "ô": "o",
        "û": "u",
        "ÿ": "y",
        "ç": "c",
        "œ": "oe",
        "æ": "ae",
    },
    "en": {},
    "es": {"á": "a", "í": "i", "ó": "o", "ú": "u"},
    "pt": {
        "á": "a",
        "â": "a",
        "ã": "a",
        "ç": "c",
        "ê": "e",
        "í": "i",
        "ó": "o",
        "ô": "o",
        "õ": "o",
        "ú": "u",
    },
    "ro": {"ă": "a", "â": "a", "î": "i", "ș": "s", "ş": "s", "ț": "t", "ţ": "t"},
    "tr": {"ç": "c", "ğ": "g", "ı": "i", "ş": "s", "â": "a", "î": "i", "û": "u"},
}
NOT_SHAPED = ("ar", "uk")  # UCS-2, within two segments


def _with_upper(table: dict[str, str]) -> dict[str, str]:
    upper = {k.upper(): v.upper() for k, v in table.items() if len(k.upper()) == 1}
    if "ı" in table:
        upper["İ"] = "I"
    return {**upper, **table}


for _table in LANGUAGE_SHAPING.values():
    for _char, _spelling in _with_upper(_table).items():
        _NEAREST.setdefault(_char, _spelling)


@lru_cache(maxsize=4096)
def _char_septets(char: str) -> int:
    """Septets of one character in GSM-7 (2 for `€ [ {`...), 0 if GSM-7 cannot write it.

    The codec is pure Python: asked once per character, not once per text (the engine measures
    every reply it composes)."""
    try:
        return len(char.encode("gsm03.38"))
    except UnicodeEncodeError:
        return 0


def is_gsm7(text: str) -> bool:
    return all(_char_septets(c) for c in text)


@lru_cache(maxsize=4096)
def _gsm_char(char: str) -> str:
    if is_gsm7(char):
        return char
    if char in _NEAREST and is_gsm7(_NEAREST[char]):
        return _NEAREST[char]
    # Other accented letters: drop the accent (`ã` -> `a`) if that lands in GSM-7.
    base = "".join(c for c in unicodedata.normalize("NFD", char) if unicodedata.category(c) != "Mn")
    return base if base and is_gsm7(base) else ""


_GUILLEMETS = re.compile(r"«\s*|\s*»")  # \s covers the non-breaking spaces too


def _lost(char: str) -> bool:
    """A letter (or digit) that shaping would drop: then the text must go as UCS-2."""
    return unicodedata.category(char)[0] in "LN" and not _gsm_char(char)


def shapeable(text: str) -> bool:
    """Whether every letter of `text` has a GSM-7 spelling (emoji and symbols may go)."""
    return is_gsm7(text) or not any(_lost(c) for c in text)


def to_gsm7(text: str) -> str:
    """The same message, in GSM-7 only. Characters with no equivalent (emoji) are dropped.

    French guillemets become straight quotes without their inner spaces: `« Oui »` -> `"Oui"`.
    """
    if is_gsm7(text):
        return text
    return "".join(_gsm_char(c) for c in _GUILLEMETS.sub('"', text))


def septets(text: str) -> int:
    """Length in GSM-7 septets (`€`, `[`, `{`... count twice); UnicodeEncodeError if not GSM-7."""
    if not is_gsm7(text):
        text.encode("gsm03.38")  # raises, naming the character
    return sum(_char_septets(c) for c in text)


def cost(text: str) -> int:
    """Length as the network counts it: septets in GSM-7, UTF-16 code units in UCS-2."""
    return sum(_units(text))


def _units(text: str) -> list[int]:
    """What each character costs: septets in GSM-7, UTF-16 code units in UCS-2."""
    if is_gsm7(text):
        return [_char_septets(c) for c in text]
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
    """The SMS a habitant receives: the text, then choices as `1 Oui 2 Non`, in GSM-7 when every
    letter has a GSM-7 spelling, else as written (UCS-2: Arabic, Ukrainian)."""
    body = text.strip()
    if choices and numbered:
        body = f"{body}\n{compact_choices(choices)}"
    return to_gsm7(body) if shapeable(body) else body


def sms_messages(text: str, choices: tuple[str, ...] = (), numbered: bool = True) -> list[str]:
    """The SMS actually sent for one reply: usually one; two when the lines needing UCS-2 cost
    fewer segments on their own (a French welcome in GSM-7, then `LANGUE : العربية...`)."""
    whole = render_sms(text, choices, numbered)
    lines = text.strip().split("\n")
    latin = [line for line in lines if shapeable(line)]
    other = [line for line in lines if not shapeable(line)]
    if is_gsm7(whole) or not latin or not other:
        return [whole]
    first = render_sms("\n".join(latin), choices, numbered)
    second = "\n".join(other)
    if is_gsm7(first) and segments(first) + segments(second) < segments(whole):
        return [first, second]
    return [whole]


def sms_segments(text: str, choices: tuple[str, ...] = (), numbered: bool = True) -> int:
    """What one reply costs, in segments, as `sms_messages` sends it."""
    return sum(segments(m) for m in sms_messages(text, choices, numbered))


UCS2_BUDGET = 2  # segments: 134 UCS-2 characters


@lru_cache(maxsize=2048)  # the same questions and retries, in a few languages, all day long
def within_budget(text: str, choices: tuple[str, ...] = (), numbered: bool = True) -> bool:
    """One segment when the reply can go in GSM-7; two (134 characters) when it needs UCS-2."""
    messages = sms_messages(text, choices, numbered)
    if len(messages) == 1 and not is_gsm7(messages[0]):
        return segments(messages[0]) <= UCS2_BUDGET
    return all(segments(m) == 1 for m in messages)


def split_sms(
    text: str, choices: tuple[str, ...] = (), numbered: bool = True, *, limit: int
) -> list[str]:
    """`render_sms()` cut into messages of at most `limit` septets each.

    Cuts fall between words, never inside one, and never inside an offer such as `2 Non`: the
    choices stay together on the last message when they fit there, and a choice always keeps its
    number. Only a single word longer than `limit` (a link) has to be cut.
    """
    messages = sms_messages(text, choices, numbered)
    if len(messages) > 1:
        return [part for message in messages for part in split_sms(message, limit=limit)]
    whole = messages[0]
    if cost(whole) <= limit:
        return [whole]
    shape = to_gsm7 if is_gsm7(whole) else str
    parts = _pack(re.split(r"(\s+)", shape(text.strip())), limit)
    if choices and numbered:
        offers = [shape(f"{n} {label.strip()}") for n, label in enumerate(choices, 1)]
        line = " ".join(offers)
        if parts and cost(parts[-1]) + 1 + cost(line) <= limit:
            parts[-1] = f"{parts[-1]}\n{line}"
        else:
            tokens = [t for offer in offers for t in (*_offer_tokens(offer, limit), " ")]
            parts.extend(_pack(tokens[:-1], limit))
    return [p for p in parts if p]


def _offer_tokens(offer: str, limit: int) -> list[str]:
    """An offer is one word for packing; if even that is too long, its number stays glued."""
    if cost(offer) <= limit:
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
        if cost(current + separator + token) <= limit:
            current += separator + token
            continue
        if current:
            parts.append(current)
        while cost(token) > limit:  # a word longer than a message: no choice but to cut
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
        used += cost(char)
        if used > limit:
            return index
    return len(text)
