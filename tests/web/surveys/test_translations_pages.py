"""The survey editor's translations: side by side, per-language SMS counts, the XLSX round trip."""

from __future__ import annotations

import html
import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from bots.runtime import Runtime
from bots.survey_store import seed_prompts
from storage.db import transaction
from storage.models import AuditEntry, Survey
from tests.web.conftest import Territory, login_as, post


def _survey_id(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        seed_prompts(session)
        return session.scalars(select(Survey.id).where(Survey.slug == "scolarite")).one()


def test_the_list_says_which_catalogues_a_native_speaker_reviewed(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    page = html.unescape(client.get("/enquetes/").get_data(as_text=True))
    assert "Français — relue" in page
    assert "Türkçe — à relire par une personne dont c'est la langue" in page


def test_the_editor_shows_each_translation_beside_its_french_with_its_sms_count(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    survey_id = _survey_id(runtime)
    login_as(client, territory.users["chef_de_projet"])
    page = client.get(f"/enquetes/{survey_id}").get_data(as_text=True)
    assert page.count('<div class="translation">') >= 7 * 8  # 7 languages, title..questions
    assert 'name="q-1-text-uk"' in page and "Чи є у вас дитина" in page
    assert 'data-count="q1-ar"' in page or "q1-ar" in page  # the SMS counter per language


def test_translations_go_out_as_xlsx_and_come_back(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    survey_id = _survey_id(runtime)
    login_as(client, territory.users["chef_de_projet"])
    response = client.get(f"/enquetes/{survey_id}/traductions.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["texte", "fr"] and "uk" in header
    for row in sheet.iter_rows(min_row=3):
        if row[0].value == "title":
            row[header.index("tr")].value = "Ödevlere yardım"
    buffer = io.BytesIO()
    workbook.save(buffer)
    sent = post(
        client,
        f"/enquetes/{survey_id}/traductions",
        {"file": (io.BytesIO(buffer.getvalue()), "t.xlsx")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    with runtime.sessions() as session:
        survey = session.get(Survey, survey_id)
        assert survey is not None and survey.title["tr"] == "Ödevlere yardım"
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"survey_translations_import"} <= actions
    refused = post(
        client,
        f"/enquetes/{survey_id}/traductions",
        {"file": (io.BytesIO(b"not a sheet"), "t.xlsx")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "pas une feuille de traductions" in refused.get_data(as_text=True)
