"""Sparse TF-IDF features of a text, word by word, so a suggestion can be explained.

Three kinds of features come out of each word that is not a stop word:

- ``w:<key>`` its normalised key (accents, plural, stem: see ``text.word_key``);
- ``b:<key> <key>`` the pair it forms with the next such word ("piste cyclable");
- ``c:<n-gram>`` the 3- to 5-letter pieces of the folded word, padded ("<velo>" gives "<ve",
  "vel", ...), which survive typos, missing accents and words the stemmer does not join.

On request (``function_words=True``, when examples abound) each stop word also gives
``s:<word>``: "moins", "nous" say little alone but carry how people write about a thème.

Features are weighted by TF-IDF (sublinear term frequency), each group (words and pairs, letters,
function words) scaled to a fixed length: the usual "word + character n-gram" recipe, written
here rather than taken from scikit-learn's vectorisers because the back-office needs to know
which word each feature came from (``Featurizer.walk``). Each distinct word is turned into
feature ids once per training or per model (a cache), which keeps retraining on 10,000 labels
within about a second of feature work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import sparse

from .text import STOP_WORDS, fold, word_key, words

__all__ = ["Featurizer", "counted_words", "MAX_CHARS", "MAX_WORDS"]

# Beyond this many characters, then words, a text is cut: a 5,000-character message says what
# it is about early, and a suggestion must stay within a few milliseconds.
MAX_CHARS = 2000
MAX_WORDS = 300
CHAR_SIZES = (3, 4, 5)
# Feature groups by prefix: word keys and pairs, letter n-grams, function words.
GROUP_OF = {"w:": 0, "b:": 0, "c:": 1, "s:": 2}
N_GROUPS = 3
# Length of each group in a text's vector.
WORD_GROUP_WEIGHT = 1.0
CHAR_GROUP_WEIGHT = 0.8
FUNCTION_GROUP_WEIGHT = 0.5


def counted_words(text: str) -> list[str]:
    """The words of ``text`` the model reads, as written: its beginning only when it is long."""
    return words(text[:MAX_CHARS])[:MAX_WORDS]


@lru_cache(maxsize=200_000)
def _word_parts(word: str) -> tuple[str, tuple[str, ...]]:
    """The key of ``word`` and its letter n-gram features (``""``, ``()`` for a stop word)."""
    key = word_key(word)
    if not key:
        return "", ()
    padded = "<" + fold(word) + ">"
    letters = tuple(
        "c:" + padded[i : i + n] for n in CHAR_SIZES for i in range(max(1, len(padded) - n + 1))
    )
    return key, letters


class _Encoder:
    """Feature ids of texts, reading each distinct word once.

    ``lookup`` gives a feature's column (``-1``: unknown, the feature is dropped). A pair
    feature ``b:`` is counted once per occurrence of the pair.
    """

    def __init__(
        self, lookup: Callable[[str], int], function_words: bool, cache_size: int = 200_000
    ) -> None:
        self._lookup = lookup
        self._function_words = function_words
        self._words: dict[str, tuple[str, np.ndarray]] = {}
        self._cache_size = cache_size

    def ids(self, text: str) -> np.ndarray:
        """All feature ids of ``text``, with repeats."""
        _, ids, pairs, function_ids = self._walk(text)
        kept = [j for j in pairs + function_ids if j >= 0]
        if kept:
            ids.append(np.asarray(kept, dtype=np.int64))
        return np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)

    def walk(self, text: str) -> tuple[list[str], list[np.ndarray], list[int]]:
        """The counted words of ``text`` as written, the ids of each word's own features, and
        the ids of the pairs they form (``pairs[i]`` joins words ``i`` and ``i + 1``)."""
        return self._walk(text)[:3]

    def _walk(self, text: str) -> tuple[list[str], list[np.ndarray], list[int], list[int]]:
        kept: list[str] = []
        ids: list[np.ndarray] = []
        pairs: list[int] = []
        function_ids: list[int] = []
        previous = ""
        for word in counted_words(text):
            entry = self._words.get(word)
            if entry is None:
                entry = self._word(word)
            key, word_ids = entry
            if not key:
                if self._function_words and len(word_ids):
                    function_ids.append(int(word_ids[0]))
                continue
            if previous:
                pairs.append(self._lookup("b:" + previous + " " + key))
            kept.append(word)
            ids.append(word_ids)
            previous = key
        return kept, ids, pairs, function_ids

    def _word(self, word: str) -> tuple[str, np.ndarray]:
        key, letters = _word_parts(word)
        if key:
            ids = [self._lookup(f) for f in ("w:" + key, *letters)]
        else:
            folded = fold(word)
            function = self._function_words and folded in STOP_WORDS
            ids = [self._lookup("s:" + folded)] if function else []
        entry = (key, np.asarray([j for j in ids if j >= 0], dtype=np.int64))
        if len(self._words) >= self._cache_size:
            self._words.clear()
        self._words[word] = entry
        return entry


def _rows(encoder: _Encoder, texts: Sequence[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per text, its distinct feature ids and their counts."""
    ids: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    for text in texts:
        unique, count = np.unique(encoder.ids(text), return_counts=True)
        ids.append(unique)
        counts.append(count)
    return ids, counts


@dataclass
class Featurizer:
    """A fitted vocabulary with its inverse document frequencies."""

    vocabulary: dict[str, int]
    idf: np.ndarray  # float32, one per feature
    _encoder: _Encoder | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = self.vocabulary
        self.group = np.array([GROUP_OF[name[:2]] for name in names], dtype=np.int8)
        self.function_words = bool((self.group == GROUP_OF["s:"]).any())

    @classmethod
    def fit(cls, texts: Sequence[str], *, function_words: bool = False) -> Featurizer:
        """Learn the vocabulary and smoothed IDF of ``texts`` (every feature seen at least once)."""
        return cls.fit_transform(texts, function_words=function_words)[0]

    @classmethod
    def fit_transform(
        cls, texts: Sequence[str], *, function_words: bool = False
    ) -> tuple[Featurizer, sparse.csr_matrix]:
        """``fit`` then ``transform`` the same texts, reading each text once.

        ``function_words`` adds one feature per function word ("s:moins"): they say little
        about a thème for a handful of examples, but with hundreds per thème they carry the way
        people write about it ("il faut moins de...").
        """
        vocabulary: dict[str, int] = {}

        def intern(feature: str) -> int:
            j = vocabulary.get(feature)
            if j is None:
                j = vocabulary[feature] = len(vocabulary)
            return j

        ids, counts = _rows(_Encoder(intern, function_words), texts)
        df = np.bincount(np.concatenate(ids), minlength=len(vocabulary)) if ids else np.zeros(0)
        idf = (np.log((1 + len(texts)) / (1 + df)) + 1.0).astype(np.float32)
        featurizer = cls(vocabulary, idf)
        return featurizer, featurizer._matrix(ids, counts)

    @property
    def size(self) -> int:
        return len(self.vocabulary)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows of ``texts`` (unknown features are dropped), one row per text."""
        return self._matrix(*_rows(self._known(), texts))

    def walk(self, text: str) -> tuple[list[str], list[np.ndarray], list[int]]:
        """Per counted word of ``text``: the word, its columns, and the columns of the pairs
        (``pairs[i]`` joins words ``i`` and ``i + 1``; ``-1`` when not in the vocabulary)."""
        return self._known().walk(text)

    def _known(self) -> _Encoder:
        if self._encoder is None:
            vocabulary = self.vocabulary
            self._encoder = _Encoder(
                lambda feature: vocabulary.get(feature, -1), self.function_words, 50_000
            )
        return self._encoder

    def _matrix(self, ids: Sequence[np.ndarray], counts: Sequence[np.ndarray]) -> sparse.csr_matrix:
        indptr = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum([len(row) for row in ids], out=indptr[1:])
        if len(ids):
            indices = np.concatenate(ids).astype(np.int32)
            data = 1.0 + np.log(np.concatenate(counts).astype(np.float32))
        else:
            indices, data = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        matrix = sparse.csr_matrix(
            (data * self.idf[indices], indices, indptr), shape=(len(ids), self.size)
        )
        return self._normalise(matrix)

    def _normalise(self, matrix: sparse.csr_matrix) -> sparse.csr_matrix:
        """Scale each group of features of each row (words, letters, function words) to its
        fixed length."""
        group = self.group[matrix.indices].astype(np.int64)
        squares = matrix.data.astype(np.float64) ** 2
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        cell = rows * N_GROUPS + group
        norms = np.sqrt(np.bincount(cell, squares, minlength=matrix.shape[0] * N_GROUPS))
        weights = np.array([WORD_GROUP_WEIGHT, CHAR_GROUP_WEIGHT, FUNCTION_GROUP_WEIGHT])
        scale = weights[group] / np.maximum(norms[cell], 1e-12)
        matrix.data = (matrix.data * scale).astype(np.float32)
        return matrix

    def to_arrays(self) -> dict[str, np.ndarray]:
        names = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {
            "vocabulary": np.array(names, dtype=np.str_),
            "idf": self.idf,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Featurizer:
        names = [str(n) for n in arrays["vocabulary"]]
        vocabulary = {name: i for i, name in enumerate(names)}
        return cls(vocabulary, arrays["idf"].astype(np.float32))
