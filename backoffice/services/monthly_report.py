"""The unit's monthly overdue report (逾期账款报表, Art.12) with Art.3's charges apart.

``build_unit_report`` makes the report once per (period, unit): its PDF and XLSX show each
document's principal overdue and, when any contract sets them, its interest, penalty interest
and liquidated damages in columns of their own; the overdue total counts the charges the
setting ``overdue_total_charges`` includes (none by default: the total is the principal, as
before). Once made, the report is sent and the sending recorded (``report_dispatch``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.monthly import MonthlyReport, MonthlyRun
from backoffice.models.org import SalesUnit
from backoffice.models.receivable import ChargeKind, Contract, Receivable
from backoffice.services import charges
from backoffice.services.export import write_xlsx
from backoffice.services.monthly import Plan, _insert_once, _store
from backoffice.services.monthly_snapshot import Line, unit_lines
from backoffice.services.pdf import render_pdf


@dataclass(frozen=True)
class ReportTotals:
    """A report's or statement's sums: the principal overdue, each charge apart, and the
    overdue total that counts the charges the setting includes (Art.3)."""

    principal: Decimal
    charges: charges.Charges
    included: frozenset[ChargeKind]
    show_charges: bool

    @classmethod
    def of(cls, principal: Decimal, each: list, included: frozenset[ChargeKind]) -> ReportTotals:
        summed = sum(each, charges.Charges())
        return cls(principal, summed, included, summed.any)

    @property
    def overdue_total(self) -> Decimal:
        return charges.overdue_total(self.principal, self.charges, self.included)

    @property
    def total_label(self) -> str:
        """The overdue total's name, saying which charges it counts."""
        return charges.total_label(self.included)


def with_charges(session: Session, lines: list[Line], as_of: date) -> ReportTotals:
    """Art.3: set each line's charges at the close (by its contract's terms) and sum them.
    The principal total is what it always was; the overdue total adds the included charges."""
    contract_ids = {line.receivable.contract_id for line in lines} - {None}
    contracts = {
        c.id: c for c in session.scalars(select(Contract).where(Contract.id.in_(contract_ids)))
    }
    for line in lines:
        rec = line.receivable
        line.charges = charges.charges_of(
            contracts.get(rec.contract_id), line.outstanding, rec.due_date, as_of
        )
    principal = sum((line.outstanding for line in lines), Decimal(0))
    return ReportTotals.of(
        principal, [line.charges for line in lines], charges.included_charges(session)
    )


def _report_xlsx(unit: SalesUnit, p: Plan, lines: list[Line], totals: ReportTotals) -> bytes:
    """The report as a workbook: real amounts and dates; names inert (services/export.py),
    since a customer or salesperson named ``=HYPERLINK(...)`` reaches every unit's Excel.
    Art.3: with any charge in the period, interest, penalty interest and damages each get a
    column, and a last column gives each line's overdue total (the principal plus the charges
    the setting includes)."""
    header = [
        "客户名称",
        "单据编号",
        "到期日",
        "应收金额",
        "截至月末未收余额",
        "逾期天数",
        "催收专员",
    ]
    shown = totals.show_charges
    if shown:
        header += [charges.DOCUMENT_NAMES[kind] for kind in ChargeKind] + [totals.total_label]
    rows = (
        [
            line.customer_name,
            line.receivable.doc_no,
            line.receivable.due_date,
            line.receivable.amount,
            line.outstanding,
            line.overdue_days,
            _collector(line.receivable),
            *(
                [line.charges.of(kind) for kind in ChargeKind]
                + [charges.overdue_total(line.outstanding, line.charges, totals.included)]
                if shown
                else []
            ),
        ]
        for line in lines
    )
    footer = ["合计", "", "", "", totals.principal, "", ""]
    if shown:
        footer += [totals.charges.of(kind) for kind in ChargeKind] + [totals.overdue_total]
    out = io.BytesIO()
    write_xlsx(
        out,
        "逾期账款报表",
        header,
        rows,
        title=f"{unit.company.name} {unit.name} 逾期账款报表 {p.period}（截至 {p.as_of}）",
        footer=footer,
    )
    return out.getvalue()


def _collector(r: Receivable) -> str:
    return r.collector.display_name if r.collector else (r.collector_name or "")


def build_unit_report(session: Session, run: MonthlyRun, unit: SalesUnit, p: Plan) -> bool:
    """The unit's monthly overdue report (Art.12), once. Returns True if it was created now."""
    exists = session.scalar(
        select(MonthlyReport.id).where(
            MonthlyReport.period == p.period, MonthlyReport.sales_unit_id == unit.id
        )
    )
    if exists:
        return False
    lines = unit_lines(session, unit.id, p.as_of)
    totals = with_charges(session, lines, p.as_of)
    pdf = render_pdf(
        "monthly_report.html",
        company=unit.company,
        unit=unit,
        plan=p,
        lines=lines,
        total=totals.principal,
        totals=totals,
    )
    report = MonthlyReport(
        period=p.period,
        as_of=p.as_of,
        company_id=unit.company_id,
        sales_unit_id=unit.id,
        line_count=len(lines),
        total_overdue=totals.overdue_total,  # Art.3: the principal, plus included charges
        interest_total=totals.charges.interest,
        penalty_interest_total=totals.charges.penalty_interest,
        damages_total=totals.charges.damages,
        pdf_key=_store(pdf),
        xlsx_key=_store(_report_xlsx(unit, p, lines, totals)),
    )
    created = _insert_once(session, report)
    if created:
        from backoffice.services.report_dispatch import send_report

        send_report(session, report)  # Art.12: to the unit's contacts and finance, recorded
        session.commit()
    return created
