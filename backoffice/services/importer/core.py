"""One import run over records (SPEC §3.1, issue 13): rows as dicts keyed by field, whether they
come from a file (``source``) or from JSON (``batch.import_records``).

The records are read ONCE, ``CHUNK_SIZE`` at a time. Each chunk is parsed, checked against the
database with one IN query per look-up, and written at once, all in ONE transaction:

- **all or nothing**: the first error stops the writing (the rest is only checked, so the
  report lists every problem of every row); at the end a run with errors is rolled back whole
  and REJECTED, unless the user asked for the valid rows only or a dry run;
- **valid rows only / dry run** with errors: the valid rows are written as they come; a
  duplicate found after its first line was written cannot be taken back, so then the run is
  rolled back and the records are read a second time, skipping every line in error (the only
  case where a file is read twice). A dry run rolls back at the end, so its counts are exact
  and nothing changes.

Idempotent: receivables are keyed by (company, document number) and payments by (company,
payment number); a row equal to what is stored changes nothing. Memory stays flat: the session
is emptied after each chunk, and only per-document keys (for duplicates) are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from backoffice.models.org import Company, SalesUnit
from backoffice.models.receivable import ImportKind, ImportStatus
from backoffice.services import amounts, textfile
from backoffice.services.importer.checks import FileChecks
from backoffice.services.importer.payments import PaymentRows
from backoffice.services.importer.receivables import ReceivableRows
from backoffice.services.importer.report import (
    TEXT_COLUMNS,
    WARNING_LINES_LISTED,
    Issue,
    Outcome,
    RowProblem,
)
from backoffice.services.importer.values import normalize_header, parse_amount, parse_date, text
from backoffice.services.spreadsheet import SpreadsheetError

# Progress callback: (percent 0..100, message, inside_open_transaction). While the import's
# transaction is open the callback must not commit the session (that would half-apply it).
Progress = Callable[[int, str, bool], None]
# Records: (line, {field: raw value}); ``skip`` is the set of lines a replay leaves out.
_MEMO_SIZE = 10_000
Records = Callable[[set[int]], Iterable[tuple[int, dict[str, Any]]]]


@dataclass
class Row:
    line: int
    raw: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    company_id: int | None = None


def _chunks(records: Iterable, size: int) -> Iterator[list]:
    it = iter(records)
    while chunk := list(islice(it, size)):
        yield chunk


# The pages an import's SQLite connection may keep while it runs (SQLite's default is 2 MB):
# the receivable table's eleven indexes of a 100k-row ledger do not fit in 2 MB, and inserting
# into them ran 35.6 µs a row with it against 16.3 µs with 64 MB (issue 13).
IMPORT_CACHE_KIB = 64 * 1024
_CACHE_BEFORE = "qq_cache_size_before_import"


def _page_cache(session: Session) -> None:
    """On SQLite, a larger page cache for the import's connection, until the connection goes
    back to the pool at the end of the import's transaction (``_page_cache_back``)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    info = conn.connection.info  # kept with the pooled connection
    if _CACHE_BEFORE not in info:
        info[_CACHE_BEFORE] = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}")


@event.listens_for(Pool, "checkin")
def _page_cache_back(dbapi_connection: Any, connection_record: Any) -> None:
    """A connection that ran an import gets its own page cache size back when checked in."""
    before = connection_record.info.pop(_CACHE_BEFORE, None)
    if before is not None and dbapi_connection is not None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA cache_size={int(before)}")
        cursor.close()


class Run(ReceivableRows, PaymentRows, FileChecks):
    def __init__(
        self,
        session: Session,
        kind: ImportKind,
        batch_id: int,
        options: dict[str, Any],
        progress: Progress,
    ):
        self.session = session
        self.kind = kind
        self.batch_id = batch_id
        self.dry_run = bool(options.get("dry_run"))
        self.valid_only = bool(options.get("valid_only"))
        self.company_code = options.get("company")
        self.progress = progress
        self.outcome = Outcome()
        self.columns: dict[str, int] = {}  # field → column (files) or position (records)
        self.headers: dict[str, str] = {}  # field → the header as the file wrote it
        self.applying = False  # a replay: issues were all collected by the first pass
        self.writing = True
        self.wrote = False
        self._memos: dict[Callable, dict[str, Any]] = {}
        self._init_file_checks()
        self._init_kind()

    @property
    def _key_field(self) -> str:
        return "doc_no" if self.kind == ImportKind.RECEIVABLES else "payment_no"

    # -- orchestration -------------------------------------------------------------------------

    def run(self, records: Records, fraction: Callable[[], float] = lambda: 0.0) -> ImportStatus:
        """Check and write ``records(set())`` in one pass; the caller commits or rolls back."""
        self.progress(1, "importing", False)
        self._pass(records(set()), fraction)
        self._settle_pending()
        self._name_duplicates()
        self.seen.clear()
        keep_valid = self.valid_only or self.dry_run
        if self.outcome.errors and not keep_valid:
            self.session.rollback()
            return ImportStatus.REJECTED
        if self.duplicates and self.wrote:
            # A line written before its duplicate was found: start again without the errors.
            self.session.rollback()
            self._init_file_checks()
            self._init_kind()
            self.outcome.created = self.outcome.updated = self.outcome.unchanged = 0
            self.applying = True
            self.progress(50, "applying", False)
            skip = self.outcome.error_lines | set(self.outcome.skipped_total_rows)
            self._pass(records(skip), fraction)
        if self.dry_run:
            self.session.rollback()
            return ImportStatus.CHECKED
        return ImportStatus.APPLIED

    def _pass(self, records: Iterable, fraction: Callable[[], float]) -> None:
        from backoffice.services import importer

        keep = set(self.session.identity_map.keys())
        _page_cache(self.session)
        done = 0
        for chunk in _chunks(records, importer.CHUNK_SIZE):
            rows = [Row(line, raw) for line, raw in chunk]
            if not self.applying:
                self.outcome.rows_total += len(rows)
            # All or nothing: after the first error nothing more is written (it is rolled back).
            self.writing = self.applying or self.valid_only or self.dry_run
            self.writing = self.writing or not self.outcome.errors
            if self.kind == ImportKind.RECEIVABLES:
                self._receivables_chunk(rows)
            else:
                self._payments_chunk(rows)
            self.session.flush()
            self._release(keep)
            done += len(rows)
            self.progress(min(99, 1 + int(98 * fraction())), f"importing: {done} rows", True)

    def _release(self, keep: set) -> None:
        """Flat memory: drop every object this chunk loaded or created (already flushed).

        Like ``expunge_all`` but objects the caller held before the import stay attached.
        """
        for key, obj in list(self.session.identity_map.items()):
            if key not in keep:
                self.session.expunge(obj)

    # -- reference data --------------------------------------------------------------------------

    def load_reference_data(self) -> None:
        companies = self.session.execute(select(Company.id, Company.code, Company.name)).all()
        self.company_by_key: dict[str, int] = {}
        for cid, _code, name in companies:
            self.company_by_key[normalize_header(name)] = cid
        for cid, code, _name in companies:  # codes win over names
            self.company_by_key[normalize_header(code)] = cid
        self.default_company: int | None = None
        if self.company_code:
            self.default_company = self.company_by_key.get(normalize_header(self.company_code))
            if self.default_company is None:
                raise SpreadsheetError(f"unknown company code {self.company_code!r}")
        elif len(companies) == 1:
            self.default_company = companies[0][0]
        units = self.session.execute(
            select(SalesUnit.id, SalesUnit.company_id, SalesUnit.code, SalesUnit.name)
        ).all()
        self.unit_by_key: dict[tuple[int, str], int] = {}
        for uid, cid, _code, name in units:
            self.unit_by_key[(cid, normalize_header(name))] = uid
        for uid, cid, code, _name in units:
            self.unit_by_key[(cid, normalize_header(code))] = uid
        self.unit_keys = {k for _cid, k in self.unit_by_key}
        self._norm_cache: dict[str, str] = {}

    def _norm(self, value: str) -> str:
        """``normalize_header`` of a company or unit as written, once per distinct text."""
        found = self._norm_cache.get(value)
        if found is None:
            if len(self._norm_cache) >= _MEMO_SIZE:
                self._norm_cache.clear()
            found = self._norm_cache[value] = normalize_header(value)
        return found

    # -- issues --------------------------------------------------------------------------------

    def _error(self, line, fld, value, code, **params) -> None:
        self.outcome.errors.append(self._issue(line, fld, value, code, params))

    def _warn(self, line, fld, value, code, **params) -> None:
        key = (fld, None if value is None else text(value)[:200], code)
        seen = self.outcome.warning_counts.get(key, 0) + 1
        self.outcome.warning_counts[key] = seen
        if seen <= WARNING_LINES_LISTED:
            self.outcome.warnings.append(self._issue(line, fld, value, code, params))

    def _issue(self, line, fld, value, code, params) -> Issue:
        column = self.headers.get(fld) if fld else None
        return Issue(line, column, fld, None if value is None else text(value)[:200], code, params)

    def _problem(self, row: Row, exc: RowProblem) -> None:
        self._error(row.line, exc.field, row.raw.get(exc.field), exc.code, **exc.params)

    # -- parsing shared by both kinds ------------------------------------------------------------

    def _parse_common(self, row: Row) -> list[RowProblem]:
        problems = []
        company_text = text(row.raw.get("company"))
        if company_text:
            row.company_id = self.company_by_key.get(self._norm(company_text))
            if row.company_id is None:
                problems.append(RowProblem("company", "unknown_company"))
        else:
            row.company_id = self.default_company
            if row.company_id is None:
                problems.append(RowProblem("company", "missing_company"))
        row.values["customer_code"] = text(row.raw.get("customer_code"))
        row.values["customer_name"] = text(row.raw.get("customer_name"))
        return problems

    def _amount(self, row: Row, problems: list[RowProblem]) -> None:
        value = row.raw.get("amount")
        if text(value) == "":
            problems.append(RowProblem("amount", "missing"))
            return
        try:
            row.values["amount"] = parse_amount(value)
        except amounts.AmountError as exc:
            problems.append(RowProblem("amount", exc.code, **exc.params))

    def _text_lengths(self, row: Row, problems: list[RowProblem]) -> None:
        values = row.values
        limits = self._text_limits
        texts = [values.get(fld) or "" for fld, _limit in limits]
        # One search for control characters over the row's texts; each text alone only if
        # one of them has one or is too long (rare).
        if not textfile._CONTROL.search("".join(texts)) and all(
            limit is None or len(value) <= limit
            for value, (_fld, limit) in zip(texts, limits, strict=True)
        ):
            return
        for value, (fld, limit) in zip(texts, limits, strict=True):
            found = textfile.text_problem(value, limit) if value else None
            if found is not None:
                problems.append(RowProblem(fld, found[0], **found[1]))

    @property
    def _text_limits(self) -> list[tuple[str, int | None]]:
        limits = getattr(self, "_limits", None)
        if limits is None:
            limits = self._limits = [
                (fld, textfile.column_length(column))
                for fld, column in TEXT_COLUMNS[self.kind].items()
            ]
        return limits

    def _date(self, row: Row, fld: str, problems: list[RowProblem], required: bool) -> None:
        value = row.raw.get(fld)
        if text(value) == "":
            row.values[fld] = None
            if required:
                problems.append(RowProblem(fld, "missing"))
            return
        row.values[fld] = found = self._memo(parse_date, value)
        if found is None:
            problems.append(RowProblem(fld, "bad_date"))

    def _memo(self, parse: Callable[[Any], Any], value: Any) -> Any:
        """``parse(value)``, None if it raises ValueError; remembered per text (an export
        repeats its dates, types and currencies on every row). Bounded, so memory stays flat."""
        if type(value) is not str:
            try:
                return parse(value)
            except ValueError:
                return None
        memo = self._memos.setdefault(parse, {})
        try:
            return memo[value]
        except KeyError:
            pass
        try:
            found = parse(value)
        except ValueError:
            found = None
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[value] = found
        return found
