"""Read a thème taxonomy written in TOML, the shape of ``prompts/themes.toml``.

```toml
[[themes]]
code = "cadre-de-vie"
name = "Cadre de vie"
description = "Espaces verts, bancs, éclairage, aires de jeux, façades du quartier."
keywords = ["banc", "square", "éclairage"]
```

``code`` and ``name`` are required; ``description`` and ``keywords`` are optional. A mistake is
reported with the file (when given) and the position of the thème, so a non-developer can fix it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from .model import ThemeSpec

__all__ = ["TaxonomyError", "themes_from_toml", "load_themes"]


class TaxonomyError(ValueError):
    """A thème file that cannot be used, with where and why."""


def themes_from_toml(text: str, *, source: str = "<themes>") -> tuple[ThemeSpec, ...]:
    """The thèmes of a TOML document with ``[[themes]]`` tables."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TaxonomyError(f"{source}: {error}") from error
    tables = data.get("themes")
    if not isinstance(tables, list) or not tables:
        raise TaxonomyError(f"{source}: no [[themes]] table")
    themes: list[ThemeSpec] = []
    seen: set[str] = set()
    for n, table in enumerate(tables, start=1):
        where = f"{source}: thème n°{n}"
        code, name = table.get("code"), table.get("name")
        if not isinstance(code, str) or not code.strip():
            raise TaxonomyError(f"{where}: `code` is missing or empty")
        if code in seen:
            raise TaxonomyError(f"{where}: `code` {code!r} is used twice")
        if not isinstance(name, str) or not name.strip():
            raise TaxonomyError(f"{where} ({code}): `name` is missing or empty")
        description = table.get("description", "")
        keywords = table.get("keywords", [])
        if not isinstance(description, str):
            raise TaxonomyError(f"{where} ({code}): `description` must be text")
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise TaxonomyError(f"{where} ({code}): `keywords` must be a list of texts")
        seen.add(code)
        themes.append(ThemeSpec(code, name.strip(), description.strip(), tuple(keywords)))
    return tuple(themes)


def load_themes(path: str | Path) -> tuple[ThemeSpec, ...]:
    """The thèmes of the TOML file at ``path``."""
    path = Path(path)
    return themes_from_toml(path.read_text(encoding="utf-8"), source=str(path))
