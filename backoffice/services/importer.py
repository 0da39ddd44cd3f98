"""ERP import of receivables and payments (SPEC §3.1, issue 3 items 1–2).

An import reads an .xlsx or .csv export with Chinese or English headers and runs in two
streaming passes over the file, ``CHUNK_SIZE`` rows at a time:

1. **check**: every row is parsed and resolved against the database (companies, sales units,
   customers, users, existing documents) with one IN query per chunk; only the problems, the
   document numbers seen (for duplicates) and the customers to be created are kept;
2. **apply**: unless the check found errors (and the user did not ask for the valid rows only),
   rows are created or updated with one flush per chunk, all in ONE transaction, and the
   session is emptied after each chunk so memory stays flat. A dry run applies and then rolls
   back, so its counts are exact and nothing changes.

Idempotent: receivables are keyed by (company, document number) and payments by (company,
payment number); a row equal to what is stored changes nothing, so the same file twice is a
no-op. A changed amount updates the receivable (the audit hook records before/after) and its
outstanding amount. Every run leaves an ``ImportBatch`` with counts and the full report.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session

from backoffice.models.base import utcnow
from backoffice.models.customer import Customer
from backoffice.models.org import Company, SalesUnit
from backoffice.models.receivable import (
    ColumnMapping,
    Contract,
    ImportBatch,
    ImportKind,
    ImportStatus,
    Payment,
    PaymentKind,
    Receivable,
    ReceivableStatus,
    ReceivableType,
)
from backoffice.models.user import User
from backoffice.services import amounts, textfile
from backoffice.services.import_checks import FileChecks
from backoffice.services.spreadsheet import HEADER_SCAN_ROWS, SpreadsheetError, Table, open_table
from backoffice.services.textfile import FileRefused

CHUNK_SIZE = 1000

# Progress callback: (percent 0..100, message, inside_open_transaction). While the import's
# transaction is open the callback must not commit the session (that would half-apply it).
Progress = Callable[[int, str, bool], None]


def N_(text: str) -> str:  # noqa: N802 - Babel's default keyword for "translate later"
    return text


# ---------------------------------------------------------------------------------------------
# Headers: built-in synonyms, extended and overridden by saved ColumnMapping rows.

_COMMON = {
    "company": ["公司", "公司代码", "公司名称", "所属公司", "company", "company code"],
    "customer_code": ["客户编码", "客户代码", "客户编号", "customer code", "customer no"],
    "customer_name": ["客户名称", "客户", "customer name", "customer"],
}

SYNONYMS: dict[ImportKind, dict[str, list[str]]] = {
    ImportKind.RECEIVABLES: {
        **_COMMON,
        "doc_no": [
            "单据编号",
            "单据号",
            "发票号",
            "发票号码",
            "document no",
            "doc no",
            "invoice no",
        ],
        "doc_type": ["单据类型", "类型", "document type", "type"],
        "amount": ["应收金额", "金额", "amount"],
        "currency": ["币种", "货币", "currency"],
        "issue_date": ["开票日期", "单据日期", "issue date", "invoice date"],
        "due_date": ["到期日", "约定付款日", "到期日期", "due date"],
        "sales_unit": ["事业部", "销售部门", "sales unit", "unit"],
        "salesperson": ["业务员", "催收专员", "salesperson", "collector"],
        "contract": ["合同编号", "合同号", "contract", "contract no"],
    },
    ImportKind.PAYMENTS: {
        **_COMMON,
        "payment_no": ["回款单号", "收款单号", "payment no"],
        "amount": ["回款金额", "收款金额", "金额", "amount"],
        "received_on": ["回款日期", "收款日期", "日期", "received on", "date"],
        "doc_no_ref": ["对应单据", "发票号", "单据编号", "document no", "invoice no"],
        "kind": ["类型", "type", "kind"],
        "note": ["备注", "摘要", "note"],
        # Only needed when a payment names a customer the ledger does not know yet.
        "sales_unit": ["事业部", "销售部门", "sales unit", "unit"],
    },
}

REQUIRED = {
    ImportKind.RECEIVABLES: ("doc_no", "amount", "due_date"),
    ImportKind.PAYMENTS: ("payment_no", "amount", "received_on"),
}

FIELD_LABELS = {
    "company": N_("Company"),
    "customer_code": N_("Customer code"),
    "customer_name": N_("Customer name"),
    "doc_no": N_("Document no."),
    "doc_type": N_("Document type"),
    "amount": N_("Amount"),
    "currency": N_("Currency"),
    "issue_date": N_("Issue date"),
    "due_date": N_("Due date"),
    "sales_unit": N_("Sales unit"),
    "salesperson": N_("Salesperson"),
    "contract": N_("Contract"),
    "payment_no": N_("Payment no."),
    "received_on": N_("Received on"),
    "doc_no_ref": N_("Document paid"),
    "kind": N_("Type"),
    "note": N_("Note"),
}


def normalize_header(text: Any) -> str:
    """Compare headers loosely: full-width → half-width, case, spaces, ``*``, units in ()."""
    s = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    s = re.sub(r"\((元|rmb|cny|yuan)\)$", "", s)
    return re.sub(r"[\s*:_.]", "", s)


def synonym_table(session: Session, kind: ImportKind) -> dict[str, tuple[str, int]]:
    """Normalised header → (field, priority); saved mappings (priority -1) win. Reads only."""
    table: dict[str, tuple[str, int]] = {}
    for fld, names in SYNONYMS[kind].items():
        for rank, name in enumerate(names):
            key = normalize_header(name)
            if key not in table or table[key][1] > rank:
                table[key] = (fld, rank)
    for header, fld in session.execute(
        select(ColumnMapping.header, ColumnMapping.field).where(ColumnMapping.kind == kind)
    ):
        if fld in SYNONYMS[kind]:
            table[normalize_header(header)] = (fld, -1)
    return table


def map_columns(
    cells: list[Any], synonyms: dict[str, tuple[str, int]]
) -> tuple[dict[str, int], list[str]]:
    """Field → column index for one header row, and the headers nobody uses."""
    best: dict[str, tuple[int, int]] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        hit = synonyms.get(normalize_header(cell))
        if hit is None:
            if cell not in (None, ""):
                ignored.append(str(cell))
            continue
        fld, rank = hit
        if fld not in best or rank < best[fld][1]:
            if fld in best:
                ignored.append(str(cells[best[fld][0]]))
            best[fld] = (index, rank)
        else:
            ignored.append(str(cell))
    return {fld: index for fld, (index, _rank) in best.items()}, ignored


# ---------------------------------------------------------------------------------------------
# Values


def parse_amount(value: Any) -> Decimal:
    """The signed amount in a cell, by the one grammar in ``backoffice/services/amounts.py``.

    Raises ``amounts.AmountError`` (a ``ValueError``) whose code names the reason.
    """
    return amounts.parse_amount(value)


EXCEL_EPOCH = date(1899, 12, 30)
_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SERIAL = re.compile(r"\d{1,6}(\.\d+)?")


def _checked(d: date) -> date:
    if not 1900 <= d.year <= 2199:
        raise ValueError("year out of range")
    return d


def parse_date(value: Any) -> date:
    """Excel serials, date cells, ``2026-03-01``, ``2026/3/1``, ``2026年3月1日``,
    ``20260301`` (also with a time after it). Raises ``ValueError`` otherwise."""
    if isinstance(value, datetime):
        return _checked(value.date())
    if isinstance(value, date):
        return _checked(value)
    if isinstance(value, bool):
        raise ValueError("not a date")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("not a date")
        return _from_number(value)
    s = unicodedata.normalize("NFKC", str(value)).strip()
    s = re.split(r"[ T]\d{1,2}:\d{2}", s, maxsplit=1)[0].strip()
    if m := _YMD.fullmatch(s):
        return _checked(date(int(m[1]), int(m[2]), int(m[3])))
    if m := _COMPACT.fullmatch(s):
        return _checked(date(int(m[1]), int(m[2]), int(m[3])))
    if _SERIAL.fullmatch(s):
        return _from_number(float(s))
    raise ValueError("not a date")


def _from_number(n: float) -> date:
    if 19000101 <= n <= 21991231 and n == int(n):
        return parse_date(str(int(n)))
    if 1 <= n <= 109_574:  # 2199-12-31
        return _checked(EXCEL_EPOCH + timedelta(days=int(n)))
    raise ValueError("not a date")


def text(value: Any) -> str:
    """A cell as clean text: numbers without a trailing ``.0``, full-width folded."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return unicodedata.normalize("NFKC", str(value)).strip()


DOC_TYPES = {
    "product": ReceivableType.PRODUCT,
    "货款": ReceivableType.PRODUCT,
    "产品货款": ReceivableType.PRODUCT,
    "销售发票": ReceivableType.PRODUCT,
    "project": ReceivableType.PROJECT,
    "工程款": ReceivableType.PROJECT,
    "项目款": ReceivableType.PROJECT,
    "工程项目款": ReceivableType.PROJECT,
    "freight": ReceivableType.FREIGHT,
    "运费": ReceivableType.FREIGHT,
    "代垫运费": ReceivableType.FREIGHT,
    "垫付运费": ReceivableType.FREIGHT,
}


_DOC_TYPE_NAMES: dict[str, dict[str, ReceivableType]] = {}


def _doc_type_names() -> dict[str, ReceivableType]:
    """Codes and (translated) labels of the document types, built once per locale: looking
    labels up per row would translate them a hundred thousand times."""
    from flask_babel import get_locale

    locale = str(get_locale())
    names = _DOC_TYPE_NAMES.get(locale)
    if names is None:
        names = {}
        for member in ReceivableType:
            names[member.value] = member
            names[normalize_header(member.label)] = member
        _DOC_TYPE_NAMES[locale] = names
    return names


def parse_doc_type(value: Any) -> ReceivableType:
    """Art.2: product payment, project payment or advanced freight; blank means product."""
    s = normalize_header(value)
    if not s:
        return ReceivableType.PRODUCT
    member = _doc_type_names().get(s)
    if member is not None:
        return member
    if s in DOC_TYPES:
        return DOC_TYPES[s]
    if "运费" in s:
        return ReceivableType.FREIGHT
    if "工程" in s or "项目" in s:
        return ReceivableType.PROJECT
    if "货" in s or "发票" in s or "销售" in s:
        return ReceivableType.PRODUCT
    raise ValueError("unknown document type")


def parse_payment_kind(value: Any) -> PaymentKind:
    """回款 / 收款 = payment; 红字 / 贷项 / 折让 / credit note = credit note; blank = payment."""
    s = normalize_header(value)
    if not s or s in ("回款", "收款", "payment", "货款回款", "银行收款"):
        return PaymentKind.PAYMENT
    if s in ("红字", "贷项", "贷项通知单", "红字发票", "creditnote", "credit", "折让"):
        return PaymentKind.CREDIT_NOTE
    if "红字" in s or "贷项" in s:
        return PaymentKind.CREDIT_NOTE
    if "回款" in s or "收款" in s:
        return PaymentKind.PAYMENT
    raise ValueError("unknown payment type")


CURRENCIES = {"人民币": "CNY", "rmb": "CNY", "美元": "USD", "欧元": "EUR", "港币": "HKD",
              "港元": "HKD", "日元": "JPY"}  # fmt: skip


def parse_currency(value: Any) -> str:
    s = normalize_header(value)
    if not s:
        return "CNY"
    if s in CURRENCIES:
        return CURRENCIES[s]
    if re.fullmatch(r"[a-z]{3}", s):
        return s.upper()
    raise ValueError("unknown currency")


# ---------------------------------------------------------------------------------------------
# The report


REASONS = {
    "missing_columns": N_("Required column(s) missing: %(columns)s"),
    "no_header": N_("No header row found in the first %(rows)s rows"),
    "file": N_("The file was refused: %(detail)s"),
    "missing": N_("Missing value"),
    "bad_amount": N_("Bad amount"),
    "bad_date": N_("Bad date"),
    "negative_amount": N_("A receivable cannot have a negative amount"),
    "not_positive": N_("The amount must be greater than zero"),
    "due_before_issue": N_("The due date is before the issue date"),
    "bad_doc_type": N_("Unknown document type"),
    "bad_payment_kind": N_("Unknown payment type"),
    "bad_currency": N_("Unknown currency"),
    "missing_customer": N_("Missing customer (neither code nor name)"),
    "unknown_customer": N_("Unknown customer"),
    "ambiguous_customer": N_("Several customers have this name; give the customer code"),
    "new_customer_needs_name": N_("A new customer needs a name"),
    "new_customer_needs_code": N_("A new customer needs a code"),
    "customer_mismatch": N_("The document belongs to customer %(customer)s"),
    "unknown_unit": N_("Unknown sales unit (units are configured by an administrator)"),
    "missing_unit": N_("Missing sales unit"),
    "unknown_company": N_("Unknown company"),
    "missing_company": N_("Missing company (give a company column or --company)"),
    "duplicate": N_("Duplicate in this file (also on line %(other)s)"),
    "unknown_document": N_("No receivable with this document number"),
    "below_paid": N_(
        "The new amount %(amount)s is below what is paid or written off (%(paid)s): "
        "the excess payments become unallocated"
    ),
    "written_off": N_("The receivable is written off and cannot be changed"),
    "payment_changed": N_(
        "This payment was imported before with different values; it is not changed"
    ),
    "unassigned": N_("No user matches salesperson %(name)s: kept as a name, unassigned"),
    "no_salesperson": N_("No salesperson: the receivable is unassigned"),
    "unknown_contract": N_("Unknown contract %(number)s: not linked"),
    **amounts.REASONS,
    **textfile.REASONS,
}

# Cells stored in a String(n) column must fit it on SQLite too (PostgreSQL would refuse the
# whole import with an error instead of naming the row).
TEXT_COLUMNS = {
    ImportKind.RECEIVABLES: {
        "doc_no": Receivable.doc_no,
        "customer_code": Customer.erp_code,
        "customer_name": Customer.name,
        "salesperson": Receivable.collector_name,
    },
    ImportKind.PAYMENTS: {
        "payment_no": Payment.payment_no,
        "customer_code": Customer.erp_code,
        "customer_name": Customer.name,
        "doc_no_ref": Payment.doc_no_ref,
        "note": Payment.note,
    },
}


@dataclass
class Issue:
    """One problem: an error stops the row (and, by default, the file); a warning does not."""

    line: int | None
    column: str | None
    field: str | None
    value: str | None
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return REASONS[self.code] % self.params if self.params else REASONS[self.code]

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "value": self.value,
            "code": self.code,
            "params": {k: str(v) for k, v in self.params.items()},
            "message": self.message,
        }


class RowProblem(Exception):
    def __init__(self, fld: str | None, code: str, **params: Any):
        super().__init__(code)
        self.field, self.code, self.params = fld, code, params


WARNING_LINES_LISTED = 20  # lines listed per identical warning; the rest are counted


@dataclass
class Outcome:
    """What one run found and did; becomes ``ImportBatch.report``."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    # The same warning (field, value, reason) on many rows is listed for its first lines and
    # then only counted, so a large file's report (and memory) does not grow with it.
    warning_counts: dict[tuple, int] = field(default_factory=dict)
    new_customers: dict[tuple[int, str], dict] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    header_line: int | None = None
    rows_total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_total_rows: list[int] = field(default_factory=list)
    fatal: str | None = None

    @property
    def error_lines(self) -> set[int]:
        return {i.line for i in self.errors if i.line is not None}

    def report(self, options: dict[str, Any]) -> dict[str, Any]:
        return {
            "options": options,
            "fatal": self.fatal,
            "header_line": self.header_line,
            "columns": self.columns,
            "ignored_columns": self.ignored_columns,
            "errors": [i.as_dict() for i in sorted(self.errors, key=_issue_order)],
            "warnings": [i.as_dict() for i in sorted(self.warnings, key=_issue_order)],
            "repeated_warnings": [
                {"field": k[0], "value": k[1], "code": k[2], "more": n - WARNING_LINES_LISTED}
                for k, n in self.warning_counts.items()
                if n > WARNING_LINES_LISTED
            ],
            "new_customers": sorted(self.new_customers.values(), key=lambda c: c["line"]),
            "skipped_total_rows": self.skipped_total_rows,
            "error_rows": len(self.error_lines),
        }


def _issue_order(issue: Issue) -> tuple[int, str]:
    return (issue.line or 0, issue.column or "")


# ---------------------------------------------------------------------------------------------
# The batch: create it, run it.


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def create_batch(
    session: Session,
    *,
    kind: ImportKind | str,
    path: str | Path,
    filename: str,
    dry_run: bool = False,
    valid_only: bool = False,
    company_code: str | None = None,
    user_id: int | None = None,
    storage_key: str | None = None,
) -> ImportBatch:
    """Record a pending import of the file at ``path`` and commit it. Changes no ledger row."""
    batch = ImportBatch(
        kind=ImportKind(kind),
        filename=filename[:255],
        sha256=file_sha256(path),
        storage_key=storage_key,
        dry_run=dry_run,
        valid_only=valid_only,
        user_id=user_id,
        status=ImportStatus.PENDING,
        report={"options": {"company": company_code}},
    )
    session.add(batch)
    session.commit()
    return batch


def import_file(
    session: Session,
    path: str | Path,
    kind: ImportKind | str,
    *,
    filename: str | None = None,
    dry_run: bool = False,
    valid_only: bool = False,
    company_code: str | None = None,
    user_id: int | None = None,
    progress: Progress | None = None,
) -> ImportBatch:
    """Import ``path`` now (CLI and tests): ``create_batch`` then ``run_batch``.

    Side effects: one ImportBatch row always; ledger rows only when the run is applied.
    Idempotent: running the same file again changes no ledger row.
    """
    batch = create_batch(
        session,
        kind=kind,
        path=path,
        filename=filename or Path(path).name,
        dry_run=dry_run,
        valid_only=valid_only,
        company_code=company_code,
        user_id=user_id,
    )
    return run_batch(session, batch.id, path, progress=progress)


def run_batch(
    session: Session, batch_id: int, path: str | Path, progress: Progress | None = None
) -> ImportBatch:
    """Check and (unless rejected or a dry run) apply the file of batch ``batch_id``.

    All ledger changes and the batch's final counts are committed together, or not at all.
    A hostile or unreadable file ends as FAILED with its message; an unexpected error rolls
    back, marks the batch FAILED and is raised again (so a job fails loudly).
    """
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise LookupError(f"import batch {batch_id} does not exist")
    kind, filename = batch.kind, batch.filename
    options = dict((batch.report or {}).get("options") or {})
    options.update(dry_run=batch.dry_run, valid_only=batch.valid_only)
    session.commit()
    runner = _Run(session, kind, batch_id, options, progress or (lambda *a: None))
    try:
        status = runner.run(path, filename)
    except (SpreadsheetError, FileRefused) as exc:
        # A refused file is a finished run (the job does not fail, so RQ does not retry it).
        session.rollback()
        runner.outcome.fatal = str(exc)
        code, params = getattr(exc, "code", "file"), getattr(exc, "params", {"detail": str(exc)})
        runner.outcome.errors.append(Issue(None, None, None, None, code, params))
        status = ImportStatus.FAILED
    except Exception as exc:
        session.rollback()
        runner.outcome.fatal = f"{type(exc).__name__}: {exc}"[:2000]
        _finish(session, batch_id, runner.outcome, options, ImportStatus.FAILED)
        session.commit()
        raise
    _finish(session, batch_id, runner.outcome, options, status)
    session.commit()
    return session.get(ImportBatch, batch_id)


def _finish(
    session: Session, batch_id: int, outcome: Outcome, options: dict, status: ImportStatus
) -> None:
    batch = session.get(ImportBatch, batch_id)
    batch.status = status
    batch.rows_total = outcome.rows_total
    batch.rows_created = outcome.created
    batch.rows_updated = outcome.updated
    batch.rows_unchanged = outcome.unchanged
    batch.rows_error = len(outcome.error_lines)
    batch.report = outcome.report(options)
    batch.finished_at = utcnow()


# ---------------------------------------------------------------------------------------------
# One run


@dataclass
class _Row:
    line: int
    raw: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    company_id: int | None = None


class _Run(FileChecks):
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
        self.columns: dict[str, int] = {}
        self.headers: dict[str, str] = {}
        # Pass-1 state: small per document / customer, never ORM objects.
        self.seen: dict[tuple[int, str], int] = {}
        self.applying = False  # warnings are collected once, in the check pass
        self.duplicates: set[tuple] = set()
        self._init_file_checks()

    # -- orchestration -------------------------------------------------------------------------

    def run(self, path: str | Path, filename: str) -> ImportStatus:
        cfg = current_app.config
        table = open_table(
            path,
            filename,
            cfg["IMPORT_MAX_BYTES"],
            cfg.get("IMPORT_MAX_UNCOMPRESSED_BYTES"),
        )
        self._load_reference_data()
        if not self._find_header(table):
            return ImportStatus.REJECTED
        self.progress(1, "checking", False)
        self._pass(table, apply=False)
        self._settle_pending()
        for key in self.duplicates:  # name the first occurrence as well
            first = self.seen[key]
            self._error(first, self._key_field, key[1], "duplicate", other="…")
        self._fill_duplicate_partners()
        self.session.rollback()  # pass 1 only read; end its transaction
        if self.outcome.errors and not (self.valid_only or self.dry_run):
            return ImportStatus.REJECTED
        # Pass 2 counts afresh; pass 1 planned the new customers only for the report.
        self.outcome.created = self.outcome.updated = self.outcome.unchanged = 0
        self.progress(50, "applying", False)
        self._pass(table, apply=True)
        if self.dry_run:
            self.session.rollback()
            return ImportStatus.CHECKED
        return ImportStatus.APPLIED

    def _pass(self, table: Table, apply: bool) -> None:
        done = 0
        self.applying = apply
        keep = set(self.session.identity_map.keys())
        skip = self.outcome.error_lines | set(self.outcome.skipped_total_rows) if apply else set()
        for chunk in table.chunks(CHUNK_SIZE):
            rows = []
            for line, cells in chunk:
                if line <= (self.outcome.header_line or 0):
                    continue
                if line in skip:
                    continue
                raw = {
                    fld: (cells[i] if i < len(cells) else None) for fld, i in self.columns.items()
                }
                if not apply and _is_total_row(cells):
                    self.outcome.skipped_total_rows.append(line)
                    continue
                rows.append(_Row(line, raw))
            if not apply:
                self.outcome.rows_total += len(rows)
            if self.kind == ImportKind.RECEIVABLES:
                self._receivables_chunk(rows, apply)
            else:
                self._payments_chunk(rows, apply)
            if apply:
                self.session.flush()
            self._release(keep)
            done += len(chunk)
            base, span = (50, 50) if apply else (0, 50)
            self.progress(
                base + int(span * table.fraction_read()),
                f"{'applying' if apply else 'checking'}: {done} rows",
                apply,
            )

    @property
    def _key_field(self) -> str:
        return "doc_no" if self.kind == ImportKind.RECEIVABLES else "payment_no"

    def _release(self, keep: set) -> None:
        """Flat memory: drop every object this chunk loaded or created (already flushed).

        Like ``expunge_all`` but objects the caller held before the import stay attached.
        """
        for key, obj in list(self.session.identity_map.items()):
            if key not in keep:
                self.session.expunge(obj)

    def _fill_duplicate_partners(self) -> None:
        lines_by_key: dict[str, list[int]] = {}
        for issue in self.outcome.errors:
            if issue.code == "duplicate":
                lines_by_key.setdefault(issue.value or "", []).append(issue.line or 0)
        for issue in self.outcome.errors:
            if issue.code == "duplicate":
                others = sorted(set(lines_by_key[issue.value or ""]) - {issue.line})
                issue.params = {"other": ", ".join(str(n) for n in others)}

    # -- header and reference data -------------------------------------------------------------

    def _find_header(self, table: Table) -> bool:
        synonyms = synonym_table(self.session, self.kind)
        required = REQUIRED[self.kind]
        best = None
        rows = table.rows()
        try:
            for count, (line, cells) in enumerate(rows, start=1):
                mapping, ignored = map_columns(cells, synonyms)
                if best is None or len(mapping) > len(best[1]):
                    best = (line, mapping, ignored, cells)
                if all(f in mapping for f in required) or count >= HEADER_SCAN_ROWS:
                    break
        finally:
            rows.close()
        if best is None or len(best[1]) < 2:
            self._error(None, None, None, "no_header", rows=HEADER_SCAN_ROWS)
            self.outcome.fatal = REASONS["no_header"] % {"rows": HEADER_SCAN_ROWS}
            return False
        line, mapping, ignored, cells = best
        self.outcome.header_line = line
        self.columns = mapping
        self.headers = {fld: str(cells[i]) for fld, i in mapping.items()}
        self.outcome.columns = dict(self.headers)
        self.outcome.ignored_columns = ignored
        missing = [f for f in required if f not in mapping]
        if self.kind == ImportKind.RECEIVABLES and not (
            "customer_code" in mapping or "customer_name" in mapping
        ):
            missing.append("customer_name")
        if missing:
            names = ", ".join(f"{SYNONYMS[self.kind][f][0]} ({f})" for f in missing)
            self._error(line, None, None, "missing_columns", columns=names)
            self.outcome.fatal = REASONS["missing_columns"] % {"columns": names}
            return False
        return True

    def _load_reference_data(self) -> None:
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
        self.unit_company: dict[int, int] = {}
        for uid, cid, _code, name in units:
            self.unit_by_key[(cid, normalize_header(name))] = uid
            self.unit_company[uid] = cid
        for uid, cid, code, _name in units:
            self.unit_by_key[(cid, normalize_header(code))] = uid

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

    def _problem(self, row: _Row, exc: RowProblem) -> None:
        self._error(row.line, exc.field, row.raw.get(exc.field), exc.code, **exc.params)

    # -- parsing shared by both kinds ------------------------------------------------------------

    def _parse_common(self, row: _Row) -> list[RowProblem]:
        problems = []
        company_text = text(row.raw.get("company"))
        if company_text:
            row.company_id = self.company_by_key.get(normalize_header(company_text))
            if row.company_id is None:
                problems.append(RowProblem("company", "unknown_company"))
        else:
            row.company_id = self.default_company
            if row.company_id is None:
                problems.append(RowProblem("company", "missing_company"))
        row.values["customer_code"] = text(row.raw.get("customer_code"))
        row.values["customer_name"] = text(row.raw.get("customer_name"))
        return problems

    def _amount(self, row: _Row, problems: list[RowProblem]) -> None:
        value = row.raw.get("amount")
        if text(value) == "":
            problems.append(RowProblem("amount", "missing"))
            return
        try:
            row.values["amount"] = parse_amount(value)
        except amounts.AmountError as exc:
            problems.append(RowProblem("amount", exc.code, **exc.params))

    def _text_lengths(self, row: _Row, problems: list[RowProblem]) -> None:
        for fld, column in TEXT_COLUMNS[self.kind].items():
            value = row.values.get(fld)
            found = textfile.text_problem(value, textfile.column_length(column)) if value else None
            if found is not None:
                problems.append(RowProblem(fld, found[0], **found[1]))

    def _date(self, row: _Row, fld: str, problems: list[RowProblem], required: bool) -> None:
        value = row.raw.get(fld)
        if text(value) == "":
            row.values[fld] = None
            if required:
                problems.append(RowProblem(fld, "missing"))
            return
        try:
            row.values[fld] = parse_date(value)
        except ValueError:
            problems.append(RowProblem(fld, "bad_date"))

    def _check_duplicate(self, row: _Row, key_value: str, apply: bool) -> bool:
        """Pass 1: remember the key; a repeat is an error on every line that carries it."""
        if apply:
            return True
        key = self._dup_key(row, key_value)
        if key in self.seen:
            self.duplicates.add(key)
            self._error(row.line, self._key_field, key_value, "duplicate", other="…")
            return False
        self.seen[key] = row.line
        return True

    def _customers(self, rows: list[_Row]) -> tuple[dict, dict]:
        """Existing customers of the chunk by (company, code) and by (company, name)."""
        codes = {r.values["customer_code"] for r in rows if r.values.get("customer_code")}
        names = {
            r.values["customer_name"]
            for r in rows
            if r.values.get("customer_name") and not r.values.get("customer_code")
        }
        by_code: dict[tuple[int, str], tuple] = {}
        by_name: dict[tuple[int, str], list[tuple]] = {}
        cols = (Customer.id, Customer.company_id, Customer.erp_code, Customer.name)
        cols += (Customer.sales_unit_id,)
        if codes:
            for c in self.session.execute(select(*cols).where(Customer.erp_code.in_(codes))):
                by_code[(c.company_id, c.erp_code)] = c
        if names:
            for c in self.session.execute(select(*cols).where(Customer.name.in_(names))):
                by_name.setdefault((c.company_id, c.name), []).append(c)
        return by_code, by_name

    # -- receivables -----------------------------------------------------------------------------

    def _parse_receivable(self, row: _Row) -> list[RowProblem]:
        problems = self._parse_common(row)
        doc_no = text(row.raw.get("doc_no"))
        row.values["doc_no"] = doc_no
        if not doc_no:
            problems.append(RowProblem("doc_no", "missing"))
        self._amount(row, problems)
        if row.values.get("amount") is not None and row.values["amount"] < 0:
            problems.append(RowProblem("amount", "negative_amount"))
        elif row.values.get("amount") == 0:
            problems.append(RowProblem("amount", "not_positive"))
        self._date(row, "due_date", problems, required=True)
        self._date(row, "issue_date", problems, required=False)
        due, issued = row.values.get("due_date"), row.values.get("issue_date")
        if due and issued and due < issued:
            problems.append(RowProblem("due_date", "due_before_issue"))
        try:
            row.values["doc_type"] = parse_doc_type(row.raw.get("doc_type"))
        except ValueError:
            problems.append(RowProblem("doc_type", "bad_doc_type"))
        try:
            row.values["currency"] = parse_currency(row.raw.get("currency"))
        except ValueError:
            problems.append(RowProblem("currency", "bad_currency"))
        if not row.values["customer_code"] and not row.values["customer_name"]:
            problems.append(RowProblem("customer_name", "missing_customer"))
        self._unit(row, problems)
        row.values["salesperson"] = text(row.raw.get("salesperson"))
        row.values["contract"] = text(row.raw.get("contract"))
        self._text_lengths(row, problems)
        return problems

    def _receivables_chunk(self, rows: list[_Row], apply: bool) -> None:
        good, checked = self._split(rows, self._parse_receivable, apply)
        if not good and not checked:
            return
        both = good + [r for r, _f in checked]
        by_code, by_name = self._customers(both)
        users = self._users({r.values["salesperson"] for r in good if r.values["salesperson"]})
        contracts = self._contracts({r.values["contract"] for r in good if r.values["contract"]})
        with_doc = [r for r in both if r.values.get("doc_no")]
        existing = self._existing_receivables(with_doc, load_objects=apply)
        for row, fields in checked:  # bad rows: list their other problems too, plan nothing
            current = existing.get((row.company_id, row.values["doc_no"]))
            if not fields & {"customer_code", "customer_name"}:
                unit_ok = "sales_unit" not in fields
                self._resolve_customer(row, by_code, by_name, plan=False, unit_checked=unit_ok)
            if current is not None and row.values.get("amount") is not None:
                self._check_existing(row, current)
        new_customers: dict[tuple[int, str], Customer] = {}
        resolved: list[tuple[_Row, Any]] = []
        for row in good:
            key = (row.company_id, row.values["doc_no"])
            current = existing.get(key)
            customer = self._resolve_customer(row, by_code, by_name, counted=current is None)
            if customer is None:
                continue
            if current is not None and not self._check_existing(row, current):
                continue
            if customer == "new":
                ckey = (row.company_id, row.values["customer_code"])
                if apply and ckey not in new_customers:
                    new_customers[ckey] = self._new_customer(ckey)
                resolved.append((row, ckey))
            else:
                resolved.append((row, customer))
            self._assign_collector(row, users)
            self._link_contract(row, contracts)
        if not apply:
            for row, _c in resolved:
                if existing.get((row.company_id, row.values["doc_no"])) is None:
                    self.outcome.created += 1
            return
        if new_customers:
            self.session.flush()
        self.touched_customers: set[int] = set()
        for row, customer in resolved:
            if isinstance(customer, tuple):
                customer_id = new_customers[customer].id
                unit_id = self._new_customer_unit(row, customer)
            else:
                customer_id = customer.id
                unit_id = row.values["unit_id"] or customer.sales_unit_id
            self._apply_receivable(
                row, customer_id, unit_id, existing.get((row.company_id, row.values["doc_no"]))
            )
        self._apply_waiting_money()

    def _apply_waiting_money(self) -> None:
        """Money received before its receivable arrived is applied now (oldest first)."""
        if not self.touched_customers:
            return
        from backoffice.services.payments import apply_unallocated

        self.session.flush()
        waiting = self.session.scalars(
            select(Payment.customer_id)
            .where(Payment.customer_id.in_(self.touched_customers), Payment.unallocated > 0)
            .distinct()
        ).all()
        for customer_id in sorted(waiting):
            apply_unallocated(self.session, customer_id)

    def _resolve_customer(
        self,
        row: _Row,
        by_code: dict,
        by_name: dict,
        plan: bool = True,
        unit_checked: bool = True,
        counted: bool = False,
    ) -> Any:
        """An existing customer row, ``"new"`` (to be created), or None (error recorded).

        ``plan=False`` checks a bad row only; ``unit_checked=False``: its unit is already
        reported as unknown, so a missing unit is not reported again."""
        code, name = row.values["customer_code"], row.values["customer_name"]
        no_unit = unit_checked and row.values.get("unit_id") is None
        if code:
            found = by_code.get((row.company_id, code))
            if found is not None:
                if no_unit and found.sales_unit_id is None:
                    self._error(row.line, "sales_unit", None, "missing_unit")
                    return None
                return found
            if self._file_customer(row, plan, unit_checked, counted):
                return "new"
            return None
        matches = by_name.get((row.company_id, name), [])
        if len(matches) == 1:
            if no_unit and matches[0].sales_unit_id is None:
                self._error(row.line, "sales_unit", None, "missing_unit")
                return None
            return matches[0]
        if len(matches) > 1:
            self._error(row.line, "customer_name", name, "ambiguous_customer")
        else:
            self._error(row.line, "customer_code", None, "new_customer_needs_code")
        return None

    def _users(self, names: set[str]) -> dict[str, int | None]:
        """Salesperson → user id by employee code, else by display name (None: ambiguous)."""
        if not names:
            return {}
        rows = self.session.execute(
            select(User.id, User.employee_code, User.display_name).where(
                or_(User.employee_code.in_(names), User.display_name.in_(names))
            )
        ).all()
        found: dict[str, int | None] = {}
        for uid, _code, name in rows:
            if name in names:
                found[name] = uid if name not in found else None
        for uid, code, _name in rows:
            if code in names:
                found[code] = uid
        return found

    def _assign_collector(self, row: _Row, users: dict[str, int | None]) -> None:
        # SPEC §3.1 / Art.7: the salesperson is the collector; unknown names are kept, flagged.
        name = row.values["salesperson"]
        row.values["collector_id"] = users.get(name) if name else None
        row.values["collector_name"] = name or None
        if row.values["collector_id"] is None and not self.applying:
            if name:
                self._warn(row.line, "salesperson", name, "unassigned", name=name)
            else:
                self._warn(row.line, "salesperson", None, "no_salesperson")

    def _contracts(self, numbers: set[str]) -> dict[tuple[int, str], int]:
        if not numbers:
            return {}
        rows = self.session.execute(
            select(Contract.id, Contract.company_id, Contract.number).where(
                Contract.number.in_(numbers)
            )
        )
        return {(cid, number): id_ for id_, cid, number in rows}

    def _link_contract(self, row: _Row, contracts: dict) -> None:
        number = row.values["contract"]
        row.values["contract_id"] = contracts.get((row.company_id, number)) if number else None
        if number and row.values["contract_id"] is None and not self.applying:
            self._warn(row.line, "contract", number, "unknown_contract", number=number)

    def _existing_receivables(self, rows: list[_Row], load_objects: bool) -> dict:
        keys = {(r.company_id, r.values["doc_no"]) for r in rows}
        if not keys:
            return {}
        doc_nos = {k[1] for k in keys}
        if load_objects:
            stmt = select(Receivable).where(Receivable.doc_no.in_(doc_nos))
            found = self.session.scalars(stmt)
        else:
            stmt = select(
                Receivable.id,
                Receivable.company_id,
                Receivable.doc_no,
                Receivable.paid_amount,
                Receivable.written_off_amount,
                Receivable.status,
                Receivable.amount,
            ).where(Receivable.doc_no.in_(doc_nos))
            found = self.session.execute(stmt)
        return {(r.company_id, r.doc_no): r for r in found if (r.company_id, r.doc_no) in keys}

    def _check_existing(self, row: _Row, current: Any) -> bool:
        amount = row.values["amount"]
        if amount == current.amount:
            return True
        if current.status == ReceivableStatus.WRITTEN_OFF:
            self._error(row.line, "amount", amount, "written_off")
            return False
        settled = (current.paid_amount or 0) + (current.written_off_amount or 0)
        if amount < settled and not self.applying:
            # The ERP is the master: the amount is lowered and the excess payments become
            # unallocated (visible on the payment), which the user should know.
            self._warn(row.line, "amount", amount, "below_paid", amount=amount, paid=settled)
        return True

    def _apply_receivable(
        self, row: _Row, customer_id: int, unit_id: int | None, current: Receivable | None
    ) -> None:
        v = row.values
        wanted = {
            "customer_id": customer_id,
            "sales_unit_id": unit_id,
            "doc_type": v["doc_type"],
            "amount": v["amount"],
            "currency": v["currency"],
            "issue_date": v["issue_date"],
            "due_date": v["due_date"],
            "collector_id": v["collector_id"],
            "collector_name": v["collector_name"],
        }
        if v["contract_id"] is not None:
            wanted["contract_id"] = v["contract_id"]
        if current is None:
            self.session.add(
                Receivable(
                    company_id=row.company_id,
                    doc_no=v["doc_no"],
                    paid_amount=Decimal("0"),
                    written_off_amount=Decimal("0"),
                    outstanding=v["amount"],
                    status=ReceivableStatus.OPEN,
                    import_batch_id=self.batch_id,
                    **wanted,
                )
            )
            self.touched_customers.add(customer_id)
            self.outcome.created += 1
            return
        changed = {k: val for k, val in wanted.items() if getattr(current, k) != val}
        if not changed:
            self.outcome.unchanged += 1
            return
        for k, val in changed.items():
            setattr(current, k, val)
        current.import_batch_id = self.batch_id
        if "amount" in changed:
            from backoffice.services.payments import recompute_receivable

            # outstanding = amount − paid − written off; allocations trimmed if it fell below.
            recompute_receivable(self.session, current)
            self.touched_customers.add(customer_id)
        self.outcome.updated += 1

    # -- payments ------------------------------------------------------------------------------

    def _parse_payment(self, row: _Row) -> list[RowProblem]:
        problems = self._parse_common(row)
        row.values["payment_no"] = text(row.raw.get("payment_no"))
        if not row.values["payment_no"]:
            problems.append(RowProblem("payment_no", "missing"))
        self._amount(row, problems)
        self._date(row, "received_on", problems, required=True)
        try:
            row.values["kind"] = parse_payment_kind(row.raw.get("kind"))
        except ValueError:
            problems.append(RowProblem("kind", "bad_payment_kind"))
        amount = row.values.get("amount")
        if amount is not None and row.values.get("kind") is not None:
            if row.values["kind"] == PaymentKind.CREDIT_NOTE:
                amount = abs(amount)  # 红字: ERPs print credit notes as negative amounts
            if amount <= 0:
                problems.append(RowProblem("amount", "not_positive"))
            row.values["amount"] = amount
        row.values["doc_no_ref"] = text(row.raw.get("doc_no_ref")) or None
        row.values["note"] = text(row.raw.get("note")) or None
        self._unit(row, problems)
        if (
            not row.values["doc_no_ref"]
            and not row.values["customer_code"]
            and not row.values["customer_name"]
        ):
            problems.append(RowProblem("customer_name", "missing_customer"))
        self._text_lengths(row, problems)
        return problems

    def _payments_chunk(self, rows: list[_Row], apply: bool) -> None:
        good, checked = self._split(rows, self._parse_payment, apply)
        if not good and not checked:
            return
        both = good + [r for r, _f in checked]
        by_code, by_name = self._customers(both)
        refs = {r.values["doc_no_ref"] for r in both if r.values["doc_no_ref"]}
        receivables = {}
        if refs:
            cols = (Receivable.company_id, Receivable.doc_no, Receivable.customer_id)
            cols += (Receivable.sales_unit_id, Customer.erp_code)
            stmt = select(*cols).join(Customer, Customer.id == Receivable.customer_id)
            for r in self.session.execute(stmt.where(Receivable.doc_no.in_(refs))):
                receivables[(r.company_id, r.doc_no)] = r
        nos = {(r.company_id, r.values["payment_no"]) for r in both if r.values["payment_no"]}
        existing = {
            (p.company_id, p.payment_no): p
            for p in self.session.scalars(
                select(Payment).where(
                    tuple_(Payment.company_id, Payment.payment_no).in_(sorted(nos))
                )
            )
        }
        for row, fields in checked:  # bad rows: list their other problems too, plan nothing
            if not fields & {"customer_code", "customer_name", "doc_no_ref"}:
                unit_ok = "sales_unit" not in fields
                self._payment_target(row, receivables, by_code, by_name, False, unit_ok)
        to_allocate: list[Payment] = []
        for row in good:
            current = existing.get((row.company_id, row.values["payment_no"]))
            counted = current is None
            target = self._payment_target(row, receivables, by_code, by_name, counted=counted)
            if target is None:
                continue
            customer_id, unit_id = target
            v = row.values
            if current is not None:
                same = (
                    current.customer_id == customer_id
                    and current.kind == v["kind"]
                    and current.amount == v["amount"]
                    and current.received_on == v["received_on"]
                    and (current.doc_no_ref or None) == v["doc_no_ref"]
                )
                if not same:
                    self._error(row.line, "payment_no", v["payment_no"], "payment_changed")
                else:
                    self.outcome.unchanged += 1
                continue
            if not apply:
                self.outcome.created += 1
                continue
            payment = Payment(
                company_id=row.company_id,
                sales_unit_id=unit_id,
                customer_id=customer_id,
                payment_no=v["payment_no"],
                kind=v["kind"],
                amount=v["amount"],
                received_on=v["received_on"],
                doc_no_ref=v["doc_no_ref"],
                unallocated=v["amount"],
                import_batch_id=self.batch_id,
                note=v["note"],
            )
            self.session.add(payment)
            to_allocate.append(payment)
            self.outcome.created += 1
        if to_allocate:
            from backoffice.services.payments import allocate  # sibling service (issue 3 item 3)

            self.session.flush()
            for payment in to_allocate:  # in file order, so oldest-first stays deterministic
                allocate(self.session, payment)
                self.session.flush()

    def _payment_target(
        self, row, receivables, by_code, by_name, plan=True, unit_checked=True, counted=False
    ):
        """(customer id, sales unit id) of a payment row, or None with the error recorded.

        A customer code the ledger does not know is the new customer that this line or another
        line of the file names (code, name and sales unit); it is created once, when applied."""
        v = row.values
        customer = None
        new_ckey = None
        if v["customer_code"]:
            customer = by_code.get((row.company_id, v["customer_code"]))
            if customer is None:
                if not self._file_customer(row, plan, unit_checked, counted):
                    return None
                new_ckey = (row.company_id, v["customer_code"])
        elif v["customer_name"]:
            matches = by_name.get((row.company_id, v["customer_name"]), [])
            if len(matches) > 1:
                self._error(row.line, "customer_name", v["customer_name"], "ambiguous_customer")
                return None
            if not matches and not v["doc_no_ref"]:
                self._error(row.line, "customer_name", v["customer_name"], "unknown_customer")
                return None
            customer = matches[0] if matches else None
        if v["doc_no_ref"]:
            rec = receivables.get((row.company_id, v["doc_no_ref"]))
            if rec is None:
                self._error(row.line, "doc_no_ref", v["doc_no_ref"], "unknown_document")
                return None
            if new_ckey is not None or (customer is not None and customer.id != rec.customer_id):
                self._error(
                    row.line,
                    "doc_no_ref",
                    v["doc_no_ref"],
                    "customer_mismatch",
                    customer=rec.erp_code,
                )
                return None
            return rec.customer_id, rec.sales_unit_id
        if new_ckey is not None:
            if not self.applying:
                return None, v.get("unit_id")  # the check pass creates nothing
            return self._new_customer_id(new_ckey), self._new_customer_unit(row, new_ckey)
        return customer.id, customer.sales_unit_id


_TOTAL_WORDS = ("合计", "总计", "小计", "total", "subtotal")


def _is_total_row(cells: Iterable[Any]) -> bool:
    """ERP exports end with a totals line (合计); it is not a document."""
    for cell in cells:
        s = text(cell)
        if s:
            return normalize_header(s).rstrip(":") in _TOTAL_WORDS
    return False
