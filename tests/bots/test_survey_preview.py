"""The SMS count of a survey's messages is the SMS channel's own count of what the engine says."""

from __future__ import annotations

from bots.channels import Outgoing
from bots.channels.simulator import render
from bots.engine import Context, Incoming, State, start_survey, step
from bots.prompts import default_catalog
from bots.sms_text import segments
from bots.survey_preview import reply_count, run_segments, sms_count, survey_messages
from bots.surveys import survey_from_data

DATA = {
    "slug": "devoirs",
    "title": {"fr": "Aide aux devoirs"},
    "intro": {"fr": "3 questions."},
    "outro": {"fr": "Résultats en janvier."},
    "questions": [
        {"kind": "yes_no", "text": {"fr": "Avez-vous un enfant ?"}, "goto": {"non": 3}},
        {
            "kind": "single",
            "text": {"fr": "Quel jour ?", "en": "Which day?"},
            "choices": [
                {"value": "mercredi", "fr": "Mercredi", "en": "Wednesday"},
                {"value": "samedi", "fr": "Samedi"},
            ],
        },
        {"kind": "text", "text": {"fr": "Une idée ?"}},
    ],
}


def test_each_message_is_what_the_engine_sends_and_the_simulator_shows() -> None:
    catalog = default_catalog()
    spec = survey_from_data(DATA, "test")
    messages = survey_messages(spec, catalog, "fr")
    assert list(messages) == ["q1", "q2", "q3", "end"]
    ctx = Context(catalog=catalog, surveys={spec.key: spec})
    started = start_survey(State(consent=True), spec, ctx)
    assert messages["q1"] == started.replies[0]
    second = step(started.state, Incoming(text="oui"), ctx)
    assert messages["q2"] == second.replies[0]
    shown = render(Outgoing(1, "", second.replies[0].text, second.replies[0].choices, "choice"))
    assert reply_count(messages["q2"]).text == shown
    assert shown.endswith("1 Mercredi 2 Samedi")
    third = step(second.state, Incoming(text="2"), ctx)
    end = step(third.state, Incoming(text="Plus de places"), ctx)
    assert messages["end"] == end.replies[0]
    assert run_segments(spec, catalog, "fr") == 4


def test_other_languages_fall_back_to_french_where_missing() -> None:
    spec = survey_from_data(DATA, "test")
    english = survey_messages(spec, default_catalog(), "en")
    assert "Which day?" in english["q2"].text and english["q2"].choices == ("Wednesday", "Samedi")


def test_sms_count_is_the_segment_count_of_the_shaped_text() -> None:
    assert sms_count("a" * 160).segments == 1
    assert sms_count("a" * 161).segments == 2
    assert sms_count("Ça va, ça ?").text == "Ça va, ca ?"
    count = sms_count("🙂 merci")
    assert count.segments == segments(count.text) == 1


def test_a_long_first_question_is_sent_whole_in_the_invitation() -> None:
    long_question = "Votre enfant viendrait-il à l'aide aux devoirs le samedi matin ? " * 3
    data = {**DATA, "questions": [{"kind": "yes_no", "text": {"fr": long_question}}]}
    spec = survey_from_data(data, "test")
    invitation = survey_messages(spec, default_catalog(), "fr")["q1"]
    assert long_question.strip() in invitation.text
    assert reply_count(invitation).segments == 2  # and the editor says so
