"""Reading ERP exports (.xlsx and .csv) safely, row by row, without loading them whole.

Hostile files fail with a ``SpreadsheetError`` and a message a user can act on:

* any file larger than ``IMPORT_MAX_BYTES`` is refused before it is opened;
* an .xlsx is a zip: the declared uncompressed size of every member is checked first (zip
  bombs), and Python's ``zipfile`` never inflates a member past its declared size (it stops and
  fails the CRC check), so the check cannot be lied around;
* XML is parsed by openpyxl through defusedxml (``openpyxl.DEFUSEDXML``), so entity expansion
  ("billion laughs") and external entities are refused;
* CSV lines longer than ``MAX_LINE_CHARS`` and fields larger than the csv module's limit are
  refused instead of being buffered.

CSV encodings: UTF-8 with or without a BOM, UTF-16 with a BOM, else GB18030 (a superset of GBK
and GB2312) when the text is plausible; anything else is refused with ``textfile.FileRefused``
(see ``backoffice/services/textfile.py``).
"""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import openpyxl
from defusedxml import DefusedXmlException

from backoffice.services.textfile import detect_encoding

# A legitimate sheet rarely compresses better than ~100:1; a zip bomb does ~1000:1.
MAX_COMPRESSION_RATIO = 200
RATIO_CHECK_FROM_BYTES = 1024 * 1024  # tiny members may compress very well, harmlessly
MAX_LINE_CHARS = 64 * 1024
HEADER_SCAN_ROWS = 20


class SpreadsheetError(Exception):
    """The file cannot be read as a spreadsheet (too large, hostile, damaged, wrong type)."""


Row = tuple[int, list[Any]]  # (line number as a spreadsheet shows it, cell values)


@dataclass
class Table:
    """One sheet or CSV file: ``rows()`` streams it again each time it is called."""

    path: Path
    kind: str  # "xlsx" or "csv"
    encoding: str | None = None
    delimiter: str = ","
    _fraction: Callable[[], float] = field(default=lambda: 0.0, repr=False)

    def rows(self) -> Iterator[Row]:
        """Stream every row; empty rows are skipped, line numbers are kept."""
        if self.kind == "xlsx":
            return _xlsx_rows(self)
        return _csv_rows(self)

    def chunks(self, size: int) -> Iterator[list[Row]]:
        """Stream rows in lists of ``size``; openpyxl's warnings about styles are silenced."""
        it = self.rows()
        while True:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                chunk = list(islice(it, size))
            if not chunk:
                return
            yield chunk

    def fraction_read(self) -> float:
        """How far the current ``rows()`` pass has got, 0..1 (an estimate)."""
        try:
            return max(0.0, min(1.0, self._fraction()))
        except (OSError, ValueError, ZeroDivisionError):
            return 0.0


def open_table(
    path: str | Path, filename: str, max_bytes: int, max_uncompressed: int | None = None
) -> Table:
    """Check ``path`` (named ``filename`` by the user) and return a streaming ``Table``.

    Raises ``SpreadsheetError`` for an oversize, hostile or unreadable file. Reads only.
    """
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise SpreadsheetError(
            f"file too large: {size:,} bytes, the limit is {max_bytes:,} bytes (IMPORT_MAX_BYTES)"
        )
    suffix = Path(filename).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        check_zip(path, max_uncompressed or max_bytes * 10)
        return Table(path, "xlsx")
    if suffix in (".csv", ".txt"):
        encoding = detect_encoding(path)
        return Table(path, "csv", encoding=encoding, delimiter=_sniff_delimiter(path, encoding))
    raise SpreadsheetError(f"unsupported file type {suffix or '(none)'}: use .xlsx or .csv")


def check_zip(path: Path, max_uncompressed: int) -> None:
    """Refuse an .xlsx whose members would inflate beyond limits (zip bomb). Reads only."""
    if not openpyxl.DEFUSEDXML:  # pragma: no cover - defusedxml is a pinned dependency
        raise SpreadsheetError("defusedxml is not installed: refusing to parse .xlsx")
    try:
        with zipfile.ZipFile(path) as zf:
            total = 0
            for info in zf.infolist():
                total += info.file_size
                if total > max_uncompressed:
                    raise SpreadsheetError(
                        f"refused: the workbook would inflate to more than "
                        f"{max_uncompressed:,} bytes (zip bomb?)"
                    )
                if (
                    info.file_size > RATIO_CHECK_FROM_BYTES
                    and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1)
                ):
                    raise SpreadsheetError(
                        f"refused: {info.filename} is compressed "
                        f"{info.file_size // max(info.compress_size, 1)}:1 (zip bomb?)"
                    )
    except zipfile.BadZipFile as exc:
        raise SpreadsheetError(f"not a valid .xlsx file: {exc}") from exc


def _xlsx_rows(table: Table) -> Iterator[Row]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            wb = openpyxl.load_workbook(table.path, read_only=True, data_only=True)
    except SpreadsheetError:
        raise
    except Exception as exc:  # openpyxl raises many types for damaged or hostile input
        raise SpreadsheetError(f"cannot read the workbook: {_describe(exc)}") from exc
    try:
        ws = wb.worksheets[0]
        max_row = ws.max_row or 0
        state = {"line": 0}
        table._fraction = lambda: state["line"] / max_row if max_row else 0.0
        try:
            for line, values in enumerate(ws.iter_rows(values_only=True), start=1):
                state["line"] = line
                cells = list(values)
                if any(_present(v) for v in cells):
                    yield line, cells
        except SpreadsheetError:
            raise
        except Exception as exc:
            raise SpreadsheetError(
                f"cannot read the sheet near row {state['line'] + 1}: {_describe(exc)}"
            ) from exc
    finally:
        wb.close()


def _describe(exc: BaseException) -> str:
    cause: BaseException | None = exc
    while cause is not None:  # openpyxl wraps the parser's exception
        if isinstance(cause, DefusedXmlException) or "entit" in str(cause).lower():
            return "the XML declares entities or a DTD, which is refused (XML bomb?)"
        cause = cause.__cause__ or cause.__context__
    return f"{type(exc).__name__}: {exc}"[:300]


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _sniff_delimiter(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, newline="") as f:
        first = f.readline(MAX_LINE_CHARS)
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _bounded_lines(f: io.TextIOBase) -> Iterator[str]:
    while True:
        line = f.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_LINE_CHARS:
            raise SpreadsheetError(f"a line is longer than {MAX_LINE_CHARS:,} characters")
        yield line


def _csv_rows(table: Table) -> Iterator[Row]:
    size = table.path.stat().st_size
    raw = open(table.path, "rb")  # noqa: SIM115 - closed in finally; position drives progress
    table._fraction = lambda: raw.tell() / size if size else 0.0
    try:
        text = io.TextIOWrapper(raw, encoding=table.encoding, errors="strict", newline="")
        reader = csv.reader(_bounded_lines(text), delimiter=table.delimiter)
        line = 0
        try:
            for cells in reader:
                line += 1
                if any(_present(v) for v in cells):
                    yield line, cells
        except (csv.Error, UnicodeDecodeError) as exc:
            raise SpreadsheetError(f"cannot read line {line + 1}: {exc}") from exc
    finally:
        raw.close()
