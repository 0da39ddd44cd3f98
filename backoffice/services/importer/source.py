"""Reading an import file ONCE (issue 13): bytes → SHA-256, strict decoding, CSV rows, records.

Before, a CSV was read four times: hashed, decoded whole to choose its encoding (twice for
GBK), then parsed by a check pass and again by an apply pass. Now its bytes pass once through
one stream that hashes them, decodes them strictly, refuses control characters line by line,
and feeds the CSV reader, whose rows go straight to the run.

The encoding is chosen from the first block (1 MB) by the rules of ``textfile.detect_encoding``
(a BOM, valid UTF-8, else plausible GB18030), which sees exactly the same sample for its
plausibility test. Only an unusual file goes back to the full ``detect_encoding``, which reads
it again: UTF-16 and UTF-32, a file with NUL bytes, one whose first block is not plausible
Chinese or holds kana, and one that turns out undecodable or holds a control character past
the first block. The last can only end in a refusal (the run is rolled back), or, for a file
whose first megabyte is plain ASCII and whose later bytes are GBK, in a second run with the
encoding the full check found (``Reread``). An .xlsx is read by openpyxl (its zip checks first).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

from backoffice.services import textfile
from backoffice.services.importer.headers import is_total_row
from backoffice.services.spreadsheet import (
    MAX_LINE_CHARS,
    SpreadsheetError,
    open_table,
)

_Row = tuple[int, list[Any]]


class Reread(Exception):  # noqa: N818 - a signal, not an error
    """The first block chose the wrong encoding: run again with ``encoding``."""

    def __init__(self, encoding: str):
        super().__init__(encoding)
        self.encoding = encoding


class _Hashing(io.RawIOBase):
    """A file read once: every byte handed out is hashed; the head block is served first."""

    def __init__(self, path: Path, head: bytes, f: io.BufferedReader):
        self.f, self.head, self.digest = f, memoryview(head), hashlib.sha256()
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head.nbytes:
            n = min(len(buffer), self.head.nbytes)
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
        else:
            n = self.f.readinto(buffer) or 0
        self.digest.update(memoryview(buffer)[:n])
        self.served += n
        return n

    def close(self) -> None:
        self.f.close()
        super().close()


def guess_encoding(path: Path, head: bytes, whole: bool) -> str:
    """The encoding of a CSV from its first block; unusual files get the full check."""
    if head[:4].startswith((*textfile._BOMS_REFUSED, *textfile._BOMS_UTF16)) or b"\0" in head:
        return textfile.detect_encoding(path)
    try:
        codecs.getincrementaldecoder("utf-8-sig")("strict").decode(head, final=whole)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    if head.startswith(codecs.BOM_UTF8):
        return textfile.detect_encoding(path)
    try:
        sample = codecs.getincrementaldecoder("gb18030")("strict").decode(head, final=whole)
    except UnicodeDecodeError:
        return textfile.detect_encoding(path)
    sample = sample[: textfile.SAMPLE_CHARS * 4]
    if not textfile._plausible_chinese(sample) or textfile._KANA.search(sample):
        return textfile.detect_encoding(path)
    return "gb18030"


class FileSource:
    """One import file: ``rows()`` streams it (the first call reads the file; a replay reads
    it again); ``sha256`` is the digest of the bytes read (CSV, once the rows are read)."""

    def __init__(self, path: str | Path, filename: str, max_bytes: int, max_unzipped: int | None,
                 encoding: str | None = None):  # fmt: skip
        self.path = Path(path)
        self.encoding = encoding
        self.sha256: str | None = None
        self._fraction: Callable[[], float] = lambda: 0.0
        suffix = Path(filename).suffix.lower()
        if suffix in (".csv", ".txt"):
            size = self.path.stat().st_size
            if size > max_bytes:
                raise SpreadsheetError(
                    f"file too large: {size:,} bytes, the limit is {max_bytes:,} bytes "
                    "(IMPORT_MAX_BYTES)"
                )
            self.table = None
        else:
            self.table = open_table(self.path, filename, max_bytes, max_unzipped)

    def fraction(self) -> float:
        try:
            return max(0.0, min(1.0, self._fraction()))
        except (OSError, ValueError, ZeroDivisionError):
            return 0.0

    def rows(self) -> Iterator[_Row]:
        if self.table is not None:
            self._fraction = self.table.fraction_read
            return self.table.rows()
        return self._csv_rows()

    def _csv_rows(self) -> Iterator[_Row]:
        size = self.path.stat().st_size
        f = open(self.path, "rb")  # noqa: SIM115 - closed with the stream below
        try:
            head = f.read(textfile.BLOCK)
            whole = len(head) < textfile.BLOCK
            encoding = self.encoding or guess_encoding(self.path, head, whole)
        except BaseException:
            f.close()
            raise
        raw = _Hashing(self.path, head, f)
        self._fraction = lambda: raw.served / size if size else 0.0
        stream = io.TextIOWrapper(
            io.BufferedReader(raw, textfile.BLOCK), encoding=encoding, errors="strict", newline=""
        )
        line = 0
        try:
            lines = _checked_lines(stream, self.path)
            first = next(lines, "")
            counts = {d: first.count(d) for d in (",", "\t", ";")}
            best = max(counts, key=lambda d: counts[d])
            reader = csv.reader(chain([first], lines), delimiter=best if counts[best] else ",")
            for cells in reader:
                line += 1
                joined = "".join(cells)  # a cell that is not blank ⇔ the row is not
                if joined and not joined.isspace():
                    yield line, cells
            self.sha256 = raw.digest.hexdigest()
        except UnicodeDecodeError:
            found = textfile.detect_encoding(self.path)  # refuses, naming the line
            raise Reread(found) from None
        except csv.Error as exc:
            raise SpreadsheetError(f"cannot read line {line + 1}: {exc}") from exc
        finally:
            stream.close()


def _checked_lines(stream: io.TextIOBase, path: Path) -> Iterator[str]:
    """Lines of at most ``MAX_LINE_CHARS``, without control characters (a file holding one is
    refused by the full check, which names its line)."""
    control = textfile._CONTROL
    while True:
        line = stream.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_LINE_CHARS:
            raise SpreadsheetError(f"a line is longer than {MAX_LINE_CHARS:,} characters")
        if control.search(line):
            textfile.detect_encoding(path)  # raises the refusal with its line
            raise textfile.FileRefused("file_control_chars", line="?")
        yield line


def _picker(indexes: list[int]) -> Callable[[Any], tuple]:
    """The cells at ``indexes`` as a tuple, through one ``itemgetter`` (which gives a bare cell,
    not a tuple, for a single index)."""
    if len(indexes) > 1:
        return itemgetter(*indexes)
    return lambda cells: tuple(cells[i] for i in indexes)


def records(source: FileSource, run: Any, first: Iterator[_Row], header: Any) -> Callable:
    """``Records`` for ``core.Run.run``: the file's rows after the header as field dicts;
    the totals line is skipped (and reported); ``skip`` is the lines a replay leaves out."""
    fresh = [first]
    fields = list(header.columns)
    width = max(header.columns.values(), default=-1) + 1
    pick = _picker(list(header.columns.values()))

    def read(skip: set[int]) -> Iterator[tuple[int, dict[str, Any]]]:
        rows = fresh.pop() if fresh else source.rows()
        for line, cells in rows:
            if line <= header.line or line in skip:
                continue
            padded = cells if len(cells) >= width else [*cells, *[None] * (width - len(cells))]
            raw = dict(zip(fields, pick(padded), strict=True))
            if not run.applying and is_total_row(cells):
                run.outcome.skipped_total_rows.append(line)
                continue
            yield line, raw

    return read
