"""The import report (SPEC §3.1): reasons (English msgids, shown in Chinese), issues per line
and column, and the outcome that becomes ``ImportBatch.report``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backoffice.models.customer import Customer
from backoffice.models.receivable import ImportKind, Payment, Receivable
from backoffice.services import amounts, textfile
from backoffice.services.importer.values import N_

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
