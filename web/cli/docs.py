"""`paroles docs privacy`: the AIPD, the registre entry and the privacy notice, from settings."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from web.cli import current_runtime
from web.cli.privacy_docs import write_documents


@click.group("docs", help="Documents à fournir (en français).")
def docs_group() -> None:
    pass


@docs_group.command(
    "privacy",
    help="Écrit l'AIPD, la fiche du registre et la notice des habitants, d'après les réglages.",
)
@click.option(
    "--out",
    "out",
    default="docs",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Dossier où écrire les documents.",
)
@with_appcontext
def privacy(out: Path) -> None:
    for path in write_documents(current_runtime().settings, out):
        click.echo(f"écrit : {path}")
