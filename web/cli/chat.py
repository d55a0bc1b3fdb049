"""`paroles chat`: a habitant's phone in the terminal, through the same handler as the channels.

Like the back-office simulator's phone, it is a trial (`Participant.is_test`): whatever is
typed there never counts as participation (indicators, results, campaigns) and files nothing
in the inbox, so trying the bot from a terminal cannot swell the evaluation's figures.
"""

from __future__ import annotations

import secrets
import sys
from datetime import UTC, datetime
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from bots.channels import Outgoing, make_channel
from bots.channels.simulator import NAME as SIMULATOR
from bots.channels.simulator import render
from bots.handler import Inbound, find_or_create_participant
from bots.inbound import receive_now
from bots.outbox import deliver
from bots.runtime import Runtime
from storage.db import transaction
from storage.models import JoinCode, Message, Survey
from web.cli import current_runtime
from web.cli.database import prepare_database


@click.command("chat", help="Un téléphone d'habitant dans le terminal (une ligne = un message).")
@click.option("--as", "name", default="habitant", show_default=True, help="Quel habitant simuler.")
@click.option("--survey", "slug", default=None, help="Commencer par cette enquête (ex. scolarite).")
@with_appcontext
def chat(name: str, slug: str | None) -> None:
    runtime = current_runtime()
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


def _mark_as_trial(runtime: Runtime, address: str) -> None:
    """The terminal's habitant is a staff trial, like the simulator page's test phone."""
    with transaction(runtime.sessions) as session:
        participant = find_or_create_participant(
            session, runtime, SIMULATOR, address, datetime.now(UTC)
        )
        participant.is_test = True


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
    _mark_as_trial(runtime, inbound.address)  # again after OUBLIER, which erased the participant
    outcome = receive_now(runtime, inbound)
    deliver(runtime, channel)
    with transaction(runtime.sessions) as session:
        for message_id in outcome.reply_ids:
            row = session.get(Message, message_id)
            if row is not None:
                text = render(Outgoing(row.id, "", row.body, tuple(row.choices), row.expects))
                click.echo(f"paroles> {text}")
