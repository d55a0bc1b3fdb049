"""The inbox's lines: what one line needs to be drawn, for the whole page or for one line alone.

A line is drawn by `review/_row.html`, from the inbox's page and from the answer to an action
taken with JavaScript (`render_row`, sent back as JSON): after confirming a thème, the line is
replaced by the server's own rendering of it, the same masked text and the same badges, with no
page load. Both paths read the rows through the account's scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from babel import dates
from flask import current_app, g, render_template, url_for
from flask_babel import format_datetime, get_locale, get_translations, to_user_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import func, select

from bots.personal_data_job import Masker
from storage.models import Contribution, Question, Survey, Theme, ThreadMessage
from web.auth import visible_surveys
from web.db import get_session
from web.suivi import awaiting_ids
from web.texts import language_label, survey_title
from web.theme_state import STATUSES, theme_view

CHANNELS = {
    "telegram": "Telegram",
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "simulator": _l("Simulateur"),
    "terrain": _l("Terrain"),
}
_SENTINEL = 987654321  # an id no URL holds, cut out of a URL to leave its pattern


class LineKit:
    """What every line of a page shares, worked out once per request instead of once per line:
    whether the account may categorise, the translated words, the CSRF token, the URL patterns,
    the thème and status <option>s and the local time. Drawing 50 lines used to cost 50 times
    each of these (gettext lookups, url_for, permission checks, babel's pattern and time zone):
    two thirds of the inbox's time."""

    def __init__(self) -> None:
        self._translations = get_translations()
        self._words: dict[str, Markup] = {}
        self._said: dict[str, Markup] = {}
        self._statuses: dict[str, Markup] = {}
        self._urls: dict[str, tuple[str, str]] = {}
        self._options: dict[tuple[int, ...], Markup] = {}
        self._csrf = ""
        self.editable = current_user.is_authenticated and current_user.can("categorise")
        self.statuses = {code: str(label) for code, label in STATUSES.items()}
        self._languages: dict[str | None, str] = {}
        self._channels: dict[str, str] = {}
        self._short: tuple[Any, ...] | None = None

    @property
    def csrf(self) -> str:
        if not self._csrf:
            self._csrf = generate_csrf()
        return self._csrf

    def gettext(self, message: str, **variables: Any) -> Markup:
        """The template's `_()`, same result (newstyle gettext with autoescape: the message is
        markup, the variables are escaped), each message looked up once per request."""
        if not variables:  # formatted all the same ("%%" is "%"): once per request
            said = self._said.get(message)
            if said is None:
                said = self._said[message] = self._word(message) % {}
            return said
        word = self._word(message)
        if all(type(v) is int or type(v) is str for v in variables.values()):
            # What `Markup.__mod__` does for these, without wrapping every value in a helper:
            # a text is escaped, a number is formatted as it is.
            escaped = {k: v if type(v) is int else escape(v) for k, v in variables.items()}
            return Markup(str.__mod__(str(word), escaped))
        return word % variables

    def _word(self, message: str) -> Markup:
        word = self._words.get(message)
        if word is None:
            word = self._words[message] = Markup(self._translations.ugettext(message))
        return word

    def channel(self, name: str) -> str:
        """The inbox's `channel_label`, translated once per channel."""
        label = self._channels.get(name)
        if label is None:
            label = self._channels[name] = str(CHANNELS.get(name, name))
        return label

    def language(self, code: str | None) -> str:
        """`texts.language_label`, translated once per language."""
        label = self._languages.get(code)
        if label is None:
            label = self._languages[code] = language_label(code)
        return label

    def url(self, endpoint: str, contribution_id: int) -> str:
        """`url_for(endpoint, contribution_id=...)`, from a pattern built once."""
        pattern = self._urls.get(endpoint)
        if pattern is None:
            head, _, tail = url_for(endpoint, contribution_id=_SENTINEL).partition(str(_SENTINEL))
            pattern = self._urls[endpoint] = (head, tail)
        return f"{pattern[0]}{contribution_id}{pattern[1]}"

    def theme_options(self, themes: Sequence[Theme]) -> Markup:
        key = tuple(theme.id for theme in themes)
        options = self._options.get(key)
        if options is None:
            options = self._options[key] = Markup("").join(
                Markup('<option value="{}">{}</option>').format(theme.id, theme.name)
                for theme in themes
            )
        return options

    def status_options(self, selected: str) -> Markup:
        options = self._statuses.get(selected)
        if options is None:
            options = self._statuses[selected] = Markup("").join(
                Markup('<option value="{}"{}>{}</option>').format(
                    code, Markup(" selected") if code == selected else "", label
                )
                for code, label in self.statuses.items()
            )
        return options

    def when(self, moment: datetime) -> tuple[str, str]:
        """A line's date: the account's 'short' format (the title) and `dd/MM HH:mm`.

        The title is what `format_datetime(moment, "short")` writes (babel: the locale's
        date-time pattern around its short date and short time), its patterns looked up once
        per request rather than for every line."""
        local = to_user_timezone(moment)
        dense = local.strftime("%d/%m %H:%M")  # digits only: no locale
        if self._short is None:
            self._short = _short_patterns()
        if not self._short:
            return format_datetime(moment, "short"), dense
        locale, joined, date_pattern, time_pattern = self._short
        short = joined.replace("{0}", time_pattern.apply(local, locale)).replace(
            "{1}", date_pattern.apply(local, locale)
        )
        return short, dense


def _short_patterns() -> tuple[Any, ...]:
    """(locale, date-time pattern, date pattern, time pattern) of babel's "short", or () when
    the application names another format for it (then `format_datetime` is called)."""
    formats = current_app.extensions["babel"].instance.date_formats
    if formats["datetime.short"] is not None:
        return ()
    locale = get_locale()
    return (
        locale,
        str(dates.get_datetime_format("short", locale=locale)).replace("'", ""),
        dates.parse_pattern(dates.get_date_format("short", locale=locale)),
        dates.parse_pattern(dates.get_time_format("short", locale=locale)),
    )


def line_kit() -> LineKit:
    """This request's `LineKit`."""
    kit: LineKit | None = g.get("line_kit")
    if kit is None:
        kit = g.line_kit = LineKit()
    return kit


def active_themes() -> list[Theme]:
    return list(
        get_session().scalars(
            select(Theme).where(Theme.active.is_(True)).order_by(Theme.position, Theme.name)
        )
    )


def visible_survey_titles() -> dict[int, str]:
    """The surveys the account may see: never another quartier's title."""
    rows = get_session().execute(
        select(Survey.id, Survey.title, Survey.slug).where(visible_surveys()).order_by(Survey.id)
    )
    return {row.id: survey_title(row.title, row.slug) for row in rows}


def waiting_among(ids: Iterable[int]) -> set[int]:
    """Which of these contributions wait for the team's answer to a habitant's message."""
    ids = list(ids)
    if not ids:
        return set()
    chosen = awaiting_ids().where(ThreadMessage.contribution_id.in_(ids))
    return set(get_session().scalars(chosen))


def row_context(rows: list[Contribution], here: str) -> dict[str, Any]:
    """What the lines need beyond the rows: masked texts, survey names, new answers, thèmes.
    `here` is the page the lines' forms come back to without JavaScript."""
    db = get_session()
    ids = [c.id for c in rows]
    question_ids = {c.question_id for c in rows if c.question_id}
    numbers = dict(
        db.execute(
            select(Question.id, Question.position).where(Question.id.in_(question_ids))
        ).all()
    )
    unseen = dict(
        db.execute(
            select(ThreadMessage.contribution_id, func.count())
            .where(ThreadMessage.contribution_id.in_(ids), ThreadMessage.seen_at.is_(None))
            .group_by(ThreadMessage.contribution_id)
        ).all()
    )
    texts = Masker(db).contributions(rows)  # personal data masked, explaining words too
    return {
        "contributions": [(c, theme_view(c, texts[c.id])) for c in rows],
        "texts": texts,
        "unseen": unseen,
        "waiting_ids": waiting_among(ids),
        "question_numbers": numbers,
        "surveys": visible_survey_titles(),
        "themes": active_themes(),
        "here": here,
    }


def render_row(contribution: Contribution, here: str, focus: int | None = None) -> str:
    """One line, as the inbox draws it; `focus`: the line its forms move to without JavaScript."""
    context = row_context([contribution], here)
    c, view = context.pop("contributions")[0]
    return render_template(
        "review/_row.html", c=c, view=view, focus=focus or c.id, expanded=False, **context
    )
