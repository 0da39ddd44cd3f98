"""Art.3: interest, penalty interest and liquidated damages are separate amounts, each counted
in the overdue total only by its setting, and shown apart on the monthly report and statement."""

import subprocess
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from backoffice.models import Contract, MonthlyReport, Setting, Statement
from backoffice.models.receivable import ChargeKind, PenaltyKind, Receivable
from backoffice.services import charges
from backoffice.services.storage import get_storage
from jobs.monthly import run_period

HAS_POPPLER = subprocess.run(["which", "pdftotext"], capture_output=True).returncode == 0
D = Decimal


def _contract(db, customer, **terms):
    contract = Contract(
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        customer_id=customer.id,
        number=f"HT-{customer.id}",
        **terms,
    )
    db.session.add(contract)
    db.session.flush()
    return contract


THREE = {
    "interest_kind": PenaltyKind.DAILY_RATE,
    "interest_daily_rate": D("0.0005"),
    "penalty_kind": PenaltyKind.FIXED,
    "penalty_fixed": D("1000.00"),
    "damages_kind": PenaltyKind.FIXED,
    "damages_fixed": D("500.00"),
}


def _charged(db, ledger):
    """INV-B1 (88,000.50 overdue 15 days at the September close) under all three terms."""
    rec = db.session.scalar(select(Receivable).where(Receivable.doc_no == "INV-B1"))
    rec.contract_id = _contract(db, ledger["beta"], **THREE).id
    db.session.commit()
    return rec


def _pdf_text(key, tmp_path) -> str:
    with get_storage().open(key) as fh:
        path = tmp_path / "doc.pdf"
        path.write_bytes(fh.read())
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True)
    return out.stdout


def test_each_charge_follows_its_own_terms(db, ledger):
    """Interest by its daily rate, penalty interest and damages by their fixed amounts; none
    before the due date; the overdue total counts only the included kinds."""
    contract = _contract(db, ledger["beta"], **THREE)
    due, as_of = date(2026, 9, 15), date(2026, 9, 30)
    got = charges.charges_of(contract, D("88000.50"), due, as_of)
    # 88,000.50 × 0.0005 × 15 days = 660.00375 → 660.00
    assert got == charges.Charges(D("660.00"), D("1000.00"), D("500.00"))
    assert charges.charges_of(contract, D("88000.50"), due, due) == charges.Charges()
    assert charges.overdue_total(D("100"), got, frozenset()) == D("100")
    assert charges.overdue_total(
        D("100"), got, frozenset({ChargeKind.INTEREST, ChargeKind.DAMAGES})
    ) == D("1260.00")


def test_by_default_no_charge_counts_and_existing_totals_stay(db, ledger):
    """With the default setting the report's overdue total is the principal, as before; the
    three charges are stored apart."""
    _charged(db, ledger)
    assert charges.included_charges(db.session) == frozenset()
    run_period("2026-10", inline=True)
    report = db.session.scalar(
        select(MonthlyReport).where(MonthlyReport.sales_unit_id == ledger["north"].id)
    )
    assert report.total_overdue == D("88000.50")
    assert (report.interest_total, report.penalty_interest_total, report.damages_total) == (
        D("660.00"),
        D("1000.00"),
        D("500.00"),
    )
    east = db.session.scalar(
        select(MonthlyReport).where(MonthlyReport.sales_unit_id == ledger["east"].id)
    )
    assert east.total_overdue == D("100000.00") and east.interest_total == D("0")


def test_the_setting_counts_the_chosen_charges_in_the_total(db, ledger):
    """Counting interest and damages: 88,000.50 + 660.00 + 500.00; penalty interest stays out."""
    _charged(db, ledger)
    db.session.add(Setting(key=charges.CHARGES_SETTING, value={"interest": True, "damages": True}))
    db.session.commit()
    run_period("2026-10", inline=True)
    report = db.session.scalar(
        select(MonthlyReport).where(MonthlyReport.sales_unit_id == ledger["north"].id)
    )
    assert report.total_overdue == D("89160.50")
    with get_storage().open(report.xlsx_key) as fh:
        rows = list(load_workbook(fh, read_only=True).active.iter_rows(values_only=True))
    header = rows[1]
    assert header[7:] == ("利息", "罚息", "违约金", "逾期合计（本金＋利息＋违约金）")
    assert rows[-1][7:] == (660, 1000, 500, 89160.5)


@pytest.mark.skipif(not HAS_POPPLER, reason="pdftotext not installed")
def test_report_and_statement_show_the_charges_apart(db, ledger, tmp_path):
    """The report PDF and the customer's statement print interest, penalty interest and
    damages in their own columns and name what the overdue total includes."""
    _charged(db, ledger)
    run_period("2026-10", inline=True)
    report = db.session.scalar(
        select(MonthlyReport).where(MonthlyReport.sales_unit_id == ledger["north"].id)
    )
    text = _pdf_text(report.pdf_key, tmp_path)
    for word in ("利息", "罚息", "违约金", "660.00", "1,000.00", "500.00", "逾期合计（仅本金）"):
        assert word in text, word
    statement = db.session.scalar(
        select(Statement).where(Statement.customer_id == ledger["beta"].id)
    )
    text = _pdf_text(statement.pdf_key, tmp_path)
    for word in ("利息", "罚息", "违约金", "660.00", "1,000.00", "500.00"):
        assert word in text, word


@pytest.mark.skipif(not HAS_POPPLER, reason="pdftotext not installed")
def test_without_terms_the_report_looks_as_before(db, ledger, tmp_path):
    """A unit whose contracts set no charge gets the report without charge columns."""
    run_period("2026-10", inline=True)
    report = db.session.scalar(
        select(MonthlyReport).where(MonthlyReport.sales_unit_id == ledger["east"].id)
    )
    text = _pdf_text(report.pdf_key, tmp_path)
    assert "违约金" not in text and "100,000.00" in text


def test_the_leadership_report_agrees_with_the_units_monthly_report(db, ledger):
    """Art.3: for the month whose end is the monthly report's close, the leadership report
    gives each unit the same interest, penalty interest and damages (computed in SQL there,
    line by line in Python here), and the same overdue total under the setting."""
    from backoffice.services import leadership
    from tests import helpers

    _charged(db, ledger)
    db.session.add(Setting(key=charges.CHARGES_SETTING, value={"penalty_interest": True}))
    db.session.commit()
    run_period("2026-10", inline=True)
    reports = db.session.scalars(select(MonthlyReport)).all()
    (as_of,) = {r.as_of for r in reports}
    period = f"{as_of:%Y-%m}"
    board = leadership.build(db.session, helpers.make_user("finance"), period, date(2026, 11, 30))
    by_unit = {u.name: u for u in board.units}
    for report in reports:
        unit = by_unit[report.sales_unit.name]
        assert unit.charges == charges.Charges(
            report.interest_total, report.penalty_interest_total, report.damages_total
        ), report.sales_unit.name
        assert unit.overdue_total == report.total_overdue, report.sales_unit.name
    assert by_unit["华北事业部"].penalty_interest == D("1000.00")
