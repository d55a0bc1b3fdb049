"""Loading `prompts/`: everything checked at load, every mistake names the file and the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bots.prompts import (
    MESSAGE_KEYS,
    PROMPTS_DIR,
    load_catalog,
    load_ready_made_surveys,
    load_themes,
)
from bots.surveys import PromptError, load_survey_file

MESSAGES = PROMPTS_DIR / "messages"


@pytest.fixture
def messages(tmp_path: Path) -> Path:
    """A copy of the real messages folder, to break."""
    folder = tmp_path / "messages"
    shutil.copytree(MESSAGES, folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_prompts_load() -> None:
    catalog = load_catalog()
    assert set(catalog.languages) >= {"fr", "en"}
    assert set(catalog.languages["fr"].messages) == MESSAGE_KEYS
    assert set(catalog.languages["en"].messages) == MESSAGE_KEYS  # English is complete too
    assert catalog.keywords["arret"] == "stop" and catalog.keywords["stop sms"] == "stop"
    assert catalog.keywords["forget"] == "forget" and catalog.keywords["oublier"] == "forget"
    assert catalog.number_words["deux"] == 2 and "ouais" in catalog.yes_words
    themes = load_themes()
    assert 1 <= sum(t.offered_to_habitants for t in themes) <= 6
    slugs = {data["slug"] for _, data in load_ready_made_surveys()}
    assert slugs == {"scolarite", "associations", "aller-vers"}
    for spec, _ in load_ready_made_surveys():
        assert 3 <= len(spec.questions) <= 6


def test_french_messages_stay_short() -> None:
    """One idea per message: each French text alone fits in an SMS."""
    long = {k: v for k, v in load_catalog().languages["fr"].messages.items() if len(v) > 160}
    assert long == {}


# The word for "health" in each language's sentence asking not to write sensitive data.
HEALTH = {
    "fr": "santé",
    "en": "health",
    "ar": "صحة",
    "tr": "Sağlık",
    "pt": "saúde",
    "es": "salud",
    "ro": "sănătate",
    "uk": "здоров'я",
}


def test_the_welcome_and_info_ask_not_to_write_sensitive_data_in_every_language() -> None:
    """The CNIL's advice for chatbots: say at first contact, and in INFO, not to write health,
    religion or political details (about oneself or others), in every catalogue."""
    catalog = load_catalog()
    assert set(HEALTH) == set(catalog.languages)
    for code, language in catalog.languages.items():
        for key in ("welcome", "privacy"):
            assert HEALTH[code] in language.messages[key], (code, key)


def test_a_missing_translation_falls_back_to_french(messages: Path) -> None:
    _edit(messages / "en.toml", 'stop_done = "Done, you will get no more messages.', "# ")
    catalog = load_catalog(messages)
    assert "stop_done" not in catalog.languages["en"].messages
    assert catalog.text("en", "stop_done") == catalog.text("fr", "stop_done")
    assert catalog.text("xx", "yes") == "Oui"  # an unknown language speaks French


def test_a_missing_french_message_is_refused(messages: Path) -> None:
    _edit(messages / "fr.toml", "forget_done =", "# forget_done =")
    with pytest.raises(PromptError, match=r"fr\.toml: \[messages\] missing: forget_done"):
        load_catalog(messages)


def test_an_unknown_message_key_is_refused(messages: Path) -> None:
    _edit(messages / "en.toml", 'no = "No"', 'no = "No"\nyess = "Yes"')
    with pytest.raises(PromptError, match=r"en\.toml: \[messages\] yess is not a known message"):
        load_catalog(messages)


def test_a_changed_placeholder_is_refused(messages: Path) -> None:
    _edit(
        messages / "en.toml", 'question = "{n}/{total}. {text}"', 'question = "{n}/{all}. {text}"'
    )
    with pytest.raises(PromptError, match=r"en\.toml: \[messages\] question must use the same"):
        load_catalog(messages)


def test_an_empty_message_is_refused(messages: Path) -> None:
    _edit(messages / "en.toml", 'other_theme = "Other"', 'other_theme = "  "')
    with pytest.raises(
        PromptError, match=r"en\.toml: \[messages\] other_theme must be a non-empty"
    ):
        load_catalog(messages)


def test_broken_toml_names_the_file(messages: Path) -> None:
    _edit(messages / "en.toml", 'yes = "Yes"', 'yes = "Yes')
    with pytest.raises(PromptError, match=r"en\.toml"):
        load_catalog(messages)


def test_a_word_meaning_both_yes_and_no_is_refused(messages: Path) -> None:
    _edit(messages / "en.toml", 'no = ["no",', 'no = ["no", "ouais",')
    with pytest.raises(PromptError, match="both yes and no: \\['ouais'\\]"):
        load_catalog(messages)


def test_keywords_must_be_lists_of_words(messages: Path) -> None:
    _edit(messages / "en.toml", 'help = ["help"]', 'help = "help"')
    with pytest.raises(PromptError, match=r"en\.toml: \[keywords\] help: must be a list of words"):
        load_catalog(messages)


def test_a_language_without_a_name_is_refused(messages: Path) -> None:
    (messages / "ar.toml").write_text('[messages]\nyes = "نعم"\n', encoding="utf-8")
    with pytest.raises(PromptError, match=r"ar\.toml: \[meta\] language_name is missing"):
        load_catalog(messages)


def test_a_new_language_needs_only_what_it_translates(messages: Path) -> None:
    (messages / "ar.toml").write_text(
        '[meta]\nlanguage_name = "العربية"\n[messages]\nyes = "نعم"\nno = "لا"\n'
        '[answers]\nyes = ["نعم", "naam"]\n',
        encoding="utf-8",
    )
    catalog = load_catalog(messages)
    assert catalog.text("ar", "yes") == "نعم" and catalog.text("ar", "help").startswith("Mots")
    assert "naam" in catalog.yes_words


def test_french_is_required(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="French messages are required"):
        load_catalog(tmp_path)


# --- thèmes and surveys ------------------------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_theme_mistakes_name_the_file_and_the_theme(tmp_path: Path) -> None:
    twice = _write(
        tmp_path, "t.toml", '[[themes]]\ncode="a"\nname="A"\n[[themes]]\ncode="a"\nname="B"\n'
    )
    with pytest.raises(PromptError, match=r"t\.toml: theme 2: code 'a' is used twice"):
        load_themes(twice)
    nameless = _write(tmp_path, "n.toml", '[[themes]]\ncode="a"\n')
    with pytest.raises(PromptError, match=r"n\.toml: theme 1: 'name' is missing"):
        load_themes(nameless)
    no_short = _write(tmp_path, "s.toml", '[[themes]]\ncode="a"\nname="A"\nhabitants=true\n')
    with pytest.raises(PromptError, match="needs short.fr"):
        load_themes(no_short)


def test_at_most_six_themes_offered_to_habitants(tmp_path: Path) -> None:
    entries = "".join(
        f'[[themes]]\ncode="t{n}"\nname="T{n}"\nhabitants=true\nshort={{fr="T{n}"}}\n'
        for n in range(7)
    )
    with pytest.raises(PromptError, match="at most 6"):
        load_themes(_write(tmp_path, "t.toml", entries))


SURVEY = """slug = "test"
title = { fr = "Test" }
[[questions]]
kind = "yes_no"
text = { fr = "Ça va ?" }
goto = { non = 3 }
[[questions]]
kind = "single"
text = { fr = "Lequel ?" }
choices = [{ value = "a", fr = "A" }, { value = "b", fr = "B" }]
"""


def test_a_valid_survey_loads(tmp_path: Path) -> None:
    spec, data = load_survey_file(_write(tmp_path, "s.toml", SURVEY))
    assert spec.key == "test" and spec.questions[0].goto == {"non": 3}
    assert spec.questions[1].choices[1].label("en") == "B"  # falls back to French
    assert data["slug"] == "test"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('kind = "single"', 'kind = "dropdown"', "question 2: 'kind' must be one of"),
        ('slug = "test"', "", "'slug' is missing"),
        ('title = { fr = "Test" }', 'title = { en = "Test" }', "'title' needs a French text"),
        ("goto = { non = 3 }", "goto = { peut = 2 }", "question 1: 'goto' names 'peut'"),
        ("goto = { non = 3 }", "goto = { non = 1 }", "question 1: 'goto' 'non' must go forward"),
        (', { value = "b", fr = "B" }', "", "question 2: a 'single' question needs at least 2"),
        ('{ value = "b", fr = "B" }', '{ value = "b", en = "B" }', "choice 2: needs a French"),
        ('kind = "yes_no"', 'kind = "yes_no"\nchoices = [{ value = "x", fr = "X" }]', "takes no"),
        ('text = { fr = "Lequel ?" }', 'text = "Lequel ?"', "questions\\[2\\].text"),
    ],
)
def test_survey_mistakes_name_the_file_the_question_and_the_problem(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in SURVEY
    path = _write(tmp_path, "broken.toml", SURVEY.replace(old, new, 1))
    with pytest.raises(PromptError, match=message) as error:
        load_survey_file(path)
    assert "broken.toml" in str(error.value)


def test_too_many_questions(tmp_path: Path) -> None:
    question = '[[questions]]\nkind = "text"\ntext = { fr = "?" }\n'
    path = _write(tmp_path, "long.toml", 'slug = "l"\ntitle = { fr = "L" }\n' + question * 9)
    with pytest.raises(PromptError, match="9 questions, 8 at most"):
        load_survey_file(path)
