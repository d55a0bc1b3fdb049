"""Thème suggestions for contributions: an offline model trained on descriptions and examples."""

from .model import DEFAULT_THRESHOLD, Example, Suggester, Suggestion, ThemeSpec
from .taxonomy import TaxonomyError, load_themes, themes_from_toml

__all__ = [
    "DEFAULT_THRESHOLD",
    "Example",
    "Suggester",
    "Suggestion",
    "TaxonomyError",
    "ThemeSpec",
    "load_themes",
    "themes_from_toml",
]
