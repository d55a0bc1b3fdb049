"""What a survey costs by SMS: every message as the engine words it and the SMS channel shapes it.

The survey editor and the launch page count characters and segments here, so that their figures
are the SMS channel's own: the engine's `n/total. text`, the choices as `1 Oui 2 Non`, GSM-7
shaping, then `bots.sms_text.segments`. Nothing is counted from the raw form fields.
"""

from __future__ import annotations

from dataclasses import dataclass

from bots.engine import Context, QuartierOption, Reply, State, end_reply, question_reply
from bots.engine import start_survey as engine_start
from bots.prompts import Catalog
from bots.sms_text import render_sms, sms_segments
from bots.surveys import SurveySpec


@dataclass(frozen=True)
class SmsCount:
    """One message as an SMS: its text once shaped, its length and its number of segments."""

    text: str
    chars: int
    segments: int

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "chars": self.chars, "segments": self.segments}


def sms_count(text: str, choices: tuple[str, ...] = (), numbered: bool = True) -> SmsCount:
    rendered = render_sms(text, choices, numbered)
    return SmsCount(rendered, len(rendered), sms_segments(text, choices, numbered))


def reply_count(reply: Reply) -> SmsCount:
    return sms_count(reply.text, reply.choices, reply.numbered)


def survey_messages(
    spec: SurveySpec,
    catalog: Catalog,
    language: str,
    quartiers: tuple[QuartierOption, ...] = (),
) -> dict[str, Reply]:
    """`q1` (the invitation: title, intro and question 1), `q2`... and `end`, in `language`."""
    ctx = Context(catalog=catalog, surveys={spec.key: spec}, quartiers=quartiers)
    state = State(language=language, consent=True)
    messages = {"q1": engine_start(state, spec, ctx).replies[0]}
    for index in range(1, len(spec.questions)):
        at = State(language=language, consent=True, survey=spec.key, question=index)
        messages[f"q{index + 1}"] = question_reply(at, spec, ctx)
    messages["end"] = end_reply(language, spec, ctx)
    return messages


def run_segments(
    spec: SurveySpec,
    catalog: Catalog,
    language: str,
    quartiers: tuple[QuartierOption, ...] = (),
) -> int:
    """Segments sent to one habitant who answers every question at the first try.

    The longest path: a `goto` can only shorten it; reminders and re-asked questions add to it.
    """
    return sum(
        reply_count(reply).segments
        for reply in survey_messages(spec, catalog, language, quartiers).values()
    )
