"""`/rapport/`: choose a period, quartiers and thèmes, download the report as DOCX or PDF, and
keep the choices as a named report model to regenerate each quarter.

Permissions follow the tableau de bord's exports: `export` to download (everyone but the
intervenant), within the account's quartiers (a conseil citoyen produces the report of its
quartiers only, whatever a model or the query string asks); `manage_reports` (administrateur,
chef de projet) to save or delete a model. Every download is written in the journal, with the
choices it was made from.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from storage.db import transaction
from storage.models import Quartier, ReportModel, Theme
from web.audit_log import audit
from web.auth import campaign_visible, permission_required, visible_quartiers
from web.db import get_runtime, get_session
from web.indicators import MAX_MONTHS, Period, add_months, month_key, parse_month
from web.report import content

bp = Blueprint("report", __name__, url_prefix="/rapport")
FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}
MAX_NAME = 200


@dataclass
class Asked:
    """The form's choices as read, and what was wrong with them."""

    period: Period
    quartiers: list[Quartier]
    themes: list[Theme]
    rolling: bool
    problems: list[str]

    @property
    def choices(self) -> content.Choices:
        return content.Choices(
            self.period,
            frozenset(q.id for q in self.quartiers),
            frozenset(t.code for t in self.themes),
        )

    def args(self) -> dict[str, Any]:
        return {
            "du": month_key(self.period.first),
            "au": month_key(self.period.last),
            "quartier": [q.code for q in self.quartiers],
            "theme": [t.code for t in self.themes],
        }


def _today() -> date:
    return datetime.now(ZoneInfo(get_runtime().settings.timezone)).date()


def last_quarter(today: date) -> Period:
    """The last three whole months before this one: what a COPIL usually looks back on."""
    last = add_months(today.replace(day=1), -1)
    return Period(add_months(last, -2), last)


def _themes() -> list[Theme]:
    return list(get_session().scalars(select(Theme).order_by(Theme.position, Theme.name)))


def read_choices(values: dict[str, Any], today: date) -> Asked:
    """Months (`du`, `au`), quartier codes and thème codes, checked against what the account
    may choose: an unknown or out-of-scope quartier is a problem, never silently everyone."""
    default = last_quarter(today)
    problems: list[str] = []
    months = []
    for name, fallback in (("du", default.first), ("au", default.last)):
        value = str(values.get(name) or "").strip()[:20]
        month = parse_month(value) if value else fallback
        if month is None:
            problems.append(_("Mois illisible : « %(value)s » (attendu : AAAA-MM).", value=value))
            month = fallback
        months.append(month)
    first, last = months
    period = Period(first, last)
    if first > last:
        problems.append(_("Le début de la période est après sa fin."))
        period = default
    elif len(period.months) > MAX_MONTHS:
        problems.append(_("%(n)s mois au plus : la période est raccourcie.", n=MAX_MONTHS))
        period = Period(first, add_months(first, MAX_MONTHS - 1))
    mine = {q.code: q for q in visible_quartiers()}
    quartiers = []
    for code in values.get("quartier") or []:
        if code in mine:
            quartiers.append(mine[code])
        else:
            problems.append(
                _("« %(value)s » n'est pas un des quartiers proposés.", value=str(code)[:40])
            )
    themes_by_code = {t.code: t for t in _themes()}
    themes = []
    for code in values.get("theme") or []:
        if code in themes_by_code:
            themes.append(themes_by_code[code])
        else:
            problems.append(_("Thème inconnu : « %(value)s ».", value=str(code)[:60]))
    return Asked(period, quartiers, themes, bool(values.get("glissant")), problems)


def _from_request() -> Asked:
    values = {
        "du": request.args.get("du", ""),
        "au": request.args.get("au", ""),
        "quartier": request.args.getlist("quartier"),
        "theme": request.args.getlist("theme"),
        "glissant": request.args.get("glissant", ""),
    }
    return read_choices(values, _today())


def _allowed() -> frozenset[int] | None:
    return None if current_user.sees_all_quartiers else frozenset(current_user.quartier_ids)


# --- the page ------------------------------------------------------------------------------------


@bp.route("/", methods=["POST"])
@permission_required("export")
def choose() -> Any:
    """The form's buttons: download (a redirect to the shareable GET address) or save."""
    action = request.form.get("action", "")
    values = _form_values()
    if action == "save":
        return _save_model(values)
    if action not in FORMATS:
        abort(400)
    asked = read_choices(values, _today())
    if asked.problems:
        for problem in asked.problems:
            flash(problem, "error")
        return redirect(url_for("report.index", **asked.args()))
    return redirect(url_for("report.download", fmt=action, **asked.args()), code=303)


@bp.route("/")
@permission_required("export")
def index() -> Any:
    asked = _from_request()
    models = list(get_session().scalars(select(ReportModel).order_by(ReportModel.name)))
    return render_template(
        "report/index.html",
        asked=asked,
        args=asked.args(),
        quartiers=visible_quartiers(),
        themes=[t for t in _themes() if t.active],
        models=models,
        describe=_describe,
    ), (400 if asked.problems else 200)


def _describe(model: ReportModel) -> str:
    choices = model.choices
    if choices.get("glissant"):
        when = _("les %(n)d derniers mois complets", n=int(choices.get("mois") or 3))
    else:
        when = _("de %(first)s à %(last)s", first=choices.get("du", ""), last=choices.get("au", ""))
    quartiers = ", ".join(choices.get("quartier") or []) or _("tous les quartiers")
    themes = ", ".join(choices.get("theme") or []) or _("tous les thèmes")
    return f"{when} · {quartiers} · {themes}"


# --- downloads -----------------------------------------------------------------------------------


@bp.route("/rapport.<fmt>")
@permission_required("export")
def download(fmt: str) -> Any:
    if fmt not in FORMATS:
        abort(404)
    asked = _from_request()
    if asked.problems:
        abort(400)  # the page says what is wrong
    return _send(asked, fmt, None)


@bp.route("/modeles/<int:model_id>.<fmt>")
@permission_required("export")
def regenerate(model_id: int, fmt: str) -> Any:
    """The model's choices, today: a rolling model covers the last whole months before this one."""
    model = get_session().get(ReportModel, model_id)
    if model is None or fmt not in FORMATS:
        abort(404)
    values = dict(model.choices)
    if values.get("glissant"):
        count = max(1, min(MAX_MONTHS, int(values.get("mois") or 3)))
        last = add_months(_today().replace(day=1), -1)
        values["du"], values["au"] = month_key(add_months(last, 1 - count)), month_key(last)
    # A conseil citoyen regenerates a model over its own quartiers only; if the model names
    # none of them, over all of its quartiers (never another's).
    mine = {q.code for q in visible_quartiers()}
    values["quartier"] = [code for code in values.get("quartier") or [] if code in mine]
    asked = read_choices(values, _today())
    if asked.problems:
        abort(400)
    return _send(asked, fmt, model)


def build_report(asked: Asked) -> content.Report:
    """The report's blocks, charts drawn, in French whatever the account's language."""
    from web.report import charts

    with force_locale("fr"):
        report = content.build(
            get_session(),
            asked.choices,
            timezone=get_runtime().settings.timezone,
            allowed=_allowed(),
            campaign_visible=campaign_visible,
        )
    return content.with_charts(report, charts.render)


def _send(asked: Asked, fmt: str, model: ReportModel | None) -> Any:
    started = time.perf_counter()
    report = build_report(asked)
    if fmt == "docx":
        from web.report import docx_file

        data = docx_file.write(report)
    else:
        from web.report import pdf_file

        data = pdf_file.write(report)
    with transaction(get_runtime().sessions) as db:  # a GET's session only reads
        audit(
            db,
            current_user.id,
            "report.download",
            f"report_model:{model.id}" if model else "report",
            format=fmt,
            choices=asked.args(),
            model=model.name if model else "",
            bytes=len(data),
            seconds=round(time.perf_counter() - started, 2),
        )
    name = f"rapport-{month_key(asked.period.first)}-{month_key(asked.period.last)}.{fmt}"
    response = send_file(
        BytesIO(data), mimetype=FORMATS[fmt], as_attachment=True, download_name=name, max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- report models -------------------------------------------------------------------------------


def _form_values() -> dict[str, Any]:
    return {
        "du": request.form.get("du", ""),
        "au": request.form.get("au", ""),
        "quartier": request.form.getlist("quartier"),
        "theme": request.form.getlist("theme"),
        "glissant": request.form.get("glissant", ""),
    }


def _save_model(values: dict[str, Any]) -> Any:
    """Save the form's choices under a name; the same name again replaces its choices."""
    if not current_user.can("manage_reports"):
        abort(403)
    name = " ".join(request.form.get("name", "").split())[:MAX_NAME]
    asked = read_choices(values, _today())
    if not name:
        asked.problems.append(_("Donnez un nom au modèle."))
    if asked.problems:
        for problem in asked.problems:
            flash(problem, "error")
        return redirect(url_for("report.index", **asked.args()))
    choices = {
        **asked.args(),
        "glissant": asked.rolling,
        "mois": len(asked.period.months),
    }
    db = get_session()
    model = db.scalars(select(ReportModel).where(ReportModel.name == name)).one_or_none()
    if model is None:
        model = ReportModel(name=name, created_by_id=current_user.id, choices=choices)
        db.add(model)
    else:
        model.choices = choices
        model.updated_at = datetime.now(UTC)
    db.flush()
    audit(
        db,
        current_user.id,
        "report_model.save",
        f"report_model:{model.id}",
        name=name,
        choices=choices,
    )
    db.commit()
    flash(_("Modèle « %(name)s » enregistré.", name=name), "success")
    return redirect(url_for("report.index", **asked.args()))


@bp.route("/modeles/<int:model_id>/supprimer", methods=["POST"])
@permission_required("manage_reports")
def delete_model(model_id: int) -> Any:
    db = get_session()
    model = db.get(ReportModel, model_id)
    if model is None:
        abort(404)
    audit(db, current_user.id, "report_model.delete", f"report_model:{model.id}", name=model.name)
    db.delete(model)
    db.commit()
    flash(_("Modèle « %(name)s » supprimé.", name=model.name), "success")
    return redirect(url_for("report.index"))
