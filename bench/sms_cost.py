"""What SMS shaping saves: segments as Paroles sends them against segments of the raw text.

For every message of `prompts/` in every language, for the first-contact dialogue, and for a full
run of each ready-made survey (every reply the engine composes, choices included), this prints the
segments of the raw text (the same words and `1 Oui 2 Non` layout, but left in Unicode, as it would
go without shaping) and of the SMS Paroles actually sends (GSM-7, see `bots/sms_text.py`), and the
saving in per cent. Then one JSON line per language: the segments of its catalogue (total and
the longest message), of its first contact and of each ready-made survey's full run, and whether
it goes in GSM-7 or UCS-2. It asserts nothing; `tests/bots/test_sms_prompts.py` holds the limits.

    /work/main/.venv/bin/python bench/sms_cost.py
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bots import engine  # noqa: E402
from bots.engine import (  # noqa: E402
    Context,
    Incoming,
    Privacy,
    QuartierOption,
    Reply,
    State,
    ThemeOption,
)
from bots.prompts import Catalog, default_catalog, load_ready_made_surveys, load_themes  # noqa: E402
from bots.sms_text import (  # noqa: E402
    compact_choices,
    is_gsm7,
    render_sms,
    segments,
    sms_messages,
)
from bots.surveys import SurveySpec  # noqa: E402

# Placeholders filled as the engine fills them, with the longest plausible values.
SAMPLE_VALUES = {
    "n": 6,
    "total": 6,
    "title": "Vous et le quartier",
    "intro": "6 questions.",
    "text": "Vous sentez-vous écouté ?",
    "organisation": "La Ville de Montreuil",
    "months": 12,
    "contact": "dpo@montreuil.fr",
    # SUIVI and an engagement's change of status (a long title, a long list)
    "status": "en cours",
    "parts": "1 pris en compte dans « Réparer l'éclairage du square Pasteur » (en cours), 2 lus",
    # MES DONNEES: the largest counts one habitant plausibly reaches, dates as written.
    "since": "01/12/2026",
    "consent": "01/12/2026",
    "messages": 1234,
    "contributions": 567,
    "answers": 890,
    "code": "ABCD-EFGH",
    "days": 7,
}
SAMPLE_QUARTIERS = (
    QuartierOption("QP1", "Les Tilleuls"),
    QuartierOption("QP2", "Centre-Ville"),
    QuartierOption("QP3", "La Butte aux Cailles"),
)
ANSWER_BY_KIND = {
    "single": "1",
    "multiple": "1 2",
    "scale": "3",
    "yes_no": "1",
    "quartier": "1",
    "text": "Plus de bancs et de lumière",
}
FIRST_CONTACT = ("Bonjour", "oui", "Les poubelles débordent", "1", "LANGUE", "1", "AIDE", "INFO")
FIRST_CONTACT += ("OUBLIER", "non", "PASSER", "", "STOP", "START")
# Texts staff type in the back-office (retour, replies), as a word processor writes them: made up
# for this bench, not taken from prompts/, to show what shaping does to typographic punctuation.
STAFF_SAMPLES = (
    "Vous avez été 214 à répondre à l’enquête « Vous et le quartier ». Merci ! Prochaine étape :"
    " réunion publique le 12 mars à 18\u202fh à la Maison des habitants.",
    "Bonjour, merci pour votre message sur l’ascenseur du bâtiment C. Le bailleur est prévenu ;"
    " nous vous tiendrons au courant.",
    "Rappel : l’aide aux devoirs reprend mercredi à 14\u202fh, salle Côté Cour. C’est gratuit…",
)


@dataclass(frozen=True)
class Sms:
    """One message as the engine composes it, with where it comes from."""

    where: str
    text: str
    choices: tuple[str, ...] = ()
    numbered: bool = True

    @property
    def raw(self) -> str:
        body = self.text.strip()
        return (
            f"{body}\n{compact_choices(self.choices)}" if self.choices and self.numbered else body
        )

    @property
    def sent(self) -> str:
        return render_sms(self.text, self.choices, self.numbered)

    @property
    def messages(self) -> list[str]:
        """The SMS sent: one, or two when a UCS-2 line goes on its own (the welcome)."""
        return sms_messages(self.text, self.choices, self.numbered)

    @property
    def segments(self) -> int:
        return sum(segments(m) for m in self.messages)

    @property
    def ucs2(self) -> bool:
        return any(not is_gsm7(m) for m in self.messages)


def _sms(where: str, reply: Reply) -> Sms:
    return Sms(where, reply.text, reply.choices, reply.numbered)


def catalog_messages(catalog: Catalog) -> Iterator[Sms]:
    """Every message of `prompts/messages/`, alone, placeholders filled."""
    for code, language in catalog.languages.items():
        values = {**SAMPLE_VALUES, "languages": catalog.other_languages(code)}
        for key in sorted(language.messages):
            yield Sms(f"{code}:{key}", catalog.text(code, key, **values))


def context(catalog: Catalog, surveys: dict[str, SurveySpec] | None = None) -> Context:
    themes = tuple(
        ThemeOption(t.code, {"fr": t.name, **t.labels, **t.short})
        for t in load_themes()
        if t.offered_to_habitants
    )
    privacy = Privacy(str(SAMPLE_VALUES["organisation"]), str(SAMPLE_VALUES["contact"]))
    return Context(catalog, surveys or {}, themes, SAMPLE_QUARTIERS, privacy=privacy)


def first_contact(catalog: Catalog, language: str) -> Iterator[Sms]:
    """A habitant's first exchanges: consent, a contribution and its thème, the keywords."""
    ctx = context(catalog)
    state = State(language=language)
    for n, text in enumerate(FIRST_CONTACT):
        result = engine.step(state, Incoming(text=text), ctx)
        state = result.state
        for reply in result.replies:
            yield _sms(f"{language}:contact:{n}:{reply.key}", reply)


def survey_run(spec: SurveySpec, catalog: Catalog, language: str) -> Iterator[Sms]:
    """Every reply of one full run: the start, each question (and its retry), the end."""
    ctx = context(catalog, {spec.key: spec})
    state = State(language=language, consent=True)
    result = engine.start_survey(state, spec, ctx)
    while True:
        for reply in result.replies:
            yield _sms(f"{language}:{spec.key}:{reply.key}", reply)
        state = result.state
        if state.survey is None:
            return
        question = spec.questions[state.question]
        if question.kind != "text":  # a retry re-asks the question with a hint in front
            retry = engine.step(state, Incoming(text="euh"), ctx)
            yield from (_sms(f"{language}:{spec.key}:retry:{r.key}", r) for r in retry.replies)
        result = engine.step(state, Incoming(text=ANSWER_BY_KIND[question.kind]), ctx)


def ready_made_surveys() -> list[SurveySpec]:
    return [spec for spec, _ in load_ready_made_surveys()]


def _saving(raw: int, sent: int) -> str:
    return f"{100 * (raw - sent) / raw:5.1f} %" if raw else "   -  "


def _table(title: str, messages: list[Sms]) -> tuple[int, int]:
    print(f"\n## {title}")
    print(f"{'message':<44} {'chars':>5} {'raw':>4} {'sent':>4}  saving")
    raw_total = sent_total = 0
    for sms in messages:
        raw, sent = segments(sms.raw), sms.segments
        raw_total, sent_total = raw_total + raw, sent_total + sent
        flag = "  <- more than one SMS" if sent > 1 else ""
        print(
            f"{sms.where:<44.44} {len(sms.sent):>5} {raw:>4} {sent:>4}  {_saving(raw, sent)}{flag}"
        )
    print(f"{'total':<44} {'':>5} {raw_total:>4} {sent_total:>4}  {_saving(raw_total, sent_total)}")
    return raw_total, sent_total


def per_language(catalog: Catalog) -> Iterator[dict[str, object]]:
    """Segments per language: its catalogue, its first contact, each survey's full run."""
    messages = list(catalog_messages(catalog))
    for language in catalog.language_codes():
        own = [m for m in messages if m.where.startswith(f"{language}:")]
        contact = list(first_contact(catalog, language))
        runs = {
            spec.key: sum(m.segments for m in survey_run(spec, catalog, language))
            for spec in ready_made_surveys()
        }
        yield {
            "bench": "sms_cost_per_language",
            "language": language,
            "encoding": "UCS-2"
            if any(m.ucs2 for m in own if m.where[3:] != "language_line")
            else "GSM-7",
            "catalogue_messages": len(own),
            "catalogue_segments": sum(m.segments for m in own),
            "longest_message_segments": max(m.segments for m in own),
            "longest_message_chars": max(len(m.sent) for m in own),
            "first_contact_segments": sum(m.segments for m in contact),
            "survey_run_segments": runs,
        }


def main() -> None:
    catalog = default_catalog()
    totals = [_table("every message of prompts/messages", list(catalog_messages(catalog)))]
    for language in catalog.language_codes():
        totals.append(_table(f"first contact ({language})", list(first_contact(catalog, language))))
        for spec in ready_made_surveys():
            run = list(survey_run(spec, catalog, language))
            totals.append(_table(f"survey {spec.key} ({language}), full run with retries", run))
    raw = sum(r for r, _ in totals)
    sent = sum(s for _, s in totals)
    print(
        f"\nprompts/, all tables: {raw} segments raw, {sent} as sent, saving {_saving(raw, sent)}"
    )
    staff = [Sms(f"staff sample {n}", text) for n, text in enumerate(STAFF_SAMPLES, 1)]
    _table("sample staff texts (not from prompts/)", staff)
    print()
    for figures in per_language(catalog):
        print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
