"""A habitant who does not write French: catalogues, first contact, keywords, answers, storage."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from bots import language_id
from bots.answers import parse_choice, parse_choices, parse_scale, parse_yes_no
from bots.engine import Context, Incoming, State, Step, step
from bots.handler import Inbound, handle_inbound
from bots.prompts import PROMPTS_DIR, default_catalog, load_catalog, load_ready_made_surveys
from bots.runtime import Runtime
from bots.surveys import PromptError
from storage.models import Answer, Contribution, Message, Participant

CATALOG = default_catalog()
CTX = Context(CATALOG, {spec.key: spec for spec, _ in load_ready_made_surveys()})
LANGUAGES = ("fr", "en", "ar", "tr", "pt", "es", "ro", "uk")
SENTENCES = {
    "fr": "il y a des rats dans la cour du bâtiment",
    "en": "the lift has been broken for a week",
    "ar": "نحتاج إلى طبيب في الحي",
    "tr": "akşamları daha fazla otobüs lazım",
    "pt": "o meu filho não encontra trabalho",
    "es": "los niños no tienen dónde jugar al fútbol",
    "ro": "avem nevoie de mai multe autobuze seara",
    "uk": "у нашій квартирі не працює опалення",
}


def welcome_of(result: Step) -> str:
    [reply] = result.replies
    assert reply.key == "welcome"
    return reply.text


# --- catalogues --------------------------------------------------------------------------------


def test_every_catalogue_language_is_there_and_says_it_needs_a_native_reader() -> None:
    assert set(CATALOG.language_codes()) == set(LANGUAGES)
    for code in LANGUAGES:
        head = (PROMPTS_DIR / "messages" / f"{code}.toml").read_text(encoding="utf-8")[:900]
        assert "native speaker should review" in head or code == "fr"
        assert set(CATALOG.languages[code].messages) == set(CATALOG.languages["fr"].messages)
    assert CATALOG.languages["fr"].reviewed
    assert not any(CATALOG.languages[c].reviewed for c in LANGUAGES if c != "fr")


def test_a_word_meaning_two_keywords_in_two_languages_is_refused(tmp_path: Path) -> None:
    for path in (PROMPTS_DIR / "messages").glob("*.toml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    turkish = tmp_path / "tr.toml"
    turkish.write_text(
        turkish.read_text(encoding="utf-8").replace('help = ["yardım"', 'help = ["stop"'),
        encoding="utf-8",
    )
    with pytest.raises(PromptError, match="keyword 'stop' means help, but stop"):
        load_catalog(tmp_path)


def test_reviewed_must_be_true_or_false(tmp_path: Path) -> None:
    for name in ("fr.toml", "en.toml"):
        text = (PROMPTS_DIR / "messages" / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("reviewed = false", 'reviewed = "oui"'))
    with pytest.raises(PromptError, match=r"en\.toml: \[meta\] reviewed must be true or false"):
        load_catalog(tmp_path)


# --- identification ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_is_identified_from_a_short_message(language: str) -> None:
    assert language_id.identify(SENTENCES[language], CATALOG) == language


@pytest.mark.parametrize(
    "text", ["bonjour", "merci beaucoup", "STOP", "supprimer mes donnees", "1 3", "", "😡😡😡"]
)
def test_nothing_is_guessed_from_fewer_than_three_words_or_a_keyword(text: str) -> None:
    assert language_id.identify(text, CATALOG) is None


def test_only_the_catalogue_languages_are_named() -> None:
    italian = "il palazzo non ha più acqua calda da una settimana"
    assert language_id.identify(italian, CATALOG) in (None, *LANGUAGES)
    german = "wir brauchen mehr Busse am Abend bitte"
    assert language_id.identify(german, CATALOG) in (None, *LANGUAGES)


def test_the_detector_is_built_once_per_process() -> None:
    codes = language_id.supported(CATALOG.language_codes())
    assert language_id.detector(codes) is language_id.detector(codes)
    assert codes == frozenset(LANGUAGES)


def test_the_models_ship_with_the_package_nothing_is_downloaded() -> None:
    """A fresh process with every connection refused still builds the detector and names Turkish."""
    script = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise SystemExit('network used: %r' % (a[1:2],))\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "from bots.language_id import identify\n"
        "from bots.prompts import default_catalog\n"
        f"print(identify({SENTENCES['tr']!r}, default_catalog()))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tr"


# --- first contact -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_newcomer_is_welcomed_in_the_language_they_wrote_in(language: str) -> None:
    text = SENTENCES[language]
    result = step(State(), Incoming(text, language=language_id.identify(text, CATALOG)), CTX)
    welcome = welcome_of(result)
    assert result.state.language == language
    assert welcome.startswith(CATALOG.text(language, "welcome"))
    assert CATALOG.text(language, "consent_question") in welcome
    # The last line: how to change language, every other language in its own name.
    last = welcome.splitlines()[-1]
    assert last == CATALOG.text(
        language, "language_line", languages=CATALOG.other_languages(language)
    )
    assert CATALOG.languages[language].name not in last and "Français" in last or language == "fr"
    assert [h.text for h in result.state.held] == [text]  # kept until they agree


def test_the_app_language_is_a_hint_and_the_words_come_first() -> None:
    hinted = step(State(), Incoming("/start", language_hint="pt-BR"), CTX)
    assert hinted.state.language == "pt" and welcome_of(hinted).startswith("Olá!")
    unknown = step(State(), Incoming("Bonjour", language_hint="zh-hans"), CTX)
    assert unknown.state.language == "fr"
    words = step(State(), Incoming(SENTENCES["uk"], language="uk", language_hint="en"), CTX)
    assert words.state.language == "uk"


def test_a_first_word_too_short_to_tell_then_a_sentence_welcomes_them_again() -> None:
    first = step(State(), Incoming("salam"), CTX)
    assert first.state.language == "fr"
    again = step(first.state, Incoming(SENTENCES["ar"], language="ar"), CTX)
    assert again.state.language == "ar" and welcome_of(again).startswith("مرحبًا")
    assert "LANGUE" not in welcome_of(again)  # the language line came once
    agreed = step(again.state, Incoming("wakha"), CTX)
    assert [f.kind for f in agreed.facts] == ["consented", "contribution"]
    assert agreed.facts[1].raw == SENTENCES["ar"]


def test_an_answer_in_another_language_agrees_and_sets_the_language() -> None:
    welcomed = step(State(), Incoming("Bonjour"), CTX)
    agreed = step(welcomed.state, Incoming("evet kabul ediyorum", language="tr"), CTX)
    assert [f.kind for f in agreed.facts] == ["consented"]
    assert agreed.state.language == "tr" and agreed.replies[0].text.startswith("Teşekkürler")


@pytest.mark.parametrize("name", ["Türkçe", "turkce", "TÜRKÇE"])
def test_writing_a_language_name_changes_language_at_any_moment(name: str) -> None:
    before = step(State(), Incoming("Bonjour"), CTX)
    chosen = step(before.state, Incoming(name), CTX)
    assert chosen.state.language == "tr" and chosen.state.language_chosen
    assert [(f.kind, f.value) for f in chosen.facts] == [("language", "tr")]
    assert welcome_of(chosen).startswith("Merhaba!")  # not consented yet: welcomed again
    later = step(replace(State(consent=True)), Incoming("Українська"), CTX)
    assert later.state.language == "uk" and later.replies[0].key == "language_done"


def test_a_chosen_language_is_never_guessed_over() -> None:
    chosen = State(language="ro", language_chosen=True)
    result = step(chosen, Incoming(SENTENCES["es"], language="es", language_hint="es"), CTX)
    assert result.state.language == "ro"


def test_langue_before_consent_then_a_number_welcomes_them_in_that_language() -> None:
    asked = step(step(State(), Incoming("Bonjour"), CTX).state, Incoming("LANGUE"), CTX)
    assert asked.replies[0].key == "language_question"
    number = str(CATALOG.language_codes().index("es") + 1)
    chosen = step(asked.state, Incoming(number), CTX)
    assert chosen.state.language == "es" and welcome_of(chosen).startswith("¡Hola!")


# --- keywords in every language, the French ones always -----------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("word", "key"),
    [
        ("STOP", "stop_done"),
        ("AIDE", "help"),
        ("PASSER", "nothing_to_skip"),
        ("LANGUE", "language_question"),
        ("INFO", "privacy"),
        ("OUBLIER", "forget_question"),
    ],
)
def test_french_keywords_always_work(language: str, word: str, key: str) -> None:
    result = step(State(language=language, consent=True), Incoming(word), CTX)
    assert result.replies[0].key == key
    assert result.replies[0].text.startswith(CATALOG.text(language, key)[:12]) or key in (
        "help",
        "privacy",
        "nothing_to_skip",
    )


@pytest.mark.parametrize(
    ("word", "key"),
    [
        ("DUR", "stop_done"),
        ("стоп", "stop_done"),
        ("توقف", "stop_done"),
        ("parar", "stop_done"),
        ("yardım", "help"),
        ("ayuda", "help"),
        ("ajutor", "help"),
        ("допомога", "help"),
        ("مساعدة", "help"),
        ("dil", "language_question"),
        ("мова", "language_question"),
        ("idioma", "language_question"),
        ("borrar mis datos", "forget_question"),
        ("ștergeți", "forget_question"),
        ("забути", "forget_question"),
    ],
)
def test_keywords_work_in_every_language(word: str, key: str) -> None:
    assert step(State(consent=True), Incoming(word), CTX).replies[0].key == key


# --- answers: Darija, yes and no of each language, Arabic-Indic digits -------------------------


@pytest.mark.parametrize(
    "text",
    ["wakha", "Wakha!", "iyeh", "safi", "ah", "واخا", "نعم", "evet", "sim", "sí", "da", "так"],
)
def test_yes_in_every_language(text: str) -> None:
    assert parse_yes_no(text, CATALOG) is True


@pytest.mark.parametrize("text", ["la", "Lla", "لا", "hayır", "não", "nu", "ні", "ma bghitch"])
def test_no_in_every_language(text: str) -> None:
    assert parse_yes_no(text, CATALOG) is False


def test_a_sentence_starting_with_la_is_not_a_refusal() -> None:
    """Darija "la" is no, alone; "la rue est sale" is what they want to tell us."""
    assert parse_yes_no("la rue est sale", CATALOG) is None
    welcomed = step(State(), Incoming("Bonjour"), CTX)
    kept = step(welcomed.state, Incoming("la rue est sale"), CTX)
    assert kept.facts == () and [h.text for h in kept.state.held] == ["la rue est sale"]


def test_arabic_indic_and_persian_digits_are_numbers() -> None:
    labels = [["Un"], ["Deux"], ["Trois"], ["Quatre"]]
    assert parse_choice("٢", labels, CATALOG) == 1
    assert parse_choice("۳", labels, CATALOG) == 2
    assert parse_choices("١ ٣", labels, CATALOG) == [0, 2]
    assert parse_choices("١٤", labels, CATALOG) == [0, 3]
    assert parse_scale("٤", CATALOG) == 4 and parse_scale("٤/٥", CATALOG) == 4
    assert parse_yes_no("١", CATALOG) is True and parse_yes_no("٢", CATALOG) is False


def test_a_survey_answered_in_arabic_digits_and_darija() -> None:
    state = State(language="ar", consent=True, survey="aller-vers", question=2)  # yes/no
    answered = step(state, Incoming("wakha"), CTX)
    assert [(f.kind, f.value) for f in answered.facts] == [("answer", "oui")]
    scale = step(replace(state, question=4), Incoming("٤"), CTX)
    assert [(f.kind, f.value) for f in scale.facts] == [("answer", 4)]


# --- storage: the language each text is written in ---------------------------------------------


def _send(runtime: Runtime, text: str, n: int, **kwargs: object) -> list[str]:
    outcome = handle_inbound(
        runtime,
        Inbound("sms", "+33639981234", text, external_id=f"lang-{n}", **kwargs),  # type: ignore[arg-type]
    )
    with runtime.sessions() as session:
        return [session.get(Message, i).body for i in outcome.reply_ids]  # type: ignore[union-attr]


def test_a_turkish_newcomer_is_answered_in_turkish_and_their_words_are_labelled(
    runtime: Runtime,
) -> None:
    [welcome] = _send(runtime, "evimizde kalorifer çalışmıyor yardım edin", 1)
    assert welcome.startswith("Merhaba!") and "DİL:" in welcome
    [thanks] = _send(runtime, "evet", 2)
    assert thanks.startswith("Teşekkürler")
    _send(runtime, "2", 3)  # a thème
    _send(runtime, "the lift is broken again today", 4)  # written in English this time
    _send(runtime, "tamam", 5)  # too short to tell: the habitant's language
    with runtime.sessions() as session:
        participant = session.scalars(select(Participant)).one()
        assert participant.language == "tr"
        contributions = session.scalars(select(Contribution).order_by(Contribution.id)).all()
        assert [(c.text[:8], c.language) for c in contributions] == [
            ("evimizde", "tr"),
            ("the lift", "en"),
            ("tamam", "tr"),
        ]


def test_free_answers_carry_their_language(runtime: Runtime) -> None:
    from bots.survey_store import seed_prompts
    from storage.db import transaction

    with transaction(runtime.sessions) as session:
        seed_prompts(session)
    replies = _send(runtime, "SCOLARITE", 1)
    replies += _send(runtime, "oui", 2)
    for n, text in enumerate(["1", "1", "3", "1"], start=3):
        replies += _send(runtime, text, n)
    replies += _send(runtime, "we need more teachers in the school", 9)
    with runtime.sessions() as session:
        answers = session.scalars(select(Answer).order_by(Answer.id)).all()
        assert [a.language for a in answers] == ["fr"] * 4 + ["en"], replies
        [answer] = session.scalars(select(Contribution).where(Contribution.kind == "answer"))
        assert answer.language == "en"


# --- SMS: shaping per language ------------------------------------------------------------------

ALPHABETS = {
    "fr": "àâæçéèêëîïôœùûüÿÀÂÇÉÈÊËÎÏÔŒÙÛ",
    "es": "áéíñóúüÁÉÍÑÓÚÜ¿¡",
    "pt": "áâãàçéêíóôõúÁÂÃÀÇÉÊÍÓÔÕÚ",
    "ro": "ăâîșşțţĂÂÎȘŞȚŢ",
    "tr": "çğıöşüÇĞİÖŞÜ",
}


@pytest.mark.parametrize("language", sorted(ALPHABETS))
def test_every_letter_of_a_latin_language_keeps_a_gsm7_spelling(language: str) -> None:
    from bots.sms_text import is_gsm7, to_gsm7

    for letter in ALPHABETS[language]:
        shaped = to_gsm7(letter)
        assert shaped and is_gsm7(shaped), (language, letter)


def test_no_two_languages_shape_a_letter_differently() -> None:
    from bots.sms_text import LANGUAGE_SHAPING

    seen: dict[str, tuple[str, str]] = {}
    for language, table in LANGUAGE_SHAPING.items():
        for letter, spelling in table.items():
            assert seen.setdefault(letter, (language, spelling))[1] == spelling, letter


def test_what_each_language_keeps() -> None:
    from bots.sms_text import render_sms

    assert render_sms("¿Está de acuerdo? Sí, niño") == "¿Esta de acuerdo? Si, niño"
    assert render_sms("Não, obrigado. Já está") == "Nao, obrigado. Ja esta"
    assert render_sms("Bună ziua, mulțumim, așa") == "Buna ziua, multumim, asa"
    assert render_sms("Teşekkürler, İstanbul ığdır") == "Tesekkürler, Istanbul igdir"


def test_arabic_and_ukrainian_go_as_written_never_emptied() -> None:
    from bots.sms_text import is_gsm7, render_sms, segments, split_sms

    arabic = render_sms("هل توافق على المشاركة؟", ("نعم", "لا"))
    assert arabic == "هل توافق على المشاركة؟\n1 نعم 2 لا" and not is_gsm7(arabic)
    assert segments(arabic) == 1
    long = " ".join(["ваше повідомлення"] * 12)
    parts = split_sms(long, ("Так", "Ні"), limit=70)
    assert all(len(p) <= 70 for p in parts) and parts[-1].endswith("1 Так 2 Ні")
    assert " ".join(parts).replace("\n", " ").split() == (long + " 1 Так 2 Ні").split()


def test_the_welcome_goes_as_one_gsm7_sms_and_one_for_the_languages() -> None:
    from bots.sms_text import is_gsm7, segments, sms_messages

    [reply] = step(State(), Incoming("Bonjour"), CTX).replies
    first, second = sms_messages(reply.text, reply.choices, reply.numbered)
    assert is_gsm7(first) and segments(first) == 1 and first.endswith("1 Oui 2 Non")
    assert second.startswith("LANGUE : العربية") and segments(second) == 1


# --- surveys in every language ------------------------------------------------------------------


def test_the_ready_made_surveys_ship_in_every_catalogue_language() -> None:
    for spec, _ in load_ready_made_surveys():
        for texts in (spec.title, spec.intro, spec.outro):
            assert set(texts) == set(LANGUAGES), spec.key
        for question in spec.questions:
            assert set(question.text) == set(LANGUAGES), (spec.key, question.position)
            for choice in question.choices:
                assert set(choice.labels) == set(LANGUAGES), (spec.key, choice.value)


def test_a_campaign_invites_each_habitant_in_their_language_french_where_missing(
    database_url: str, tmp_path: Path
) -> None:
    from bots import campaigns
    from bots.campaigns import Target
    from storage.db import transaction
    from storage.models import Question
    from tests.bots.campaign_support import MONDAY_10H, add_participants, make_runtime

    runtime = make_runtime(database_url, tmp_path)
    try:
        ids = {}
        for n, code in enumerate(("fr", "tr", "uk", "ro")):
            [ids[code]] = add_participants(
                runtime,
                1,
                channel="simulator",
                prefix=f"+336399{n}",
                language=code,
                state={"consent": True, "language": code},
            )
        with transaction(runtime.sessions) as session:
            campaign = campaigns.create_campaign(
                session, "scolarite", Target(everyone=True), now=MONDAY_10H
            )
            first = session.scalars(
                select(Question).where(Question.survey_id == campaign.survey_id)
            ).first()
            assert first is not None
            first.text = {k: v for k, v in first.text.items() if k != "ro"}  # not translated
            campaign_id = campaign.id
        assert campaigns.launch(runtime, campaign_id, MONDAY_10H) == 4
        with runtime.sessions() as session:
            sent = {
                m.participant_id: m.body
                for m in session.scalars(select(Message).where(Message.kind == "invitation"))
            }
        assert sent[ids["fr"]].startswith("L'aide aux devoirs")
        assert sent[ids["tr"]].startswith("Ödev yardımı") and "Okula giden" in sent[ids["tr"]]
        assert sent[ids["uk"]].startswith("Допомога з уроками")
        assert sent[ids["ro"]].startswith("Ajutor la teme")  # the title is translated...
        assert "Avez-vous un enfant" in sent[ids["ro"]]  # ...the question falls back to French
    finally:
        runtime.engine.dispose()


def test_a_telegram_app_language_is_passed_as_a_hint() -> None:
    from bots.channels.telegram import parse_update, to_inbound
    from tests.fakes.telegram_api import make_update

    update = make_update(4242, "/start")
    update["message"]["from"]["language_code"] = "uk"
    inbound = to_inbound(parse_update(update, None))
    assert inbound is not None and inbound.language_hint == "uk"
