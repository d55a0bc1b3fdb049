"""`paroles telegram ...`: receive by polling, register the webhook, print deep links."""

from __future__ import annotations

import re
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from flask.cli import with_appcontext
from telegram import Bot
from telegram.error import Conflict, TelegramError

from bots.channels.telegram import TelegramChannel, TelegramClient, client_for, deep_link
from bots.inbound import process_inbound
from bots.outbox import deliver
from bots.runtime import Runtime
from bots.telegram_polling import ALLOWED_UPDATES, Poller
from web.cli import current_runtime
from web.cli.database import prepare_database

SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
T = TypeVar("T")


def _runtime() -> Runtime:
    runtime = current_runtime()
    if not runtime.settings.telegram_bot_token:
        raise click.ClickException("TELEGRAM_BOT_TOKEN n'est pas réglé (voir le README).")
    return runtime


def _call(client: TelegramClient, what: str, call: Callable[[Bot], Awaitable[T]]) -> T:
    try:
        return client.run(call)
    except TelegramError as error:
        raise click.ClickException(f"{what} : Telegram a répondu « {error.message} »") from error


@click.group("telegram", help="Bot Telegram : réception (polling ou webhook) et liens.")
def telegram_group() -> None:
    pass


@telegram_group.command(
    "poll", help="Reçoit les messages par long polling (sans adresse publique) et répond."
)
@click.option("--once", is_flag=True, help="Un seul tour (sans attendre), puis s'arrête.")
@click.option("--timeout", default=25, show_default=True, help="Attente de Telegram (secondes).")
@with_appcontext
def poll(once: bool, timeout: int) -> None:
    runtime = _runtime()
    prepare_database(runtime)
    client = client_for(runtime.settings)
    channel = TelegramChannel(client)
    poller = Poller(runtime, client)
    try:
        if once:
            received = poller.poll(timeout=0)
            sent = _send_due(runtime, channel)
            click.echo(f"{received} message(s) reçu(s), {sent} réponse(s) envoyée(s).")
            return
        click.echo("Réception Telegram par polling ; Ctrl-C pour arrêter.")
        poller.run(
            threading.Event(), timeout=timeout, after_batch=lambda: _send_due(runtime, channel)
        )
    except Conflict as error:
        raise click.ClickException(
            "un webhook est enregistré : le retirer d'abord avec `paroles telegram delete-webhook`"
        ) from error
    except KeyboardInterrupt:
        click.echo("Arrêt.")


def _send_due(runtime: Runtime, channel: TelegramChannel) -> int:
    """Process what was received (`bots.inbound`), then send what is due, at most one second's
    worth of Telegram's rate."""
    process_inbound(runtime)
    return deliver(runtime, channel, limit=int(channel.rate_per_second))


@telegram_group.command("set-webhook", help="Enregistre le webhook auprès de Telegram.")
@click.option("--url", default=None, help="Par défaut : PAROLES_PUBLIC_URL + /hooks/telegram.")
@with_appcontext
def set_webhook(url: str | None) -> None:
    runtime = _runtime()
    settings = runtime.settings
    secret = settings.telegram_webhook_secret
    if not SECRET.match(secret):
        raise click.ClickException(
            "TELEGRAM_WEBHOOK_SECRET doit faire 1 à 256 caractères parmi A-Z a-z 0-9 _ -."
        )
    if url is None:
        if not settings.public_url:
            raise click.ClickException("donner --url, ou régler PAROLES_PUBLIC_URL.")
        url = f"{settings.public_url}/hooks/telegram"
    if not url.startswith("https://"):
        click.echo("Attention : Telegram n'appelle que des adresses https://.", err=True)
    client = client_for(settings)
    _call(
        client,
        "setWebhook",
        lambda bot: bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES),
    )
    click.echo(f"Webhook enregistré : {url}")


@telegram_group.command("delete-webhook", help="Retire le webhook (pour passer en polling).")
@with_appcontext
def delete_webhook() -> None:
    client = client_for(_runtime().settings)
    _call(client, "deleteWebhook", lambda bot: bot.delete_webhook())
    click.echo("Webhook retiré.")


@telegram_group.command("link", help="Affiche le lien t.me d'un code (pour une affiche, un QR).")
@click.argument("code")
@with_appcontext
def link(code: str) -> None:
    settings = _runtime().settings
    username = settings.telegram_bot_username
    if not username:
        _call(client_for(settings), "getMe", lambda bot: bot.get_me())
        username = client_for(settings).bot.username
    try:
        click.echo(deep_link(username, code))
    except ValueError as error:
        raise click.ClickException(str(error)) from error
