"""The contract of the thème suggestion model (no accuracy figures, no timings: see bench/)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from web.suggestions import (
    Example,
    Suggester,
    Suggestion,
    TaxonomyError,
    ThemeSpec,
    themes_from_toml,
)
from web.suggestions.text import keys, word_key, words

THEMES = (
    ThemeSpec(
        "proprete",
        "Propreté",
        "Poubelles, déchets, dépôts sauvages, encombrants, nettoyage des rues.",
        ("poubelle", "déchets", "encombrants"),
    ),
    ThemeSpec(
        "sport",
        "Sport",
        "Gymnases, terrains de foot, city-stade, piscine.",
        ("gymnase", "football", "piscine"),
    ),
    ThemeSpec(
        "logement",
        "Logement",
        "Bailleur, loyers, ascenseur en panne, humidité, travaux dans les immeubles.",
        ("bailleur", "ascenseur", "loyer"),
    ),
)


def train(examples=(), **kwargs):
    """Without word vectors: fast, and the same on a machine without the vectors package."""
    return Suggester.train(THEMES, examples, word_vectors=False, **kwargs)


@pytest.fixture(scope="module")
def zero_shot():
    return train()


def test_zero_examples_uses_descriptions(zero_shot):
    suggestion = zero_shot.suggest("Les poubelles débordent et les encombrants restent des jours")
    assert isinstance(suggestion, Suggestion)
    assert suggestion.ranking[0][0] == "proprete"
    assert {code for code, _ in suggestion.ranking} == {"proprete", "sport", "logement"}
    assert sum(p for _, p in suggestion.ranking) == pytest.approx(1.0, abs=1e-3)


def test_normalisation_joins_accents_case_and_plurals():
    assert word_key("Écoles") == word_key("ecole") == word_key("école")
    assert word_key("impôts") == word_key("impot")
    assert keys("Le, la, les !") == []
    assert words("l'ascenseur qu'on attend") == ["ascenseur", "on", "attend"]


def test_retraining_with_examples_changes_the_suggestion(zero_shot):
    text = "Le local vélo est encore fermé"
    before = zero_shot.suggest(text).ranking[0][0]
    target = "logement" if before != "logement" else "sport"
    examples = [Example(f"le local vélo {n} est fermé", target) for n in range(8)] + [
        Example("les poubelles du local sont pleines", "proprete"),
        Example("un terrain de foot pour les jeunes", "sport"),
        Example("ascenseur en panne depuis un mois", "logement"),
    ]
    after = train(examples).suggest(text)
    assert after.ranking[0][0] == target


def test_abstains_below_the_threshold():
    text = "les poubelles du gymnase"
    cautious = train(threshold=0.99).suggest(text)
    assert cautious.theme is None
    assert cautious.second is None
    assert cautious.ranking  # the ranking is still there for the back-office
    bold = train(threshold=0.0).suggest(text)
    assert bold.theme == bold.ranking[0][0]
    assert bold.confidence == pytest.approx(bold.ranking[0][1], abs=1e-3)


def test_weights_are_honoured():
    text = "le local à vélos"
    examples = [
        Example("le local à vélos", "sport", weight=0.2),
        Example("le local à vélos", "logement", weight=1.0),
    ]
    heavy_logement = train(examples, threshold=0.0).suggest(text)
    swapped = [
        Example("le local à vélos", "sport", weight=1.0),
        Example("le local à vélos", "logement", weight=0.2),
    ]
    heavy_sport = train(swapped, threshold=0.0).suggest(text)
    p_logement = dict(heavy_logement.ranking)
    p_sport = dict(heavy_sport.ranking)
    assert p_logement["logement"] > p_sport["logement"]
    assert p_sport["sport"] > p_logement["sport"]


def test_a_second_theme_when_two_are_close():
    examples = [Example("poubelles et ascenseur", "proprete") for _ in range(5)] + [
        Example("poubelles et ascenseur", "logement") for _ in range(5)
    ]
    suggestion = train(examples, threshold=0.2).suggest("poubelles et ascenseur")
    assert {suggestion.theme, suggestion.second} == {"proprete", "logement"}
    assert 0 < suggestion.second_confidence <= suggestion.confidence


def test_no_second_theme_when_one_clearly_wins(zero_shot):
    examples = [Example(f"gymnase fermé {n}", "sport") for n in range(10)]
    suggestion = train(examples, threshold=0.0).suggest("gymnase fermé")
    assert suggestion.theme == "sport"
    assert suggestion.second is None
    assert suggestion.second_confidence == 0.0


def test_explaining_words_come_from_the_text(zero_shot):
    text = "Les Poubelles débordent, c'est sale devant le gymnase"
    suggestion = train(threshold=0.0).suggest(text)
    assert suggestion.words
    assert set(suggestion.words) <= set(words(text))
    assert "Poubelles" in suggestion.words


def test_serialisation_round_trip(zero_shot):
    model = train([Example("ascenseur en panne", "logement")])
    copy = Suggester.from_bytes(model.to_bytes())
    assert copy.version == model.version
    assert copy.themes == model.themes
    for text in ["ascenseur bloqué", "piscine", ""]:
        assert copy.suggest(text) == model.suggest(text)


def test_from_bytes_refuses_garbage():
    with pytest.raises(ValueError):
        Suggester.from_bytes(b"not a model")


def test_version_fingerprints_themes_and_examples(zero_shot):
    assert zero_shot.version == train().version
    assert train([Example("piscine", "sport")]).version != zero_shot.version
    assert len(zero_shot.version) == 12


def test_unknown_themes_are_ignored(zero_shot):
    examples = [
        Example("la fête des voisins", "culture-disparue"),
        Example("piscine fermée", "sport"),
        Example("   ", "sport"),
        Example("poubelles", "proprete", weight=0.0),
    ]
    model = train(examples)
    assert model.version == train([Example("piscine fermée", "sport")]).version
    assert {code for code, _ in model.suggest("la fête des voisins").ranking} == {
        "proprete",
        "sport",
        "logement",
    }


def test_suggest_many_matches_suggest(zero_shot):
    texts = ["poubelles", "gymnase", "loyer trop cher", ""]
    assert zero_shot.suggest_many(texts) == [zero_shot.suggest(t) for t in texts]


def test_one_or_no_theme_does_not_crash():
    only = Suggester.train(THEMES[:1], word_vectors=False, threshold=0.5).suggest("poubelles")
    assert only.theme == "proprete"
    nothing = Suggester.train([], word_vectors=False).suggest("poubelles")
    assert nothing.theme is None and nothing.ranking == ()


@pytest.mark.parametrize(
    "text", ["", "   ", "🙂🙂🙂", "???", "a" * 5000, "mot " * 1500, "\x00\n\t"]
)
def test_odd_inputs(zero_shot, text):
    suggestion = zero_shot.suggest(text)
    assert 0.0 <= suggestion.confidence <= 1.0
    assert len(suggestion.ranking) == len(THEMES)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=300))
def test_any_string_gets_a_suggestion(zero_shot, text):
    suggestion = zero_shot.suggest(text)
    assert suggestion.theme is None or suggestion.theme in {t.code for t in THEMES}
    assert set(suggestion.words) <= set(words(text))


def test_taxonomy_from_toml():
    themes = themes_from_toml(
        """
        [[themes]]
        code = "cadre-de-vie"
        name = "Cadre de vie"
        description = "Bancs, éclairage."
        keywords = ["banc", "éclairage"]

        [[themes]]
        code = "sport"
        name = "Sport"
        """
    )
    assert themes[0] == ThemeSpec(
        "cadre-de-vie", "Cadre de vie", "Bancs, éclairage.", ("banc", "éclairage")
    )
    assert themes[1].keywords == ()
    with pytest.raises(TaxonomyError, match="thème n°2"):
        themes_from_toml('[[themes]]\ncode = "a"\nname = "A"\n[[themes]]\ncode = "a"\nname = "B"\n')


def test_word_vectors_are_used_and_survive_serialisation():
    model = Suggester.train(THEMES, [Example("ascenseur en panne", "logement")])
    assert model.vectors is not None
    copy = Suggester.from_bytes(model.to_bytes())
    assert copy.suggest("le basket au city-stade") == model.suggest("le basket au city-stade")
    suggestion = model.suggest("les ordures s'entassent")
    assert set(suggestion.words) <= set(words("les ordures s'entassent"))
    # A word none of whose letters the model has seen, known only through its vector.
    bold = Suggester.train(THEMES, threshold=0.0)
    assert bold.featurizer.transform(["kiwi"]).nnz == 0
    assert bold.suggest("kiwi").theme is not None
