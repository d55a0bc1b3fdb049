"""Understand a habitant's answer to a question, however it is typed.

Accepted for a choice: `2`, `2.`, `n°2`, `deux`, `2️⃣`, the label with typos, accents or case
changed; for yes/no: `oui`, `ouais`, `ok`, `👍`, `non`, `👎`, `1`, `2`; for a scale: `4`, `4/5`,
`⭐⭐⭐⭐`. Every function returns `None` when it does not understand: the engine then asks again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from difflib import SequenceMatcher
from functools import lru_cache

from bots.prompts import Catalog
from bots.text import DIGITS, emoji_core, normalise

YES_EMOJI = frozenset({"👍", "✅", "✔", "👌", "🆗", "🙂", "😀", "😊"})
NO_EMOJI = frozenset({"👎", "❌", "✖", "🙅", "⛔"})
_NUMBER = re.compile(
    r"^(?:n\s*|no\s*|num\s*|numero\s*|#)?(\d{1,2})(?:\s*/\s*\d{1,2})?(?:\s*[.)\]:-])?$"
)
FUZZY_RATIO = 0.78


def parse_number(text: str, catalog: Catalog) -> int | None:
    """A single number, written as digits, a keycap emoji or a word (`deux`, `two`)."""
    if "🔟" in text:
        return 10
    norm = normalise(text)
    match = _NUMBER.match(norm) or _NUMBER.match(text.strip().casefold().translate(DIGITS))
    if match:
        return int(match.group(1))
    return catalog.number_words.get(norm)


def parse_yes_no(text: str, catalog: Catalog) -> bool | None:
    core = emoji_core(text.strip())
    if core and all(c in YES_EMOJI for c in core):
        return True
    if core and all(c in NO_EMOJI for c in core):
        return False
    norm = normalise(text)
    if norm in catalog.yes_words or norm in catalog.yes_alone:
        return True
    if norm in catalog.no_words or norm in catalog.no_alone:
        return False
    first = norm.split(" ", 1)[0] if norm else ""
    if first in catalog.yes_words and first not in catalog.no_words:
        return True if not any(w in catalog.no_words for w in norm.split()) else None
    if first in catalog.no_words:
        return False
    number = parse_number(text, catalog)
    return {1: True, 2: False}.get(number) if number is not None else None


@lru_cache(maxsize=4096)
def _label(label: str) -> str:
    """An option's label, normalised once per process: the same few hundred labels (every
    option in eight languages) are compared with every answer. Only labels are kept, never
    what a habitant wrote."""
    return normalise(label)


@lru_cache(maxsize=4096)
def _letters(label: str) -> Counter[str]:
    """How many times each character is in a label (normalised): `quick_ratio`'s count of b."""
    return Counter(label)


def _similar(a: str, b: str, letters: Counter[str] | None = None) -> float:
    """`SequenceMatcher(None, a, b).ratio()`, or 0 when its cheap upper bounds rule out a fuzzy
    match (every option has a label in each of eight languages: most are far from the answer).

    The bounds are difflib's `real_quick_ratio` and `quick_ratio`, computed here without
    building a matcher (which indexes `b` first): from the lengths, then from the characters in
    common, `letters` being those of `a` when the caller counted them once for many labels.
    """
    length = len(a) + len(b)
    if 2.0 * min(len(a), len(b)) / length < FUZZY_RATIO:
        return 0.0
    common = letters if letters is not None else Counter(a)
    if 2.0 * sum((common & _letters(b)).values()) / length < FUZZY_RATIO:
        return 0.0
    return SequenceMatcher(None, a, b).ratio()


def match_label(text: str, labels: Sequence[Sequence[str]]) -> int | None:
    """Index of the option whose label (in any language) the text names, forgiving typos.

    `labels[i]` holds option i's labels in every language. Returns None if nothing or more
    than one option matches equally well.
    """
    norm = normalise(text)
    if not norm:
        return None
    options = [[_label(label) for label in option if label] for option in labels]
    exact = [i for i, option in enumerate(options) if norm in option]
    if len(exact) == 1:
        return exact[0]
    letters = Counter(norm)
    scores = [
        max((_similar(norm, label, letters) for label in option), default=0.0) for option in options
    ]
    # (`_similar` returns 0 for labels that cannot reach FUZZY_RATIO: the outcome is the same.)
    best = max(scores, default=0.0)
    if best >= FUZZY_RATIO and scores.count(best) == 1:
        return scores.index(best)
    # "l'ecole je crois" names "L'école": a label whose every word appears in the answer.
    words = set(norm.split())
    contained = [
        i for i, option in enumerate(options) if any(set(lab.split()) <= words for lab in option)
    ]
    if len(contained) == 1:
        return contained[0]
    # "logement" names "Logement, propreté": the answer is part of one label only.
    if not any(len(word) >= 4 for word in words):
        return None
    within = [
        i for i, option in enumerate(options) if any(words <= set(lab.split()) for lab in option)
    ]
    return within[0] if len(within) == 1 else None


def parse_choice(text: str, labels: Sequence[Sequence[str]], catalog: Catalog) -> int | None:
    """Index (0-based) of the chosen option, by number or by label.

    None too when the answer is only partly understood: a negation the label does not hold
    ("pas le mercredi" is not "Mercredi"), or words that name another option as well
    ("famile et ecole" is not only "École"). Better asked again than half recorded.
    """
    number = parse_number(text, catalog)
    if number is not None:
        return number - 1 if 1 <= number <= len(labels) else None
    index = match_label(text, labels)
    if index is None:
        return None
    words = set(normalise(text).split())
    own = {w for label in labels[index] for w in _label(label).split()}
    if (words - own) & catalog.not_words:
        return None
    if _names_another(words - own - catalog.and_words, labels, index):
        return None
    return index


def _names_another(words: set[str], labels: Sequence[Sequence[str]], chosen: int) -> bool:
    """Whether one of these words (left over beside the chosen label) names another option."""
    for i, option in enumerate(labels):
        if i == chosen:
            continue
        others = {w for label in option for w in _label(label).split() if len(w) >= 4}
        for word in words:
            if len(word) >= 4 and any(_similar(word, other) >= FUZZY_RATIO for other in others):
                return True
    return False


_SEPARATORS = re.compile(r"[,;/+&]|\s")


def parse_choices(text: str, labels: Sequence[Sequence[str]], catalog: Catalog) -> list[int] | None:
    """Several options: `1 3`, `1,3`, `1 et 3`, `13` (when there are fewer than 10), labels."""
    single = parse_choice(text, labels, catalog)
    if single is not None:
        return [single]
    parts = [p for p in re.split(r"[,;/+&\n]", text) if p.strip()]
    chosen: list[int] = []
    for part in parts:
        index = parse_choice(part, labels, catalog)
        phrases = _split_on_and(part, catalog)
        if index is None and len(phrases) > 1:
            # "famille et ecole", "vie de famille et l'ecole": one option per phrase, or none.
            indexes = [parse_choice(phrase, labels, catalog) for phrase in phrases]
            if all(i is not None for i in indexes):
                chosen.extend(i for i in indexes if i is not None)
                continue
        if index is None:
            words = [
                w for w in _SEPARATORS.split(normalise(part)) if w and w not in catalog.and_words
            ]
            if words and all(w.isdigit() for w in words) and len(words) == 1 and len(labels) < 10:
                words = list(words[0])  # "13" means 1 and 3 when there are fewer than 10 options
            indexes = [parse_choice(w, labels, catalog) for w in words]
            if not words or any(i is None for i in indexes):
                return None
            chosen.extend(i for i in indexes if i is not None)
        else:
            chosen.append(index)
    unique = sorted(set(chosen))
    return unique or None


def _split_on_and(text: str, catalog: Catalog) -> list[str]:
    """The phrases of `text` between its "et" / "and" words."""
    phrases: list[list[str]] = [[]]
    for word in normalise(text).split():
        if word in catalog.and_words:
            phrases.append([])
        else:
            phrases[-1].append(word)
    return [" ".join(p) for p in phrases if p]


def parse_scale(text: str, catalog: Catalog, low: int = 1, high: int = 5) -> int | None:
    core = emoji_core(text.strip())
    if core and set(core) <= {"⭐", "🌟", "★"}:
        return len(core) if low <= len(core) <= high else None
    number = parse_number(text, catalog)
    return number if number is not None and low <= number <= high else None
