"""Machine translation on a contribution's page: "Traduire", and replies sent translated.

The work is done by ``bots.translations`` (LibreTranslate, stored beside the original, retried
by the scheduler); this module is its page side. A failure of the translation server is told on
the page and never stops it from showing, nor a reply from leaving (in French, or as the team
edited it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from bots import translations
from bots.translate import translator_from
from storage.models import Contribution, ContributionTranslation
from web.audit_log import audit
from web.auth import get_contribution, permission_required
from web.db import get_runtime, get_session

bp = Blueprint("translations", __name__, url_prefix="/contributions")

# The languages' own names, for "Traduire en …" (the bot's catalogues; others show their code).
NAMES = {
    "fr": "français",
    "en": "English",
    "ar": "العربية",
    "tr": "Türkçe",
    "pt": "Português",
    "es": "Español",
    "ro": "Română",
    "uk": "Українська",
}
SETUP_COMMANDS = (
    "pip install libretranslate\n"
    "libretranslate --host 127.0.0.1 --port 5000 --load-only fr,en,ar,tr,pt,es,ro,uk"
)


@dataclass(frozen=True)
class TranslationView:
    """What the page shows about translating one contribution and replying to its author."""

    needed: bool  # the contribution is not in French
    available: bool  # a translation server is configured
    row: ContributionTranslation | None
    reply_language: str  # the language the habitant reads (their bot's language)
    setup: str = SETUP_COMMANDS

    @property
    def reply_translated(self) -> bool:
        return self.available and translations.needs_translation(self.reply_language)

    def name(self, code: str) -> str:
        return NAMES.get(code, code)


def translation_view(contribution: Contribution) -> TranslationView:
    row = (
        get_session()
        .scalars(
            select(ContributionTranslation).where(
                ContributionTranslation.contribution_id == contribution.id,
                ContributionTranslation.target == translations.FRENCH,
            )
        )
        .one_or_none()
    )
    participant = contribution.participant
    reply_language = (participant.language if participant else "") or contribution.language
    return TranslationView(
        needed=translations.needs_translation(contribution.language),
        available=translator_from(get_runtime().settings) is not None,
        row=row,
        reply_language=reply_language or "fr",
    )


@bp.route("/<int:contribution_id>/traduire", methods=["POST"])
@permission_required("read")
def translate(contribution_id: int) -> Any:
    """Ask for the French translation now; on failure, say so (the scheduler tries again)."""
    contribution = get_contribution(contribution_id)
    page = url_for("contributions.detail", contribution_id=contribution.id) + "#traduction"
    db = get_session()
    db.commit()  # no transaction stays open while the server translates (seconds, at worst)
    outcome = translations.translate_now(get_runtime(), contribution_id, datetime.now(UTC))
    audit(db, current_user.id, "translation.request", f"contribution:{contribution.id}")
    db.commit()
    if outcome.status == "done":
        flash(_("Traduction automatique ajoutée sous le texte de l'habitant."), "success")
    elif outcome.status == "off":
        flash(_("Aucun serveur de traduction n'est configuré."), "error")
    else:
        flash(
            _(
                "La traduction n'a pas abouti (%(error)s). Elle sera réessayée automatiquement.",
                error=outcome.error,
            ),
            "error",
        )
    return redirect(page), 303
