"""Texts stored per language (`{"fr": ..., "en": ...}`), shown in the reader's language."""

from __future__ import annotations

from typing import Any

from flask_login import current_user


def localised(texts: dict[str, Any] | None) -> str:
    """A `{language: text}` value in the reader's language, else French, else any."""
    texts = texts or {}
    language = getattr(current_user, "language", "fr")
    return str(texts.get(language) or texts.get("fr") or next(iter(texts.values()), ""))


def survey_title(title: dict[str, Any] | None, slug: str) -> str:
    return localised(title) or slug
