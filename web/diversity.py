"""Self-declared age range and gender: the keys stored on a participant met in the field, and
their French labels. Shared by the field pages (where they are asked) and the tableau de bord
(where they are counted). Never required; "non_dit" is "ne souhaite pas répondre"."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

AGE_RANGES = {
    "moins_18": _l("Moins de 18 ans"),
    "18_25": _l("18 à 25 ans"),
    "26_40": _l("26 à 40 ans"),
    "41_60": _l("41 à 60 ans"),
    "61_plus": _l("61 ans et plus"),
    "non_dit": _l("Ne souhaite pas répondre"),
}
GENDERS = {
    "femme": _l("Femme"),
    "homme": _l("Homme"),
    "autre": _l("Autre"),
    "non_dit": _l("Ne souhaite pas répondre"),
}
