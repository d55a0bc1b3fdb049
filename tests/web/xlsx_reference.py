"""The XLSX files the exports wrote with XlsxWriter's constant-memory mode (web/tables.py up to
issue 17), kept as the reference `web.spreadsheet` must equal cell by cell, and a reader of
cells for both."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook
from xlsxwriter import Workbook

Cell = tuple[Any, str, str]  # value, data type, number format


def xlsxwriter_file(name: str, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """The workbook as the exports wrote it before (the same options, the same cell types)."""
    output = tempfile.TemporaryFile()  # not in_memory: that turns constant_memory off
    workbook = Workbook(
        output,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "remove_timezone": True,
        },
    )
    sheet = workbook.add_worksheet(name[:31])
    moment = workbook.add_format({"num_format": "yyyy-mm-dd h:mm:ss"})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for column, title in enumerate(columns):
        sheet.write_string(0, column, title)
    for number, row in enumerate(rows, 1):
        for column, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(number, column, value)
            elif isinstance(value, bool):
                sheet.write_boolean(number, column, value)
            elif isinstance(value, int | float):
                sheet.write_number(number, column, value)
            elif isinstance(value, datetime):
                sheet.write_datetime(number, column, value, moment)
            elif isinstance(value, date):
                sheet.write_datetime(number, column, value, day)
            else:
                sheet.write_string(number, column, str(value))
    workbook.close()
    output.seek(0)
    data = output.read()
    output.close()
    return data


def cells(data: bytes) -> tuple[str, list[list[Cell]]]:
    """The sheet's title and every cell as a spreadsheet reads it."""
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.worksheets[0]
    found = [[(c.value, c.data_type, c.number_format) for c in row] for row in sheet.iter_rows()]
    title = sheet.title
    workbook.close()
    return title, found
