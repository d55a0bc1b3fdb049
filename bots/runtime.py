"""What every part of the bots needs at hand: sessions, the vault, the prompts, the settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bots.prompts import Catalog, default_catalog
from bots.reference import ReferenceCache
from storage.config import Settings
from storage.crypto import Vault
from storage.db import make_engine, make_sessionmaker


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    vault: Vault
    catalog: Catalog
    # thèmes, quartiers, join codes, surveys: read again only when the back-office changes them
    reference: ReferenceCache = field(default_factory=ReferenceCache)

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine | None = None) -> Runtime:
        engine = engine or make_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            vault=Vault(settings.secret_key),
            catalog=default_catalog(),
        )
