"""Writing spreadsheets (CSV and XLSX) that are safe to open: every file the product writes.

Spreadsheet programs (Excel, WPS) run a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return as a formula (OWASP "CSV injection"): a customer named
``=HYPERLINK("http://evil.example/…")`` becomes a live link in finance's workbook. So:

* ``inert`` is the one rule: such a *text* cell gets a leading single quote ``'``;
* ``cell_value`` turns what a list shows into a typed cell: numbers stay numbers (negative
  amounts are not quoted), dates stay dates, enums become their labels, booleans 是/否, markup
  plain text, every other text passes ``inert``;
* ``write_csv`` and ``write_xlsx`` go through ``cell_value``; XLSX text cells are written as
  strings (data type ``s``), never as formulas, amounts with a money format, dates with a date
  format.

Callers: the generic list exports (``backoffice.views.exporting``) and the monthly overdue report
(``backoffice.services.monthly``). Pure functions; the writers write only to the file given.
"""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import chain, islice
from typing import IO, Any

from flask_babel import gettext as _
from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from backoffice.services.formatting import SHANGHAI, readable_value

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "#,##0.00"
RATE_FORMAT = "0.00######"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
SHEET_TITLE_MAX = 31  # Excel's limit
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_FILENAME_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_WIDTH_SAMPLE_ROWS = 50


def inert(text: str) -> str:
    """``text`` as a cell no spreadsheet program evaluates: a formula lead gets a ``'``."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def yes_no(value: Any) -> str:
    """是 / 否 (in the user's language) for a flag."""
    return _("Yes") if value else _("No")


def cell_value(value: Any) -> Any:
    """What a list shows, as a typed, inert cell value.

    ``Decimal``/``int``/``float`` and dates are returned as they are (timestamps in Shanghai time,
    without zone, as spreadsheets have none); ``None`` is empty; a flag is 是/否; an enum its
    label; markup its plain text; a JSON object its fields in words; a list its items joined
    by 、; every text passes ``inert``. The one formatter of every export: the list views set
    no export type formatters of their own (``views/formatters.py``).
    """
    value = _typed(value)
    return inert(value) if isinstance(value, str) else value


def _typed(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, Decimal | int | float):
        return value
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return value
    if isinstance(value, enum.Enum):
        label = getattr(value, "label", None)
        return str(label if label is not None else value.value)
    if isinstance(value, Markup):
        return value.striptags()
    if isinstance(value, dict):  # a JSON column (an audit entry's before/after): in words
        from backoffice.labels import label

        return readable_value(value, label, yes_no(True), yes_no(False))
    if isinstance(value, list | tuple | set | frozenset):  # a to-many relation: 财务、审计
        return "、".join(_text(_typed(item)) for item in value)
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_text(value: Any) -> str:
    """``cell_value`` as CSV text: plain numbers (``-12.50``), ISO dates, inert text."""
    return _text(cell_value(value))


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(headers: Sequence[Any], rows: Iterable[Iterable[Any]]) -> Iterable[str]:
    """The CSV text, line by line: a UTF-8 byte-order mark (Excel reads Chinese right only
    with it), the header, then every row through ``csv_text``."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow([csv_text(h) for h in headers])
    for row in rows:
        yield writer.writerow([csv_text(v) for v in row])


def write_csv(out: IO[bytes], headers: Sequence[Any], rows: Iterable[Iterable[Any]]) -> None:
    """Write the CSV (UTF-8 with BOM) to the binary file ``out``."""
    for line in csv_lines(headers, rows):
        out.write(line.encode("utf-8"))


def sheet_title(name: Any) -> str:
    """A valid worksheet name from ``name`` (a resource's Chinese name): at most 31 characters,
    none of ``[]:*?/\\``."""
    title = _SHEET_FORBIDDEN.sub(" ", str(name)).strip().strip("'")[:SHEET_TITLE_MAX]
    return title or "Sheet1"


def export_filename(name: Any, extension: str, day: date | None = None) -> str:
    """``应收账款-2026-11-30.xlsx``: the resource's name and the (Shanghai) date of the export."""
    day = day or datetime.now(SHANGHAI).date()
    stem = _FILENAME_FORBIDDEN.sub("_", str(name)).strip(" .") or "export"
    return f"{stem}-{day.isoformat()}.{extension.lstrip('.')}"


def _xlsx_cell(ws: Any, value: Any, number_format: str | None, bold: bool = False) -> Any:
    value = cell_value(value)
    if isinstance(value, str):
        cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # text is text: never a formula, whatever it starts with
    else:
        cell = WriteOnlyCell(ws, value=value)
        if isinstance(value, datetime):
            cell.number_format = DATETIME_FORMAT
        elif isinstance(value, date):
            cell.number_format = DATE_FORMAT
        elif isinstance(value, Decimal):
            cell.number_format = number_format or MONEY_FORMAT
        elif number_format and isinstance(value, int | float):
            cell.number_format = number_format
    if bold:
        cell.font = Font(bold=True)
    return cell


def _width(value: Any) -> float:
    value = cell_value(value)
    if isinstance(value, datetime):
        return 20
    if isinstance(value, date):
        return 12
    if isinstance(value, Decimal | int | float):
        return 16 if isinstance(value, Decimal) else 10
    # CJK characters are about two columns wide.
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in value) + 2


def write_xlsx(
    out: IO[bytes],
    sheet: Any,
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    number_formats: Mapping[int, str] | None = None,
    footer: Sequence[Any] | None = None,
) -> None:
    """Write one worksheet named ``sheet_title(sheet)`` to the binary file ``out``.

    Optional ``title`` line above the bold ``headers``; every row of ``rows`` through
    ``cell_value``; an optional bold ``footer`` (a total). ``number_formats`` maps a column
    index to the format of its numbers (amounts default to ``MONEY_FORMAT``). Streams: the
    workbook is written in openpyxl's write-only mode; column widths come from the first rows.
    """
    formats = dict(number_formats or {})
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet_title(sheet))
    rows = iter(rows)
    sample = list(islice(rows, _WIDTH_SAMPLE_ROWS))
    for i in range(len(headers)):
        seen = [_width(headers[i])] + [_width(r[i]) for r in sample if i < len(r)]
        ws.column_dimensions[get_column_letter(i + 1)].width = min(max(seen, default=10), 50)
    ws.freeze_panes = "A3" if title is not None else "A2"
    if title is not None:
        ws.append([_xlsx_cell(ws, title, None, bold=True)])
    ws.append([_xlsx_cell(ws, h, None, bold=True) for h in headers])
    for row in chain(sample, rows):
        ws.append([_xlsx_cell(ws, v, formats.get(i)) for i, v in enumerate(row)])
    if footer is not None:
        ws.append([_xlsx_cell(ws, v, formats.get(i), bold=True) for i, v in enumerate(footer)])
    wb.save(out)
