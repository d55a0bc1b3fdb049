"""`paroles db upgrade`, and the preparation every command (and the tests) run first."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from bots.runtime import Runtime
from bots.survey_store import seed_prompts
from storage.db import transaction
from storage.migrate import upgrade
from web.cli import current_runtime
from web.review.replies import seed_templates


def prepare_database(runtime: Runtime) -> dict[str, int]:
    """Create or upgrade the schema, then add the default thèmes and ready-made surveys."""
    upgrade(runtime.engine)
    with transaction(runtime.sessions) as session:
        seed_templates(session)
        return seed_prompts(session)


@click.group("db", help="Base de données.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Crée ou met à jour la base, puis ajoute thèmes et enquêtes.")
@with_appcontext
def db_upgrade() -> None:
    added = prepare_database(current_runtime())
    click.echo(f"Base à jour ({added['themes']} thèmes et {added['surveys']} enquêtes ajoutés).")
