"""What every message needs and the back-office rarely changes, kept in memory per process.

The offered thèmes, the quartiers, the active join codes and the surveys (as specs) are read
once per process and version of `reference_versions` (`storage.changes`), which every change to
them bumps in its own transaction. `Reference.of(session, cache)` costs one small statement
while nothing changed, so every gunicorn worker sees a change made in the back-office at its
next message. Surveys are loaded when first asked for, under the same version.

Campaign statuses are not kept here: the few reads that need one stay live (a campaign closes
on the scheduler's clock, not only through the back-office).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bots.engine import QuartierOption, ThemeOption
from bots.survey_store import spec_from_row
from bots.surveys import SurveySpec
from bots.text import normalise
from storage import changes
from storage.models import JoinCode, Quartier, Survey, Theme


@dataclass(frozen=True)
class JoinEntry:
    """An active join code, as `bots.handler.resolve_join` needs it."""

    code: str
    survey_id: int | None
    campaign_id: int | None
    quartier: str | None


@dataclass
class Reference:
    """One version's reference data; replaced whole when the version moves."""

    version: int | None
    themes: tuple[ThemeOption, ...]  # offered to habitants, in order
    theme_ids: dict[str, int]  # every thème, by code
    quartiers: tuple[QuartierOption, ...]  # by name
    quartier_ids: dict[str, int]
    join_codes: dict[str, JoinEntry]  # active codes, as written
    join_normalised: dict[str, JoinEntry]  # the same, by `normalise(code)` (first one wins)
    surveys: dict[int, SurveySpec | None] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def survey(self, session: Session, survey_id: int) -> SurveySpec | None:
        """The survey as a spec (questions with their ids), None if there is none."""
        if survey_id in self.surveys:
            return self.surveys[survey_id]
        row = session.scalars(
            select(Survey).where(Survey.id == survey_id).options(selectinload(Survey.questions))
        ).one_or_none()
        spec = spec_from_row(row) if row is not None else None
        if self.version is not None:
            with self.lock:
                self.surveys[survey_id] = spec
        return spec


SESSION_KEY = "paroles_reference"


@dataclass
class ReferenceCache:
    """Per process (one per `Runtime`): the latest `Reference` read.

    Within one session the version is read once: its first `get` is remembered in
    `session.info` for the rest of its transaction, so a unit of work sees one version
    throughout. A session that changed them itself reads them afresh and keeps nothing.
    """

    current: Reference | None = None

    def get(self, session: Session) -> Reference:
        if changes.pending(session):
            return load(session, None)  # its own changes, uncommitted: for it alone
        known = session.info.get(SESSION_KEY)
        if known is not None and known[0] is session.get_transaction():
            return cast(Reference, known[1])
        return self.at(session, changes.current(session))

    def at(self, session: Session, version: int | None) -> Reference:
        """The reference data of `version`, which this session's transaction has just read
        (`changes.CURRENT`, in a statement of its own choosing: the handler reads it with the
        participant), kept for the rest of the transaction as `get` does."""
        if changes.pending(session):
            return load(session, None)
        held = self.current
        if held is None or held.version is None or held.version != version:
            held = load(session, version)
            self.current = held
        self.adopt(session, held)
        return held

    @staticmethod
    def adopt(session: Session, reference: Reference) -> None:
        """Use `reference` for the rest of this session's transaction (the unit of work read it
        in an earlier one)."""
        session.info[SESSION_KEY] = (session.get_transaction(), reference)


def load(session: Session, version: int | None) -> Reference:
    themes = session.execute(
        select(
            Theme.id, Theme.code, Theme.labels, Theme.active, Theme.offered_to_habitants
        ).order_by(Theme.position, Theme.id)
    ).all()
    quartiers = session.execute(
        select(Quartier.id, Quartier.code, Quartier.name).order_by(Quartier.name)
    ).all()
    codes = session.execute(
        select(JoinCode.code, JoinCode.survey_id, JoinCode.campaign_id, Quartier.code)
        .outerjoin(Quartier, Quartier.id == JoinCode.quartier_id)
        .where(JoinCode.active.is_(True))
        .order_by(JoinCode.id)
    ).all()
    entries = [
        JoinEntry(code, survey, campaign, quartier) for code, survey, campaign, quartier in codes
    ]
    normalised: dict[str, JoinEntry] = {}
    for entry in entries:
        normalised.setdefault(normalise(entry.code), entry)
    return Reference(
        version=version,
        themes=tuple(
            ThemeOption(code, labels)
            for _, code, labels, active, offered in themes
            if active and offered
        ),
        theme_ids={code: id_ for id_, code, *_ in themes},
        quartiers=tuple(QuartierOption(code, name) for _, code, name in quartiers),
        quartier_ids={code: id_ for id_, code, _ in quartiers},
        join_codes={e.code: e for e in entries},
        join_normalised=normalised,
    )
