"""A one-sheet XLSX file written row by row: what every export sends as a spreadsheet.

The sheet's XML is written straight into the zip as the rows come (inline strings, no shared
string table), so 100,000 rows cost no more memory than ten, and each row is one string built
at once: XlsxWriter's constant-memory mode, which this replaces, spent ten function calls per
cell (more than half of an export's time at 100,000 contributions). The cells are the ones it
wrote (`tests/web/test_spreadsheet.py` compares them), with one difference that matters: a text
is always written escaped, as text. XlsxWriter wrote a string that starts with ``<r>`` and ends with
``</r>`` as raw XML (its rich-string shortcut), so a habitant's message shaped like that could
put a formula in a colleague's spreadsheet.

Strings are never formulas, URLs or numbers; control characters are escaped as Excel does
(``_xHHHH_``); a string longer than a cell holds is cut at 32,767 UTF-16 units and rows past
the sheet's last (1,048,576) are left out, as XlsxWriter did.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import IO, Any
from xml.sax.saxutils import escape

__all__ = ["MAX_ROWS", "MAX_STRING", "write_xlsx"]

MAX_ROWS = 1_048_576
MAX_STRING = 32_767  # UTF-16 units
_FLUSH_ROWS = 200

# What a string needs beyond being copied: a character XML escapes, one Excel escapes
# (control characters, non-characters, and the escape itself), whitespace to preserve.
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
_EXCEL_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_EDGE_SPACE = re.compile(r"^\s|\s$")
_EPOCH = datetime(1899, 12, 31)

_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument"
_CONTENT_TYPES = (
    _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/docProps/app.xml" ContentType="{_TYPE}.extended-properties+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-'
    'package.core-properties+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.spreadsheetml.styles+xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    f'ContentType="{_TYPE}.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    f'ContentType="{_TYPE}.spreadsheetml.worksheet+xml"/></Types>'
)
_ROOT_RELS = (
    _HEAD + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{_PKG_REL}/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_REL}/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    _HEAD + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'
)
# Style 0: normal; 1: a moment (yyyy-mm-dd h:mm:ss); 2: a day (yyyy-mm-dd).
_STYLES = (
    _HEAD + f'<styleSheet xmlns="{_MAIN}"><numFmts count="2">'
    '<numFmt numFmtId="164" formatCode="yyyy-mm-dd h:mm:ss"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs><cellXfs count="3">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)
_SHEET_START = (
    _HEAD + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><sheetViews>'
    '<sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
    '<sheetFormatPr defaultRowHeight="15"/><sheetData>'
)
_SHEET_END = (
    '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
    'header="0.3" footer="0.3"/></worksheet>'
)


def write_xlsx(output: IO[bytes], name: str, columns: Iterable[str], rows: Iterable[Any]) -> None:
    """Write a workbook of one sheet called ``name`` to ``output``: the ``columns`` as its first
    row, then each of ``rows`` (a sequence of values: str, int, float, bool, date, datetime;
    None leaves the cell empty; anything else is written as its ``str``)."""
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        pack.writestr("[Content_Types].xml", _CONTENT_TYPES)
        pack.writestr("_rels/.rels", _ROOT_RELS)
        pack.writestr("docProps/app.xml", _app(name))
        pack.writestr("docProps/core.xml", _core(datetime.now(UTC)))
        pack.writestr("xl/workbook.xml", _workbook(name))
        pack.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        pack.writestr("xl/styles.xml", _STYLES)
        with pack.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_SHEET_START.encode())
            _write_rows(sheet, [columns], rows)
            sheet.write(_SHEET_END.encode())


def _write_rows(sheet: IO[bytes], header: Iterable[Any], rows: Iterable[Any]) -> None:
    letters: list[str] = []
    pending: list[str] = []
    number = 0
    for chunk in (header, rows):
        for row in chunk:
            number += 1
            if number > MAX_ROWS:
                break
            values = list(row)
            while len(letters) < len(values):
                letters.append(_letters(len(letters)))
            cells = [f'<row r="{number}">']
            for letter, value in zip(letters, values, strict=False):
                kind = value.__class__
                # The common cells written here; `_cell` for the rest (same XML).
                if kind is str and len(value) <= MAX_STRING // 2 and not _SPECIAL.search(value):
                    cells.append(
                        f'<c r="{letter}{number}" t="inlineStr"><is><t>{value}</t></is></c>'
                    )
                elif kind is int:
                    cells.append(f'<c r="{letter}{number}"><v>{value:.16G}</v></c>')
                elif value is not None:
                    cells.append(_cell(letter, number, value))
            cells.append("</row>")
            pending.append("".join(cells))
            if len(pending) >= _FLUSH_ROWS:
                sheet.write("".join(pending).encode())
                pending.clear()
    sheet.write("".join(pending).encode())


def _cell(letter: str, row: int, value: Any) -> str:
    kind = value.__class__
    if kind is str:
        return _string(letter, row, value)
    if kind is int or kind is float:
        return f'<c r="{letter}{row}"><v>{_number(value)}</v></c>'
    if kind is bool:
        return f'<c r="{letter}{row}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        return f'<c r="{letter}{row}" s="1"><v>{_number(_serial(value))}</v></c>'
    if isinstance(value, date):
        moment = datetime.combine(value, time(0))
        return f'<c r="{letter}{row}" s="2"><v>{_number(_serial(moment))}</v></c>'
    if isinstance(value, int | float):  # a subclass (an IntEnum...): its number
        return _cell(letter, row, float(value) if isinstance(value, float) else int(value))
    return _string(letter, row, str(value))


def _string(letter: str, row: int, text: str) -> str:
    if len(text) > MAX_STRING // 2:
        text = _truncate(text)
    if not _SPECIAL.search(text):
        return f'<c r="{letter}{row}" t="inlineStr"><is><t>{text}</t></is></c>'
    text = _EXCEL_ESCAPE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    space = ' xml:space="preserve"' if _EDGE_SPACE.search(text) else ""
    return f'<c r="{letter}{row}" t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def _truncate(text: str) -> str:
    """At most `MAX_STRING` UTF-16 units, never half a character beyond the BMP."""
    length = 0
    for index, char in enumerate(text):
        length += 2 if ord(char) > 0xFFFF else 1
        if length > MAX_STRING:
            return text[:index]
    return text


def _number(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("a spreadsheet cell cannot hold NaN or infinity")
    return f"{value:.16G}"


def _serial(moment: datetime) -> float:
    """Excel's serial date (1900 system, with its phantom 29 February 1900); a moment with a
    time zone is written as its wall-clock time there."""
    delta = moment.replace(tzinfo=None) - _EPOCH
    serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    return serial + 1 if serial > 59 else serial


def _letters(index: int) -> str:
    """The column's letters: 0 is A, 25 is Z, 26 is AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _app(name: str) -> str:
    return (
        _HEAD + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
        'docPropsVTypes"><Application>Microsoft Excel</Application><DocSecurity>0</DocSecurity>'
        '<ScaleCrop>false</ScaleCrop><HeadingPairs><vt:vector size="2" baseType="variant">'
        "<vt:variant><vt:lpstr>Worksheets</vt:lpstr></vt:variant><vt:variant><vt:i4>1</vt:i4>"
        '</vt:variant></vt:vector></HeadingPairs><TitlesOfParts><vt:vector size="1" '
        f'baseType="lpstr"><vt:lpstr>{escape(name)}</vt:lpstr></vt:vector></TitlesOfParts>'
        "<LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
        "<HyperlinksChanged>false</HyperlinksChanged><AppVersion>12.0000</AppVersion>"
        "</Properties>"
    )


def _core(now: datetime) -> str:
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        _HEAD + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator></dc:creator>'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def _workbook(name: str) -> str:
    sheet = escape(name, {'"': "&quot;"})
    return (
        _HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews>'
        '<workbookView xWindow="240" yWindow="15" windowWidth="16095" windowHeight="9660"/>'
        f'</bookViews><sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>"
    )
