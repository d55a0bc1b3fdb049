"""Sparse TF-IDF features of a text, word by word, so a suggestion can be explained.

Three kinds of features come out of each word that is not a stop word:

- ``w:<key>`` its normalised key (accents, plural, stem: see ``text.word_key``);
- ``b:<key> <key>`` the pair it forms with the next such word ("piste cyclable");
- ``c:<n-gram>`` the 3- to 5-letter pieces of the folded word, padded ("<velo>" gives "<ve",
  "vel", ...), which survive typos, missing accents and words the stemmer does not join.

Word features and letter features are weighted by TF-IDF (sublinear term frequency), each group
scaled to unit length, then the two groups are mixed with fixed weights: the usual "word +
character n-gram" recipe, written here rather than taken from scikit-learn's vectorisers because
the back-office needs to know which word each feature came from.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import sparse

from .text import fold, word_key, words

__all__ = ["Featurizer", "word_features", "MAX_WORDS"]

# Beyond this many words a text is cut: a 5,000-character message says what it is about early,
# and a suggestion must stay within a few milliseconds.
MAX_WORDS = 400
CHAR_SIZES = (3, 4, 5)
WORD_GROUP_WEIGHT = 1.0
CHAR_GROUP_WEIGHT = 0.8


def word_features(text: str) -> list[tuple[str, list[str]]]:
    """``(word as written, its features)`` for each word of ``text`` that is not a stop word.

    A pair feature ``b:`` is listed under both of its words.
    """
    out: list[tuple[str, list[str]]] = []
    previous: tuple[str, list[str]] | None = None
    for word in words(text)[:MAX_WORDS]:
        key, letters = _word_parts(word)
        if not key:
            continue
        feats = ["w:" + key, *letters]
        entry = (word, feats)
        if previous is not None:
            pair = "b:" + previous[1][0][2:] + " " + key
            previous[1].append(pair)
            feats.append(pair)
        out.append(entry)
        previous = entry
    return out


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


def _counts(text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    pairs_seen: set[str] = set()
    for _, feats in word_features(text):
        for f in feats:
            if f.startswith("b:"):
                # A pair is listed under both words; count it once.
                if f in pairs_seen:
                    continue
                pairs_seen.add(f)
            counts[f] += 1
    return counts


@dataclass
class Featurizer:
    """A fitted vocabulary with its inverse document frequencies."""

    vocabulary: dict[str, int]
    idf: np.ndarray  # float32, one per feature
    is_char: np.ndarray  # bool, one per feature

    @classmethod
    def fit(cls, texts: Sequence[str]) -> Featurizer:
        """Learn the vocabulary and smoothed IDF of ``texts`` (every feature seen at least once)."""
        return cls.fit_transform(texts)[0]

    @classmethod
    def fit_transform(cls, texts: Sequence[str]) -> tuple[Featurizer, sparse.csr_matrix]:
        """``fit`` then ``transform`` the same texts, reading each text once."""
        all_counts = [_counts(text) for text in texts]
        df: Counter[str] = Counter()
        for counts in all_counts:
            df.update(counts.keys())
        names = sorted(df)
        vocabulary = {name: i for i, name in enumerate(names)}
        n_docs = len(all_counts)
        idf = np.array(
            [math.log((1 + n_docs) / (1 + df[name])) + 1.0 for name in names], dtype=np.float32
        )
        is_char = np.array([name.startswith("c:") for name in names], dtype=bool)
        featurizer = cls(vocabulary, idf, is_char)
        return featurizer, featurizer._matrix(all_counts)

    @property
    def size(self) -> int:
        return len(self.vocabulary)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """TF-IDF rows of ``texts`` (unknown features are dropped), one row per text."""
        return self._matrix([_counts(text) for text in texts])

    def _matrix(self, all_counts: Sequence[Counter[str]]) -> sparse.csr_matrix:
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        vocabulary = self.vocabulary
        for counts in all_counts:
            for feature, count in counts.items():
                j = vocabulary.get(feature)
                if j is not None:
                    indices.append(j)
                    data.append(1.0 + math.log(count))
            indptr.append(len(indices))
        matrix = sparse.csr_matrix(
            (
                np.asarray(data, dtype=np.float32),
                np.asarray(indices, dtype=np.int32),
                np.asarray(indptr, dtype=np.int32),
            ),
            shape=(len(all_counts), self.size),
        )
        matrix.data *= self.idf[matrix.indices]
        return self._normalise(matrix)

    def _normalise(self, matrix: sparse.csr_matrix) -> sparse.csr_matrix:
        """Scale the word group and the letter group of each row to their fixed lengths."""
        char = self.is_char[matrix.indices]
        squares = matrix.data.astype(np.float64) ** 2
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        n = matrix.shape[0]
        char_norm = np.sqrt(np.bincount(rows[char], squares[char], minlength=n))
        word_norm = np.sqrt(np.bincount(rows[~char], squares[~char], minlength=n))
        scale = np.where(
            char,
            CHAR_GROUP_WEIGHT / np.maximum(char_norm[rows], 1e-12),
            WORD_GROUP_WEIGHT / np.maximum(word_norm[rows], 1e-12),
        )
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
        is_char = np.array([name.startswith("c:") for name in names], dtype=bool)
        return cls(vocabulary, arrays["idf"].astype(np.float32), is_char)
