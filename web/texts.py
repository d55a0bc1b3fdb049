"""Texts stored per language (`{"fr": ..., "en": ...}`), shown in the reader's language."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_login import current_user

# The catalogue languages as the team reads them (the bot's catalogue names each in its own
# script: العربية, Türkçe...). A code not listed shows as itself.
LANGUAGE_LABELS = {
    "fr": _l("français"),
    "en": _l("anglais"),
    "ar": _l("arabe"),
    "tr": _l("turc"),
    "pt": _l("portugais"),
    "es": _l("espagnol"),
    "ro": _l("roumain"),
    "uk": _l("ukrainien"),
}


def language_label(code: str | None) -> str:
    """`ar` -> `arabe`, in the reader's language."""
    return str(LANGUAGE_LABELS.get(code or "", code or ""))


def localised(texts: dict[str, Any] | None) -> str:
    """A `{language: text}` value in the reader's language, else French, else any."""
    texts = texts or {}
    language = getattr(current_user, "language", "fr")
    return str(texts.get(language) or texts.get("fr") or next(iter(texts.values()), ""))


def survey_title(title: dict[str, Any] | None, slug: str) -> str:
    return localised(title) or slug
