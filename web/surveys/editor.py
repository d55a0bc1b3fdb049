"""The survey editor: write a micro-survey, start from a ready-made one, copy, import, export.

Plain forms first: adding, removing and moving a question are submit buttons, so the editor works
without JavaScript; `surveys.js` only adds the live SMS count, asked of `/enquetes/compter`,
which counts with the SMS channel's own code (`bots.survey_preview`).

Who sees what: a conseil citoyen sees the ready-made and shared surveys (no quartier) and those
of its quartiers, and edits only the latter; the team sees and edits everything. A survey that a
campaign uses, or that habitants have answered, is never edited in place (answers must keep
meaning what they meant): it is copied.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from bots.engine import QuartierOption
from bots.survey_preview import reply_count, sms_count, survey_messages
from bots.survey_store import questions_from_spec, save_spec
from bots.survey_translations import SheetError, apply, read_xlsx, to_xlsx
from bots.surveys import MAX_QUESTIONS, PromptError, SurveySpec, survey_from_data
from storage.models import Answer, Campaign, Conversation, Participant, Quartier, Survey, Theme
from web.audit_log import audit
from web.auth import permission_required, visible_quartiers, visible_surveys
from web.db import get_runtime, get_session
from web.surveys.form import (
    KIND_LABELS,
    blank_question,
    editor_questions,
    field_errors,
    form_to_data,
    from_toml,
    lenient_spec,
    rearrange,
    slugify,
    survey_to_data,
    to_toml,
)
from web.tables import audit_export
from web.texts import localised

bp = Blueprint("surveys", __name__, url_prefix="/enquetes")
MAX_IMPORT = 64 * 1024


# --- who may see and change a survey -------------------------------------------------------------


def may_edit(survey: Survey) -> bool:
    if not current_user.can("manage_surveys"):
        return False
    if current_user.sees_all_quartiers:
        return True
    return survey.created_by_id == current_user.id or (
        survey.quartier_id is not None and survey.quartier_id in current_user.quartier_ids
    )


def get_survey(survey_id: int, *, edit: bool = False) -> Survey:
    """The survey, or 404 if it does not exist or is out of the account's sight; 403 if `edit`
    and the account may not change it."""
    db = get_session()
    survey = db.scalars(select(Survey).where(Survey.id == survey_id, visible_surveys())).first()
    if survey is None:
        abort(404)
    if edit and not may_edit(survey):
        abort(403)
    return survey


def in_use(db: Session, survey_id: int) -> bool:
    """A campaign uses it (cancelled ones aside), or real habitants have answered it."""
    campaign = exists().where(Campaign.survey_id == survey_id, Campaign.status != "cancelled")
    answered = (
        exists()
        .where(
            Conversation.survey_id == survey_id,
            Answer.conversation_id == Conversation.id,
            Participant.id == Conversation.participant_id,
            Participant.is_test.is_(False),
        )
        .correlate(None)
    )
    return bool(db.scalar(select(campaign | answered)))


def languages() -> tuple[str, ...]:
    return get_runtime().catalog.language_codes()


def language_names() -> dict[str, str]:
    return {code: lang.name for code, lang in get_runtime().catalog.languages.items()}


# --- list, copy, import, export ------------------------------------------------------------------


@bp.route("/")
@permission_required("read")
def index() -> Any:
    db = get_session()
    rows = db.scalars(select(Survey).where(visible_surveys()).order_by(Survey.id.desc())).all()
    names = dict(db.execute(select(Quartier.id, Quartier.name)).all())
    surveys = [
        {
            "survey": s,
            "title": localised(s.title) or s.slug,
            "questions": len(s.questions),
            "quartier": names.get(s.quartier_id) if s.quartier_id else None,
            "ready_made": s.created_by_id is None and s.quartier_id is None,
            "editable": may_edit(s),
        }
        for s in rows
    ]
    catalog = get_runtime().catalog
    catalogues = [(lang.name, lang.reviewed) for lang in catalog.languages.values()]
    return render_template("surveys/index.html", surveys=surveys, catalogues=catalogues)


def _new_slug(db: Session, title: str) -> str:
    base = slugify(title)
    slug, n = base, 1
    while db.scalar(select(Survey.id).where(Survey.slug == slug)) is not None:
        n += 1
        slug = f"{base}-{n}" if n < 50 else f"{base}-{secrets.token_hex(3)}"
    return slug


def _owner_quartier(requested: str | None) -> int | None:
    """The quartier a new survey belongs to: one of a conseil's own; `None` (shared) for the
    team unless they pick one."""
    wanted = int(requested) if requested and requested.isdigit() else None
    mine = [q.id for q in visible_quartiers()]
    if current_user.sees_all_quartiers:
        return wanted if wanted in mine else None
    if wanted in mine:
        return wanted
    return mine[0] if mine else abort(403)


def _store(db: Session, spec: SurveySpec, slug: str, quartier_id: int | None) -> Survey:
    survey = save_spec(
        db, spec, slug, quartier_id=quartier_id, created_by_id=current_user.id, status="ready"
    )
    audit(db, current_user.id, "survey.create", f"survey:{survey.id}", slug=slug)
    return survey


@bp.route("/<int:survey_id>/copier", methods=["POST"])
@permission_required("manage_surveys")
def copy(survey_id: int) -> Any:
    original = get_survey(survey_id)
    db = get_session()
    data = survey_to_data(original)
    spec = survey_from_data(data, original.slug)
    title = dict(spec.title)
    title["fr"] = _("%(title)s (copie)", title=title["fr"])[:200]
    spec = replace(spec, title=title)
    survey = _store(db, spec, _new_slug(db, title["fr"]), _owner_quartier(request.form.get("q")))
    db.commit()
    flash(_("Copie créée : modifiez-la librement."), "success")
    return redirect(url_for("surveys.edit", survey_id=survey.id))


@bp.route("/<int:survey_id>/enquete.toml")
@permission_required("export")
def export(survey_id: int) -> Any:
    survey = get_survey(survey_id)
    data = survey_to_data(survey)
    audit_export("survey", "toml", {"enquete": str(survey.id)}, 1)
    response = Response(to_toml(data), mimetype="application/toml")
    response.headers["Content-Disposition"] = f'attachment; filename="{survey.slug}.toml"'
    return response


@bp.route("/importer", methods=["POST"])
@permission_required("manage_surveys")
def import_file() -> Any:
    upload = request.files.get("file")
    raw = upload.read(MAX_IMPORT + 1) if upload else b""
    try:
        if not raw or len(raw) > MAX_IMPORT:
            raise ValueError(_("Choisissez un fichier .toml d'enquête (64 Ko au plus)."))
        data = from_toml(raw.decode("utf-8"))
        spec = survey_from_data(data, upload.filename or "fichier")  # type: ignore[union-attr]
    except (ValueError, UnicodeDecodeError) as error:
        problems = getattr(error, "problems", ())
        details = [m for ms in field_errors(problems).values() for m in ms] or [str(error)]
        flash(_("Import impossible : %(why)s", why=" ".join(details)), "error")
        return redirect(url_for("surveys.index"))
    db = get_session()
    survey = _store(db, spec, _new_slug(db, spec.title["fr"]), _owner_quartier(None))
    db.commit()
    flash(_("Enquête importée : relisez-la avant de la lancer."), "success")
    return redirect(url_for("surveys.edit", survey_id=survey.id))


# --- translations, for a translator who never sees the back-office ---------------------------


@bp.route("/<int:survey_id>/traductions.xlsx")
@permission_required("read")
def translations_sheet(survey_id: int) -> Any:
    """One row per text, one column per language: a translator fills their column."""
    survey = get_survey(survey_id)
    data = to_xlsx(survey, languages(), language_names())
    audit_export("survey_translations", "xlsx", {"enquete": str(survey.id)}, 1)
    response = Response(
        data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    filename = f"{survey.slug}-traductions.xlsx"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/<int:survey_id>/traductions", methods=["POST"])
@permission_required("manage_surveys")
def import_translations(survey_id: int) -> Any:
    """Write a filled sheet's translations; French is never changed through it. A survey in
    use takes translations too: they add languages, the French questions stay as answered."""
    survey = get_survey(survey_id, edit=True)
    upload = request.files.get("file")
    raw = upload.read(MAX_IMPORT * 16 + 1) if upload else b""
    back = redirect(url_for("surveys.edit", survey_id=survey.id))
    if not raw or len(raw) > MAX_IMPORT * 16:
        flash(_("Choisissez le fichier .xlsx des traductions (1 Mo au plus)."), "error")
        return back
    try:
        imported = read_xlsx(raw, survey, languages())
    except SheetError:
        flash(_("Ce fichier n'est pas une feuille de traductions (.xlsx exportée ici)."), "error")
        return back
    apply(survey, imported.changed)
    db = get_session()
    audit(
        db,
        current_user.id,
        "survey_translations_import",
        f"survey:{survey.id}",
        texts=imported.count,
        languages=sorted({c for v in imported.changed.values() for c in v}),
    )
    db.commit()
    flash(_("%(n)d traductions importées.", n=imported.count), "success")
    if imported.unknown_languages:
        flash(
            _(
                "Colonnes ignorées (langue inconnue) : %(names)s",
                names=", ".join(imported.unknown_languages),
            ),
            "error",
        )
    if imported.unknown_keys:
        line = _("ligne")
        rows = ", ".join(f"{key} ({line} {n})" for n, key in imported.unknown_keys)
        flash(_("Textes inconnus de cette enquête, ignorés : %(rows)s", rows=rows), "error")
    if imported.french_changed:
        rows = ", ".join(key for _n, key in imported.french_changed)
        flash(
            _(
                "Le français a changé depuis l'export pour : %(rows)s. Relisez ces traductions.",
                rows=rows,
            ),
            "error",
        )
    return back


# --- the editor ----------------------------------------------------------------------------------


def _apply_action(data: dict[str, Any], action: str) -> dict[str, Any]:
    """Add, remove or move a question (the editor's submit buttons)."""
    count = len(data["questions"])
    order = list(range(1, count + 1))
    verb, _sep, number = action.partition("-")
    n = int(number) if number.isdigit() else 0
    if verb == "add" and count < MAX_QUESTIONS:
        data = {**data, "questions": [*data["questions"], blank_question()]}
    elif verb == "remove" and 1 <= n <= count and count > 1:
        data = rearrange(data, [p for p in order if p != n])
    elif verb == "up" and 2 <= n <= count:
        order[n - 2], order[n - 1] = order[n - 1], order[n - 2]
        data = rearrange(data, order)
    elif verb == "down" and 1 <= n < count:
        order[n - 1], order[n] = order[n], order[n - 1]
        data = rearrange(data, order)
    return data


def _counts(data: dict[str, Any]) -> dict[str, dict[str, object]]:
    """`{"q1-fr": {"text", "chars", "segments"}, ..., "end-fr": ...}` for the editor's fields."""
    spec = lenient_spec(data)
    runtime = get_runtime()
    quartiers: tuple[QuartierOption, ...] = ()
    if any(q.kind == "quartier" for q in spec.questions):
        rows = get_session().execute(select(Quartier.code, Quartier.name).order_by(Quartier.name))
        quartiers = tuple(QuartierOption(code, name) for code, name in rows)
    counts = {}
    for lang in languages():
        for key, reply in survey_messages(spec, runtime.catalog, lang, quartiers).items():
            counts[f"{key}-{lang}"] = reply_count(reply).to_json()
    return counts


def _render(
    survey: Survey | None,
    data: dict[str, Any],
    errors: dict[str, list[str]],
    *,
    locked: bool = False,
    quartier_id: int | None = None,
    status: int = 200,
) -> Any:
    themes = get_session().execute(
        select(Theme.code, Theme.name).where(Theme.active.is_(True)).order_by(Theme.position)
    )
    return (
        render_template(
            "surveys/edit.html",
            survey=survey,
            data=data,
            questions=editor_questions(data, languages()),
            errors=errors,
            counts=_counts(data),
            languages=language_names(),
            kinds=KIND_LABELS,
            themes=list(themes),
            quartiers=visible_quartiers(),
            quartier_id=quartier_id,
            locked=locked,
            readonly=locked or survey is not None and not may_edit(survey),
            editable=survey is not None and may_edit(survey),
            max_questions=MAX_QUESTIONS,
        ),
        status,
    )


@bp.route("/nouvelle", methods=["GET", "POST"])
@permission_required("manage_surveys")
def create() -> Any:
    if request.method == "GET":
        data = {"slug": "", "title": {}, "questions": [blank_question()]}
        return _render(None, data, {})
    return _save(None)


@bp.route("/<int:survey_id>", methods=["GET", "POST"])
@permission_required("read")
def edit(survey_id: int) -> Any:
    survey = get_survey(survey_id, edit=request.method == "POST")
    locked = in_use(get_session(), survey.id)
    if request.method == "GET":
        return _render(
            survey, survey_to_data(survey), {}, locked=locked, quartier_id=survey.quartier_id
        )
    if not current_user.can("manage_surveys"):
        abort(403)
    if locked:
        flash(
            _("Cette enquête sert à une campagne ou a des réponses : copiez-la pour la changer."),
            "error",
        )
        return redirect(url_for("surveys.edit", survey_id=survey.id))
    return _save(survey)


def _save(survey: Survey | None) -> Any:
    """Apply the editor's button, validate with the ready-made files' rules, then store."""
    db = get_session()
    form = request.form
    data = form_to_data(form, languages(), survey.slug if survey else "nouvelle")
    action = form.get("action", "save")
    quartier_id = _owner_quartier(form.get("quartier"))
    if action != "save":
        return _render(survey, _apply_action(data, action), {}, quartier_id=quartier_id)
    try:
        spec = survey_from_data(data, "éditeur")
    except PromptError as error:
        flash(_("L'enquête n'est pas enregistrée : corrigez les points signalés."), "error")
        return _render(
            survey, data, field_errors(error.problems), quartier_id=quartier_id, status=422
        )
    if survey is None:
        survey = _store(db, spec, _new_slug(db, spec.title["fr"]), quartier_id)
    else:
        _replace(db, survey, spec, quartier_id)
    db.commit()
    flash(_("Enquête enregistrée."), "success")
    return redirect(url_for("surveys.edit", survey_id=survey.id))


def _replace(db: Session, survey: Survey, spec: SurveySpec, quartier_id: int | None) -> None:
    """Change a survey nobody has answered yet: its texts, and its questions rewritten."""
    survey.title, survey.intro, survey.outro = dict(spec.title), dict(spec.intro), dict(spec.outro)
    survey.theme_code = spec.theme
    survey.max_reasks = spec.max_reasks
    survey.quartier_id = quartier_id
    survey.updated_at = datetime.now(UTC)
    survey.questions.clear()
    db.flush()  # old positions gone before the new ones take them (unique survey + position)
    survey.questions = questions_from_spec(spec)
    audit(db, current_user.id, "survey.update", f"survey:{survey.id}", slug=survey.slug)


@bp.route("/compter", methods=["POST"])
@permission_required("read")
def count() -> Any:
    """The SMS count of a plain `text`, or of every message of the editor's form, as JSON."""
    if "text" in request.form:
        return jsonify(sms_count(request.form["text"][:2000]).to_json())
    data = form_to_data(request.form, languages(), "apercu")
    return jsonify(_counts(data))
