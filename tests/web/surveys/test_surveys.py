"""The survey editor: validation next to each field, questions moved with their renvois, in-use
surveys copied rather than changed, TOML import and export, and the live SMS count."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import select

from bots.runtime import Runtime
from bots.sms_text import render_sms, segments
from bots.survey_preview import reply_count, survey_messages
from bots.survey_store import spec_from_row
from bots.surveys import load_survey_file
from storage.db import transaction
from storage.models import AuditEntry, Campaign, Survey
from tests.web.conftest import Territory, login_as, post
from web.surveys.form import from_toml

GOOD = {
    "title-fr": "L'aide aux devoirs",
    "intro-fr": "3 questions, 1 minute.",
    "outro-fr": "Résultats en janvier, à la maison de quartier.",
    "count": "3",
    "q-1-kind": "yes_no",
    "q-1-text-fr": "Avez-vous un enfant au collège ?",
    "q-1-required": "on",
    "q-1-goto-1": "3",  # "non" -> question 3
    "q-2-kind": "single",
    "q-2-text-fr": "Quel jour ?",
    "q-2-choices-fr": "Mercredi\nSamedi",
    "q-2-choices-en": "Wednesday\nSaturday",
    "q-3-kind": "text",
    "q-3-text-fr": "Une idée ?",
    "q-3-text-en": "An idea?",
}


def survey_by_title(runtime: Runtime, title: str) -> Survey:
    with runtime.sessions() as session:
        for survey in session.scalars(select(Survey).order_by(Survey.id.desc())):
            if survey.title.get("fr") == title:
                survey.questions  # noqa: B018  (loaded before the session closes)
                return survey
    raise AssertionError(f"no survey titled {title!r}")


def test_a_new_survey_is_saved_with_choices_languages_and_renvois(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    response = post(client, "/enquetes/nouvelle", {**GOOD, "action": "save"})
    assert response.status_code == 302
    survey = survey_by_title(runtime, "L'aide aux devoirs")
    spec = spec_from_row(survey)
    assert [q.kind for q in spec.questions] == ["yes_no", "single", "text"]
    assert spec.questions[0].goto == {"non": 3} and spec.questions[0].required
    assert [(c.value, dict(c.labels)) for c in spec.questions[1].choices] == [
        ("mercredi", {"fr": "Mercredi", "en": "Wednesday"}),
        ("samedi", {"fr": "Samedi", "en": "Saturday"}),
    ]
    assert spec.questions[2].text == {"fr": "Une idée ?", "en": "An idea?"}
    assert survey.quartier_id == territory.nord  # a conseil's survey belongs to its quartier
    assert survey.created_by_id == territory.users["conseil_citoyen"]


MISTAKES = [
    # (form change, field whose error is shown, words of the message)
    ({"title-fr": ""}, "title", "en français"),
    ({"q-1-kind": "dropdown"}, "questions.1.kind", "type de question"),
    ({"q-2-choices-fr": "Mercredi", "q-2-choices-en": ""}, "questions.2.choices", "au moins 2"),
    (
        {"q-2-choices-fr": "Mercredi\n", "q-2-choices-en": "Wednesday\nSaturday"},
        "questions.2.choices",
        "n°2",
    ),
    ({"q-3-text-fr": ""}, "questions.3.text", "en français"),
    ({"q-1-goto-1": "1"}, "questions.1.goto", "va en avant"),
    ({"reasks": "9"}, "reasks", "au plus 5 fois"),
]


@pytest.mark.parametrize(("change", "field", "words"), MISTAKES)
def test_each_mistake_is_shown_next_to_its_field(
    client: Any, territory: Territory, change: dict[str, str], field: str, words: str
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    response = post(client, "/enquetes/nouvelle", {**GOOD, **change, "action": "save"})
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    error_id = "err-" + field.replace(".", "-")
    messages = re.findall(rf'<p class="field-error" id="{error_id}">([^<]*)</p>', page)
    assert any(words in message for message in messages), messages
    # the field itself points at its message, for screen readers
    assert f'aria-describedby="{error_id}"' in page
    # and what was typed is still there
    assert "Avez-vous un enfant au collège ?" in page


def test_all_mistakes_at_once_each_get_their_message(client: Any, territory: Territory) -> None:
    login_as(client, territory.users["chef_de_projet"])
    broken = {**GOOD, "title-fr": "", "q-2-choices-fr": "", "q-3-text-fr": ""}
    page = html.unescape(post(client, "/enquetes/nouvelle", {**broken, "action": "save"}).text)
    for error_id in ("err-title", "err-questions-2-choices", "err-questions-3-text"):
        assert f'id="{error_id}"' in page


def test_nine_questions_are_refused_at_the_question_list(client: Any, territory: Territory) -> None:
    login_as(client, territory.users["chef_de_projet"])
    form = {"title-fr": "Long", "count": "9"}
    for i in range(1, 10):
        form |= {f"q-{i}-kind": "text", f"q-{i}-text-fr": f"Question {i} ?"}
    page = html.unescape(post(client, "/enquetes/nouvelle", {**form, "action": "save"}).text)
    assert re.search(r'id="err-questions">9 questions : 8 au plus', page)


def test_moving_and_removing_questions_keeps_the_renvois_pointing_at_the_same_question(
    client: Any, territory: Territory
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    page = post(client, "/enquetes/nouvelle", {**GOOD, "action": "down-2"}).text
    # question 2 and 3 swapped: "non" of question 1 now goes to question 2 (the text question)
    assert 'name="q-2-kind"' in page
    assert re.search(r'id="q-2-kind".*?value="text" selected', page, re.S)
    assert re.search(r'id="q-1-goto-1".*?<option value="2" selected', page, re.S)
    removed = post(client, "/enquetes/nouvelle", {**GOOD, "action": "remove-3"}).text
    assert 'value="2"' in removed and 'name="q-3-kind"' not in removed
    assert re.search(r'id="q-1-goto-1".*?<option value="3" selected>la fin', removed, re.S)
    added = post(client, "/enquetes/nouvelle", {**GOOD, "action": "add"}).text
    assert 'name="q-4-kind"' in added


def test_a_survey_in_use_is_not_edited_in_place_but_copied(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    post(client, "/enquetes/nouvelle", {**GOOD, "action": "save"})
    survey = survey_by_title(runtime, "L'aide aux devoirs")
    with transaction(runtime.sessions) as session:
        session.add(Campaign(survey_id=survey.id, name="c", status="running", target={}))
    page = html.unescape(client.get(f"/enquetes/{survey.id}").text)
    assert "ne se modifie plus" in page and "Copier cette enquête" in page
    changed = {**GOOD, "title-fr": "Autre titre", "action": "save"}
    assert post(client, f"/enquetes/{survey.id}", changed).status_code == 302
    assert survey_by_title(runtime, "L'aide aux devoirs").id == survey.id  # unchanged
    copied = post(client, f"/enquetes/{survey.id}/copier")
    copy = survey_by_title(runtime, "L'aide aux devoirs (copie)")
    assert copied.headers["Location"].endswith(f"/enquetes/{copy.id}")
    assert len(copy.questions) == 3 and copy.slug != survey.slug
    assert post(client, f"/enquetes/{copy.id}", {**changed}).status_code == 302
    assert survey_by_title(runtime, "Autre titre").id == copy.id


def test_export_then_import_gives_the_same_survey(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    ready = survey_by_title(runtime, "L'aide aux devoirs")  # the ready-made scolarite
    exported = client.get(f"/enquetes/{ready.id}/enquete.toml")
    assert exported.status_code == 200
    assert 'filename="scolarite.toml"' in exported.headers["Content-Disposition"]
    data = from_toml(exported.text)
    _spec, original = load_survey_file(__import__("pathlib").Path("prompts/surveys/scolarite.toml"))
    assert data == original  # the ready-made files' own format
    with runtime.sessions() as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.target == "survey")).one()
    upload = {"file": (__import__("io").BytesIO(exported.data), "scolarite.toml")}
    response = post(client, "/enquetes/importer", upload, content_type="multipart/form-data")
    assert response.status_code == 302
    with runtime.sessions() as session:
        slugs = sorted(session.scalars(select(Survey.slug).where(Survey.slug.like("l-aide%"))))
    assert slugs == ["l-aide-aux-devoirs"]
    imported = survey_by_title(runtime, "L'aide aux devoirs")
    assert spec_from_row(imported).questions == tuple(
        q.__class__(**{**q.__dict__, "id": i.id})
        for q, i in zip(spec_from_row(ready).questions, imported.questions, strict=True)
    )


def test_a_broken_file_is_refused_with_its_mistakes_in_french(
    client: Any, territory: Territory
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    broken = (
        b'slug = "x"\ntitle = { en = "X" }\n[[questions]]\nkind = "single"\ntext = { fr = "?" }\n'
    )
    upload = {"file": (__import__("io").BytesIO(broken), "x.toml")}
    post(client, "/enquetes/importer", upload, content_type="multipart/form-data")
    page = html.unescape(client.get("/enquetes/").text)
    assert "Import impossible" in page and "en français" in page and "au moins 2 choix" in page
    upload = {"file": (__import__("io").BytesIO(b"not = = toml"), "y.toml")}
    post(client, "/enquetes/importer", upload, content_type="multipart/form-data")
    assert "fichier illisible" in html.unescape(client.get("/enquetes/").text)


TRICKY = [
    "Merci",
    "Ça va ? Réponse à l'école, garçon",
    "L’aide aux devoirs « marche » bien ?",
    "Merci 🙂",
    "a" * 160,
    "a" * 161,
    "€" * 80,
    "€" * 81,
    "ê" * 70,
    "Prix : 5€ " * 20,
    "🙂" * 35,
    "🙂" * 36,
]


@pytest.mark.parametrize("text", TRICKY)
def test_the_live_counter_agrees_with_the_sms_channel(
    client: Any, territory: Territory, text: str
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    counted = post(client, "/enquetes/compter", {"text": text}).get_json()
    sent = render_sms(text)
    assert counted == {"text": sent, "chars": len(sent), "segments": segments(sent)}


def test_the_counter_counts_each_question_as_the_engine_sends_it(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    counts = post(client, "/enquetes/compter", GOOD).get_json()
    post(client, "/enquetes/nouvelle", {**GOOD, "action": "save"})
    spec = spec_from_row(survey_by_title(runtime, "L'aide aux devoirs"))
    for language in ("fr", "en"):
        for key, reply in survey_messages(spec, runtime.catalog, language).items():
            assert counts[f"{key}-{language}"] == reply_count(reply).to_json()
    assert counts["q2-fr"]["text"].endswith("\n1 Mercredi 2 Samedi")
    long_question = {**GOOD, "q-2-text-fr": "Quel jour vous irait le mieux ? " * 6}
    counted = post(client, "/enquetes/compter", long_question).get_json()
    assert counted["q2-fr"]["segments"] == 2
    page = html.unescape(post(client, "/enquetes/nouvelle", {**long_question, "action": "x"}).text)
    assert "plus d'un SMS : raccourcissez" in page


def test_how_often_a_misunderstood_answer_is_asked_again_is_set_per_survey(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    """Issue 15: each new ask is a paid SMS; the survey says how many, at most."""
    login_as(client, territory.users["chef_de_projet"])
    page = client.get("/enquetes/nouvelle").get_data(as_text=True)
    assert 'name="reasks"' in page and '<option value="2" selected>' in page  # the default
    post(client, "/enquetes/nouvelle", {**GOOD, "reasks": "1", "action": "save"})
    survey = survey_by_title(runtime, "L'aide aux devoirs")
    assert survey.max_reasks == 1 and spec_from_row(survey).max_reasks == 1
    edit = client.get(f"/enquetes/{survey.id}").get_data(as_text=True)
    assert '<option value="1" selected>' in edit
