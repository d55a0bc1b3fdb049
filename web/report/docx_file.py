"""The report as a Word document (DOCX), editable in Word and LibreOffice.

Real styles: the title in "Title", sections in "Heading 1" to "Heading 3" (what a table of
contents and the navigation pane read), table captions in "Caption", quotes in "Quote". The table
of contents is a Word TOC field over headings 1 to 3: the document asks to refresh its fields
when opened, and a right click on it ("Mettre à jour les champs") refreshes it after editing.
Each chart is a PNG whose alternative text (the `descr` of its `wp:docPr`, which python-docx does
not set) gives its figures; the same figures follow in a table.
A paragraph whose first letter is Arabic or Hebrew is set right to left (`w:bidi` on the
paragraph, `w:rtl` on its runs), as Word does when one types it.
"""

from __future__ import annotations

import io
import unicodedata
from typing import Any

from web.report.content import Chart, Heading, Paragraph, Quote, Report, Table

CHART_WIDTH_CM = 16


def write(report: Report) -> bytes:
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.shared import Cm, Pt, RGBColor

    document = Document()
    _french(document)
    properties = document.core_properties
    properties.title = report.title
    properties.language = "fr-FR"
    properties.author = "Paroles"
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3"):
        document.styles[name].font.color.rgb = RGBColor(0, 0, 0)  # readable in black and white
    document.add_heading(report.title, level=0)
    for line in report.subtitle:
        document.add_paragraph(line)
    if report.summary:
        _table(document, Table("En bref", ("Sur la période", "Nombre"), report.summary))
    contents = document.add_paragraph()
    contents.add_run("Sommaire").bold = True
    _toc(document.add_paragraph())
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    for block in report.blocks:
        if isinstance(block, Heading):
            document.add_heading(block.text, level=block.level)
        elif isinstance(block, Paragraph):
            paragraph = _right_to_left_if_needed(document.add_paragraph(block.text))
            if block.note:
                for run in paragraph.runs:
                    run.italic = True
                    run.font.size = Pt(9)
        elif isinstance(block, Table):
            _table(document, block)
        elif isinstance(block, Chart):
            shape = document.add_picture(io.BytesIO(block.png), width=Cm(CHART_WIDTH_CM))
            _alt_text(shape, block.bars.title, block.alt)
        elif isinstance(block, Quote):
            _right_to_left_if_needed(document.add_paragraph(f"« {block.text} »", style="Quote"))
            source = document.add_paragraph(f"— {block.source}")
            source.paragraph_format.left_indent = Cm(1)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _french(document: Any) -> None:
    """The document's language is French (spelling, hyphenation), and it refreshes its fields
    when opened (the table of contents)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    defaults = document.styles.element.find(qn("w:docDefaults"))
    run_properties = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    language = run_properties.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        run_properties.append(language)
    language.set(qn("w:val"), "fr-FR")
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    document.settings.element.append(update)


def right_to_left(text: str) -> bool:
    """Whether the text's first strong character runs right to left (Unicode's rule P2)."""
    for character in text:
        direction = unicodedata.bidirectional(character)
        if direction == "L":
            return False
        if direction in ("R", "AL"):
            return True
    return False


def _right_to_left_if_needed(paragraph: Any) -> Any:
    from docx.oxml import OxmlElement

    if right_to_left(paragraph.text):
        paragraph._p.get_or_add_pPr().append(OxmlElement("w:bidi"))
        for run in paragraph.runs:
            run._r.get_or_add_rPr().append(OxmlElement("w:rtl"))
    return paragraph


def _toc(paragraph: Any) -> None:
    """A TOC field (headings 1 to 3, as links) with a line to say how to refresh it."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def field_char(kind: str) -> Any:
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        return element

    instruction = OxmlElement("w:instrText")
    instruction.set(qn("xml:space"), "preserve")
    instruction.text = 'TOC \\o "1-3" \\h \\z \\u'
    for part in (field_char("begin"), instruction, field_char("separate")):
        paragraph.add_run()._r.append(part)
    paragraph.add_run(
        "Sommaire à mettre à jour : clic droit puis « Mettre à jour les champs » (Word), ou "
        "Outils › Mettre à jour › Tout mettre à jour (LibreOffice)."
    )
    paragraph.add_run()._r.append(field_char("end"))


def _table(document: Any, table: Table) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    document.add_paragraph(table.caption, style="Caption")
    grid = document.add_table(rows=1, cols=len(table.columns))
    grid.style = "Table Grid"
    small = len(table.columns) > 8
    header = grid.rows[0]
    repeat = OxmlElement("w:tblHeader")  # the header row repeats on each page
    repeat.set(qn("w:val"), "true")
    header._tr.get_or_add_trPr().append(repeat)
    for cell, text in zip(header.cells, table.columns, strict=True):
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
        if small:
            run.font.size = Pt(7)
    for values in table.rows:
        cells = grid.add_row().cells
        for cell, text in zip(cells, values, strict=True):
            run = cell.paragraphs[0].add_run(text)
            if small:
                run.font.size = Pt(7)
    document.add_paragraph()


def _alt_text(shape: Any, title: str, description: str) -> None:
    """Word's "texte de remplacement": `descr` (and `title`) on the picture's `wp:docPr`."""
    properties = shape._inline.docPr
    properties.set("descr", description)
    properties.set("title", title)
