"""What the report says: its figures, read from the shared counting modules, laid out as a list
of blocks (headings, paragraphs, tables, charts, quotes) that the DOCX and PDF writers render
the same way.

The report is a document of the contrat de ville, presented at the COPIL: it is written in
French whatever the account's language. Every count of people goes through the tableau de
bord's protection (`web.counts.protect`, via `web.indicators`, `web.field_figures` and
`web.results.protected`): what the tableau de bord shows "< 5", the report shows "< 5". Quotes
are the contributions a staff member ticked "à citer", masked (`Masker`), with their quartier and
month only: never a pseudonym, a channel or a day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bots.personal_data_job import Masker
from storage.models import Campaign, Categorisation, Contribution, Participant, Quartier, Theme
from web import field_figures
from web.activity import read_activity
from web.counts import HIDDEN_SMALL, Cell, Scope
from web.indicators import Breakdown, Indicators, Period, compute
from web.results import Results, protected, question_counts
from web.suivi import ENGAGEMENT_LABELS, engagements

MAX_QUOTES = 40
HIDDEN_RATE = "—"
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
SHORT_MONTHS = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)
CHANNELS = {
    "telegram": "Telegram",
    "sms": "SMS",
    "whatsapp": "WhatsApp",
    "simulator": "Simulateur",
    "terrain": "Terrain (face à face)",
}
LANGUAGES = {
    "fr": "français",
    "en": "anglais",
    "ar": "arabe",
    "tr": "turc",
    "pt": "portugais",
    "es": "espagnol",
    "ro": "roumain",
    "uk": "ukrainien",
}
STATES = {"suggere": "Thème suggéré, à confirmer", "a_trier": "À trier (aucun thème)"}


# --- blocks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int  # 1 to 3
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    note: bool = False  # a smaller explanatory line


@dataclass(frozen=True)
class Table:
    caption: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]


@dataclass(frozen=True)
class Bars:
    """A bar chart, drawn in greys and hatches: one series (with the shown values written on
    the bars), or several stacked per category (per month)."""

    title: str
    categories: list[str]
    series: list[tuple[str, list[float | None]]]  # (name, a value per category; None: hidden)
    labels: list[str] = field(default_factory=list)  # the shown values, one series only
    horizontal: bool = False
    unit: str = "participants"


@dataclass(frozen=True)
class Chart:
    bars: Bars
    alt: str
    png: bytes = b""


@dataclass(frozen=True)
class Quote:
    text: str
    source: str  # "Les Tilleuls, mars 2026"


Block = Heading | Paragraph | Table | Chart | Quote


@dataclass
class Report:
    title: str
    subtitle: list[str]
    blocks: list[Block]
    summary: list[tuple[str, str]] = field(default_factory=list)  # "En bref", on the first page


# --- what was chosen -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    """A period of whole months, quartiers (empty: all those the account may see) and thèmes
    (empty: all)."""

    period: Period
    quartier_ids: frozenset[int] = frozenset()
    theme_codes: frozenset[str] = frozenset()


def scope_of(choices: Choices, allowed: frozenset[int] | None) -> Scope:
    """The habitants counted: the chosen quartiers, within those the account may see."""
    if choices.quartier_ids:
        chosen = choices.quartier_ids if allowed is None else choices.quartier_ids & allowed
        return Scope(frozenset(chosen))
    return Scope(allowed)


# --- small helpers -------------------------------------------------------------------------------


def month_label(month: date) -> str:
    return f"{MONTHS[month.month - 1]} {month.year}"


def short_month(month: date) -> str:
    return f"{SHORT_MONTHS[month.month - 1]} {month.year % 100:02d}"


def number(value: int | str) -> str:
    """French thousands: 12 345 (a narrow no-break space)."""
    if isinstance(value, str):
        return value
    return f"{value:,}".replace(",", "\u202f")


def percent(value: float | None) -> str:
    if value is None:
        return HIDDEN_RATE
    return f"{value * 100:.1f}".replace(".", ",") + " %"


def bar_value(shown: int | str) -> float | None:
    """A hidden count has no bar; a blurred one ("≥ 130") stands at its lower bound."""
    if isinstance(shown, int):
        return float(shown)
    return float(shown[2:]) if shown.startswith("≥ ") else None


def _french(texts: dict[str, Any] | None) -> str:
    texts = texts or {}
    return str(texts.get("fr") or next(iter(texts.values()), ""))


def _cell(cell: Cell) -> str:
    return number(cell.shown)


# --- the report ----------------------------------------------------------------------------------


def build(
    session: Session,
    choices: Choices,
    *,
    timezone: str,
    allowed: frozenset[int] | None = None,
    campaign_visible: Callable[[Campaign], bool] = lambda campaign: True,
    made_on: date | None = None,
) -> Report:
    """The whole report for `choices`, within the quartiers `allowed` (None: all)."""
    scope = scope_of(choices, allowed)
    bounds = choices.period.bounds(timezone)
    # One read of the period's activity serves both (as on the tableau de bord).
    activity = read_activity(session, bounds[0], bounds[-1], scope)
    found = compute(
        session,
        choices.period,
        scope,
        timezone,
        campaign_visible=campaign_visible,
        activity=activity,
    )
    field_found = field_figures.compute(
        session, bounds[0], bounds[-1], scope, timezone, activity=activity
    )
    names = dict(session.execute(select(Quartier.id, Quartier.name)).all())
    themes = {t.code: t for t in session.scalars(select(Theme))}
    chosen_quartiers = sorted(names[i] for i in scope.quartier_ids or () if i in names)
    chosen_themes = sorted(themes[c].name for c in choices.theme_codes if c in themes)
    period = choices.period
    when = (
        month_label(period.first)
        if period.first == period.last
        else f"de {month_label(period.first)} à {month_label(period.last)}"
    )
    made = made_on or datetime.now(ZoneInfo(timezone)).date()
    subtitle = [
        f"Période : {when}",
        "Quartiers : " + (", ".join(chosen_quartiers) if scope.quartier_ids else "tous"),
        "Thèmes : " + (", ".join(chosen_themes) if chosen_themes else "tous"),
        f"Document produit le {made.day} {MONTHS[made.month - 1]} {made.year} par Paroles.",
    ]
    blocks: list[Block] = []
    blocks += _participation(found, field_found)
    blocks += _themes(found, choices)
    blocks += _campaigns(session, found, scope, choices, themes, timezone)
    blocks += _followup(session, scope, choices, timezone)
    blocks += _quotes(session, scope, choices, bounds, timezone, names)
    blocks += _method()
    summary = [
        ("Participants", number(found.participants)),
        ("dont nouveaux participants", number(found.new_participants)),
        ("Contributions", number(found.contributions)),
        ("Campagnes d'enquête", number(len(found.campaigns))),
        ("Actions de terrain", number(field_found.held)),
        ("Paroles d'habitants citées", number(sum(isinstance(b, Quote) for b in blocks))),
    ]
    return Report("Rapport sur la participation des habitants", subtitle, blocks, summary)


def _breakdown(
    breakdown: Breakdown, title: str, column: str, label: Callable[[str], str]
) -> list[Block]:
    if not breakdown.rows:
        return [Paragraph(f"{title} : aucun participant sur la période.")]
    categories = [label(key) for key, _ in breakdown.rows]
    shown = [cell.shown for _, cell in breakdown.rows]
    bars = Bars(
        title,
        categories,
        [("Participants", [bar_value(s) for s in shown])],
        labels=[number(s) for s in shown],
        horizontal=True,
    )
    alt = f"{title} (graphique en barres) : " + "; ".join(
        f"{name} {value}" for name, value in zip(categories, bars.labels, strict=True)
    )
    table = Table(title, (column, "Participants"), list(zip(categories, bars.labels, strict=True)))
    return [Chart(bars, alt), table]


def _participation(found: Indicators, field_found: field_figures.FieldFigures) -> list[Block]:
    blocks: list[Block] = [Heading(1, "Qui a participé")]
    share = f" ({percent(found.new_share)})" if found.new_share is not None else ""
    blocks.append(
        Paragraph(
            f"{number(found.participants)} habitants ont participé sur la période, dont "
            f"{number(found.new_participants)} pour la première fois{share}. Ils ont envoyé "
            f"{number(found.contributions)} contributions ; {len(found.campaigns)} campagnes "
            f"d'enquête les ont interrogés et {field_found.held} actions de terrain les ont "
            "rencontrés."
        )
    )
    blocks.append(
        Table(
            "Chiffres clés",
            ("Indicateur", "Valeur"),
            [
                ("Participants", number(found.participants)),
                ("Nouveaux participants", number(found.new_participants)),
                ("Part de nouveaux participants", percent(found.new_share)),
                ("Contributions", number(found.contributions)),
                ("Campagnes d'enquête", number(len(found.campaigns))),
                ("Actions de terrain ayant associé des habitants", number(field_found.held)),
            ],
        )
    )
    blocks.append(Heading(2, "Par quartier"))
    blocks += _breakdown(
        found.by_quartier, "Participants par quartier", "Quartier", lambda k: k or "Non renseigné"
    )
    blocks.append(
        Paragraph(
            "Un habitant qui a participé dans deux quartiers compte dans chacun : la somme des "
            "quartiers peut dépasser le total.",
            note=True,
        )
    )
    blocks.append(Heading(2, "Par canal"))
    blocks += _breakdown(
        found.by_channel, "Participants par canal", "Canal", lambda k: CHANNELS.get(k, k)
    )
    blocks.append(Heading(2, "Par langue"))
    for breakdown, title in (
        (found.by_language, "Participants par langue de conversation avec le robot"),
        (found.by_written_language, "Participants par langue écrite des contributions"),
    ):
        rows = [(LANGUAGES.get(k, k), _cell(c)) for k, c in breakdown.rows]
        blocks.append(Table(title, ("Langue", "Participants"), rows or [("—", "0")]))
    blocks.append(Heading(2, "Âge et genre déclarés"))
    if field_found.by_age or field_found.by_gender:
        blocks.append(
            Paragraph(
                "Demandés seulement en face à face, jamais obligatoires : ces chiffres ne "
                "portent que sur les habitants qui ont répondu.",
                note=True,
            )
        )
        for declared, title, column in (
            (field_found.by_age, "Participants par tranche d'âge déclarée", "Tranche d'âge"),
            (field_found.by_gender, "Participants par genre déclaré", "Genre"),
        ):
            if declared:
                blocks.append(
                    Table(title, (column, "Participants"), [(lab, _cell(c)) for lab, c in declared])
                )
    else:
        blocks.append(Paragraph("Aucun âge ni genre déclaré sur la période."))
    blocks.append(Heading(2, "Par action de terrain"))
    if field_found.actions:
        blocks.append(
            Table(
                "Habitants associés par action (porte-à-porte, stand, temps fort…)",
                ("Action", "Quartier", "Jours", "Participants", "Nouveaux", "Contributions"),
                [
                    (
                        row.name or row.code,
                        row.quartier or "—",
                        number(row.days),
                        _cell(row.participants),
                        _cell(row.new),
                        number(row.contributions),
                    )
                    for row in field_found.actions
                ],
            )
        )
    else:
        blocks.append(Paragraph("Aucune action de terrain n'a associé d'habitants sur la période."))
    return blocks


def _columns(period: Period) -> tuple[list[str], list[list[int]]]:
    """Months, or quarters past twelve months (a table must fit on a page): the labels, and for
    each label the indexes of its months."""
    months = period.months
    if len(months) <= 12:
        return [short_month(m) for m in months], [[i] for i in range(len(months))]
    labels: list[str] = []
    groups: list[list[int]] = []
    for i, m in enumerate(months):
        label = f"T{(m.month - 1) // 3 + 1} {m.year}"
        if not labels or labels[-1] != label:
            labels.append(label)
            groups.append([])
        groups[-1].append(i)
    return labels, groups


def _themes(found: Indicators, choices: Choices) -> list[Block]:
    blocks: list[Block] = [Heading(1, "Ce qui a été dit, par thème")]
    total_row = found.themes[-1]
    total = total_row.total
    confirmed = [
        row
        for row in found.themes[:-3]
        if not choices.theme_codes or row.key in choices.theme_codes
    ]
    unconfirmed = found.themes[-3:-1]
    labels, groups = _columns(found.period)

    def per(row_counts: list[int]) -> list[int]:
        return [sum(row_counts[i] for i in group) for group in groups]

    blocks.append(
        Paragraph(
            f"{number(total)} contributions sur la période. Une contribution compte dans chacun "
            "des thèmes que l'équipe lui a confirmés ; celles dont le thème n'est pas encore "
            "confirmé sont comptées à part."
        )
    )
    drawn = [row for row in confirmed if row.total]
    series: list[tuple[str, list[float | None]]] = [
        (row.name, [float(n) for n in per(row.per_month)]) for row in drawn
    ]
    if not choices.theme_codes:
        series += [(STATES[row.key], [float(n) for n in per(row.per_month)]) for row in unconfirmed]
    if any(any(v for v in values) for _, values in series):
        bars = Bars("Contributions par thème et par mois", labels, series, unit="contributions")
        alt = (
            "Contributions par thème et par mois (barres empilées, une texture par thème). "
            + "; ".join(
                f"{name} : {number(sum(int(v or 0) for v in values))}" for name, values in series
            )
            + ". Les nombres exacts sont dans le tableau qui suit."
        )
        blocks.append(Chart(bars, alt))
    rows = []
    for row in [*confirmed, *unconfirmed]:
        name = row.name or STATES.get(row.key, row.key)
        share = percent(row.total / total) if total else HIDDEN_RATE
        rows.append((name, *(number(n) for n in per(row.per_month)), number(row.total), share))
    rows.append(
        (
            "Toutes les contributions",
            *(number(n) for n in per(total_row.per_month)),
            number(total),
            "100,0 %" if total else HIDDEN_RATE,
        )
    )
    blocks.append(
        Table(
            "Contributions par thème et par mois, avec la part de chaque thème",
            ("Thème", *labels, "Total", "Part"),
            rows,
        )
    )
    return blocks


def _campaigns(
    session: Session,
    found: Indicators,
    scope: Scope,
    choices: Choices,
    themes: dict[str, Theme],
    timezone: str,
) -> list[Block]:
    blocks: list[Block] = [Heading(1, "Les enquêtes")]
    zone = ZoneInfo(timezone)
    rates = [
        rate
        for rate in found.campaigns
        if not choices.theme_codes
        or not rate.campaign.survey.theme_code
        or rate.campaign.survey.theme_code in choices.theme_codes
    ]
    if not rates:
        blocks.append(Paragraph("Aucune campagne d'enquête n'a touché d'habitants sur la période."))
        return blocks

    def day(at: datetime | None) -> str:
        if at is None:
            return "—"
        local = at.astimezone(zone).date()
        return f"{local.day} {MONTHS[local.month - 1]} {local.year}"

    def short_day(at: datetime | None) -> str:
        return at.astimezone(zone).strftime("%d/%m/%Y") if at else "—"

    blocks.append(
        Table(
            "Campagnes, taux de réponse et retour aux participants",
            (
                "Campagne",
                "Lancée le",
                "Invités",
                "Ont répondu",
                "Ont fini",
                "Taux de réponse",
                "Taux d'achèvement",
                "Retour envoyé",
            ),
            [
                (
                    rate.campaign.name,
                    short_day(rate.campaign.launched_at),
                    _cell(rate.invited),
                    _cell(rate.started),
                    _cell(rate.finished),
                    percent(rate.response_rate),
                    percent(rate.completion_rate),
                    short_day(rate.campaign.retour_sent_at)
                    if rate.campaign.retour_sent_at
                    else "non",
                )
                for rate in rates
            ],
        )
    )
    for rate in rates:
        campaign = rate.campaign
        title = _french(campaign.survey.title) or campaign.survey.slug
        blocks.append(Heading(2, f"{campaign.name} — {title}"))
        results = protected(question_counts(session, campaign, Scope(scope.quartier_ids)))
        blocks += _questions(results)
        if campaign.retour_sent_at and campaign.retour_text:
            blocks.append(
                Paragraph(
                    f"Retour envoyé aux participants le {day(campaign.retour_sent_at)} : "
                    f"« {campaign.retour_text} »"
                )
            )
        else:
            blocks.append(Paragraph("Aucun retour n'a encore été envoyé aux participants."))
    return blocks


def _questions(results: Results) -> list[Block]:
    blocks: list[Block] = []
    for question in results.questions:
        heading = f"Question {question.position} : {question.text}"
        blocks.append(Heading(3, heading))
        answered = number(question.answered)
        if question.kind == "text":
            blocks.append(
                Paragraph(
                    f"Question ouverte : {answered} réponses écrites (des extraits choisis par "
                    "l'équipe figurent dans « Paroles d'habitants »)."
                )
            )
            continue
        if not question.counts:
            blocks.append(Paragraph(f"{answered} réponses."))
            continue
        known = sum(n for _, n in question.counts if isinstance(n, int))
        categories = [label for label, _ in question.counts]
        shown = [n for _, n in question.counts]
        bars = Bars(
            question.text,
            categories,
            [("Habitants", [bar_value(n) for n in shown])],
            labels=[number(n) for n in shown],
            horizontal=True,
            unit="habitants",
        )
        alt = f"Réponses à « {question.text} » (graphique en barres) : " + "; ".join(
            f"{c} {v}" for c, v in zip(categories, bars.labels, strict=True)
        )
        all_exact = all(isinstance(n, int) for n in shown)
        rows = [
            (
                label,
                number(n),
                percent(n / known) if isinstance(n, int) and known and all_exact else HIDDEN_RATE,
            )
            for label, n in question.counts
        ]
        blocks += [
            Chart(bars, alt),
            Table(
                f"Réponses à la question {question.position} ({answered} habitants ont répondu)",
                ("Réponse", "Habitants", "Part"),
                rows,
            ),
        ]
    return blocks


def _followup(session: Session, scope: Scope, choices: Choices, timezone: str) -> list[Block]:
    blocks: list[Block] = [Heading(1, "Le suivi des engagements")]
    found = [
        e
        for e in engagements(session)
        if (
            scope.quartier_ids is None
            or e.quartier_id is None
            or e.quartier_id in scope.quartier_ids
        )
        and (not choices.theme_codes or e.theme is None or e.theme.code in choices.theme_codes)
    ]
    if not found:
        blocks.append(Paragraph("Aucun engagement n'est suivi pour ces quartiers et ces thèmes."))
        return blocks
    counts = {key: 0 for key in ENGAGEMENT_LABELS}
    for engagement in found:
        counts[engagement.status] = counts.get(engagement.status, 0) + 1
    labels = [str(label) for label in ENGAGEMENT_LABELS.values()]
    values = list(counts.values())
    bars = Bars(
        "Engagements par état",
        labels,
        [("Engagements", [float(v) for v in values])],
        labels=[number(v) for v in values],
        horizontal=True,
        unit="engagements",
    )
    alt = "Engagements par état (graphique en barres) : " + "; ".join(
        f"{label} {v}" for label, v in zip(labels, values, strict=True)
    )
    zone = ZoneInfo(timezone)
    blocks += [
        Paragraph(
            f"{number(len(found))} engagements pris à la suite de ce que les habitants ont dit, "
            "avec leur état à la date du document."
        ),
        Chart(bars, alt),
        Table(
            "Engagements par état",
            ("État", "Engagements"),
            list(zip(labels, map(number, values), strict=True)),
        ),
        Table(
            "Les engagements",
            ("Engagement", "Quartier", "Thème", "Porté par", "État", "Mis à jour le"),
            [
                (
                    e.title,
                    e.quartier.name if e.quartier else "Tous",
                    e.theme.name if e.theme else "—",
                    e.partner or "—",
                    str(ENGAGEMENT_LABELS.get(e.status, e.status)),
                    e.updated_at.astimezone(zone).date().strftime("%d/%m/%Y"),
                )
                for e in found
            ],
        ),
    ]
    return blocks


def quotes(
    session: Session,
    scope: Scope,
    theme_codes: frozenset[str],
    bounds: Sequence[datetime],
    timezone: str,
    names: dict[int, str],
) -> list[Quote]:
    """The contributions ticked "à citer" in the period and scope, oldest first, masked, with
    their quartier and month only. A staff test phone's never counts."""
    query = (
        select(Contribution)
        .outerjoin(Participant, Participant.id == Contribution.participant_id)
        .where(
            Contribution.to_quote.is_(True),
            Contribution.created_at >= bounds[0],
            Contribution.created_at < bounds[-1],
            Participant.is_test.is_not(True),
        )
        .options(selectinload(Contribution.categorisations).selectinload(Categorisation.theme))
        .order_by(Contribution.created_at, Contribution.id)
        .limit(MAX_QUOTES)
    )
    if scope.quartier_ids is not None:
        query = query.where(Contribution.quartier_id.in_(scope.quartier_ids))
    if theme_codes:
        query = query.where(
            Contribution.id.in_(
                select(Categorisation.contribution_id)
                .join(Theme, Theme.id == Categorisation.theme_id)
                .where(Categorisation.source == "staff", Theme.code.in_(theme_codes))
            )
        )
    rows = list(session.scalars(query))
    texts = Masker(session).contributions(rows)
    zone = ZoneInfo(timezone)
    found = []
    for row in rows:
        text = " ".join(texts[row.id].split())
        if not text:
            continue
        month = row.created_at.astimezone(zone).date()
        where = names.get(row.quartier_id or 0, "") or "quartier non renseigné"
        found.append(Quote(text, f"{where}, {month_label(month)}"))
    return found


def _quotes(
    session: Session,
    scope: Scope,
    choices: Choices,
    bounds: Sequence[datetime],
    timezone: str,
    names: dict[int, str],
) -> list[Block]:
    blocks: list[Block] = [Heading(1, "Paroles d'habitants")]
    found = quotes(session, scope, choices.theme_codes, bounds, timezone, names)
    if not found:
        blocks.append(
            Paragraph(
                "Aucune contribution de la période n'a été retenue « à citer ». Dans la boîte de "
                "réception, le bouton « À citer dans le rapport » d'une contribution l'ajoute ici."
            )
        )
        return blocks
    blocks.append(
        Paragraph(
            "Extraits choisis par l'équipe. Les données personnelles (noms, téléphones, "
            "adresses…) sont masquées ; seuls le quartier et le mois sont indiqués.",
            note=True,
        )
    )
    blocks += found
    return blocks


def _method() -> list[Block]:
    lines = (
        "Participants : les habitants, comptés une fois chacun, qui ont envoyé une contribution "
        "ou répondu à au moins une question d'enquête pendant la période. Les téléphones d'essai "
        "de l'équipe ne comptent jamais.",
        "Nouveaux participants : ceux dont le premier message date de la période.",
        "Quartier : un habitant compte dans le quartier de sa contribution (ou, pour une réponse "
        "d'enquête, dans son quartier) ; s'il a participé dans deux quartiers, il compte dans "
        "chacun, et une seule fois au total.",
        "Canal et langue : le dernier canal utilisé par l'habitant et la langue dans laquelle "
        "il parle au robot ; la langue écrite est celle reconnue dans ses contributions.",
        "Âge et genre : déclarés librement lors des rencontres en face à face, jamais "
        "obligatoires.",
        "Actions de terrain : un habitant est associé à une action si sa participation y a été "
        "notée, ou s'il a rejoint Paroles par son code (affiche, mot-clé SMS). Les jours sont "
        "ceux où l'action a rencontré des habitants en face à face.",
        "Thèmes : une contribution compte dans chaque thème confirmé par l'équipe ; les thèmes "
        "seulement suggérés par l'outil sont comptés à part. La part est rapportée à l'ensemble "
        "des contributions de la période. Le choix de thèmes limite les thèmes, les enquêtes "
        "(de ces thèmes ou sans thème), les engagements et les citations ; les chiffres de "
        "participation portent sur tous les thèmes.",
        "Enquêtes : « invités » sont les habitants à qui la campagne a été envoyée, « ont "
        "répondu » ceux qui ont donné au moins une réponse comprise, « ont fini » ceux qui sont "
        "allés au bout. Les taux sont rapportés aux invités.",
        "Engagements : tous ceux des quartiers choisis et ceux qui concernent tout le territoire, "
        "dans leur état à la date du document.",
        "Paroles d'habitants : les contributions qu'un membre de l'équipe a cochées « à citer », "
        f"au plus {MAX_QUOTES} ; les données personnelles y sont masquées, et seuls le quartier "
        "et le mois sont donnés, jamais le pseudonyme, le canal ni le jour.",
        f"« {HIDDEN_SMALL} » : moins de 5 participants. Pour qu'on ne puisse pas reconnaître une "
        "personne, ces cases sont masquées ; les totaux restent exacts. Quand une seule case "
        "d'un tableau est masquée, la plus petite des autres est arrondie (« ≥ 130 » pour 135) : "
        "sinon on retrouverait la case masquée en retranchant les autres du total. Les "
        "graphiques ne dessinent pas de barre pour une case masquée.",
        f"« {HIDDEN_RATE} » à la place d'un taux ou d'une part : il laisserait retrouver un "
        "nombre masqué.",
    )
    return [Heading(1, "Méthode : comment ces chiffres sont comptés"), *map(Paragraph, lines)]


def with_charts(report: Report, render: Callable[[Bars], bytes]) -> Report:
    """The same report with each chart's PNG drawn (once, for both formats)."""
    blocks: list[Block] = [
        Chart(b.bars, b.alt, render(b.bars)) if isinstance(b, Chart) else b for b in report.blocks
    ]
    return Report(report.title, report.subtitle, blocks, report.summary)


def headings(report: Report) -> list[Any]:
    return [b for b in report.blocks if isinstance(b, Heading)]
