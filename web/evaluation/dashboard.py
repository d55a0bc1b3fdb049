"""The tableau de bord: the contrat de ville's evaluation indicators on one page, and as files.

The figures come from `web.indicators`; this module reads the period and the
quartier from the query string (a GET form: a chosen view is a link), applies the account's
quartier scope on the server, and sends each table as CSV or XLSX through the audited,
formula-safe writer of `web.tables`.

Permission: `read` for the page and `export` for the files, like the inbox and its exports. The
page shows only counts of what each role may already read, within its quartiers; a separate
permission would today name the same four roles.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, render_template, request
from flask_babel import format_date, format_percent
from flask_babel import gettext as _
from flask_login import current_user

from web import field_figures as actions
from web.activity import Activity, read_activity
from web.auth import campaign_visible, permission_required, visible_quartiers
from web.counts import Scope
from web.db import get_runtime, get_session
from web.evaluation.spend import UNITS, euros, month_spend
from web.field_figures import FieldFigures
from web.indicators import (
    MAX_MONTHS,
    Indicators,
    Period,
    add_months,
    compute,
    month_key,
    parse_month,
)
from web.params import BadValue, chosen_id
from web.tables import FORMATS, audit_export, send_table
from web.texts import localised
from web.theme_state import THEME_STATES

bp = Blueprint("dashboard", __name__, url_prefix="/tableau-de-bord")
TABLES = ("synthese", "diversite", "actions", "themes", "enquetes")
HIDDEN_RATE = "—"


# --- what was asked ------------------------------------------------------------------------------


def _today() -> date:
    return datetime.now(ZoneInfo(get_runtime().settings.timezone)).date()


def chosen_period(args: Any, today: date) -> tuple[Period, list[str]]:
    """The months asked for (`du`, `au`: `2026-03`), or the last twelve; and what was wrong."""
    default = Period.last_twelve_months(today)
    problems = []
    bounds = []
    for name, fallback in (("du", default.first), ("au", default.last)):
        value = args.get(name, "").strip()[:20]
        month = parse_month(value) if value else fallback
        if month is None:
            problems.append(_("Mois illisible : « %(value)s » (attendu : AAAA-MM).", value=value))
            month = fallback
        bounds.append(month)
    first, last = bounds
    if first > last:
        problems.append(
            _("Le début de la période est après sa fin : les 12 derniers mois sont affichés.")
        )
        return default, problems
    period = Period(first, last)
    if len(period.months) > MAX_MONTHS:
        problems.append(_("%(n)s mois au plus : la période est raccourcie.", n=MAX_MONTHS))
        period = Period(first, add_months(first, MAX_MONTHS - 1))
    return period, problems


def chosen_scope(args: Any) -> tuple[Scope, list[str]]:
    """The account's quartiers (server-side), narrowed to one quartier if asked; a quartier that
    is none of the page's choices is said, and counts nobody (never all quartiers instead)."""
    mine = None if current_user.sees_all_quartiers else frozenset(current_user.quartier_ids)
    value = args.get("quartier", "")
    try:
        quartier = chosen_id(value, {q.id for q in visible_quartiers()})
    except BadValue:
        problem = _("« %(value)s » n'est pas un des quartiers proposés.", value=value)
        return Scope(mine, -1), [problem]
    return Scope(mine, quartier), []


def _activity(period: Period, scope: Scope) -> Activity:
    """The period's activity, read once for the indicators and the field figures."""
    bounds = period.bounds(get_runtime().settings.timezone)
    return read_activity(get_session(), bounds[0], bounds[-1], scope)


def _indicators(period: Period, scope: Scope, activity: Activity) -> Indicators:
    return compute(
        get_session(),
        period,
        scope,
        get_runtime().settings.timezone,
        campaign_visible=campaign_visible,
        activity=activity,
    )


def _field(period: Period, scope: Scope, activity: Activity) -> FieldFigures:
    timezone = get_runtime().settings.timezone
    bounds = period.bounds(timezone)
    return actions.compute(get_session(), bounds[0], bounds[-1], scope, timezone, activity=activity)


# --- the page ------------------------------------------------------------------------------------


def _month_label(month: date) -> str:
    return str(format_date(month, "MMM y"))


def _percent(value: float | None) -> str:
    return HIDDEN_RATE if value is None else str(format_percent(value, "#,##0 %"))


def _chart(found: Indicators) -> dict[str, Any]:
    """The thème table's numbers for Chart.js: confirmed thèmes with contributions, then the
    two states not yet confirmed (the total row is the table's, not a bar)."""
    datasets = [
        {"label": row.name, "data": row.per_month, "colour": row.colour}
        for row in found.themes[:-3]
        if row.total
    ]
    greys = {"suggere": "#9aa5b1", "a_trier": "#d3d8de"}
    datasets += [
        {"label": str(THEME_STATES[row.key]), "data": row.per_month, "colour": greys[row.key]}
        for row in found.themes[-3:-1]
    ]
    return {"labels": [_month_label(m) for m in found.period.months], "datasets": datasets}


@bp.route("/")
@permission_required("read")
def index() -> Any:
    period, problems = chosen_period(request.args, _today())
    scope, scope_problems = chosen_scope(request.args)
    problems += scope_problems
    activity = _activity(period, scope)
    found = _indicators(period, scope, activity)
    field = _field(period, scope, activity)
    quartiers = visible_quartiers()
    args = {
        "du": month_key(period.first),
        "au": month_key(period.last),
        **({"quartier": str(scope.quartier)} if scope.quartier is not None else {}),
    }
    return render_template(
        "evaluation/dashboard.html",
        found=found,
        field=field,
        problems=problems,
        period=period,
        scope=scope,
        quartiers=quartiers,
        quartier_name=_quartier_name(scope, quartiers),
        months=[_month_label(m) for m in period.months],
        first_label=_month_label(period.first),
        last_label=_month_label(period.last),
        state_labels=THEME_STATES,
        languages={code: lang.name for code, lang in get_runtime().catalog.languages.items()},
        percent=_percent,
        chart=_chart(found),
        args=args,
        tables=TABLES,
        spend=month_spend(get_session(), datetime.now(UTC))
        if current_user.sees_all_quartiers
        else None,
        units=UNITS,
        euros=euros,
    ), (400 if scope_problems else 200)


def _quartier_name(scope: Scope, quartiers: list[Any]) -> str:
    if scope.quartier is None:
        return ""
    return next((q.name for q in quartiers if q.id == scope.quartier), "?")


# --- exports -------------------------------------------------------------------------------------


@bp.route("/<table>.<fmt>")
@permission_required("export")
def export(table: str, fmt: str) -> Any:
    if fmt not in FORMATS or table not in TABLES:
        abort(404)
    period, _problems = chosen_period(request.args, _today())
    scope, scope_problems = chosen_scope(request.args)
    if scope_problems:
        abort(400)  # the page itself says which quartier is wrong
    activity = _activity(period, scope)
    found = _indicators(period, scope, activity)
    # The field figures only for the two tables that show them.
    field = _field(period, scope, activity) if table in ("actions", "diversite") else None
    if field is not None and table == "actions":
        columns, rows = _actions(field)
    else:
        columns, rows = {
            "synthese": _summary,
            "diversite": _diversity,
            "themes": _themes,
            "enquetes": _surveys,
        }[table](found, scope)
    if field is not None and table == "diversite":
        for name, declared in (("age", field.by_age), ("genre", field.by_gender)):
            rows += [[name, label, cell.shown] for label, cell in declared]
    filters = {"du": month_key(period.first), "au": month_key(period.last)}
    if scope.quartier is not None:
        filters["quartier"] = str(scope.quartier)
    audit_export(f"indicators_{table}", fmt, filters, len(rows))
    return send_table(fmt, f"indicateurs-{table}", columns, rows)


Table = tuple[tuple[str, ...], list[list[Any]]]


def _rate(value: float | None) -> Any:
    return HIDDEN_RATE if value is None else round(value * 100, 1)


def _summary(found: Indicators, scope: Scope) -> Table:
    quartier = _quartier_name(scope, visible_quartiers()) if scope.quartier is not None else ""
    rows: list[list[Any]] = [
        ["periode_debut", month_key(found.period.first)],
        ["periode_fin", month_key(found.period.last)],
        ["quartier", quartier or "tous"],
        ["participants", found.participants],
        ["nouveaux_participants", found.new_participants],
        ["part_nouveaux_pct", _rate(found.new_share) if found.participants else ""],
        ["contributions", found.contributions],
        ["campagnes", len(found.campaigns)],
    ]
    return ("indicateur", "valeur"), rows


def _diversity(found: Indicators, scope: Scope) -> Table:
    rows = []
    for breakdown, name in (
        (found.by_quartier, "quartier"),
        (found.by_channel, "canal"),
        (found.by_language, "langue"),
        (found.by_written_language, "langue_ecrite"),
    ):
        for value, cell in breakdown.rows:
            rows.append([name, value or "(non renseigné)", cell.shown])
    return ("dimension", "valeur", "participants"), rows


def _actions(field: FieldFigures) -> Table:
    columns = (
        "code",
        "action",
        "quartier",
        "jours",
        "participants",
        "nouveaux_participants",
        "contributions",
    )
    rows = [
        [
            row.code,
            row.name,
            row.quartier,
            row.days,
            row.participants.shown,
            row.new.shown,
            row.contributions,
        ]
        for row in field.actions
    ]
    return columns, rows


def _themes(found: Indicators, scope: Scope) -> Table:
    names = {**{k: str(v) for k, v in THEME_STATES.items()}, "total": _("Toutes les contributions")}
    columns = ("theme_code", "theme", *(month_key(m) for m in found.period.months), "total")
    rows = [
        [row.key, row.name or names[row.key], *row.per_month, row.total] for row in found.themes
    ]
    return columns, rows


def _surveys(found: Indicators, scope: Scope) -> Table:
    columns = (
        "campagne",
        "enquete",
        "lancement",
        "cloture",
        "invites",
        "ont_commence",
        "ont_fini",
        "taux_reponse_pct",
        "taux_achevement_pct",
    )
    return columns, list(_survey_rows(found))


def _survey_rows(found: Indicators) -> Iterator[list[Any]]:
    zone = ZoneInfo(get_runtime().settings.timezone)
    for rate in found.campaigns:
        campaign = rate.campaign
        yield [
            campaign.name,
            localised(campaign.survey.title) or campaign.survey.slug,
            campaign.launched_at.astimezone(zone).date().isoformat()
            if campaign.launched_at
            else "",
            campaign.closed_at.astimezone(zone).date().isoformat() if campaign.closed_at else "",
            rate.invited.shown,
            rate.started.shown,
            rate.finished.shown,
            _rate(rate.response_rate),
            _rate(rate.completion_rate),
        ]
