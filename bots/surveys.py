"""Surveys as the dialogue engine sees them: plain frozen values, loaded from TOML or the database.

`load_survey_file()` reads a ready-made survey of `prompts/surveys/`; every mistake names the file,
the key and what is wrong, so a non-developer can fix it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("single", "multiple", "scale", "yes_no", "text", "quartier")
MAX_QUESTIONS = 8
YES, NO = "oui", "non"


class PromptError(ValueError):
    """A data file of `prompts/` (or a survey written in the editor) has a mistake."""


@dataclass(frozen=True)
class Choice:
    value: str
    labels: Mapping[str, str]

    def label(self, language: str) -> str:
        return self.labels.get(language) or self.labels.get("fr") or self.value


@dataclass(frozen=True)
class QuestionSpec:
    position: int  # 1-based
    kind: str
    text: Mapping[str, str]
    choices: tuple[Choice, ...] = ()
    required: bool = False
    goto: Mapping[str, int] = field(default_factory=dict)
    id: int | None = None

    def text_in(self, language: str) -> str:
        return self.text.get(language) or self.text["fr"]


@dataclass(frozen=True)
class SurveySpec:
    key: str
    title: Mapping[str, str]
    intro: Mapping[str, str]
    outro: Mapping[str, str]
    questions: tuple[QuestionSpec, ...]
    theme: str | None = None

    def in_language(self, field_name: str, language: str) -> str:
        texts: Mapping[str, str] = getattr(self, field_name)
        return texts.get(language) or texts.get("fr", "")


def survey_from_data(data: Mapping[str, Any], where: str, key: str | None = None) -> SurveySpec:
    """Build and validate a survey from plain data (a TOML file or the editor's form)."""

    def texts(value: Any, name: str, required: bool = True) -> dict[str, str]:
        if value is None and not required:
            return {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise PromptError(f"{where}: '{name}' must be a table of texts per language")
        if required and not str(value.get("fr", "")).strip():
            raise PromptError(f"{where}: '{name}' needs a French text (fr)")
        return {k: v.strip() for k, v in value.items() if v.strip()}

    slug = data.get("slug")
    if not isinstance(slug, str) or not slug:
        raise PromptError(f"{where}: 'slug' is missing")
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise PromptError(f"{where}: 'questions' is missing or empty")
    if len(raw_questions) > MAX_QUESTIONS:
        raise PromptError(f"{where}: {len(raw_questions)} questions, {MAX_QUESTIONS} at most")
    questions = []
    for index, raw in enumerate(raw_questions, start=1):
        place = f"{where}: question {index}"
        kind = raw.get("kind")
        if kind not in KINDS:
            raise PromptError(f"{place}: 'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
        choices = tuple(
            _choice(c, f"{place}, choice {n}") for n, c in enumerate(raw.get("choices", []), 1)
        )
        if kind in ("single", "multiple") and len(choices) < 2:
            raise PromptError(f"{place}: a '{kind}' question needs at least 2 choices")
        if kind not in ("single", "multiple") and choices:
            raise PromptError(f"{place}: a '{kind}' question takes no 'choices'")
        values = {c.value for c in choices} | ({YES, NO} if kind == "yes_no" else set())
        goto = raw.get("goto", {})
        if not isinstance(goto, Mapping):
            raise PromptError(f"{place}: 'goto' must be a table like {{ non = 4 }}")
        for value, target in goto.items():
            if value not in values:
                raise PromptError(f"{place}: 'goto' names {value!r}, which is not a choice")
            if not isinstance(target, int) or not index < target <= len(raw_questions) + 1:
                raise PromptError(
                    f"{place}: 'goto' {value!r} must go forward to a question number"
                    f" between {index + 1} and {len(raw_questions) + 1} (the end)"
                )
        questions.append(
            QuestionSpec(
                position=index,
                kind=kind,
                text=texts(raw.get("text"), f"questions[{index}].text"),
                choices=choices,
                required=bool(raw.get("required", False)),
                goto=dict(goto),
                id=raw.get("id"),
            )
        )
    return SurveySpec(
        key=key or slug,
        title=texts(data.get("title"), "title"),
        intro=texts(data.get("intro"), "intro", required=False),
        outro=texts(data.get("outro"), "outro", required=False),
        questions=tuple(questions),
        theme=data.get("theme"),
    )


def _choice(raw: Any, where: str) -> Choice:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("value"), str):
        raise PromptError(f"{where}: needs a 'value' and a French label 'fr'")
    labels = {k: v for k, v in raw.items() if k != "value" and isinstance(v, str) and v.strip()}
    if "fr" not in labels:
        raise PromptError(f"{where}: needs a French label 'fr'")
    return Choice(value=raw["value"], labels=labels)


def load_survey_file(path: Path) -> tuple[SurveySpec, dict[str, Any]]:
    """Read a ready-made survey; returns the spec and the raw data (to store it as it is)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PromptError(f"{path}: {exc}") from exc
    return survey_from_data(data, str(path)), data
