"""The report: the DOCX and the PDF say what the database says (headings, figures, masked
quotes), small counts hidden as on the tableau de bord, each download journaled; who may
produce it, over which quartiers; report models; the « à citer » toggle."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from docx import Document
from pypdf import PdfReader
from sqlalchemy import distinct, func, select

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import (
    Answer,
    AuditEntry,
    Campaign,
    Contribution,
    Conversation,
    Participant,
    Question,
    ReportModel,
)
from tests.factories import make_contribution, make_participant
from tests.web.conftest import Territory, login_as, post
from tests.web.evaluation.test_indicators import categorise, world  # noqa: F401  (fixture)
from web.counts import HIDDEN_SMALL, Scope
from web.indicators import Period
from web.report.content import MONTHS, Choices, build, with_charts
from web.results import campaign_results, question_counts

MARCH = "du=2026-03&au=2026-03"
HEADINGS = [
    "Qui a participé",
    "Ce qui a été dit, par thème",
    "Les enquêtes",
    "Le suivi des engagements",
    "Paroles d'habitants",
    "Méthode : comment ces chiffres sont comptés",
]
PHONE = "06 12 34 56 78"


def at(month: int, day: int = 10) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


@pytest.fixture
def activity(runtime: Runtime, territory: Territory) -> dict[str, Any]:
    """March 2026: seven habitants write in nord, two in sud; one quote ticked in each, with a
    phone number in nord's; one quote in May (outside the period)."""
    with transaction(runtime.sessions) as s:
        quoted = {}
        for n in range(9):
            quartier = territory.nord if n < 7 else territory.sud
            p = make_participant(
                s, runtime, channel="sms", quartier_id=quartier, first_seen_at=at(1)
            )
            text = f"Message {n} sur le quartier."
            if n == 0:
                text = f"Appelez-moi au {PHONE}, l'ascenseur est en panne depuis des semaines."
            if n == 8:
                text = "Au Val Fleuri le bus ne passe plus le soir."
            c = make_contribution(
                s, participant_id=p.id, quartier_id=quartier, created_at=at(3), text=text
            )
            if n in (0, 8):
                c.to_quote = True
                categorise(s, c, "cadre-de-vie", "staff")
                quoted[quartier] = (c.id, p.pseudonym)
        p = make_participant(s, runtime, channel="sms", quartier_id=territory.nord)
        make_contribution(
            s,
            participant_id=p.id,
            quartier_id=territory.nord,
            created_at=at(5),
            to_quote=True,
            text="Un texte de mai, hors de la période.",
        )
    return {"quoted": quoted}


def docx_text(data: bytes) -> tuple[Any, str]:
    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return document, "\n".join(parts)


def table_after(document: Any, caption: str) -> list[list[str]]:
    """The rows of the table whose caption paragraph reads `caption`."""
    found = False
    for item in document.iter_inner_content():
        if hasattr(item, "style") and getattr(item, "text", None) == caption:
            found = True
        elif found and hasattr(item, "rows"):
            return [[cell.text for cell in row.cells] for row in item.rows]
    raise AssertionError(f"no table captioned {caption!r}")


def participants_in_march(runtime: Runtime, quartier: int | None = None) -> int:
    with runtime.sessions() as s:
        query = (
            select(func.count(distinct(Contribution.participant_id)))
            .join(Participant, Participant.id == Contribution.participant_id)
            .where(Contribution.created_at >= at(3, 1), Contribution.created_at < at(4, 1))
        )
        if quartier is not None:
            query = query.where(Contribution.quartier_id == quartier)
        return int(s.scalar(query) or 0)


def test_the_docx_has_real_headings_a_toc_charts_with_alt_text_and_the_databases_figures(
    client: Any, runtime: Runtime, territory: Territory, activity: dict[str, Any]
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    response = client.get(f"/rapport/rapport.docx?{MARCH}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith("rapport-2026-03-2026-03.docx")
    document, text = docx_text(response.data)

    assert [p.text for p in document.paragraphs if p.style.name == "Heading 1"] == HEADINGS
    assert document.paragraphs[0].style.name == "Title"
    assert 'TOC \\o "1-3"' in document.element.xml  # a field Word and LibreOffice refresh
    assert "w:updateFields" in document.settings.element.xml
    pictures = document.inline_shapes
    assert len(pictures) >= 3
    for picture in pictures:
        described = picture._inline.docPr.get("descr")
        assert described and len(described) > 20

    facts = dict(table_after(document, "Chiffres clés")[1:])
    assert facts["Participants"] == str(participants_in_march(runtime)) == "9"
    assert facts["Contributions"] == "9"
    by_quartier = dict(table_after(document, "Participants par quartier")[1:])
    # 7 in nord, 2 in sud: sud hidden, nord blurred so that 9 − 7 cannot be worked out.
    assert by_quartier == {"Le Val Fleuri": HIDDEN_SMALL, "Les Tilleuls": "≥ 5"}
    themes = table_after(
        document, "Contributions par thème et par mois, avec la part de chaque thème"
    )
    cadre = next(row for row in themes if row[0] == "Cadre de vie et logement")
    assert cadre[1:] == ["2", "2", "22,2 %"]

    nord_quote, nord_pseudonym = activity["quoted"][territory.nord]
    assert PHONE not in text and "[téléphone]" in text
    assert "l'ascenseur est en panne" in text and "— Les Tilleuls, mars 2026" in text
    assert "Au Val Fleuri le bus ne passe plus" in text
    assert "hors de la période" not in text
    assert nord_pseudonym not in text
    with runtime.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "report.download")).one()
        assert entry.user_id == territory.users["chef_de_projet"]
        assert entry.detail["format"] == "docx" and entry.detail["choices"]["du"] == "2026-03"


def test_the_pdf_says_the_same(
    client: Any, runtime: Runtime, territory: Territory, activity: dict[str, Any]
) -> None:
    login_as(client, territory.users["lecteur"])
    response = client.get(f"/rapport/rapport.pdf?{MARCH}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    for heading in HEADINGS:
        assert heading in flat
    assert [item.title for item in reader.outline if not isinstance(item, list)] == HEADINGS
    assert "Participants 9" in flat and HIDDEN_SMALL in flat
    assert PHONE not in flat and "[téléphone]" in flat
    assert "Les Tilleuls, mars 2026" in flat
    assert activity["quoted"][territory.nord][1] not in flat


def test_a_conseil_citoyen_reports_on_its_quartier_only(
    client: Any, runtime: Runtime, territory: Territory, activity: dict[str, Any]
) -> None:
    login_as(client, territory.users["conseil_citoyen"])
    page = client.get("/rapport/")
    assert page.status_code == 200
    assert "Les Tilleuls" in page.get_data(as_text=True)
    assert "Le Val Fleuri" not in page.get_data(as_text=True)
    assert client.get(f"/rapport/rapport.docx?{MARCH}&quartier=QP-SUD").status_code == 400
    document, text = docx_text(client.get(f"/rapport/rapport.docx?{MARCH}").data)
    facts = dict(table_after(document, "Chiffres clés")[1:])
    assert facts["Participants"] == str(participants_in_march(runtime, territory.nord)) == "7"
    assert "Val Fleuri" not in text and "l'ascenseur est en panne" in text
    # Saving a model is the chef de projet's.
    assert (
        post(client, "/rapport/", {"action": "save", "name": "x", "du": "2026-03"}).status_code
        == 403
    )


@pytest.mark.parametrize("role", ["intervenant"])
def test_an_intervenant_gets_no_report(client: Any, territory: Territory, role: str) -> None:
    login_as(client, territory.users[role])
    assert client.get("/rapport/").status_code == 403
    assert client.get(f"/rapport/rapport.pdf?{MARCH}").status_code == 403


def test_a_saved_model_is_regenerated_over_the_last_whole_months(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    login_as(client, territory.users["chef_de_projet"])
    response = post(
        client,
        "/rapport/",
        {
            "action": "save",
            "name": "  COPIL   trimestriel ",
            "du": "2026-01",
            "au": "2026-03",
            "quartier": "QP-NORD",
            "theme": "cadre-de-vie",
            "glissant": "1",
        },
    )
    assert response.status_code == 302
    with runtime.sessions() as s:
        model = s.scalars(select(ReportModel)).one()
        assert model.name == "COPIL trimestriel" and model.choices["mois"] == 3
        assert model.choices["quartier"] == ["QP-NORD"] and model.choices["theme"] == [
            "cadre-de-vie"
        ]
        assert s.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "report_model.save")
        ).one()
    assert "COPIL trimestriel" in client.get("/rapport/").get_data(as_text=True)
    response = client.get(f"/rapport/modeles/{model.id}.docx")
    assert response.status_code == 200
    document, text = docx_text(response.data)
    today = date.today()
    last = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    assert f"à {MONTHS[last.month - 1]} {last.year}" in text  # the French month names
    assert "Quartiers : Les Tilleuls" in text and "Thèmes : Cadre de vie et logement" in text
    # A download button posts the choices and lands on the shareable address.
    response = post(client, "/rapport/", {"action": "pdf", "du": "2026-03", "au": "2026-03"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/rapport/rapport.pdf?du=2026-03&au=2026-03")


def test_a_contribution_is_ticked_to_quote_and_it_is_journaled(
    client: Any, runtime: Runtime, territory: Territory
) -> None:
    with transaction(runtime.sessions) as s:
        cid = make_contribution(s, quartier_id=territory.nord).id
    login_as(client, territory.users["lecteur"])
    assert post(client, f"/contributions/{cid}/citer", {"to_quote": "1"}).status_code == 403
    login_as(client, territory.users["chef_de_projet"])
    page = client.get(f"/contributions/{cid}").get_data(as_text=True)
    assert "À citer dans le rapport" in page
    assert post(client, f"/contributions/{cid}/citer", {"to_quote": "1"}).status_code == 302
    assert post(client, f"/contributions/{cid}/citer", {"to_quote": "0"}).status_code == 302
    with runtime.sessions() as s:
        assert s.get(Contribution, cid).to_quote is False
        actions = s.scalars(
            select(AuditEntry.action).where(AuditEntry.target == f"contribution:{cid}")
        ).all()
        assert actions == ["quote.set", "quote.unset"]


def test_small_counts_in_field_and_campaign_tables_are_protected(
    runtime: Runtime, territory: Territory, activity: dict[str, Any]
) -> None:
    """Built without a request (what bench/report.py does): no table shows a count of 1 to 4."""
    with runtime.sessions() as s:
        report = build(
            s, Choices(Period(date(2026, 3, 1), date(2026, 3, 1))), timezone="Europe/Paris"
        )
    report = with_charts(report, lambda bars: b"")
    for block in report.blocks:
        rows = getattr(block, "rows", None)
        if rows and "Participants" in getattr(block, "columns", ()):
            column = block.columns.index("Participants")
            assert all(row[column] not in {"1", "2", "3", "4"} for row in rows), block.caption


def test_the_reports_campaign_counts_are_the_results_pages(
    runtime: Runtime,
    world: Any,  # noqa: F811  (the fixture of tests/web/evaluation/test_indicators.py)
) -> None:
    """`question_counts` (one GROUP BY) counts what `campaign_results` counts, lists of
    choices included."""
    with transaction(runtime.sessions) as s:
        campaign = s.get(Campaign, world.ids["campaign"])
        assert campaign is not None
        multi = s.scalars(
            select(Question).where(
                Question.survey_id == campaign.survey_id, Question.kind == "multiple"
            )
        ).first()
        talk = s.scalars(
            select(Conversation).where(Conversation.campaign_id == campaign.id)
        ).first()
        assert multi is not None and talk is not None
        values = [c["value"] for c in multi.choices[:2]]
        s.add(Answer(conversation_id=talk.id, question_id=multi.id, raw_text="1 2", value=values))
        s.add(Answer(conversation_id=talk.id, question_id=multi.id, skipped=True))
    with runtime.sessions() as s:
        campaign = s.get(Campaign, world.ids["campaign"])
        assert campaign is not None
        for scope in (Scope(), Scope(frozenset({world.nord}))):
            full = campaign_results(s, campaign, scope).questions
            lean = question_counts(s, campaign, scope).questions
            assert [(q.counts, q.answered, q.skipped) for q in lean] == [
                (q.counts, q.answered, q.skipped) for q in full
            ]
        everyone = question_counts(s, campaign, Scope()).questions
        assert any(n for q in everyone for _, n in q.counts)
        assert (
            dict(next(q for q in everyone if q.kind == "multiple").counts)[
                multi.choices[0]["labels"]["fr"]
            ]
            == 1
        )


ARABIC_QUOTE = "الحي يحتاج إلى إنارة أفضل في الليل"


def embedded_glyph_names(pdf: bytes) -> set[str]:
    """The glyph names of every font subset embedded in the PDF."""
    from fontTools.ttLib import TTFont

    reader = PdfReader(io.BytesIO(pdf))
    names: set[str] = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            data = descriptor.get_object()["/FontFile2"].get_object().get_data()
            names.update(TTFont(io.BytesIO(data)).getGlyphOrder())
    return names


def test_an_arabic_quote_prints_in_joined_letters_not_as_nothing() -> None:
    """The quotes are set in the oblique face, which has no Arabic letter: they fall back to the
    upright face, and HarfBuzz picks each letter's joined form (initial, medial, final), which
    are the glyphs of Unicode's presentation forms in DejaVu Sans."""
    from web.report.content import Paragraph, Quote, Report
    from web.report.pdf_file import write

    blocks = [
        Paragraph("Ce que les habitants ont dit."),
        Quote(ARABIC_QUOTE, "Les Tilleuls, mars 2026"),
        Quote("Il n'y a plus de bus le soir.", "Val Fleuri, mars 2026"),
    ]
    data = write(Report("Rapport", [], blocks))
    joined = {n for n in embedded_glyph_names(data) if n.startswith("uniFE")}
    # lam initial and medial, alef final, yeh final: forms the isolated letters never use
    assert {"uniFEDF", "uniFEE0", "uniFE8E", "uniFEF0"} <= joined
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    flat = " ".join(text.split())
    assert "Les Tilleuls, mars 2026" in flat and "Il n'y a plus de bus le soir." in flat


def test_an_arabic_quote_runs_right_to_left_in_the_docx() -> None:
    """Word and LibreOffice set a paragraph right to left from `w:bidi`, its runs from `w:rtl`;
    a French paragraph beside it stays left to right."""
    from docx.oxml.ns import qn

    from web.report.content import Paragraph, Quote, Report
    from web.report.docx_file import write

    blocks = [
        Paragraph("Ce que les habitants ont dit."),
        Quote(ARABIC_QUOTE, "Les Tilleuls, mars 2026"),
        Paragraph(ARABIC_QUOTE),
    ]
    paragraphs = Document(io.BytesIO(write(Report("Rapport", [], blocks)))).paragraphs

    def direction(text: str) -> list[tuple[bool, bool]]:
        found = [p for p in paragraphs if text in p.text]
        assert found
        return [
            (
                p._p.pPr is not None and p._p.pPr.find(qn("w:bidi")) is not None,
                all(
                    r._r.rPr is not None and r._r.rPr.find(qn("w:rtl")) is not None for r in p.runs
                ),
            )
            for p in found
        ]

    assert direction(ARABIC_QUOTE) == [(True, True), (True, True)]
    assert direction("Ce que les habitants ont dit.") == [(False, False)]
    assert direction("Les Tilleuls, mars 2026") == [(False, False)]
