"""Reading what the field pages send: an entry's fields, checked, with a French sentence for
each mistake, to be shown next to its field. The same rules for the form and the offline queue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from bots.field import Run
from bots.phone import InvalidPhone, french_mobile
from storage.models import JoinCode
from web.diversity import AGE_RANGES, GENDERS

__all__ = ["AGE_RANGES", "GENDERS"]

MAX_TEXT = 5000
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

ACTION_KINDS = {
    "porte_a_porte": _l("Porte-à-porte"),
    "stand": _l("Stand (marché, sortie d'école)"),
    "temps_fort": _l("Temps fort (fête, réunion publique)"),
    "permanence": _l("Permanence (hall, centre social)"),
    "autre": _l("Autre"),
}


MISSING_TEXT = _l("Écrivez ce que la personne a dit (ou dictez-le avec le micro du clavier).")


@dataclass(frozen=True)
class EntryForm:
    """An entry's values once checked (the quartier and action are checked for scope apart)."""

    client_id: str
    text: str
    language: str
    theme_code: str | None
    age_range: str | None
    gender: str | None
    phone: str | None


def value(data: Mapping[str, Any], name: str) -> str:
    raw = data.get(name, "")
    return raw.strip() if isinstance(raw, str) else str(raw if raw is not None else "").strip()


def survey_run(
    run_id: str,
    campaign_id: int,
    quartier_id: int,
    intervenant_id: int,
    action: JoinCode | None,
    language: str,
    data: Mapping[str, Any],
) -> Run:
    """A survey answered face to face or on paper: the age and gender the form declares are
    kept only when they are one of the choices offered."""
    age, gender = value(data, "age"), value(data, "genre")
    return Run(
        run_id=run_id,
        campaign_id=campaign_id,
        quartier_id=quartier_id,
        intervenant_id=intervenant_id,
        action_id=action.id if action else None,
        action_code=action.code if action else None,
        language=language,
        age_range=age if age in AGE_RANGES else None,
        gender=gender if gender in GENDERS else None,
    )


def read_entry(
    data: Mapping[str, Any], languages: Mapping[str, str], themes: set[str]
) -> tuple[EntryForm | None, dict[str, str]]:
    """(the entry, {}) or (None, {field: what is wrong})."""
    errors: dict[str, str] = {}
    client_id = value(data, "client_id")
    if not CLIENT_ID.match(client_id):
        errors["client_id"] = str(_l("Identifiant d'entrée manquant : rechargez la page."))
    text = value(data, "texte")
    if not text:
        errors["texte"] = str(MISSING_TEXT)
    elif len(text) > MAX_TEXT:
        errors["texte"] = str(_l("Ce texte est trop long (%(n)s caractères au plus).", n=MAX_TEXT))
    language = value(data, "langue") or "fr"
    if language not in languages:
        errors["langue"] = str(_l("Choisissez une langue de la liste."))
    theme = value(data, "theme") or None
    if theme is not None and theme not in themes:
        errors["theme"] = str(_l("Choisissez un thème de la liste."))
    age = value(data, "age") or None
    if age is not None and age not in AGE_RANGES:
        errors["age"] = str(_l("Choisissez une tranche d'âge de la liste."))
    gender = value(data, "genre") or None
    if gender is not None and gender not in GENDERS:
        errors["genre"] = str(_l("Choisissez une réponse de la liste."))
    phone = None
    raw_phone = value(data, "telephone")
    if raw_phone:
        try:
            phone = french_mobile(raw_phone)
        except InvalidPhone:
            errors["telephone"] = str(
                _l("Ce numéro n'est pas un portable français (06 ou 07, 10 chiffres).")
            )
    if errors:
        return None, errors
    return EntryForm(client_id, text, language, theme, age, gender, phone), {}
