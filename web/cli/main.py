"""`paroles`: every command group on one Flask command line that builds the app itself."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from web import create_app
from web.cli.campaigns import campaign_group, worker
from web.cli.chat import chat
from web.cli.database import db_group
from web.cli.docs import docs_group
from web.cli.serve import serve
from web.cli.telegram import telegram_group
from web.cli.users import users_group

COMMANDS: tuple[click.Command, ...] = (
    db_group,
    chat,
    serve,
    users_group,
    telegram_group,
    worker,
    campaign_group,
    docs_group,
)


def _create_app() -> Flask:
    return create_app()


def command_line() -> FlaskGroup:
    """The `paroles` group; the tests invoke it on their own app (`ScriptInfo`)."""
    group = FlaskGroup(create_app=_create_app, add_default_commands=False, load_dotenv=False)
    for command in COMMANDS:
        group.add_command(command)
    return group


def main() -> None:
    command_line()(prog_name="paroles")
