"""`paroles worker` and `paroles campaign launch|status|cancel` (until the back-office page)."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from alembic.script import ScriptDirectory
from flask.cli import with_appcontext
from sqlalchemy import select

from bots import campaigns
from bots.campaigns import CampaignError, Target
from bots.quiet_hours import is_quiet, next_open
from bots.runtime import Runtime
from bots.scheduler import SchedulerBusy, Service
from storage.db import transaction
from storage.migrate import alembic_config, current_revision
from storage.models import Campaign
from web.cli import current_runtime
from web.suggestions.service import SUGGESTION_JOBS


def _require_schema(runtime: Runtime) -> None:
    head = ScriptDirectory.from_config(alembic_config(runtime.engine)).get_current_head()
    if current_revision(runtime.engine) != head:
        raise click.ClickException("base pas à jour : lancez d'abord `paroles db upgrade`")


@click.command(
    "worker",
    help="Envoie les messages et lance les campagnes (un seul processus à côté de gunicorn).",
)
@click.option(
    "--outbox-only", is_flag=True, help="Seulement envoyer : un envoyeur de plus (PostgreSQL)."
)
@click.option(
    "--exit-when-idle", is_flag=True, help="S'arrêter quand il n'y a plus rien à envoyer."
)
@with_appcontext
def worker(outbox_only: bool, exit_when_idle: bool) -> None:
    runtime = current_runtime()
    _require_schema(runtime)
    service = Service(
        runtime,
        scheduler=not outbox_only,
        exit_when_idle=exit_when_idle,
        extra_jobs=SUGGESTION_JOBS,
    )
    try:
        service.start()
    except SchedulerBusy as busy:
        raise click.ClickException(str(busy)) from busy

    def stop(signum: int, frame: Any) -> None:
        service.stop_event.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    role = "envois" if outbox_only else "planificateur et envois"
    click.echo(f"Paroles worker prêt ({role} : {', '.join(service.channels)}).")
    try:
        status = service.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for error in service.errors:
        click.echo(f"Erreur : {error}", err=True)
    raise SystemExit(status)


@click.group("campaign", help="Campagnes : lancer une enquête, suivre, annuler.")
def campaign_group() -> None:
    pass


def _parse_local(value: str | None, timezone: str) -> datetime | None:
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError as error:
        raise click.BadParameter(f"date attendue comme 2026-11-28 10:00, pas {value!r}") from error
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


@campaign_group.command("launch", help="Lance (ou programme) une enquête vers une cible.")
@click.argument("survey")
@click.option("--name", default="", help="Nom de la campagne.")
@click.option("--quartier", "quartiers", multiple=True, help="Code de quartier (répétable).")
@click.option("--channel", "channels", multiple=True, help="telegram, sms, whatsapp, simulator.")
@click.option("--language", "languages", multiple=True, help="fr, en...")
@click.option("--code", "codes", multiple=True, help="Ceux venus par ce code (affiche, QR).")
@click.option("--everyone", is_flag=True, help="Tous les habitants joignables.")
@click.option("--at", "starts", default=None, help="Date et heure de Paris : 2026-11-28 10:00.")
@click.option("--closes", default=None, help="Clôture, heure de Paris.")
@click.option("--remind-after", type=int, default=None, help="Relance après N heures.")
@click.option("--allow-quiet-hours", is_flag=True, help="Envoyer aussi le soir et le dimanche.")
@with_appcontext
def launch(
    survey: str,
    name: str,
    quartiers: tuple[str, ...],
    channels: tuple[str, ...],
    languages: tuple[str, ...],
    codes: tuple[str, ...],
    everyone: bool,
    starts: str | None,
    closes: str | None,
    remind_after: int | None,
    allow_quiet_hours: bool,
) -> None:
    runtime = current_runtime()
    _require_schema(runtime)
    timezone = runtime.settings.timezone
    now = datetime.now(UTC)
    try:
        target = Target(quartiers, channels, languages, codes, everyone)
        starts_at = _parse_local(starts, timezone)
        with transaction(runtime.sessions) as session:
            check = campaigns.budget_check(session, runtime, survey, target, starts_at or now)
            campaign = campaigns.create_campaign(
                session,
                survey,
                target,
                now=now,
                name=name,
                starts_at=starts_at,
                closes_at=_parse_local(closes, timezone),
                remind_after_hours=remind_after,
                allow_quiet_hours=allow_quiet_hours,
                budget=check,
            )
    except CampaignError as error:
        raise click.ClickException(str(error)) from error
    assert campaign.starts_at is not None
    local = campaign.starts_at.astimezone(ZoneInfo(timezone))
    click.echo(f"Campagne {campaign.id} « {campaign.name} » créée.")
    if campaign.status == campaigns.AWAITING:
        click.echo("Elle dépasse ce qui reste du budget du mois : elle attend la validation")
        click.echo("d'un chef de projet (page de la campagne).")
        return
    if campaign.starts_at > now:
        click.echo(f"Lancement prévu le {local:%d/%m/%Y à %H:%M} par le planificateur.")
        return
    if not allow_quiet_hours and is_quiet(now, timezone):
        opens = next_open(now, timezone).astimezone(ZoneInfo(timezone))
        click.echo(f"Heures calmes : les invitations partiront le {opens:%d/%m/%Y à %H:%M}.")
        return
    invited = campaigns.launch(runtime, campaign.id, now)
    click.echo(f"{invited} invitations en file d'envoi (paroles worker ou paroles serve).")


@campaign_group.command("status", help="Où en sont les campagnes (ou l'une d'elles).")
@click.argument("campaign_id", type=int, required=False)
@with_appcontext
def status(campaign_id: int | None) -> None:
    runtime = current_runtime()
    with runtime.sessions() as session:
        if campaign_id is None:
            rows = session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(50)).all()
            if not rows:
                click.echo("Aucune campagne.")
            for row in rows:
                report = campaigns.campaign_status(session, row.id)
                total = sum(report.recipients.values())
                click.echo(f"{row.id}\t{report.status_fr}\t{row.name}\t{total} habitants")
            return
        try:
            report = campaigns.campaign_status(session, campaign_id)
        except CampaignError as error:
            raise click.ClickException(str(error)) from error
    campaign = report.campaign
    click.echo(f"Campagne {campaign.id} « {campaign.name} » : {report.status_fr}")
    click.echo(f"Enquête : {report.survey_slug}")
    for label, count in sorted(report.recipients.items()):
        click.echo(f"  habitants {label} : {count}")
    for kind, counts in sorted(report.messages.items()):
        detail = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        click.echo(f"  messages {kind} : {detail}")
    click.echo(f"  réponses en retard : {report.late_answers}")
    if report.left_out:
        click.echo(f"  laissés de côté (WhatsApp hors des 24 h, sans modèle) : {report.left_out}")


@campaign_group.command("cancel", help="Arrête une campagne : plus rien ne part.")
@click.argument("campaign_id", type=int)
@with_appcontext
def cancel(campaign_id: int) -> None:
    try:
        campaigns.cancel_campaign(current_runtime(), campaign_id, datetime.now(UTC))
    except CampaignError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Campagne {campaign_id} annulée : les messages pas encore partis sont annulés.")
