"""The back-office's navigation, grouped by task, in one list: each role sees only what it may use.

The top bar of `base.html` is drawn from `NAV`: a group with one visible link is a plain link, a
group with several is a disclosure (`<details>`, so it opens without JavaScript). A link is shown
when the account holds its permission, the same one its view checks with `permission_required`:
nobody is offered a page that would answer 403. Adding a page to the menu is one line here (e.g.
a "Rapport" link under Évaluation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user


@dataclass(frozen=True)
class Link:
    """One page of the menu: its label, its endpoint, and the permission its view requires."""

    label: Any
    endpoint: str
    permission: str | None = "read"  # None: every logged-in account


@dataclass(frozen=True)
class Group:
    """Pages that serve one task; `key` names it in the markup and the tests."""

    key: str
    label: Any
    links: tuple[Link, ...]


NAV: tuple[Group, ...] = (
    Group("todo", _l("À faire"), (Link(_l("À faire"), "index"),)),
    Group("contributions", _l("Contributions"), (Link(_l("Contributions"), "inbox.index"),)),
    Group(
        "enquetes",
        _l("Enquêtes"),
        (
            Link(_l("Enquêtes"), "surveys.index"),
            Link(_l("Campagnes"), "campaigns.index"),
            Link(_l("Affiches"), "posters.index"),
            Link(_l("Simulateur"), "simulator.index"),
        ),
    ),
    Group(
        "evaluation",
        _l("Évaluation"),
        (
            Link(_l("Tableau de bord"), "dashboard.index"),
            Link(_l("Rapport"), "report.index", "export"),
            Link(_l("Exports"), "exports.index", "export"),
        ),
    ),
    Group("suivi", _l("Suivi"), (Link(_l("Engagements"), "engagements.index"),)),
    Group("terrain", _l("Terrain"), (Link(_l("Terrain"), "field.index", "field"),)),
    Group(
        "admin",
        _l("Administration"),
        (
            Link(_l("Comptes"), "accounts.index", "manage_accounts"),
            Link(_l("Journal"), "audit.index", "read_audit"),
            Link(_l("Thèmes"), "themes.index", "manage_themes"),
            Link(_l("Modèles de réponse"), "replies.templates", "manage_templates"),
            Link(_l("Données d'un participant"), "participants.find", "manage_participants"),
        ),
    ),
)


@dataclass(frozen=True)
class ShownLink:
    label: str
    url: str
    current: bool


@dataclass(frozen=True)
class ShownGroup:
    key: str
    label: str
    links: list[ShownLink]

    @property
    def current(self) -> bool:
        return any(link.current for link in self.links)


def allowed(link: Link) -> bool:
    if not current_user.is_authenticated:
        return False
    return link.permission is None or bool(current_user.can(link.permission))


def _is_current(endpoint: str) -> bool:
    here = request.endpoint or ""
    if here == endpoint:
        return True
    # A page inside the same blueprint (a campaign, a thème) belongs to its list's entry.
    blueprint = endpoint.rpartition(".")[0]
    return bool(blueprint) and here.rpartition(".")[0] == blueprint


def menu() -> list[ShownGroup]:
    """The groups and links the current account may use, in order; empty groups left out."""
    shown = []
    for group in NAV:
        links = [
            ShownLink(str(link.label), url_for(link.endpoint), _is_current(link.endpoint))
            for link in group.links
            if allowed(link)
        ]
        if links:
            shown.append(ShownGroup(group.key, str(group.label), links))
    return shown
