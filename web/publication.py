"""The check before staff publish a text: no phone number, e-mail address or titled name.

Used for the public quotes (web/surveys/quotes.py: a habitant's answer a staff member chooses)
and for the engagements staff write for the public /suivi/ page (web/followup/engagements.py:
title, description, the text and reason of a new status, a dated step). A text that fails is
refused, never masked: staff rewrite it.

It finds phone numbers (read by `phonenumbers`, which knows French and foreign formats), e-mail
addresses and capitalised names after a civility (M., Mme, Madame...). A street name alone
("éclairage rue des Lilas", "rue Victor Hugo") passes: an engagement names places. It is a first
line, not a full personal-data detector: a name without a civility passes, which is why a
person, not the machine, chooses what is published.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import phonenumbers
from flask_babel import gettext as _

__all__ = ["field_problems", "problems", "refusal"]

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CIVILITY_NAME = re.compile(
    r"\b(?:M\.|MM\.|Mme|Mmes|Mlle|Mr|Monsieur|Madame|Mademoiselle|Dr|Docteur)\s+"
    r"[A-ZÀ-ÖØ-Þ][\w'’-]*",
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


def refusal(found: Iterable[str]) -> str:
    """The sentence shown next to a field refused for ``found``."""
    return str(
        _(
            "Contient %(what)s : une page publique ne doit désigner personne. Reformulez.",
            what=", ".join(found),
        )
    )


def field_problems(form: Mapping[str, str], fields: Mapping[str, str]) -> dict[str, str]:
    """``fields`` maps a form field's name to the id of its input; returns, by input id, the
    sentence to show next to each field whose text fails `problems`."""
    out = {}
    for name, input_id in fields.items():
        found = problems(form.get(name, ""))
        if found:
            out[input_id] = refusal(found)
    return out
