"""A survey's translations through an XLSX sheet: export, a translator fills it, import."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bots.runtime import Runtime
from bots.survey_store import seed_prompts
from bots.survey_translations import SheetError, apply, read_xlsx, survey_texts, to_xlsx
from storage.db import transaction
from storage.models import Survey

LANGUAGES = ("fr", "ar", "en", "es", "pt", "ro", "tr", "uk")
NAMES = {"fr": "Français", "ar": "العربية", "tr": "Türkçe"}


def _survey(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        seed_prompts(session)
        survey = session.scalars(select(Survey).where(Survey.slug == "scolarite")).one()
        survey.title = {"fr": survey.title["fr"], "en": survey.title["en"]}  # only two languages
        return survey.id


def _rows(data: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _fill(data: bytes, edits: dict[tuple[str, str], str]) -> bytes:
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.worksheets[0]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=3):
        for (key, language), value in edits.items():
            if row[0].value == key:
                row[header.index(language)].value = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_one_row_per_text_one_column_per_language(runtime: Runtime) -> None:
    survey_id = _survey(runtime)
    with runtime.sessions() as session:
        survey = session.get(Survey, survey_id)
        rows = _rows(to_xlsx(survey, LANGUAGES, NAMES))
        keys = [t.key for t in survey_texts(survey)]
    assert rows[0] == ["texte", "fr", "ar", "en", "es", "pt", "ro", "tr", "uk"]
    assert rows[1][:3] == [None, "Français", "العربية"]
    assert [r[0] for r in rows[2:]] == keys
    assert keys[:4] == ["title", "intro", "outro", "q1.text"]
    assert "q2.choice.famille" in keys
    title = rows[2]
    assert title[1] == "L'aide aux devoirs" and title[3] == "Homework help" and title[2] is None


def test_a_filled_sheet_is_imported_and_french_is_never_changed(runtime: Runtime) -> None:
    survey_id = _survey(runtime)
    with runtime.sessions() as session:
        data = to_xlsx(session.get(Survey, survey_id), LANGUAGES, NAMES)
    filled = _fill(
        data,
        {
            ("title", "ar"): "المساعدة في الواجبات المدرسية",
            ("title", "fr"): "Un autre titre",  # French is edited in the editor, not here
            ("q2.choice.famille", "tr"): "Ben ya da ailem",
            ("q1.text", "uk"): "Чи є у вас дитина в школі?",
        },
    )
    with transaction(runtime.sessions) as session:
        survey = session.get(Survey, survey_id)
        imported = read_xlsx(filled, survey, LANGUAGES)
        assert imported.french_changed == [(3, "title")]
        assert imported.count == 3
        apply(survey, imported.changed)
    with runtime.sessions() as session:
        survey = session.get(Survey, survey_id)
        assert survey is not None
        assert survey.title == {
            "fr": "L'aide aux devoirs",
            "en": "Homework help",
            "ar": "المساعدة في الواجبات المدرسية",
        }
        assert survey.questions[0].text["uk"] == "Чи є у вас дитина в школі?"
        famille = survey.questions[1].choices[0]
        assert famille["value"] == "famille" and famille["labels"]["tr"] == "Ben ya da ailem"
        assert famille["labels"]["fr"] == "Moi ou la famille"


def test_a_text_like_a_formula_is_exported_as_text(runtime: Runtime) -> None:
    survey_id = _survey(runtime)
    with transaction(runtime.sessions) as session:
        survey = session.get(Survey, survey_id)
        assert survey is not None
        survey.intro = {"fr": "=SOMME(A1) +2 questions"}
    with runtime.sessions() as session:
        data = to_xlsx(session.get(Survey, survey_id), LANGUAGES, NAMES)
    cell = load_workbook(io.BytesIO(data)).worksheets[0]["B4"]
    assert cell.value == "=SOMME(A1) +2 questions" and cell.data_type == "s"


def test_what_the_import_cannot_use_is_reported(runtime: Runtime) -> None:
    survey_id = _survey(runtime)
    with runtime.sessions() as session:
        survey = session.get(Survey, survey_id)
        data = to_xlsx(survey, LANGUAGES, NAMES)
        workbook = load_workbook(io.BytesIO(data))
        sheet = workbook.worksheets[0]
        sheet.cell(row=1, column=10).value = "klingon"
        sheet.append(["q9.text", "", "", "Nine"])
        buffer = io.BytesIO()
        workbook.save(buffer)
        imported = read_xlsx(buffer.getvalue(), survey, LANGUAGES)
    assert imported.unknown_languages == ["klingon"]
    assert imported.unknown_keys == [(len(survey_texts(survey)) + 3, "q9.text")]
    assert imported.changed == {}


@pytest.mark.parametrize("data", [b"", b"not a spreadsheet", b"PK\x03\x04broken"])
def test_a_file_that_is_not_a_sheet_is_refused_clearly(runtime: Runtime, data: bytes) -> None:
    survey_id = _survey(runtime)
    with runtime.sessions() as session, pytest.raises(SheetError):
        read_xlsx(data, session.get(Survey, survey_id), LANGUAGES)
