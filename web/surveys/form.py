"""The survey editor's form, as plain data in the shape of a `prompts/surveys/*.toml` file.

The form, the database row and the shared TOML file all go through that one shape, and through
`bots.surveys.survey_from_data`: the editor obeys exactly the rules of the ready-made files.
Each mistake `survey_from_data` names carries the field it belongs to; `field_errors` turns them
into French sentences placed next to that field.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import tomli_w
from flask_babel import lazy_gettext as _l

from bots.surveys import (
    DEFAULT_REASKS,
    KINDS,
    MAX_QUESTIONS,
    NO,
    YES,
    Choice,
    QuestionSpec,
    SurveySpec,
)
from bots.text import normalise
from storage.models import Survey

KIND_LABELS = {
    "yes_no": _l("Oui / non"),
    "single": _l("Un choix"),
    "multiple": _l("Plusieurs choix"),
    "scale": _l("Note de 1 à 5"),
    "text": _l("Réponse libre"),
    "quartier": _l("Le quartier"),
}
CHOICE_KINDS = ("single", "multiple")
GOTO_KINDS = ("single", "yes_no")  # the engine follows a goto only for one chosen value
MAX_TEXT = 500

_MESSAGES = {
    "not_texts": _l("Ce texte est mal formé."),
    "needs_fr": _l("Écrivez ce texte en français (obligatoire)."),
    "slug_missing": _l("Il manque l'identifiant de l'enquête."),
    "no_questions": _l("Ajoutez au moins une question."),
    "too_many": _l("%(count)s questions : %(most)s au plus, une enquête doit rester courte."),
    "bad_kind": _l("Choisissez un type de question."),
    "bad_reasks": _l("Redemander au plus %(most)s fois."),
    "choice_fr": _l("Le choix n°%(n)s n'a pas de libellé en français."),
    "few_choices": _l("Écrivez au moins 2 choix, un par ligne."),
    "no_choices": _l("Ce type de question ne prend pas de choix : videz la liste."),
    "goto_table": _l("Le renvoi est mal formé."),
    "goto_unknown": _l("Le renvoi « %(value)s » ne correspond à aucun choix."),
    "goto_backward": _l(
        "Un renvoi va en avant : vers une question entre %(low)s et %(high)s (la fin)."
    ),
}


def field_errors(problems: Any) -> dict[str, list[str]]:
    """`{field: [French message, ...]}` from the problems of a `PromptError`."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        template = _MESSAGES.get(problem.code)
        text = str(template) % dict(problem.params) if template else problem.message
        errors.setdefault(problem.field, []).append(text)
    return errors


# --- data <-> database ---------------------------------------------------------------------------


def survey_to_data(survey: Survey) -> dict[str, Any]:
    """A stored survey in the shape of a ready-made TOML file."""
    data: dict[str, Any] = {"slug": survey.slug}
    if survey.theme_code:
        data["theme"] = survey.theme_code
    if survey.max_reasks != DEFAULT_REASKS:
        data["reasks"] = survey.max_reasks
    data["title"] = dict(survey.title)
    for name in ("intro", "outro"):
        if getattr(survey, name):
            data[name] = dict(getattr(survey, name))
    data["questions"] = []
    for question in survey.questions:
        item: dict[str, Any] = {"kind": question.kind, "text": dict(question.text)}
        if question.required:
            item["required"] = True
        if question.choices:
            item["choices"] = [{"value": c["value"], **c["labels"]} for c in question.choices]
        if question.goto:
            item["goto"] = dict(question.goto)
        data["questions"].append(item)
    return data


def to_toml(data: Mapping[str, Any]) -> str:
    """The file to share with another quartier: the ready-made surveys' format."""
    return "# Enquête Paroles : à importer dans « Enquêtes ».\n" + tomli_w.dumps(
        dict(data), multiline_strings=False
    )


def from_toml(text: str) -> dict[str, Any]:
    """Raises ValueError (French) when the file is not TOML at all."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"fichier illisible : {error}") from error


# --- form -> data --------------------------------------------------------------------------------


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.replace("\r", "").split("\n")]


def _texts(form: Mapping[str, str], prefix: str, languages: tuple[str, ...]) -> dict[str, str]:
    return {
        lang: form.get(f"{prefix}-{lang}", "").strip()[:MAX_TEXT]
        for lang in languages
        if form.get(f"{prefix}-{lang}", "").strip()
    }


def slugify(text: str, fallback: str = "enquete") -> str:
    return re.sub(r"[^a-z0-9]+", "-", normalise(text)).strip("-")[:60] or fallback


def _choices(form: Mapping[str, str], i: int, languages: tuple[str, ...]) -> list[dict[str, str]]:
    """One choice per line; the n-th line of each language is the n-th choice."""
    per_language = {lang: _lines(form.get(f"q-{i}-choices-{lang}", "")) for lang in languages}
    values = _lines(form.get(f"q-{i}-values", ""))
    count = max((len(lines) for lines in per_language.values()), default=0)
    choices, used = [], set()
    for n in range(count):
        labels = {
            lang: lines[n] for lang, lines in per_language.items() if n < len(lines) and lines[n]
        }
        if not labels:
            continue
        value = values[n] if n < len(values) and values[n] else ""
        value = value or slugify(labels.get("fr", ""), f"choix-{n + 1}")
        while value in used:
            value += "-2"
        used.add(value)
        choices.append({"value": value, **labels})
    return choices


def goto_options(kind: str, choices: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(value, French label) of the answers a question may send elsewhere."""
    if kind == "yes_no":
        return [(YES, "Oui"), (NO, "Non")]
    if kind == "single":
        return [(c["value"], c.get("fr", c["value"])) for c in choices]
    return []


def form_to_data(form: Mapping[str, str], languages: tuple[str, ...], slug: str) -> dict[str, Any]:
    """The editor's form as survey data (not validated yet)."""
    count = min(_int(form.get("count"), 1), MAX_QUESTIONS + 4)
    data: dict[str, Any] = {
        "slug": slug,
        "title": _texts(form, "title", languages),
        "intro": _texts(form, "intro", languages),
        "outro": _texts(form, "outro", languages),
        "questions": [],
    }
    if form.get("theme"):
        data["theme"] = form["theme"]
    data["reasks"] = _int(form.get("reasks"), DEFAULT_REASKS)
    for i in range(1, count + 1):
        kind = form.get(f"q-{i}-kind", "")
        question: dict[str, Any] = {"kind": kind, "text": _texts(form, f"q-{i}-text", languages)}
        if form.get(f"q-{i}-required"):
            question["required"] = True
        if kind in CHOICE_KINDS:
            question["choices"] = _choices(form, i, languages)
        goto = {}
        for n, (value, _label) in enumerate(goto_options(kind, question.get("choices", []))):
            target = form.get(f"q-{i}-goto-{n}", "")
            if target.isdigit():
                goto[value] = int(target)
        if goto:
            question["goto"] = goto
        data["questions"].append(question)
    return data


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


def blank_question() -> dict[str, Any]:
    return {"kind": "yes_no", "text": {}}


def rearrange(data: dict[str, Any], order: list[int]) -> dict[str, Any]:
    """Questions in a new `order` (old 1-based positions; missing ones removed), gotos kept.

    A goto to a removed question goes to the next one kept; "the end" stays the end.
    """
    old = data["questions"]
    new_position = {old_pos: new for new, old_pos in enumerate(order, 1)}
    end = len(order) + 1

    def moved(target: int) -> int:
        for candidate in range(target, len(old) + 1):
            if candidate in new_position:
                return new_position[candidate]
        return end

    questions = []
    for old_pos in order:
        question = dict(old[old_pos - 1]) if old_pos <= len(old) else blank_question()
        if question.get("goto"):
            question["goto"] = {v: moved(t) for v, t in question["goto"].items()}
        questions.append(question)
    return {**data, "questions": questions}


# --- data -> what the editor shows ---------------------------------------------------------------


@dataclass
class EditorQuestion:
    index: int
    kind: str
    text: dict[str, str]
    required: bool
    choices: dict[str, str]  # language -> one label per line
    values: str
    goto: list[tuple[int, str, int | None]] = field(default_factory=list)  # (n, label, target)


def editor_questions(data: Mapping[str, Any], languages: tuple[str, ...]) -> list[EditorQuestion]:
    shown = []
    for index, raw in enumerate(data.get("questions") or [], 1):
        choices = raw.get("choices") or []
        goto = raw.get("goto") or {}
        shown.append(
            EditorQuestion(
                index=index,
                kind=raw.get("kind", ""),
                text=dict(raw.get("text") or {}),
                required=bool(raw.get("required")),
                choices={
                    lang: "\n".join(c.get(lang, "") for c in choices).rstrip("\n")
                    for lang in languages
                },
                values="\n".join(c.get("value", "") for c in choices),
                goto=[
                    (n, label, goto.get(value))
                    for n, (value, label) in enumerate(goto_options(raw.get("kind", ""), choices))
                ],
            )
        )
    return shown


def lenient_spec(data: Mapping[str, Any]) -> SurveySpec:
    """A survey good enough to count its SMS while it is still being written (never saved)."""
    questions = []
    for index, raw in enumerate(data.get("questions") or [], 1):
        kind = raw.get("kind") if raw.get("kind") in KINDS else "text"
        choices = tuple(
            Choice(c["value"], {k: v for k, v in c.items() if k != "value"})
            for c in raw.get("choices") or []
            if c.get("fr")
        )
        if kind in CHOICE_KINDS and not choices:
            kind = "text"
        text = dict(raw.get("text") or {})
        text.setdefault("fr", "…")
        questions.append(
            QuestionSpec(
                index,
                kind,
                text,
                choices if kind in CHOICE_KINDS else (),
                bool(raw.get("required")),
            )
        )
    if not questions:
        questions.append(QuestionSpec(1, "text", {"fr": "…"}))
    return SurveySpec(
        key="preview",
        title=dict(data.get("title") or {}) or {"fr": "…"},
        intro=dict(data.get("intro") or {}),
        outro=dict(data.get("outro") or {}),
        questions=tuple(questions),
    )
