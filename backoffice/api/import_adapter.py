"""The one door from the API to the ERP importer: JSON items → a CSV file → an import batch.

Pushed items go through exactly the validation and all-or-nothing rules of a file import,
because they ARE a file import: the items are written to a temporary UTF-8 CSV with the
importer's canonical Chinese headers and run with ``importer.create_batch`` and
``importer.run_batch``, the importer's stable entry points. The report's lines become item
indexes (line 2 of the file is item 0); the reasons are the report's, in Chinese.

What the CSV cannot carry is checked here first: an unknown field, a value that is not text or
a number, a control character. Items with such problems make the batch a dry run, so the
response still lists everything the importer finds in the same items.
"""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import force_locale, gettext
from sqlalchemy.orm import Session

from backoffice.api.problems import API_LOCALE
from backoffice.models.receivable import ImportKind
from backoffice.services import importer


def N_(text: str) -> str:  # noqa: N802 - Babel's keyword for "translate later"
    return text


#: JSON field → the importer's canonical header for it.
FIELDS: dict[ImportKind, dict[str, str]] = {
    ImportKind.RECEIVABLES: {
        "customer_code": "客户编码",
        "customer_name": "客户名称",
        "doc_no": "单据编号",
        "doc_type": "单据类型",
        "amount": "应收金额",
        "currency": "币种",
        "issue_date": "开票日期",
        "due_date": "到期日",
        "sales_unit": "事业部",
        "salesperson": "业务员",
        "contract": "合同编号",
    },
    ImportKind.PAYMENTS: {
        "customer_code": "客户编码",
        "customer_name": "客户名称",
        "payment_no": "回款单号",
        "amount": "回款金额",
        "received_on": "回款日期",
        "doc_no_ref": "对应单据",
        "kind": "类型",
        "note": "备注",
        "sales_unit": "事业部",
    },
}
FIRST_LINE = 2  # line 1 of the CSV is the header

REASONS = {
    "not_object": N_("An item must be a JSON object"),
    "unknown_field": N_("Unknown field"),
    "not_scalar": N_("The value must be text or a number"),
    "bad_text": N_("The text contains a line break or a control character"),
    # A file skips a blank line; an item the ERP sent empty is a mistake.
    "empty_item": N_("The item has no values"),
}


@dataclass
class PushResult:
    """What a push did: the batch, its state, and every problem by item index."""

    batch_id: int | None
    status: str  # applied, checked, rejected, failed
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    new_customers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("applied", "checked") and not self.errors


def _reason(code: str, params: dict[str, Any] | None, fallback: str = "") -> str:
    """A report entry's reason in Chinese, the words the import report shows."""
    template = REASONS.get(code) or getattr(importer, "REASONS", {}).get(code)
    if template is None:
        return fallback or code
    with force_locale(API_LOCALE):
        return gettext(template, **params) if params else gettext(template)


def _index(line: Any) -> int | None:
    return int(line) - FIRST_LINE if isinstance(line, int) and line >= FIRST_LINE else None


def _issue(entry: dict[str, Any]) -> dict[str, Any]:
    params = dict(entry.get("params") or {})
    if entry.get("code") == "duplicate" and params.get("other"):
        # The other lines of a duplicate, as item indexes like the entry's own.
        others = [p.strip() for p in str(params["other"]).split(",")]
        params["other"] = ", ".join(str(int(p) - FIRST_LINE) if p.isdigit() else p for p in others)
    return {
        "index": _index(entry.get("line")),
        "field": entry.get("field"),
        "reason": _reason(entry.get("code", ""), params, entry.get("message", "")),
        "code": entry.get("code"),
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def precheck(kind: ImportKind, items: list[Any]) -> tuple[list[list[str]], list[dict]]:
    """The CSV rows for ``items`` and the problems only JSON can have."""
    fields = FIELDS[kind]
    rows, problems = [], []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append({"index": index, "field": None, "code": "not_object"})
            rows.append([""] * len(fields))
            continue
        for key in item:
            if key not in fields:
                problems.append({"index": index, "field": str(key)[:64], "code": "unknown_field"})
        row = []
        for name in fields:
            value = item.get(name)
            if isinstance(value, bool) or not isinstance(value, str | int | Decimal | None):
                problems.append({"index": index, "field": name, "code": "not_scalar"})
                value = None
            elif isinstance(value, str) and any(ord(c) < 32 or ord(c) == 127 for c in value):
                problems.append({"index": index, "field": name, "code": "bad_text"})
                value = None
            row.append(_cell(value))
        if not any(cell.strip() for cell in row):
            problems.append({"index": index, "field": None, "code": "empty_item"})
        rows.append(row)
    return rows, problems


def push(
    session: Session,
    kind: ImportKind,
    items: list[Any],
    *,
    company_code: str,
    source: str,
    dry_run: bool = False,
) -> PushResult:
    """Import ``items`` for the company ``company_code`` as one batch, all or nothing.

    Side effects: one ``ImportBatch`` (named after ``source``); ledger rows only when every
    item is valid and ``dry_run`` is false. Idempotent like a file import: the same items
    twice change nothing the second time.
    """
    rows, problems = precheck(kind, items)
    fd, path = tempfile.mkstemp(prefix="qq-api-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(FIELDS[kind].values())
            writer.writerows(rows)
        batch = importer.create_batch(
            session,
            kind=kind,
            path=path,
            filename=f"{source}.csv",
            dry_run=dry_run or bool(problems),
            company_code=company_code,
        )
        batch = importer.run_batch(session, batch.id, path)
    finally:
        os.unlink(path)
    report = batch.report or {}
    errors = [{**p, "reason": _reason(p["code"], None)} for p in problems] + [
        _issue(e) for e in report.get("errors") or []
    ]
    errors.sort(key=lambda e: (-1 if e["index"] is None else e["index"], e["field"] or ""))
    status = getattr(batch.status, "value", str(batch.status))
    if problems:
        status = "rejected"
    new_customers = []
    for c in report.get("new_customers") or []:
        new_customers.append(
            {"index": _index(c.get("line")), "code": c.get("code"), "name": c.get("name")}
        )
    return PushResult(
        batch_id=batch.id,
        status=status,
        created=0 if problems else batch.rows_created,
        updated=0 if problems else batch.rows_updated,
        unchanged=0 if problems else batch.rows_unchanged,
        errors=errors,
        warnings=[_issue(w) for w in report.get("warnings") or []],
        new_customers=new_customers,
    )
