"""Every text of `prompts/`, as an SMS: in the Latin-alphabet languages GSM-7, one segment (one
price) each; in Arabic and Ukrainian (UCS-2), two segments (134 characters) at most.

If a test here fails, its message lists every text that went over, with its length: shorten the
wording in `prompts/` (plainly and politely), or accept it consciously by listing it below.
"""

from __future__ import annotations

import pytest

from bench.sms_cost import (
    Sms,
    catalog_messages,
    first_contact,
    ready_made_surveys,
    survey_run,
)
from bots.prompts import default_catalog
from bots.sms_text import NOT_SHAPED, is_gsm7, segments
from bots.surveys import SurveySpec

CATALOG = default_catalog()
LANGUAGES = CATALOG.language_codes()
SURVEYS = ready_made_surveys()
# Texts allowed to cost more, with the reason (matched on the end of `where`).
ACCEPTED_LONG: dict[str, str] = {
    # The languages in their own scripts (العربية, Українська) need UCS-2: one SMS of 70.
    "language_line": "UCS-2, one segment",
    # The eight names, numbered, in their own scripts: UCS-2, two segments.
    "language_question": "UCS-2, two segments",
}
UCS2_WELCOME = 3  # ar, uk: the welcome (2 segments) with the line on how to change language


def check(messages: list[Sms], language: str) -> None:
    assert messages
    over = []
    for m in messages:
        key = m.where.rsplit(":", 1)[-1]
        if key in ACCEPTED_LONG:
            assert m.segments <= 2, m.where
            continue
        if language in NOT_SHAPED:
            allowed = UCS2_WELCOME if key == "welcome" else 2
            if m.segments > allowed:
                over.append(f"{m.where} ({len(m.sent)} chars, {m.segments} SMS): {m.sent!r}")
            continue
        first, *rest = m.messages
        if not is_gsm7(first):
            over.append(f"{m.where} left UCS-2 (2-3 times the price): {m.sent!r}")
        elif segments(first) > 1 or any(segments(r) > 1 for r in rest):
            over.append(f"{m.where} ({len(first)} chars, {m.segments} SMS): {m.sent!r}")
        # Only the welcome sends a second SMS: the line listing the languages.
        assert not rest or key == "welcome", m.where
    assert not over, "over budget:\n" + "\n".join(over)


def test_every_message_of_every_language_is_within_its_budget() -> None:
    """One GSM-7 segment per message in the Latin-alphabet languages; two UCS-2 in ar, uk."""
    messages = list(catalog_messages(CATALOG))
    assert {m.where.split(":")[0] for m in messages} == set(LANGUAGES)
    assert set(LANGUAGES) == {"fr", "en", "ar", "tr", "pt", "es", "ro", "uk"}
    for language in LANGUAGES:
        own = [m for m in messages if m.where.startswith(f"{language}:")]
        assert len(own) == len(CATALOG.languages["fr"].messages)  # every message, translated
        check(own, language)


def test_the_ucs2_languages_stay_within_134_characters() -> None:
    for m in catalog_messages(CATALOG):
        if m.where.split(":")[0] in NOT_SHAPED:
            assert len(m.sent) <= 134, m.where


@pytest.mark.parametrize("language", LANGUAGES)
def test_first_contact_replies_are_within_budget(language: str) -> None:
    messages = list(first_contact(CATALOG, language))
    assert any(m.choices for m in messages)  # consent and thèmes come with their choices
    welcome = messages[0]
    if language not in NOT_SHAPED:  # the welcome in one GSM-7 SMS, the languages in another
        assert len(welcome.messages) == 2 and is_gsm7(welcome.messages[0])
        assert "Українська" in welcome.messages[1] or language == "uk"
    check(messages, language)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("survey", SURVEYS, ids=lambda s: s.key)
def test_every_question_with_its_choices_is_one_gsm7_segment(
    survey: SurveySpec, language: str
) -> None:
    messages = list(survey_run(survey, CATALOG, language))
    asked = {m.where.rsplit(":", 1)[-1] for m in messages if ":question:" in m.where}
    assert asked == {str(q.position) for q in survey.questions}  # every question was rendered
    assert any("retry" in m.where for m in messages)
    check(messages, language)
