"""A survey's translations as a spreadsheet: one row per text, one column per language.

A translator who never sees the back-office receives an XLSX file, fills the empty cells of
their language's column and sends it back; the import writes those texts into the survey. The
first column names each text (`title`, `q2.text`, `q2.choice.famille`...), the second is the
French (for reading: French is edited in the survey editor, never through the sheet), then one
column per catalogue language. On import an empty cell leaves the text as it was, a header that
is not a catalogue language is reported and skipped, and a row whose French changed since the
export is imported but reported (the translation may no longer say the same thing).
A text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`) is written as a text cell.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

KEY_HEADER = "texte"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 500


class SheetError(ValueError):
    """The file is not a translation sheet we can read (not XLSX, no header, no key column)."""


@dataclass(frozen=True)
class Text:
    """One translatable text of a survey: where it lives and its texts per language."""

    key: str
    texts: Mapping[str, str]


@dataclass
class Imported:
    """What an import changed, and what it could not use (each with its row number)."""

    changed: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> {language: text}
    unknown_keys: list[tuple[int, str]] = field(default_factory=list)
    unknown_languages: list[str] = field(default_factory=list)
    french_changed: list[tuple[int, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.changed.values())


def survey_texts(survey: Any) -> list[Text]:
    """Every text of a `storage.models.Survey` row, in reading order."""
    texts = [Text(name, getattr(survey, name) or {}) for name in ("title", "intro", "outro")]
    for question in survey.questions:
        texts.append(Text(f"q{question.position}.text", question.text or {}))
        for choice in question.choices or []:
            texts.append(Text(f"q{question.position}.choice.{choice['value']}", choice["labels"]))
    return [t for t in texts if t.texts.get("fr")]


def to_xlsx(survey: Any, languages: Sequence[str], names: Mapping[str, str]) -> bytes:
    """The sheet to send a translator: French first, then one column per other language."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "traductions"[:31]
    columns = ["fr", *[code for code in languages if code != "fr"]]
    sheet.append([KEY_HEADER, *columns])
    sheet.append(["", *[names.get(code, code) for code in columns]])
    for text in survey_texts(survey):
        sheet.append([text.key, *[text.texts.get(code, "") for code in columns]])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, _ in enumerate(columns, start=2):
        sheet.column_dimensions[get_column_letter(index)].width = 40
    sheet.column_dimensions["A"].width = 22
    for row in sheet.iter_rows(min_row=3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                cell.data_type = "s"  # a text, never a formula run on the translator's computer
    sheet.freeze_panes = "C3"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def read_xlsx(data: bytes, survey: Any, languages: Iterable[str]) -> Imported:
    """Read a filled sheet against `survey`; nothing is written (see `apply`)."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is not XLSX
        raise SheetError(f"not an XLSX file: {type(error).__name__}") from error
    sheet = workbook.worksheets[0] if workbook.worksheets else None
    rows = list(sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2)) if sheet else []
    workbook.close()
    if not rows or not rows[0] or _cell(rows[0][0]) != KEY_HEADER:
        raise SheetError(f"the first cell must be '{KEY_HEADER}'")
    known = set(languages)
    header = [_cell(v) for v in rows[0]]
    result = Imported()
    columns: dict[int, str] = {}
    for index, code in enumerate(header[1:], start=1):
        if code in known:
            columns[index] = code
        elif code:
            result.unknown_languages.append(code)
    current = {t.key: t.texts for t in survey_texts(survey)}
    for number, row in enumerate(rows[1:], start=2):
        key = _cell(row[0]) if row else ""
        if not key:
            continue  # the row of language names, or an empty line
        if key not in current:
            result.unknown_keys.append((number, key))
            continue
        for index, code in columns.items():
            value = _cell(row[index]) if index < len(row) else ""
            if code == "fr":
                if value and value != current[key].get("fr", ""):
                    result.french_changed.append((number, key))
                continue
            if value and value != current[key].get(code, ""):
                result.changed.setdefault(key, {})[code] = value
    return result


def apply(survey: Any, changes: Mapping[str, Mapping[str, str]]) -> None:
    """Write imported translations into a `Survey` row and its questions (French untouched)."""
    for name in ("title", "intro", "outro"):
        if name in changes:
            setattr(survey, name, {**(getattr(survey, name) or {}), **changes[name]})
    for question in survey.questions:
        key = f"q{question.position}.text"
        if key in changes:
            question.text = {**question.text, **changes[key]}
        choices = []
        for choice in question.choices or []:
            new = changes.get(f"q{question.position}.choice.{choice['value']}")
            labels = {**choice["labels"], **new} if new else choice["labels"]
            choices.append({**choice, "labels": labels})
        question.choices = choices
