"""What the bot says, per language, loaded from `prompts/` and checked at load.

French is the reference: every key must exist in `fr.toml`; another language may leave keys out
(they fall back to French) but may not invent keys or change the `{placeholders}` of a message.
`[meta] reviewed` says whether a native speaker has checked the file (the back-office shows it).
A word may not mean two different keywords, nor both yes and no, in any two languages: every
keyword works whatever the habitant's language, so the catalogue must stay unambiguous.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from bots.surveys import PromptError, SurveySpec, load_survey_file
from bots.text import normalise

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
REFERENCE = "fr"

MESSAGE_KEYS = frozenset(
    """welcome consent_question consent_needed consent_refused consent_thanks invite_prompt
    contribution_thanks theme_thanks other_theme empty unsupported question hint_multiple
    hint_scale retry_choice retry_multiple retry_scale retry_yes_no retry_text offer_skip
    required survey_start survey_end default_outro resume stop_done start_done help
    nothing_to_skip language_question language_done forget_question forget_done
    forget_cancelled privacy privacy_organisation privacy_contact access_summary access_code
    access_declined yes no consent_kept consent_kept_many aside_kept moving_on
    language_line suivi_none suivi_summary suivi_linked suivi_read suivi_unread engagement_changed
    thread_thanks status_etude status_decide status_en_cours status_realise
    status_non_retenu""".split()
)
KEYWORD_KINDS = (
    "stop",
    "start",
    "help",
    "skip",
    "language",
    "forget",
    "privacy",
    "access",
    "followup",
    "greetings",
)
# `yes_alone` / `no_alone`: words that mean yes or no only as the whole answer, never as the first
# word of a sentence (Darija "la" is no, but "la rue est sale" is not a refusal).
ANSWER_KINDS = ("yes", "no", "yes_alone", "no_alone", "numbers", "other_numbers", "and", "not")


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    messages: Mapping[str, str]
    keywords: Mapping[str, tuple[str, ...]]
    answers: Mapping[str, Any]
    reviewed: bool = False  # checked by a native speaker (`[meta] reviewed = true`)


@dataclass(frozen=True)
class Catalog:
    """Every language's messages, and the words understood in any language."""

    languages: Mapping[str, Language]
    keywords: Mapping[str, str] = field(default_factory=dict)  # normalised word -> kind
    yes_words: frozenset[str] = frozenset()
    no_words: frozenset[str] = frozenset()
    number_words: Mapping[str, int] = field(default_factory=dict)
    and_words: frozenset[str] = frozenset()
    not_words: frozenset[str] = frozenset()  # a negation makes a choice answer unclear
    yes_alone: frozenset[str] = frozenset()  # yes only as the whole answer
    no_alone: frozenset[str] = frozenset()
    language_names: Mapping[str, str] = field(default_factory=dict)  # normalised name -> code

    def text(self, language: str, key: str, **values: object) -> str:
        lang = self.languages.get(language) or self.languages[REFERENCE]
        template = lang.messages.get(key) or self.languages[REFERENCE].messages[key]
        return template.format(**values) if values else template

    def language_codes(self) -> tuple[str, ...]:
        return tuple(self.languages)

    def other_languages(self, language: str) -> str:
        """The other languages, each in its own name: `English Español ... Українська`."""
        return " ".join(lang.name for code, lang in self.languages.items() if code != language)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PromptError(f"{path}: {exc}") from exc


def _words(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise PromptError(f"{where}: must be a list of words")
    return tuple(value)


def _load_language(path: Path, reference: Language | None) -> Language:
    code = path.stem
    data = _read_toml(path)
    name = data.get("meta", {}).get("language_name")
    if not isinstance(name, str) or not name:
        raise PromptError(f"{path}: [meta] language_name is missing")
    reviewed = data.get("meta", {}).get("reviewed", False)
    if not isinstance(reviewed, bool):
        raise PromptError(f"{path}: [meta] reviewed must be true or false")
    messages = data.get("messages", {})
    for key, template in messages.items():
        if key not in MESSAGE_KEYS:
            raise PromptError(f"{path}: [messages] {key} is not a known message")
        if not isinstance(template, str) or not template.strip():
            raise PromptError(f"{path}: [messages] {key} must be a non-empty text")
        if reference is not None and _placeholders(template) != _placeholders(
            reference.messages[key]
        ):
            raise PromptError(
                f"{path}: [messages] {key} must use the same {{words}} as French:"
                f" {sorted(_placeholders(reference.messages[key]))}"
            )
    if reference is None:
        missing = sorted(MESSAGE_KEYS - set(messages))
        if missing:
            raise PromptError(f"{path}: [messages] missing: {', '.join(missing)}")
    keywords = {
        kind: _words(data.get("keywords", {}).get(kind, []), f"{path}: [keywords] {kind}")
        for kind in KEYWORD_KINDS
    }
    answers = data.get("answers", {})
    for kind in answers:
        if kind not in ANSWER_KINDS:
            raise PromptError(f"{path}: [answers] {kind} is not known")
    return Language(code, name, dict(messages), keywords, answers, reviewed)


def load_catalog(directory: Path | None = None) -> Catalog:
    """Load every `messages/<language>.toml`, French first."""
    directory = directory or PROMPTS_DIR / "messages"
    reference_path = directory / f"{REFERENCE}.toml"
    if not reference_path.exists():
        raise PromptError(f"{reference_path}: the French messages are required")
    reference = _load_language(reference_path, None)
    languages = {REFERENCE: reference}
    for path in sorted(directory.glob("*.toml")):
        if path.stem != REFERENCE:
            languages[path.stem] = _load_language(path, reference)
    keywords: dict[str, str] = {}
    yes: set[str] = set()
    no: set[str] = set()
    yes_alone: set[str] = set()
    no_alone: set[str] = set()
    numbers: dict[str, int] = {}
    ands: set[str] = set()
    nots: set[str] = set()
    for lang in languages.values():
        for kind, words in lang.keywords.items():
            for word in words:
                norm = normalise(word)
                if not norm:
                    raise PromptError(f"{lang.code}: keyword {word!r} has no letters or digits")
                if keywords.get(norm, kind) != kind:
                    raise PromptError(
                        f"{lang.code}: keyword {word!r} means {kind}, but {keywords[norm]}"
                        " in another language"
                    )
                keywords[norm] = kind
        yes.update(normalise(w) for w in lang.answers.get("yes", []))
        no.update(normalise(w) for w in lang.answers.get("no", []))
        yes_alone.update(normalise(w) for w in lang.answers.get("yes_alone", []))
        no_alone.update(normalise(w) for w in lang.answers.get("no_alone", []))
        for n, word in enumerate(lang.answers.get("numbers", []), start=1):
            numbers.setdefault(normalise(word), n)
        for word, n in lang.answers.get("other_numbers", {}).items():
            numbers.setdefault(normalise(word), int(n))
        ands.update(normalise(w) for w in lang.answers.get("and", []))
        nots.update(normalise(w) for w in lang.answers.get("not", []))
    clash = (yes | yes_alone) & (no | no_alone)
    if clash:
        raise PromptError(f"{directory}: these words mean both yes and no: {sorted(clash)}")
    names = {normalise(lang.name): code for code, lang in languages.items()}
    for name, code in names.items():  # writing `Türkçe` changes language, like LANGUE then 7
        keywords.setdefault(name, f"language:{code}")
    return Catalog(
        languages,
        keywords,
        frozenset(yes),
        frozenset(no),
        numbers,
        frozenset(ands),
        frozenset(nots),
        frozenset(yes_alone),
        frozenset(no_alone),
        names,
    )


@dataclass(frozen=True)
class ThemeEntry:
    code: str
    name: str
    labels: Mapping[str, str]
    description: str
    keywords: tuple[str, ...]
    colour: str
    offered_to_habitants: bool
    short: Mapping[str, str]


def load_themes(path: Path | None = None) -> tuple[ThemeEntry, ...]:
    """The default thème taxonomy of the contrat de ville."""
    path = path or PROMPTS_DIR / "themes.toml"
    data = _read_toml(path)
    entries = []
    seen: set[str] = set()
    for n, raw in enumerate(data.get("themes", []), start=1):
        where = f"{path}: theme {n}"
        for key in ("code", "name"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise PromptError(f"{where}: '{key}' is missing")
        if raw["code"] in seen:
            raise PromptError(f"{where}: code {raw['code']!r} is used twice")
        seen.add(raw["code"])
        offered = bool(raw.get("habitants", False))
        short = raw.get("short", {})
        if offered and not short.get("fr"):
            raise PromptError(f"{where}: a thème offered to habitants needs short.fr")
        entries.append(
            ThemeEntry(
                code=raw["code"],
                name=raw["name"],
                labels=raw.get("labels", {}),
                description=raw.get("description", ""),
                keywords=_words(raw.get("keywords", []), f"{where}: keywords"),
                colour=raw.get("colour", "#5a6b7b"),
                offered_to_habitants=offered,
                short=short,
            )
        )
    if sum(e.offered_to_habitants for e in entries) > 6:
        raise PromptError(f"{path}: at most 6 thèmes can be offered to habitants (one SMS)")
    return tuple(entries)


def survey_files(directory: Path | None = None) -> Iterable[Path]:
    return sorted((directory or PROMPTS_DIR / "surveys").glob("*.toml"))


def load_ready_made_surveys(
    directory: Path | None = None,
) -> list[tuple[SurveySpec, dict[str, Any]]]:
    return [load_survey_file(path) for path in survey_files(directory)]


@cache
def default_catalog() -> Catalog:
    """The catalog of the installed `prompts/`, loaded once per process."""
    return load_catalog()
