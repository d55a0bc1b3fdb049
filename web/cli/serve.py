"""`paroles serve`: the back-office, the webhooks and the sending in one process."""

from __future__ import annotations

import signal
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from bots.runtime import Runtime
from bots.scheduler import Service
from storage.db import transaction
from storage.models import User
from web.cli import current_runtime
from web.cli.database import prepare_database
from web.cli.demo import demo_settings, seed_demo
from web.suggestions.service import SUGGESTION_JOBS


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
    runtime = current_runtime()
    prepare_database(runtime)
    if demo:
        app.config["PAROLES_DEMO"] = True
        runtime.settings = demo_settings(runtime.settings)  # a monthly budget to show
        _seed_demo(runtime)
    service = Service(runtime, extra_jobs=SUGGESTION_JOBS)
    # SIGTERM (systemd, docker stop, kill) ends waitress like Ctrl-C does, so that the finally
    # below runs: the scheduler lease is released and a restart takes over at once.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        service.start_when_free()  # as `start_in_serve`: waits for a lease held elsewhere
        click.echo(f"Paroles est prêt : http://{host}:{port}/")
        waitress_serve(app, host=host, port=port, threads=8)
    finally:
        service.stop()
        signal.signal(signal.SIGTERM, previous)
        click.echo("Paroles est arrêté.")


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _seed_demo(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        if session.scalar(select(func.count(User.id))):
            click.echo("Base déjà remplie : la démonstration n'est pas ajoutée.")
            return
    password = seed_demo(runtime)
    click.echo("Démonstration prête. Compte équipe : demo@paroles.example")
    click.echo("Compte terrain (médiatrice) : terrain@paroles.example, même mot de passe")
    click.echo(f"Mot de passe : {password}")
