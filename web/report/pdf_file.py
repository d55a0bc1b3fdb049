"""The report as PDF, with fpdf2: pure Python, no system service and no browser.

fpdf2 over reportlab: it installs from PyPI as pure Python on top of Pillow and fontTools, which
matplotlib already brings; it embeds (and subsets) a Unicode TrueType font, writes bookmarks and
a table of contents from its sections, tables with a repeated header row, and an image's
alternative text. The font is DejaVu Sans, shipped inside matplotlib's wheel: French, "≥",
Cyrillic, Greek and Arabic print as they are; glyphs it lacks (emoji) are dropped from the PDF
only. Its oblique face has no Arabic letters, so a quote in Arabic falls back to the upright
face instead of vanishing. A block in a script whose letters join or reorder (Arabic, Hebrew,
the Indic scripts) is shaped by HarfBuzz (uharfbuzz, its official binding, a wheel): without it
Arabic prints as loose letters left to right, unreadable. Other blocks are not shaped: shaping
every block doubled the time to write the PDF (`bench/report.py`).
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

from web.report.charts import DPI
from web.report.content import Chart, Heading, Paragraph, Quote, Report, Table

FONT = "DejaVu"
FALLBACK = "DejaVuUpright"  # for the letters a face lacks (Arabic in the oblique quotes)
SIZES = {1: 16, 2: 13, 3: 11}
LINES_PER_TOC_PAGE = 38
# Hebrew to Myanmar (Arabic, Syriac, Thaana, N'Ko, the Indic scripts), and the Hebrew and
# Arabic presentation forms
COMPLEX_SCRIPT = re.compile("[\u0590-\u109f\ufb1d-\ufdff\ufe70-\ufeff]")


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def write(report: Report) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    # fpdf2 logs each glyph missing from the font (an emoji in a quote) at WARNING level, and
    # fontTools each step of subsetting the font at INFO: neither belongs in the server's log.
    logging.getLogger("fpdf").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.WARNING)

    class Document(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FONT, "", 8)
            self.cell(0, 8, f"{report.title} · page {self.page_no()}", align="C")

    pdf = Document(format="A4")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_lang("fr")
    pdf.set_title(report.title)
    pdf.set_author("Paroles")
    pdf.set_creator("Paroles")
    fonts = _font_dir()
    pdf.add_font(FONT, "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.add_font(FONT, "I", str(fonts / "DejaVuSans-Oblique.ttf"))
    pdf.add_font(FALLBACK, "", str(fonts / "DejaVuSans.ttf"))
    pdf.set_fallback_fonts([FALLBACK], exact_match=False)
    pdf.add_page()
    pdf.set_text_shaping(any(COMPLEX_SCRIPT.search(t) for t in (report.title, *report.subtitle)))
    pdf.set_font(FONT, "B", 20)
    pdf.multi_cell(0, 10, report.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font(FONT, "", 10)
    for line in report.subtitle:
        pdf.multi_cell(0, 6, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    if report.summary:
        _table(pdf, Table("En bref", ("Sur la période", "Nombre"), report.summary))
    sections = sum(1 for b in report.blocks if isinstance(b, Heading) and b.level <= 2)
    pdf.insert_toc_placeholder(_toc, pages=1 + sections // LINES_PER_TOC_PAGE)
    for block in report.blocks:
        pdf.set_text_shaping(_needs_shaping(block))
        if isinstance(block, Heading):
            if (block.level == 1 and pdf.get_y() > 40) or pdf.get_y() > pdf.h - 70:
                pdf.add_page()  # a section starts a page; a heading never ends one
            pdf.ln(3)
            if block.level <= 2:
                pdf.start_section(block.text, level=block.level - 1)
            pdf.set_font(FONT, "B", SIZES[block.level])
            pdf.multi_cell(
                0, SIZES[block.level] * 0.55, block.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
            pdf.ln(2)
        elif isinstance(block, Paragraph):
            pdf.set_font(FONT, "I" if block.note else "", 8.5 if block.note else 10)
            pdf.multi_cell(0, 5, block.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(2)
        elif isinstance(block, Table):
            _table(pdf, block)
        elif isinstance(block, Chart):
            _chart(pdf, block)
        elif isinstance(block, Quote):
            pdf.set_font(FONT, "I", 10)
            pdf.set_x(pdf.l_margin + 8)
            pdf.multi_cell(0, 5, f"« {block.text} »", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_font(FONT, "", 8.5)
            pdf.set_x(pdf.l_margin + 8)
            pdf.multi_cell(0, 5, f"— {block.source}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(3)
    return bytes(pdf.output())


def _needs_shaping(block: Heading | Paragraph | Table | Chart | Quote) -> bool:
    if isinstance(block, Table):
        texts = [block.caption, *block.columns, *(cell for row in block.rows for cell in row)]
    elif isinstance(block, Quote):
        texts = [block.text, block.source]
    elif isinstance(block, Chart):
        texts = []
    else:
        texts = [block.text]
    return any(COMPLEX_SCRIPT.search(text) for text in texts)


def _toc(pdf: Any, sections: list[Any]) -> None:
    from fpdf.enums import XPos, YPos

    pdf.set_x(pdf.l_margin)
    pdf.set_font(FONT, "B", 14)
    pdf.cell(0, 10, "Sommaire", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for section in sections:
        pdf.set_font(FONT, "B" if section.level == 0 else "", 10)
        indent = 6 * section.level
        pdf.set_x(pdf.l_margin + indent)
        link = pdf.add_link(page=section.page_number)
        width = pdf.w - pdf.l_margin - pdf.r_margin - indent - 12
        pdf.cell(width, 6, section.name[:90], link=link)
        pdf.cell(12, 6, str(section.page_number), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _table(pdf: Any, table: Table) -> None:
    pdf.set_font(FONT, "B", 9)
    pdf.multi_cell(0, 5, table.caption, new_x="LMARGIN", new_y="NEXT")
    size = 6.5 if len(table.columns) > 8 else 8.5
    pdf.set_font(FONT, "", size)
    first = 2.5 if len(table.columns) > 3 else 2.0
    widths = (first, *([1.0] * (len(table.columns) - 1)))
    with pdf.table(
        col_widths=widths,
        text_align=("LEFT", *(["RIGHT"] * (len(table.columns) - 1))),
        line_height=size * 0.55,
        repeat_headings=1,
        first_row_as_headings=True,
    ) as grid:
        grid.row(table.columns)
        for values in table.rows:
            grid.row(values)
    pdf.ln(4)


def _chart(pdf: Any, chart: Chart) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(chart.png)) as image:
        width_px, height_px = image.size
    width = min(170.0, width_px / DPI * 25.4)  # at the size it was drawn for
    height = width * height_px / width_px
    if pdf.get_y() + height > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.image(io.BytesIO(chart.png), x=pdf.l_margin, w=width, h=height, alt_text=chart.alt)
    pdf.ln(3)
