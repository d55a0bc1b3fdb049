"""`paroles users add`: staff accounts from the command line."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from storage.db import transaction
from web.auth import create_user
from web.cli import current_runtime
from web.cli.database import prepare_database


@click.group("users", help="Comptes de l'équipe.")
def users_group() -> None:
    pass


@users_group.command(
    "add", help="Crée un compte ; le mot de passe est demandé (ou lu sur l'entrée)."
)
@click.argument("email")
@click.option(
    "--role",
    required=True,
    help="administrateur, chef_de_projet, conseil_citoyen, lecteur, intervenant",
)
@click.option(
    "--quartier",
    "quartiers",
    multiple=True,
    help="Code du quartier (conseil citoyen, intervenant).",
)
@click.option("--name", default="", help="Nom affiché.")
@with_appcontext
def users_add(email: str, role: str, quartiers: tuple[str, ...], name: str) -> None:
    if sys.stdin.isatty():
        password = click.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    runtime = current_runtime()
    prepare_database(runtime)
    try:
        with transaction(runtime.sessions) as session:
            create_user(session, email, password, role, quartiers, name)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Compte créé : {email} ({role}).")
