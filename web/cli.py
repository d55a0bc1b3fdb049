"""The `paroles` command line: serve, chat, db, users."""

from __future__ import annotations

import secrets
import signal
import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select

from bots.channels import make_channel
from bots.channels.simulator import NAME as SIMULATOR
from bots.channels.simulator import render
from bots.handler import Inbound, handle_inbound
from bots.outbox import deliver
from bots.runtime import Runtime
from bots.scheduler import start_in_serve
from bots.survey_store import seed_prompts
from storage.db import transaction
from storage.migrate import upgrade
from storage.models import JoinCode, Message, Survey, User
from web import campaign_commands
from web.suggestions.service import SUGGESTION_JOBS


def _runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["paroles"]
    return runtime


def prepare_database(runtime: Runtime) -> dict[str, int]:
    """Create or upgrade the schema, then add the default thèmes and ready-made surveys."""
    upgrade(runtime.engine)
    from web.replies import seed_templates

    with transaction(runtime.sessions) as session:
        seed_templates(session)
        return seed_prompts(session)


@click.group("db", help="Base de données.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Crée ou met à jour la base, puis ajoute thèmes et enquêtes.")
@with_appcontext
def db_upgrade() -> None:
    added = prepare_database(_runtime())
    click.echo(f"Base à jour ({added['themes']} thèmes et {added['surveys']} enquêtes ajoutés).")


@click.command("chat", help="Un téléphone d'habitant dans le terminal (une ligne = un message).")
@click.option("--as", "name", default="habitant", show_default=True, help="Quel habitant simuler.")
@click.option("--survey", "slug", default=None, help="Commencer par cette enquête (ex. scolarite).")
@with_appcontext
def chat(name: str, slug: str | None) -> None:
    runtime = _runtime()
    prepare_database(runtime)
    address = f"chat-{name}"
    channel = make_channel(SIMULATOR, runtime)
    interactive = sys.stdin.isatty()
    if interactive:
        click.echo("Vous êtes un habitant. Écrivez vos messages ; Ctrl-D pour quitter.")
    counter = secrets.token_hex(4)
    if slug is not None:
        code = _survey_code(runtime, slug)
        _exchange(
            runtime, channel, Inbound(SIMULATOR, address, "", f"chat-{counter}-0", start_code=code)
        )
    line_no = 0
    while True:
        if interactive:
            click.echo("vous> ", nl=False)
        line = sys.stdin.readline()
        if not line:
            break
        line_no += 1
        inbound = Inbound(SIMULATOR, address, line.rstrip("\n"), f"chat-{counter}-{line_no}")
        _exchange(runtime, channel, inbound)


def _survey_code(runtime: Runtime, slug: str) -> str:
    with transaction(runtime.sessions) as session:
        survey = session.scalars(select(Survey).where(Survey.slug == slug)).one_or_none()
        if survey is None:
            known = ", ".join(session.scalars(select(Survey.slug).order_by(Survey.slug)))
            raise click.UsageError(f"enquête inconnue : {slug} (connues : {known})")
        code = session.scalars(
            select(JoinCode.code).where(JoinCode.survey_id == survey.id, JoinCode.active.is_(True))
        ).first()
        if code is None:
            raise click.UsageError(f"l'enquête {slug} n'a pas de code actif")
        return code


def _exchange(runtime: Runtime, channel: Any, inbound: Inbound) -> None:
    outcome = handle_inbound(runtime, inbound)
    deliver(runtime, channel)
    from bots.channels import Outgoing

    with transaction(runtime.sessions) as session:
        for message_id in outcome.reply_ids:
            row = session.get(Message, message_id)
            if row is not None:
                text = render(Outgoing(row.id, "", row.body, tuple(row.choices), row.expects))
                click.echo(f"paroles> {text}")


@click.command(
    "serve", help="Lance Paroles (back-office, simulateur, envois) en un seul processus."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--demo", is_flag=True, help="Sur une base vide, ajoute un territoire de démonstration."
)
@with_appcontext
def serve(host: str, port: int, demo: bool) -> None:
    from waitress import serve as waitress_serve

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    runtime = _runtime()
    prepare_database(runtime)
    if demo:
        app.config["PAROLES_DEMO"] = True
        _seed_demo(runtime)
    service = start_in_serve(runtime, extra_jobs=SUGGESTION_JOBS)
    # SIGTERM (systemd, docker stop, kill) ends waitress like Ctrl-C does, so that the finally
    # below runs: the scheduler lease is released and a restart takes over at once.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    click.echo(f"Paroles est prêt : http://{host}:{port}/")
    try:
        waitress_serve(app, host=host, port=port, threads=8)
    finally:
        service.stop()
        signal.signal(signal.SIGTERM, previous)
        click.echo("Paroles est arrêté.")


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _seed_demo(runtime: Runtime) -> None:
    from web.demo import seed_demo

    with transaction(runtime.sessions) as session:
        if session.scalar(select(func.count(User.id))):
            click.echo("Base déjà remplie : la démonstration n'est pas ajoutée.")
            return
    password = seed_demo(runtime)
    click.echo("Démonstration prête. Compte équipe : demo@paroles.example")
    click.echo(f"Mot de passe : {password}")


@click.group("users", help="Comptes de l'équipe.")
def users_group() -> None:
    pass


@users_group.command(
    "add", help="Crée un compte ; le mot de passe est demandé (ou lu sur l'entrée)."
)
@click.argument("email")
@click.option(
    "--role", required=True, help="administrateur, chef_de_projet, conseil_citoyen, lecteur"
)
@click.option("--quartier", "quartiers", multiple=True, help="Code du quartier (conseil citoyen).")
@click.option("--name", default="", help="Nom affiché.")
@with_appcontext
def users_add(email: str, role: str, quartiers: tuple[str, ...], name: str) -> None:
    from web.auth import create_user

    if sys.stdin.isatty():
        password = click.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    runtime = _runtime()
    prepare_database(runtime)
    try:
        with transaction(runtime.sessions) as session:
            create_user(session, email, password, role, quartiers, name)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Compte créé : {email} ({role}).")


def init_app(app: Flask) -> None:
    for command in (db_group, chat, serve, users_group):
        app.cli.add_command(command)
    from web.telegram_commands import telegram_group  # the group lives in its own module

    app.cli.add_command(telegram_group)
    campaign_commands.init_app(app)


def _create_app() -> Flask:
    from web import create_app

    return create_app()


def main() -> None:
    cli = FlaskGroup(create_app=_create_app, add_default_commands=False, load_dotenv=False)
    cli(prog_name="paroles")
