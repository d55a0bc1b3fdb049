"""Surveys as the dialogue engine sees them: plain frozen values, loaded from TOML or the database.

`load_survey_file()` reads a ready-made survey of `prompts/surveys/`; every mistake names the file,
the key and what is wrong, so a non-developer can fix it.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("single", "multiple", "scale", "yes_no", "text", "quartier")
MAX_QUESTIONS = 8
DEFAULT_REASKS = 2  # issue 15: a misunderstood answer is re-asked at most twice by default
MAX_REASKS = 5
YES, NO = "oui", "non"


class PromptError(ValueError):
    """A data file of `prompts/` (or a survey written in the editor) has a mistake.

    `problems` lists every mistake found, each with the field it belongs to, so that the
    editor can show each one next to its field.
    """

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    """One mistake in a survey: where (`field`), what (`code`, `params`) and in English words.

    `field` is a path: `title`, `intro`, `outro`, `slug`, `questions`, `questions.2.kind`,
    `questions.2.text`, `questions.2.choices`, `questions.2.goto`.
    """

    field: str
    code: str
    message: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)


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
    max_reasks: int = DEFAULT_REASKS  # then the bot moves on: never an endless loop of paid SMS

    def in_language(self, field_name: str, language: str) -> str:
        texts: Mapping[str, str] = getattr(self, field_name)
        return texts.get(language) or texts.get("fr", "")


def survey_from_data(data: Mapping[str, Any], where: str, key: str | None = None) -> SurveySpec:
    """Build and validate a survey from plain data (a TOML file or the editor's form).

    Every mistake is collected, not only the first: the error names them all.
    """
    problems: list[Problem] = []

    def problem(field_name: str, code: str, message: str, **params: Any) -> None:
        problems.append(Problem(field_name, code, message, params))

    def texts(value: Any, name: str, label: str, required: bool = True) -> dict[str, str]:
        if value is None and not required:
            return {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            problem(name, "not_texts", f"'{label}' must be a table of texts per language")
            return {"fr": "?"}
        if required and not str(value.get("fr", "")).strip():
            problem(name, "needs_fr", f"'{label}' needs a French text (fr)")
        return {k: v.strip() for k, v in value.items() if v.strip()}

    slug = data.get("slug")
    if not isinstance(slug, str) or not slug:
        problem("slug", "slug_missing", "'slug' is missing")
    title = texts(data.get("title"), "title", "title")
    intro = texts(data.get("intro"), "intro", "intro", required=False)
    outro = texts(data.get("outro"), "outro", "outro", required=False)
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        problem("questions", "no_questions", "'questions' is missing or empty")
        raw_questions = []
    elif len(raw_questions) > MAX_QUESTIONS:
        problem(
            "questions",
            "too_many",
            f"{len(raw_questions)} questions, {MAX_QUESTIONS} at most",
            count=len(raw_questions),
            most=MAX_QUESTIONS,
        )
    questions = []
    for index, raw in enumerate(raw_questions, start=1):
        questions.append(_question(raw, index, len(raw_questions), problem, texts))
    reasks = data.get("reasks", DEFAULT_REASKS)
    if type(reasks) is not int or not 0 <= reasks <= MAX_REASKS:
        problem(
            "reasks",
            "bad_reasks",
            f"reasks: a number from 0 to {MAX_REASKS}",
            most=MAX_REASKS,
        )
        reasks = DEFAULT_REASKS
    if problems:
        message = "\n".join(f"{where}: {p.message}" for p in problems)
        raise PromptError(message, tuple(problems))
    return SurveySpec(
        key=key or str(slug),
        title=title,
        intro=intro,
        outro=outro,
        questions=tuple(questions),
        theme=data.get("theme"),
        max_reasks=reasks,
    )


def _question(raw: Any, index: int, count: int, problem: Any, texts: Any) -> QuestionSpec:
    """One question of `survey_from_data`; mistakes go to `problem(field, code, message)`."""
    place = f"questions.{index}"
    say = f"question {index}"
    if not isinstance(raw, Mapping):
        problem(f"{place}.kind", "bad_kind", f"{say}: must be a table", kind="")
        raw = {}
    kind = raw.get("kind")
    if kind not in KINDS:
        problem(
            f"{place}.kind",
            "bad_kind",
            f"{say}: 'kind' must be one of {', '.join(KINDS)}, not {kind!r}",
            kind=kind,
        )
    choices = []
    raw_choices = raw.get("choices", [])
    for n, choice in enumerate(raw_choices if isinstance(raw_choices, list) else [], 1):
        made = _choice(choice)
        if isinstance(made, str):
            problem(f"{place}.choices", "choice_fr", f"{say}, choice {n}: {made}", n=n)
        else:
            choices.append(made)
    if kind in ("single", "multiple") and len(raw_choices) < 2:
        problem(
            f"{place}.choices",
            "few_choices",
            f"{say}: a '{kind}' question needs at least 2 choices",
            kind=kind,
        )
    if kind not in ("single", "multiple") and raw_choices:
        problem(
            f"{place}.choices",
            "no_choices",
            f"{say}: a '{kind}' question takes no 'choices'",
            kind=kind,
        )
    values = {c.value for c in choices} | ({YES, NO} if kind == "yes_no" else set())
    goto = raw.get("goto", {})
    if not isinstance(goto, Mapping):
        problem(f"{place}.goto", "goto_table", f"{say}: 'goto' must be a table like {{ non = 4 }}")
        goto = {}
    for value, target in goto.items():
        if value not in values:
            problem(
                f"{place}.goto",
                "goto_unknown",
                f"{say}: 'goto' names {value!r}, which is not a choice",
                value=value,
            )
        elif not isinstance(target, int) or not index < target <= count + 1:
            problem(
                f"{place}.goto",
                "goto_backward",
                f"{say}: 'goto' {value!r} must go forward to a question number"
                f" between {index + 1} and {count + 1} (the end)",
                value=value,
                low=index + 1,
                high=count + 1,
            )
    return QuestionSpec(
        position=index,
        kind=str(kind),
        text=texts(raw.get("text"), f"{place}.text", f"questions[{index}].text"),
        choices=tuple(choices),
        required=bool(raw.get("required", False)),
        goto=dict(goto),
        id=raw.get("id"),
    )


def _choice(raw: Any) -> Choice | str:
    """The choice, or what is wrong with it."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("value"), str):
        return "needs a 'value' and a French label 'fr'"
    labels = {k: v for k, v in raw.items() if k != "value" and isinstance(v, str) and v.strip()}
    if "fr" not in labels:
        return "needs a French label 'fr'"
    return Choice(value=raw["value"], labels=labels)


def load_survey_file(path: Path) -> tuple[SurveySpec, dict[str, Any]]:
    """Read a ready-made survey; returns the spec and the raw data (to store it as it is)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PromptError(f"{path}: {exc}") from exc
    return survey_from_data(data, str(path)), data
