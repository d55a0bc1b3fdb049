"""The dialogue engine, pure: no database, no clock, every path a habitant can take."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bots.engine import (
    Access,
    Context,
    Fact,
    Held,
    Incoming,
    Join,
    Privacy,
    QuartierOption,
    Reply,
    State,
    Step,
    ThemeOption,
    start_survey,
    step,
)
from bots.prompts import default_catalog, load_ready_made_surveys, load_themes
from bots.sms_text import render_sms, segments, sms_messages
from bots.surveys import SurveySpec
from bots.text import normalise

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _context() -> Context:
    surveys = {spec.key: spec for spec, _ in load_ready_made_surveys()}
    themes = tuple(
        ThemeOption(t.code, dict(t.short)) for t in load_themes() if t.offered_to_habitants
    )
    quartiers = (
        QuartierOption("QP093012", "Les Tilleuls"),
        QuartierOption("QP093013", "Le Marché"),
        QuartierOption("QP093014", "La Source"),
    )
    return Context(default_catalog(), surveys, themes, quartiers)


CTX = _context()
SURVEYS: dict[str, SurveySpec] = dict(CTX.surveys)  # type: ignore[arg-type]
CONSENTED = State(consent=True)
KEYWORDS = CTX.catalog.keywords


def one(result: Step) -> Reply:
    assert len(result.replies) == 1, result.replies
    return result.replies[0]


def kinds(result: Step) -> list[str]:
    return [f.kind for f in result.facts]


def say(state: State, *lines: str, at: datetime | None = None) -> Step:
    """Feed several messages; returns the last step."""
    result = Step(state, ())
    for line in lines:
        result = step(result.state, Incoming(line, at=at), CTX)
    return result


def in_survey(key: str, question: int = 0, **changes: object) -> State:
    return replace(CONSENTED, survey=key, question=question, **changes)  # type: ignore[arg-type]


# --- first contact and consent -----------------------------------------------------------------


def test_first_contact_says_who_asks_why_and_how_to_stop_then_asks_consent() -> None:
    result = step(State(), Incoming("Bonjour"), CTX)
    reply = one(result)
    assert reply.key == "welcome"
    assert "Paroles" in reply.text and "STOP" in reply.text
    assert "Numéro caché" in reply.text and "INFO" in reply.text  # pseudonymous, not anonymous
    # CNIL's advice for chatbots: ask habitants not to write sensitive data, in the same SMS.
    assert "santé" in reply.text and "religion" in reply.text and "politique" in reply.text
    assert reply.choices == ("Oui", "Non")
    # Its last line says how to change language, each language in its own name.
    assert reply.text.splitlines()[-1] == (
        "LANGUE : العربية English Español Português Română Türkçe Українська"
    )
    assert result.state.asking == "consent" and not result.state.consent
    assert result.facts == ()


@pytest.mark.parametrize("yes", ["oui", "Ouais", "ok", "👍", "1", "oui merci", "d'accord"])
def test_consent_given_in_many_ways(yes: str) -> None:
    result = say(State(), "Bonjour", yes)
    assert kinds(result) == ["consented"]
    assert result.state.consent and result.state.asking == ""
    assert one(result).key == "invite_prompt"


@pytest.mark.parametrize("no", ["non", "Nan", "👎", "2", "non merci"])
def test_consent_refused_keeps_nothing(no: str) -> None:
    result = say(State(), "Il y a des rats dans la cave", no)
    assert kinds(result) == ["consent_refused"]
    assert one(result).key == "consent_refused"
    assert result.state.held == () and not result.state.consent


def test_free_text_before_consent_is_held_then_recorded_once_agreed() -> None:
    first = step(State(), Incoming("L'ascenseur du 12 est en panne depuis 3 semaines"), CTX)
    assert first.facts == ()  # nothing recorded without consent
    assert first.state.held[0].text.startswith("L'ascenseur")
    agreed = step(first.state, Incoming("oui"), CTX)
    contribution = [f for f in agreed.facts if f.kind == "contribution"]
    assert [f.raw for f in contribution] == ["L'ascenseur du 12 est en panne depuis 3 semaines"]
    assert one(agreed).key == "contribution_thanks"  # then: what is it about?
    assert one(agreed).text.count("Merci") == 1  # not "Merci ! Merci, c'est noté !"
    assert agreed.state.asking == "theme" and agreed.state.held == ()


def test_each_message_held_before_consent_is_its_own_contribution() -> None:
    """Issue 16, item 7: "oui Mon voisin … 6" was one glued contribution."""
    first = step(State(), Incoming("Mon voisin fait du bruit toutes les nuits", ref="11"), CTX)
    more = step(first.state, Incoming("6", ref="12"), CTX)
    assert one(more).key == "consent_needed"
    agreed = step(more.state, Incoming("oui", ref="13"), CTX)
    contributions = [(f.raw, f.ref) for f in agreed.facts if f.kind == "contribution"]
    assert contributions == [("Mon voisin fait du bruit toutes les nuits", "11"), ("6", "12")]
    assert one(agreed).text.count("Merci") == 1
    assert agreed.state.held == ()  # recorded once: nothing left to record again


def test_stop_before_consent_forgets_what_was_held() -> None:
    first = step(State(), Incoming("Le local poubelle déborde encore", ref="21"), CTX)
    stopped = step(first.state, Incoming("STOP"), CTX)
    assert kinds(stopped) == ["held_dropped", "opted_out"]
    assert stopped.state.held == ()
    assert "déborde" not in json.dumps(stopped.state.to_json())
    back = step(stopped.state, Incoming("START"), CTX)
    agreed = step(step(back.state, Incoming("Bonjour"), CTX).state, Incoming("oui"), CTX)
    assert [f for f in agreed.facts if f.kind == "contribution"] == []


def test_a_state_stored_before_held_messages_existed_still_reads() -> None:
    old = {"asking": "consent", "pending_text": "déjà dit", "pending_media": ["photo"]}
    state = State.from_json(old)
    assert [(h.text, h.media) for h in state.held] == [("déjà dit", ("photo",))]


def test_a_photo_before_consent_is_held_too() -> None:
    first = step(State(), Incoming(media=("photo",)), CTX)
    assert first.state.held[0].media == ("photo",)
    agreed = step(first.state, Incoming("oui"), CTX)
    assert [(f.kind, f.media) for f in agreed.facts if f.kind == "contribution"] == [
        ("contribution", ("photo",))
    ]


def test_join_code_before_consent_starts_its_survey_once_agreed() -> None:
    joined = step(State(), Incoming(join=Join("SCOLARITE", "scolarite", "QP093012")), CTX)
    assert kinds(joined) == ["joined"]
    assert joined.facts[0].value == "QP093012" and joined.facts[0].raw == "SCOLARITE"
    assert one(joined).key == "welcome"
    agreed = step(joined.state, Incoming("ouais"), CTX)
    assert kinds(agreed) == ["consented", "survey_started"]
    assert agreed.state.survey == "scolarite" and agreed.state.question == 0
    assert "1/5" in one(agreed).text and one(agreed).text.startswith("Merci !")


def test_join_code_after_consent_starts_the_survey_at_once() -> None:
    result = step(CONSENTED, Incoming(join=Join("ASSOCIATIONS", "associations")), CTX)
    assert kinds(result) == ["joined", "survey_started"]
    assert one(result).key == "question:1"


def test_join_code_of_the_survey_in_progress_resumes_it() -> None:
    result = step(in_survey("scolarite", 2), Incoming(join=Join("SCOLARITE", "scolarite")), CTX)
    assert kinds(result) == ["joined"]
    assert one(result).text.startswith("Rebonjour") and "3/5" in one(result).text


def test_join_code_of_another_survey_leaves_the_first() -> None:
    result = step(in_survey("scolarite", 2), Incoming(join=Join("ALLERVERS", "aller-vers")), CTX)
    assert kinds(result) == ["joined", "survey_left", "survey_started"]
    assert result.facts[1].value == "switched" and result.state.survey == "aller-vers"


# --- question kinds and sloppy answers ---------------------------------------------------------

SINGLE = in_survey("scolarite", 3)  # Quel moment vous irait le mieux ? (soir, mercredi, ...)


@pytest.mark.parametrize(
    "text",
    ["2", "2.", "2)", "deux", "2️⃣", "n°2", "Le mercredi", "LE MERCREDI", "mercrdi", "le mércredi"],
)
def test_single_choice_by_number_word_keycap_or_sloppy_label(text: str) -> None:
    result = step(SINGLE, Incoming(text), CTX)
    assert [(f.kind, f.value) for f in result.facts] == [("answer", "mercredi")]
    assert result.facts[0].raw == text
    assert result.state.question == 4


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("oui", "oui"),
        ("Ouais", "oui"),
        ("ok", "oui"),
        ("👍", "oui"),
        ("👍🏽", "oui"),
        ("1", "oui"),
        ("non", "non"),
        ("👎", "non"),
        ("Non.", "non"),
        ("2", "non"),
    ],
)
def test_yes_no(text: str, value: str) -> None:
    result = step(in_survey("associations", 3), Incoming(text), CTX)
    assert [(f.kind, f.value) for f in result.facts] == [("answer", value)]


@pytest.mark.parametrize(
    ("text", "value"), [("4", 4), ("4/5", 4), ("⭐⭐⭐⭐", 4), ("quatre", 4), ("★★", 2), ("5️⃣", 5)]
)
def test_scale_by_number_or_stars(text: str, value: int) -> None:
    result = step(in_survey("scolarite", 2), Incoming(text), CTX)
    assert [(f.kind, f.value) for f in result.facts] == [("answer", value)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 et 3", ["famille", "ecole"]),
        ("1,3", ["famille", "ecole"]),
        ("13", ["famille", "ecole"]),
        ("3 1", ["famille", "ecole"]),
        ("2", ["association"]),
        ("une association", ["association"]),
        ("personne", ["personne"]),
    ],
)
def test_multiple_choice(text: str, value: list[str]) -> None:
    result = step(in_survey("scolarite", 1), Incoming(text), CTX)
    assert [(f.kind, f.value) for f in result.facts] == [("answer", value)]


def test_quartier_question_records_the_quartier() -> None:
    result = step(in_survey("aller-vers", 0), Incoming("les tilleul"), CTX)
    assert [(f.kind, f.value) for f in result.facts] == [
        ("answer", "QP093012"),
        ("quartier", "QP093012"),
    ]
    assert one(step(in_survey("aller-vers", 0), Incoming("x"), CTX)).choices == (
        "Les Tilleuls",
        "Le Marché",
        "La Source",
    )


def test_free_text_answer_is_kept_as_written() -> None:
    text = "Plus de profs le soir svp 🙏"
    result = step(in_survey("scolarite", 4), Incoming(text), CTX)
    assert [(f.kind, f.value, f.raw) for f in result.facts][0] == ("answer", text, text)


# --- misunderstandings, skipping, required questions -------------------------------------------


def test_not_understood_is_kept_and_reasked_with_a_hint_then_skip_is_offered() -> None:
    first = step(SINGLE, Incoming("je sais pas trop"), CTX)
    assert [(f.kind, f.raw) for f in first.facts] == [("not_understood", "je sais pas trop")]
    assert first.state.question == 3 and first.state.misses == 1
    assert "Je n'ai pas compris" in one(first).text and "PASSER" not in one(first).text
    assert one(first).choices == (
        "Après l'école",
        "Le mercredi",
        "Le samedi",
        "Pendant les vacances",
    )
    second = step(first.state, Incoming("bof"), CTX)
    assert "PASSER" in one(second).text and second.state.misses == 2
    skipped = step(second.state, Incoming("passer"), CTX)
    assert kinds(skipped) == ["skipped"] and skipped.state.question == 4


def test_a_right_answer_after_a_miss_resets_the_count() -> None:
    result = say(SINGLE, "hein", "3")
    assert result.state.misses == 0 and result.state.question == 4


def test_required_question_cannot_be_skipped_and_never_offers_to() -> None:
    required = in_survey("scolarite", 0)
    result = say(required, "hmm", "euh")
    assert "PASSER" not in one(result).text
    refused = step(result.state, Incoming("PASSER"), CTX)
    assert refused.facts == () and refused.state.question == 0
    assert "importante" in one(refused).text


def test_skip_in_english() -> None:
    assert kinds(step(SINGLE, Incoming("SKIP"), CTX)) == ["skipped"]


@pytest.mark.parametrize(
    ("survey", "answer", "lands_on"), [("scolarite", "non", 4), ("associations", "non", 2)]
)
def test_goto_branching_jumps_forward(survey: str, answer: str, lands_on: int) -> None:
    result = step(in_survey(survey, 0), Incoming(answer), CTX)
    assert result.state.question == lands_on
    assert one(result).key == f"question:{lands_on + 1}"


def test_goto_only_for_the_named_value() -> None:
    assert step(in_survey("scolarite", 0), Incoming("oui"), CTX).state.question == 1


def test_whole_survey_ends_with_thanks_and_the_retour() -> None:
    state = say(CONSENTED).state
    state = step(state, Incoming(join=Join("ASSOCIATIONS", "associations")), CTX).state
    result = say(state, "ouais", "1 2", "⭐⭐⭐⭐⭐", "non")
    assert result.state.question == 4
    end = step(result.state, Incoming("Un atelier couture le samedi"), CTX)
    assert kinds(end) == ["answer", "survey_finished"]
    assert end.state.survey is None
    text = one(end).text
    assert text.startswith("Merci, c'est fini !")
    assert "partagera les résultats" in text  # the survey's own outro: what happens next


def test_paused_habitant_is_greeted_back_where_they_were() -> None:
    state = replace(SINGLE, last_at=T0.isoformat(), misses=1)
    result = step(state, Incoming("coucou", at=T0 + timedelta(hours=5)), CTX)
    assert one(result).text.startswith("Rebonjour ! On reprend.")
    assert "4/5" in one(result).text and result.state.misses == 0
    assert result.state.last_at == (T0 + timedelta(hours=5)).isoformat()
    answered = step(result.state, Incoming("samedi", at=T0 + timedelta(hours=5, minutes=1)), CTX)
    assert [(f.kind, f.value) for f in answered.facts] == [("answer", "samedi")]


def test_a_short_gap_is_not_a_pause() -> None:
    state = replace(SINGLE, last_at=T0.isoformat())
    result = step(state, Incoming("coucou", at=T0 + timedelta(minutes=10)), CTX)
    assert "Je n'ai pas compris" in one(result).text


def test_a_survey_removed_under_the_habitant_turns_the_message_free() -> None:
    result = step(in_survey("gone", 1), Incoming("Le parc est sale"), CTX)
    assert kinds(result) == ["survey_left", "contribution"]
    assert result.facts[0].value == "gone" and result.state.survey is None


@pytest.mark.parametrize("message", [Incoming("aide"), Incoming(join=Join("S", "scolarite"))])
def test_a_survey_shortened_under_the_habitant_does_not_break_help_or_resume(
    message: Incoming,
) -> None:
    """Found by hypothesis: question 6 of a survey that now has 5."""
    result = step(in_survey("scolarite", 5), message, CTX)
    assert len(result.replies) == 1


def test_start_survey_from_a_campaign() -> None:
    result = start_survey(CONSENTED, SURVEYS["aller-vers"], CTX)
    assert kinds(result) == ["survey_started"] and result.state.survey == "aller-vers"
    assert "Vous et le quartier" in one(result).text


# --- keywords at any moment --------------------------------------------------------------------


@pytest.mark.parametrize("word", ["STOP", "stop", "Stop.", "ARRET", "ARRÊT", "arrêt !", "STOP SMS"])
def test_stop_at_once_with_confirmation_then_silence_until_start(word: str) -> None:
    stopped = step(in_survey("scolarite", 2), Incoming(word), CTX)
    assert kinds(stopped) == ["survey_left", "opted_out"]
    assert stopped.facts[0].value == "stopped"
    assert "START" in one(stopped).text and stopped.state.opted_out
    for text in ["bonjour", "oui", "AIDE", "", "pourquoi ?"]:
        silent = step(stopped.state, Incoming(text), CTX)
        assert silent.replies == () and silent.facts == () and silent.state.opted_out
    back = step(stopped.state, Incoming("START"), CTX)
    assert kinds(back) == ["opted_in"] and one(back).key == "start_done"
    assert not back.state.opted_out and back.state.consent


def test_stop_during_consent_and_before_anything() -> None:
    result = say(State(), "Bonjour", "stop")
    assert kinds(result) == ["opted_out"] and result.state.opted_out


def test_a_new_join_code_while_opted_out_brings_the_habitant_back() -> None:
    stopped = replace(CONSENTED, opted_out=True)
    result = step(stopped, Incoming(join=Join("SCOLARITE", "scolarite")), CTX)
    assert kinds(result) == ["opted_in", "joined", "survey_started"]


@pytest.mark.parametrize("word", ["AIDE", "aide", "HELP", "Help!"])
def test_help_repeats_the_question_in_progress(word: str) -> None:
    result = step(SINGLE, Incoming(word), CTX)
    assert result.facts == () and result.state == SINGLE
    assert "PASSER" in one(result).text and "4/5" in one(result).text


def test_help_outside_a_survey_invites_to_write() -> None:
    reply = one(step(CONSENTED, Incoming("aide"), CTX))
    assert "STOP" in reply.text and "Écrivez-nous" in reply.text


@pytest.mark.parametrize("word", ["INFO", "infos", "RGPD", "privacy"])
def test_info_says_who_keeps_what_for_how_long_and_where_to_ask(word: str) -> None:
    ctx = replace(CTX, privacy=Privacy("La Ville de Montreuil", "dpo@montreuil.fr", 180))
    reply = one(step(CONSENTED, Incoming(word), ctx))
    assert reply.key == "privacy"
    assert "La Ville de Montreuil garde vos messages 6 mois" in reply.text
    assert "Pas de santé, religion, politique" in reply.text  # CNIL's advice for chatbots
    assert "OUBLIER" in reply.text and "MES DONNEES" in reply.text
    assert reply.text.endswith("Questions : dpo@montreuil.fr")


def test_info_without_settings_names_the_team_and_this_conversation() -> None:
    reply = one(step(CONSENTED, Incoming("info"), CTX))
    assert "L'équipe du quartier garde vos messages 12 mois" in reply.text
    assert reply.text.endswith("Questions : répondez ici")


def test_info_before_consent_keeps_the_consent_question_open() -> None:
    asked = step(State(), Incoming("Bonjour"), CTX).state
    informed = step(asked, Incoming("info"), CTX)
    assert one(informed).key == "privacy" and informed.facts == ()
    assert informed.state == replace(asked, last_at=informed.state.last_at)
    assert kinds(step(informed.state, Incoming("oui"), CTX)) == ["consented"]


def test_info_during_a_survey_asks_the_question_again() -> None:
    result = step(SINGLE, Incoming("info"), CTX)
    assert result.facts == () and result.state == SINGLE
    assert "OUBLIER" in one(result).text and "4/5" in one(result).text


def test_info_in_english() -> None:
    reply = one(step(replace(CONSENTED, language="en"), Incoming("privacy"), CTX))
    assert "The neighbourhood team keeps your messages 12 months" in reply.text


def test_skip_outside_a_survey() -> None:
    result = step(CONSENTED, Incoming("passer"), CTX)
    assert one(result).key == "nothing_to_skip" and result.facts == ()


ENGLISH_NUMBER = str(CTX.catalog.language_codes().index("en") + 1)


@pytest.mark.parametrize(
    ("word", "choice"), [("LANGUE", "English"), ("language", ENGLISH_NUMBER), ("dil", "english")]
)
def test_change_language_then_everything_is_in_that_language(word: str, choice: str) -> None:
    asked = step(SINGLE, Incoming(word), CTX)
    assert one(asked).choices[0] == "Français" and len(one(asked).choices) == 8
    assert {"English", "العربية", "Türkçe", "Українська"} <= set(one(asked).choices)
    again = step(asked.state, Incoming("klingon"), CTX)
    assert one(again).key == "language_question"
    chosen = step(asked.state, Incoming(choice), CTX)
    assert [(f.kind, f.value) for f in chosen.facts] == [("language", "en")]
    assert chosen.state.language == "en"
    assert "in English" in one(chosen).text and "4/5" in one(chosen).text
    assert one(step(chosen.state, Incoming("what?"), CTX)).text.startswith("Sorry")
    back = say(chosen.state, "langue", "français")
    assert back.state.language == "fr" and "en français" in one(back).text


@pytest.mark.parametrize("word", ["OUBLIER", "oubliez-moi", "FORGET", "effacer"])
def test_forget_asks_confirmation_then_erases(word: str) -> None:
    asked = step(SINGLE, Incoming(word), CTX)
    assert asked.facts == () and asked.state.asking == "forget"
    assert one(asked).choices == ("Oui", "Non")
    unclear = step(asked.state, Incoming("c'est quoi ?"), CTX)
    assert unclear.facts == () and unclear.state.asking == "forget"
    erased = step(asked.state, Incoming("oui"), CTX)
    assert kinds(erased) == ["erase"] and one(erased).key == "forget_done"
    assert erased.state == State(language="fr", last_at=erased.state.last_at)


def test_forget_cancelled_goes_back_to_the_question() -> None:
    result = say(SINGLE, "oublier", "non")
    assert result.facts == () and result.state.asking == ""
    assert one(result).text.startswith("D'accord, rien n'est effacé") and "4/5" in one(result).text
    assert result.state.survey == "scolarite" and result.state.question == 3


def test_stop_wins_even_while_asked_to_confirm_erasure() -> None:
    assert kinds(say(SINGLE, "oublier", "STOP")) == ["survey_left", "opted_out"]


# --- free contributions ------------------------------------------------------------------------


def test_free_contribution_is_thanked_and_the_habitant_may_pick_a_theme() -> None:
    result = step(CONSENTED, Incoming("Les poubelles débordent rue des Lilas"), CTX)
    assert [(f.kind, f.raw) for f in result.facts] == [
        ("contribution", "Les poubelles débordent rue des Lilas")
    ]
    reply = one(result)
    assert reply.key == "contribution_thanks" and reply.choices[-1] == "Autre"
    assert "Logement, propreté" in reply.choices
    chosen = step(result.state, Incoming("3"), CTX)
    assert [(f.kind, f.value) for f in chosen.facts] == [("theme", "cadre-de-vie")]
    assert one(chosen).key == "theme_thanks" and chosen.state.asking == ""


@pytest.mark.parametrize(("text", "code"), [("sante", "sante"), ("Logement", "cadre-de-vie")])
def test_theme_by_label(text: str, code: str) -> None:
    asked = step(CONSENTED, Incoming("Plus de médecin au centre"), CTX).state
    assert [f.value for f in step(asked, Incoming(text), CTX).facts] == [code]


def test_theme_other_records_no_theme() -> None:
    asked = step(CONSENTED, Incoming("Plus de médecin au centre"), CTX).state
    result = step(asked, Incoming("autre"), CTX)
    assert result.facts == () and one(result).key == "theme_thanks"


def test_a_new_message_instead_of_a_theme_is_another_contribution() -> None:
    asked = step(CONSENTED, Incoming("Les bus passent pas le dimanche"), CTX).state
    result = step(asked, Incoming("et le soir non plus après 21h"), CTX)
    assert [(f.kind, f.raw) for f in result.facts] == [
        ("contribution", "et le soir non plus après 21h")
    ]


def test_photo_alone_is_a_contribution_and_a_sticker_is_not() -> None:
    photo = step(CONSENTED, Incoming(media=("photo",)), CTX)
    assert [(f.kind, f.media) for f in photo.facts] == [("contribution", ("photo",))]
    sticker = step(CONSENTED, Incoming(media=("sticker",)), CTX)
    assert sticker.facts == () and one(sticker).key == "unsupported"


def test_empty_message() -> None:
    assert one(step(CONSENTED, Incoming("   "), CTX)).key == "empty"


@pytest.mark.parametrize("text", ["merci", "Merci beaucoup !", "bonjour", "👍", "thanks"])
def test_thanks_and_greetings_are_not_contributions(text: str) -> None:
    result = step(CONSENTED, Incoming(text), CTX)
    assert result.facts == () and one(result).key == "invite_prompt"


def test_without_offered_themes_the_contribution_is_simply_thanked() -> None:
    ctx = replace(CTX, themes=())
    result = step(CONSENTED, Incoming("Trop de bruit la nuit"), ctx)
    assert kinds(result) == ["contribution"] and one(result).key == "theme_thanks"


# --- state, replies, SMS -----------------------------------------------------------------------


def test_state_round_trips_through_json() -> None:
    state = replace(
        SINGLE,
        held=(Held("é 🙂", ("photo", "voice"), "7"), Held("2")),
        last_at=T0.isoformat(),
        asking="theme",
    )
    assert State.from_json(json.loads(json.dumps(state.to_json()))) == state
    assert State.from_json(None) == State()
    assert State.from_json({"consent": True, "unknown_future_field": 1}) == CONSENTED


def test_the_clock_is_the_message_time_only() -> None:
    assert step(CONSENTED, Incoming("coucou"), CTX).state.last_at is None
    stamped = step(CONSENTED, Incoming("coucou", at=T0), CTX)
    assert stamped.state.last_at == T0.isoformat()


def _every_survey_reply() -> list[tuple[str, Reply]]:
    """Questions first asked, re-asked after one and two misses, after help, pause, language."""
    found = []
    for language in ("fr", "en"):
        for survey in SURVEYS.values():
            base = replace(CONSENTED, language=language)
            found.append((f"{survey.key} start", one(start_survey(base, survey, CTX))))
            for index in range(len(survey.questions)):
                state = in_survey(survey.key, index, language=language, last_at=T0.isoformat())
                for lines in (
                    ("???",),
                    ("???", "???"),
                    ("aide",),
                    ("passer",),
                    ("langue", ENGLISH_NUMBER),
                ):
                    found.append((f"{survey.key} q{index} {lines}", one(say(state, *lines))))
                paused = step(state, Incoming("??", at=T0 + timedelta(days=1)), CTX)
                found.append((f"{survey.key} q{index} pause", one(paused)))
        for lines in (("Bonjour",), ("Bonjour", "???"), ("Bonjour", "non")):
            found.append((f"{lines}", one(say(State(language=language), *lines))))
        for lines in (("Le parc",), ("aide",), ("passer",), ("oublier",), ("stop",)):
            found.append((f"{lines}", one(say(replace(CONSENTED, language=language), *lines))))
    return found


def test_every_reply_of_the_ready_made_surveys_fits_in_one_sms() -> None:
    too_long = [
        (where, render_sms(r.text, r.choices, r.numbered))
        for where, r in _every_survey_reply()
        if any(segments(m) > 1 for m in sms_messages(r.text, r.choices, r.numbered))
    ]
    assert too_long == []


def test_a_retry_keeps_the_choices_even_when_the_question_must_go() -> None:
    state = in_survey("associations", 1, misses=1)
    reply = one(step(state, Incoming("???"), CTX))
    assert "PASSER" in reply.text and "2/5." in reply.text
    assert reply.choices[0] == "Activités" and reply.expects == "choices"
    assert segments(render_sms(reply.text, reply.choices, reply.numbered)) == 1


# --- properties --------------------------------------------------------------------------------

SCRIPTS = st.sampled_from(
    [
        "مرحبا، الحي نظيف؟",  # Arabic
        "我们的楼没有电梯",  # Chinese
        "Здравствуйте, лифт не работает",  # Cyrillic
        "wesh la mif 😂😂",
        "Ça va ? Ôù ÿ œ",
        "ⵜⴰⵎⴰⵣⵉⵖⵜ",  # Tifinagh
    ]
)
NASTY = st.one_of(
    st.text(max_size=50),
    st.just(""),
    st.just("x" * 5000),
    st.text(alphabet="😀👍👎⭐🏽\u200d\ufe0f🔟", max_size=20),
    st.text(alphabet="\x00\x01\x07\x08\x0b\x0c\x1b\x7f\t\r\n ", max_size=20),
    SCRIPTS,
)
WORDS = st.sampled_from(
    [
        "oui",
        "non",
        "1",
        "2",
        "deux",
        "1 et 3",
        "⭐⭐⭐",
        "STOP",
        "START",
        "aide",
        "PASSER",
        "LANGUE",
        "English",
        "OUBLIER",
        "bonjour",
        "merci",
        "autre",
        "Le bus ne passe plus",
    ]
)
INPUTS = st.one_of(WORDS, NASTY)
MEDIA = st.lists(st.sampled_from(["photo", "voice", "sticker", "location", "video"]), max_size=2)
JOINS = st.one_of(
    st.none(),
    st.builds(
        Join,
        st.sampled_from(["SCOLARITE", "TILLEULS", "???"]),
        st.sampled_from([None, "scolarite", "associations", "aller-vers", "gone"]),
        st.sampled_from([None, "QP093012"]),
    ),
)
STATES = st.builds(
    State,
    language=st.sampled_from(["fr", "en", "xx"]),
    consent=st.booleans(),
    opted_out=st.booleans(),
    asking=st.sampled_from(["", "consent", "theme", "language", "forget"]),
    survey=st.sampled_from([None, "scolarite", "associations", "aller-vers", "gone"]),
    question=st.integers(0, 7),
    misses=st.integers(0, 3),
    pending_survey=st.sampled_from([None, "scolarite", "gone"]),
    held=st.sampled_from([(), (Held("déjà dit"),), (Held("", ("photo",), "3"), Held("2"))]),
    last_at=st.sampled_from([None, T0.isoformat()]),
)
MOMENTS = st.sampled_from([None, T0, T0 + timedelta(minutes=5), T0 + timedelta(days=2)])
INCOMING = st.builds(Incoming, INPUTS, st.tuples() | MEDIA.map(tuple), MOMENTS, JOINS)


def _check(state: State, incoming: Incoming) -> Step:
    result = step(state, incoming, CTX)
    about_erasure = "forget" in (state.asking, result.state.asking)
    expected = 0 if result.state.opted_out and not result.facts and not about_erasure else 1
    assert len(result.replies) == expected, (state, incoming, result)
    for reply in result.replies:
        assert reply.text.strip()
    assert State.from_json(json.loads(json.dumps(result.state.to_json()))) == result.state
    return result


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STATES, INCOMING)
def test_no_input_from_any_state_raises_and_each_gets_one_reply(
    state: State, incoming: Incoming
) -> None:
    result = _check(state, incoming)
    about_erasure = "forget" in (state.asking, result.state.asking)
    if state.opted_out and incoming.join is None and result.facts == () and not about_erasure:
        assert result.replies == ()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(INPUTS, JOINS), min_size=1, max_size=25))
def test_random_conversations_never_break(messages: list[tuple[str, Join | None]]) -> None:
    state = State()
    at = T0
    for text, join in messages:
        at += timedelta(minutes=7)
        result = _check(state, Incoming(text, at=at, join=join))
        keyword = KEYWORDS.get(normalise(text))
        about_erasure = keyword == "forget" or "forget" in (state.asking, result.state.asking)
        if state.opted_out and join is None and keyword != "start" and not about_erasure:
            assert result.replies == () and result.state.opted_out
        state = result.state


def test_oublier_still_works_after_stop() -> None:
    stopped = say(CONSENTED, "stop").state
    asked = step(stopped, Incoming("oublier"), CTX)
    assert one(asked).key == "forget_question"
    erased = step(asked.state, Incoming("oui"), CTX)
    assert kinds(erased) == ["erase"] and one(erased).key == "forget_done"


# --- MES DONNEES (RGPD articles 15 and 20) -----------------------------------------------------


def _access_ctx() -> Context:
    since = datetime(2026, 3, 2, 9, tzinfo=UTC)
    return replace(
        CTX,
        access=Access(since, 12, 3, 5, consent_at=since, code="ABCD-EFGH", code_days=7),
    )


def test_mes_donnees_sums_up_then_gives_the_code_only_when_asked() -> None:
    ctx = _access_ctx()
    asked = step(CONSENTED, Incoming("Mes données"), ctx)
    summary = one(asked)
    assert summary.key == "access_summary" and summary.choices == ("Oui", "Non")
    assert "Depuis le 02/03/2026 : 12 messages, 3 contributions, 5 réponses" in summary.text
    assert "Accord le 02/03/2026" in summary.text and "OUBLIER" in summary.text
    assert asked.facts == () and asked.state.asking == "access"
    given = step(asked.state, Incoming("oui"), ctx)
    assert "ABCD-EFGH" in one(given).text and "7 jours" in one(given).text
    assert given.facts == (Fact("access_code", value="ABCD-EFGH"),)
    assert given.state.asking == ""
    declined = step(asked.state, Incoming("non"), ctx)
    assert one(declined).key == "access_declined" and declined.facts == ()


def test_after_mes_donnees_another_message_is_read_as_usual() -> None:
    asked = step(CONSENTED, Incoming("MES DONNEES"), _access_ctx()).state
    result = step(asked, Incoming("Le parc est sale"), _access_ctx())
    assert kinds(result) == ["contribution"] and result.state.asking == "theme"


# --- the habitant's words in a survey (issue 16, items 5 and 6; issue 15) --------------------

MULTIPLE = in_survey("scolarite", 1)  # Qui l'aide pour les devoirs ? (famille, association, ...)


def test_free_text_instead_of_a_choice_is_also_a_contribution_linked_to_the_question() -> None:
    result = step(SINGLE, Incoming("Il y a des rats dans la cave depuis des mois"), CTX)
    assert kinds(result) == ["not_understood", "contribution"]
    aside = result.facts[1]
    assert (aside.survey, aside.position) == ("scolarite", SINGLE.question + 1)
    assert aside.raw == "Il y a des rats dans la cave depuis des mois"
    reply = one(result)
    assert reply.text.startswith("Merci, votre message est transmis") and reply.choices
    assert result.state.question == SINGLE.question and result.state.misses == 1


def test_a_short_misunderstood_answer_is_only_asked_again() -> None:
    result = step(SINGLE, Incoming("bof"), CTX)
    assert kinds(result) == ["not_understood"]


def test_a_photo_in_a_survey_is_a_contribution_linked_to_the_question() -> None:
    result = step(SINGLE, Incoming(media=("photo",)), CTX)
    assert [(f.kind, f.media) for f in result.facts] == [
        ("not_understood", ()),
        ("contribution", ("photo",)),
    ]


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("famile et ecole", ["famille", "ecole"]),
        ("la famille et l'école", ["famille", "ecole"]),
        ("1 et 3", ["famille", "ecole"]),
        ("l'ecole", ["ecole"]),
    ],
)
def test_every_choice_named_is_recorded(text: str, values: list[str]) -> None:
    result = step(MULTIPLE, Incoming(text), CTX)
    [answer] = [f for f in result.facts if f.kind == "answer"]
    assert answer.value == values


@pytest.mark.parametrize(
    ("state", "text"),
    [
        (SINGLE, "pas le mercredi"),
        (SINGLE, "tout sauf mercredi"),
        (SINGLE, "mercredi et samedi"),
        (MULTIPLE, "pas l'école"),
        (MULTIPLE, "l'école et asociasion de zzz"),
    ],
)
def test_a_negation_or_a_half_understood_answer_is_asked_again(state: State, text: str) -> None:
    result = step(state, Incoming(text), CTX)
    assert "answer" not in kinds(result)
    assert result.state.question == state.question
    assert one(result).text.startswith("Je n'ai pas compris")


def test_a_misunderstood_answer_is_asked_again_twice_then_the_bot_moves_on() -> None:
    """Issue 15: never an endless loop of paid messages."""
    first = step(SINGLE, Incoming("bof"), CTX)
    second = step(first.state, Incoming("bof bof"), CTX)
    assert second.state.question == SINGLE.question  # asked again twice
    third = step(second.state, Incoming("je sais pas"), CTX)
    assert kinds(third) == ["not_understood", "skipped"]
    assert third.facts[1].value == "not_understood"  # recorded as not answered
    assert third.state.question == SINGLE.question + 1 and third.state.misses == 0
    assert one(third).text.startswith("Pas grave, on passe à la suite.")
    assert str(SINGLE.question + 2) in one(third).text  # the next question, whole


def test_the_number_of_re_asks_is_set_per_survey() -> None:
    never = replace(SURVEYS["scolarite"], max_reasks=0)
    ctx = replace(CTX, surveys={**SURVEYS, "scolarite": never})
    result = step(SINGLE, Incoming("bof"), ctx)
    assert kinds(result) == ["not_understood", "skipped"]
    assert result.state.question == SINGLE.question + 1


def test_the_last_question_misunderstood_too_often_ends_the_survey() -> None:
    survey = SURVEYS["scolarite"]
    shorter = replace(survey, questions=survey.questions[: SINGLE.question + 1])
    ctx = replace(CTX, surveys={**SURVEYS, "scolarite": shorter})
    result = step(replace(SINGLE, misses=2), Incoming("bof"), ctx)
    assert kinds(result) == ["not_understood", "skipped", "survey_finished"]
    assert result.state.survey is None
    assert one(result).text.startswith("Pas grave, on passe à la suite. Merci, c'est fini !")
