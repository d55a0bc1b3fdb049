"""Every text of `prompts/`, as an SMS: GSM-7 always, one segment (one price) each.

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
from bots.sms_text import is_gsm7, segments
from bots.surveys import SurveySpec

CATALOG = default_catalog()
LANGUAGES = CATALOG.language_codes()
SURVEYS = ready_made_surveys()
# Texts allowed to take two SMS, with the reason. Empty: everything fits in one today.
ACCEPTED_LONG: dict[str, str] = {}


def check(messages: list[Sms]) -> None:
    assert messages
    not_gsm = [m.where for m in messages if not is_gsm7(m.sent)]
    assert not not_gsm, f"left UCS-2 (2-3 times the price): {not_gsm}"
    over = [
        f"{m.where} ({len(m.sent)} chars, {segments(m.sent)} SMS): {m.sent!r}"
        for m in messages
        if segments(m.sent) > 1 and m.where not in ACCEPTED_LONG
    ]
    assert not over, "more than one SMS:\n" + "\n".join(over)


def test_every_message_of_every_language_is_one_gsm7_segment() -> None:
    messages = list(catalog_messages(CATALOG))
    assert {m.where.split(":")[0] for m in messages} == set(LANGUAGES)
    check(messages)


@pytest.mark.parametrize("language", LANGUAGES)
def test_first_contact_replies_are_one_gsm7_segment(language: str) -> None:
    messages = list(first_contact(CATALOG, language))
    assert any(m.choices for m in messages)  # consent and thèmes come with their choices
    check(messages)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("survey", SURVEYS, ids=lambda s: s.key)
def test_every_question_with_its_choices_is_one_gsm7_segment(
    survey: SurveySpec, language: str
) -> None:
    messages = list(survey_run(survey, CATALOG, language))
    asked = {m.where.rsplit(":", 1)[-1] for m in messages if ":question:" in m.where}
    assert asked == {str(q.position) for q in survey.questions}  # every question was rendered
    assert any("retry" in m.where for m in messages)
    check(messages)
