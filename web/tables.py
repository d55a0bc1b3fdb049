"""Tables sent as CSV or XLSX files, and the audit line every export writes.

A habitant's text never becomes a formula: CSV cells that start like one get a leading quote,
XLSX cells are always written as strings.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, Any

from flask import Response, stream_with_context
from flask_login import current_user

from storage.db import transaction
from web.audit_log import audit
from web.db import get_runtime
from web.spreadsheet import write_xlsx

FORMATS = ("csv", "xlsx")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def audit_export(kind: str, fmt: str, filters: dict[str, str], rows: int) -> None:
    """Written in its own writing transaction: an export is a GET, whose session only reads."""
    with transaction(get_runtime().sessions) as db:
        audit(db, current_user.id, "export", kind, format=fmt, filters=filters, rows=rows)


def plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def send_table(fmt: str, name: str, columns: tuple[str, ...], rows: Iterable[list[Any]]) -> Any:
    filename = f"paroles-{name}-{datetime.now().strftime('%Y%m%d-%H%M')}.{fmt}"
    if fmt == "csv":
        response = Response(stream_with_context(_csv(columns, rows)), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        response.headers["Cache-Control"] = "private, no-store"
        return response
    built = _xlsx(name, columns, rows)
    size = built.seek(0, io.SEEK_END)
    built.seek(0)
    response = Response(
        _chunks(built),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Content-Length"] = str(size)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _chunks(file: IO[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    """The file's bytes, then the file closed (and so deleted, a temporary file)."""
    try:
        while chunk := file.read(size):
            yield chunk
    finally:
        file.close()


def _csv(columns: tuple[str, ...], rows: Iterable[list[Any]]) -> Iterator[str]:
    """UTF-8 with a BOM and `;` separators: what French Excel opens correctly by double-click."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    buffer.write("\ufeff")
    writer.writerow(columns)
    for number, row in enumerate(rows, 1):
        writer.writerow([_safe(value) for value in row])
        if number % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx(name: str, columns: tuple[str, ...], rows: Iterable[list[Any]]) -> IO[bytes]:
    """Streamed: each row is written out as it comes (`web.spreadsheet`), into a temporary
    file, so 100,000 rows cost no more memory than ten."""
    output = tempfile.TemporaryFile()
    write_xlsx(output, name[:31], columns, rows)  # the longest name a spreadsheet accepts
    output.seek(0)
    return output
