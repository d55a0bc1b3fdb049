"""The check before staff publish a text: no phone number, e-mail address or titled name.

Used for the public quotes (web/surveys/quotes.py: a habitant's answer a staff member chooses)
and for the engagements staff write for the public /suivi/ page (web/followup/engagements.py:
title, description, the text and reason of a new status, a dated step). A text that fails is
refused, never masked: staff rewrite it.

It finds phone numbers (read by `phonenumbers`, which knows French and foreign formats), e-mail
addresses and capitalised names after a civility (M., Mme, Madame...). A street name alone
("éclairage rue des Lilas", "rue Victor Hugo") passes: an engagement names places.

A name without a civility is not refused, since the machine cannot tell "Karim Benali a signalé
la fuite" from a place named after someone: `field_problems` says which words the name finder
of `bots.personal_data` (spaCy's French model, loaded once per process on the first check that
needs it) takes for a person, and the form saves once staff tick that they name no one. Names
right after a word for a place ("gymnase Jean Moulin", "école Jules Ferry") are not asked about.
A name the finder does not see passes: a person, not the machine, chooses what is published.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import phonenumbers
from flask_babel import gettext as _

__all__ = ["CONFIRM_FIELD", "field_problems", "possible_names", "problems", "refusal"]

# The checkbox that confirms the names found name no one: its field name in every form.
CONFIRM_FIELD = "names_checked"

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CIVILITY_NAME = re.compile(
    r"\b(?:M\.|MM\.|Mme|Mmes|Mlle|Mr|Monsieur|Madame|Mademoiselle|Dr|Docteur)\s+"
    r"[A-ZÀ-ÖØ-Þ][\w'’-]*",
)
# A place named after someone: the name finder's "person" right after one of these words.
PLACE_BEFORE = re.compile(
    r"\b(?:avenue|allée|boulevard|bâtiment|bibliothèque|centre|cité|collège|crèche|école|"
    r"espace|gymnase|impasse|lycée|maison|médiathèque|parc|passage|piscine|place|quai|"
    r"résidence|rue|salle|square|stade|tour)(?:\s+(?:de|du|des|d'|d’))?\s*$",
    re.IGNORECASE,
)


def problems(text: str) -> list[str]:
    """What makes this text unfit to publish as it is, in French; empty when it passes."""
    found = []
    # POSSIBLE, not VALID: a number in an unassigned range still points at someone.
    possible = phonenumbers.Leniency.POSSIBLE
    if any(True for _match in phonenumbers.PhoneNumberMatcher(text, "FR", leniency=possible)):
        found.append(_("un numéro de téléphone"))
    if EMAIL.search(text):
        found.append(_("une adresse e-mail"))
    if CIVILITY_NAME.search(text):
        found.append(_("un nom de personne"))
    return found


def possible_names(text: str) -> list[str]:
    """The words the name finder takes for a person, outside a civility (which `problems`
    refuses) and not right after a word for a place; each once, in the text's order."""
    from bots.personal_data import detect

    found: list[str] = []
    for span in detect(text):
        words = span.text(text)
        if span.kind != "name" or CIVILITY_NAME.search(text[max(0, span.start - 12) : span.end]):
            continue
        if PLACE_BEFORE.search(text[: span.start]) or words in found:
            continue
        found.append(words)
    return found


def refusal(found: Iterable[str]) -> str:
    """The sentence shown next to a field refused for ``found``."""
    return str(
        _(
            "Contient %(what)s : une page publique ne doit désigner personne. Reformulez.",
            what=", ".join(found),
        )
    )


def field_problems(
    form: Mapping[str, str], fields: Mapping[str, str], confirm: str
) -> dict[str, str]:
    """``fields`` maps a form field's name to the id of its input; returns, by input id, the
    sentence to show next to each field whose text fails `problems`, or holds
    `possible_names` while the form's `CONFIRM_FIELD` is not ticked: then ``confirm``, the id
    of that checkbox, maps to its label, and the form shows it."""
    out = {}
    checked = form.get(CONFIRM_FIELD) == "1"
    for name, input_id in fields.items():
        text = form.get(name, "")
        found = problems(text)
        if found:
            out[input_id] = refusal(found)
        elif not checked and (names := possible_names(text)):
            out[input_id] = str(
                _(
                    "Semble nommer quelqu'un : %(names)s. Si c'est une personne, reformulez ; si"
                    " c'est un lieu ou un équipement, cochez la case sous le formulaire.",
                    names=", ".join(f"« {n} »" for n in names),
                )
            )
            out[confirm] = str(
                _("Les mots signalés ne désignent personne : enregistrer quand même.")
            )
    return out
