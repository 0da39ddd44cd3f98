"""Import headers (SPEC §3.1): built-in synonyms, extended and overridden by saved
``ColumnMapping`` rows; finding the header row; the totals line (合计) an ERP export ends with."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.receivable import ColumnMapping, ImportKind
from backoffice.services.importer.values import N_, normalize_header, text
from backoffice.services.spreadsheet import HEADER_SCAN_ROWS

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


_TOTAL_WORDS = ("合计", "总计", "小计", "total", "subtotal")


def is_total_row(cells: Iterable[Any]) -> bool:
    """ERP exports end with a totals line (合计); it is not a document."""
    for cell in cells:
        s = text(cell)
        if s:
            return normalize_header(s).rstrip(":") in _TOTAL_WORDS
    return False


@dataclass
class Header:
    """The header row found: its line, field → column, the headers as written, the unused."""

    line: int
    columns: dict[str, int]
    headers: dict[str, str]
    ignored: list[str]
    missing: list[str]


def find_header(
    session: Session, kind: ImportKind, rows: Iterator[tuple[int, list[Any]]]
) -> tuple[Header | None, list[tuple[int, list[Any]]]]:
    """Scan the first ``HEADER_SCAN_ROWS`` rows for the one that names the most fields.

    Returns the header (None: no row names two fields) and the rows read meanwhile, which the
    caller reads again from memory, so the file itself is read once."""
    synonyms = synonym_table(session, kind)
    required = REQUIRED[kind]
    best = None
    scanned: list[tuple[int, list[Any]]] = []
    for line, cells in rows:
        scanned.append((line, cells))
        mapping, ignored = map_columns(cells, synonyms)
        if best is None or len(mapping) > len(best[1]):
            best = (line, mapping, ignored, cells)
        if all(f in mapping for f in required) or len(scanned) >= HEADER_SCAN_ROWS:
            break
    if best is None or len(best[1]) < 2:
        return None, scanned
    line, mapping, ignored, cells = best
    missing = [f for f in required if f not in mapping]
    if kind == ImportKind.RECEIVABLES and not (
        "customer_code" in mapping or "customer_name" in mapping
    ):
        missing.append("customer_name")
    headers = {fld: str(cells[i]) for fld, i in mapping.items()}
    return Header(line, mapping, headers, ignored, missing), scanned
