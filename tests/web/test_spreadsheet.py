"""The streamed XLSX writer: the cells XlsxWriter wrote, never a formula, a real workbook."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.web.xlsx_reference import cells, xlsxwriter_file
from web.spreadsheet import MAX_STRING, write_xlsx

# What a habitant's text can hold that a spreadsheet treats apart: XML's own characters,
# control characters and Excel's escape of them, edge whitespace, formulas, emoji.
TRICKY = list("&<>\"'_x0 \t\n\r\x00\x01\x0b\x1f\ufffe\uffff=+-@é😀") + ["_x0041_", "_X00e9_"]
texts = st.lists(st.sampled_from(TRICKY) | st.characters(), max_size=12).map("".join)
values = st.one_of(
    st.none(),
    texts,
    st.integers(min_value=-(10**17), max_value=10**17),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
)


def written(name: str, columns: tuple[str, ...], rows: list[list[Any]]) -> bytes:
    output = io.BytesIO()
    write_xlsx(output, name, columns, rows)
    return output.getvalue()


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.lists(values, max_size=6), max_size=8), name=texts)
def test_cells_are_the_ones_xlsxwriter_wrote(rows: list[list[Any]], name: str) -> None:
    sheet = "".join(c for c in name if c.isalnum())[:31] or "export"  # a name Excel accepts
    columns = ("id", "texte", " avec espace", "=formule", "a&b", "é")
    assert cells(written(sheet, columns, rows)) == cells(xlsxwriter_file(sheet, columns, rows))


def test_times_long_texts_and_wide_rows_as_before() -> None:
    paris = timezone(timedelta(hours=1))
    rows: list[list[Any]] = [
        [datetime(2026, 3, 1, 9, 30, tzinfo=paris), datetime(2026, 3, 1, tzinfo=UTC)],
        ["x" * (MAX_STRING + 10), "😀" * (MAX_STRING // 2 + 3), "y" * MAX_STRING],
        [str(n) for n in range(60)],  # columns past Z: AA, AB...
        [2**60, -0.0, 1e-7, 0.1 + 0.2, 123456789.123456789],
        [],
    ]
    columns = ("a", "b", "c")
    assert cells(written("contributions", columns, rows)) == cells(
        xlsxwriter_file("contributions", columns, rows)
    )


def test_a_text_shaped_like_cell_xml_stays_a_text() -> None:
    """XlsxWriter copied a string that starts with <r> and ends with </r> into the sheet as
    XML: this one became a HYPERLINK formula in the cell next to it."""
    evil = (
        '<r><t>x</t></r></is></c><c r="B2" t="str"><f>HYPERLINK("http://evil.example","clic")'
        '</f><v></v></c><c r="C2" t="inlineStr"><is><r><t>y</t></r>'
    )
    _title, [_header, row] = cells(written("contributions", ("texte",), [[evil]]))
    assert row == [(evil, "s", "General")]


def test_a_workbook_excel_opens() -> None:
    data = written("contributions", ("id",), [[1]])
    with zipfile.ZipFile(io.BytesIO(data)) as pack:
        assert pack.testzip() is None
        assert set(pack.namelist()) == {
            "[Content_Types].xml",
            "_rels/.rels",
            "docProps/app.xml",
            "docProps/core.xml",
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "xl/styles.xml",
            "xl/worksheets/sheet1.xml",
        }
    assert cells(data) == ("contributions", [[("id", "s", "General")], [(1, "n", "General")]])
