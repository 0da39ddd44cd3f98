"""``flask import receivables|payments FILE`` (SPEC §3.1)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from backoffice.models import Payment, Receivable
from tests import helpers
from tests.data import erp_files as erp


def _setup():
    company = helpers.make_company(code="HQ", name="总公司")
    helpers.make_unit(company, code="EAST", name="华东事业部")


def test_cli_import_prints_summary_and_is_idempotent(app, db, tmp_path):
    """The command imports, prints a summary and new customers; a second run changes nothing."""
    _setup()
    path = erp.write_xlsx(
        tmp_path / "应收.xlsx", erp.RECEIVABLE_HEADERS, erp.receivable_rows("HQ", "EAST")
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "receivables", str(path)])
    assert result.exit_code == 0, result.output
    assert "applied" in result.output and "4 created" in result.output
    assert "new customer K001 华东机械有限公司" in result.output
    again = runner.invoke(args=["import", "receivables", str(path)])
    assert again.exit_code == 0 and "4 unchanged" in again.output
    assert db.session.scalar(select(func.count()).select_from(Receivable)) == 4


def test_cli_bad_rows_exit_nonzero_and_are_listed(app, db, tmp_path):
    """Every bad row is printed with its line and column, and the exit code is non-zero."""
    _setup()
    rows = erp.receivable_rows("HQ", "EAST")
    rows[1][8] = "2026-02-30"
    rows[2][5] = "一千元"
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, rows)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "receivables", str(path)])
    assert result.exit_code == 1
    assert "ERROR line 3 约定付款日 [2026-02-30]: Bad date" in result.output
    assert "ERROR line 4 应收金额(元) [一千元]: Not an amount" in result.output
    assert db.session.scalar(select(func.count()).select_from(Receivable)) == 0
    dry = runner.invoke(args=["import", "receivables", str(path), "--dry-run"])
    assert dry.exit_code == 1 and "dry run" in dry.output
    valid = runner.invoke(args=["import", "receivables", str(path), "--valid-only"])
    assert valid.exit_code == 0, valid.output
    assert db.session.scalar(select(func.count()).select_from(Receivable)) == 2


def test_cli_payments_with_company_option(app, db, tmp_path):
    """``import payments --company`` uses that company for rows without a company column."""
    _setup()
    other = helpers.make_company(code="SUB", name="子公司")
    unit = helpers.make_unit(other, code="SUB-U")
    customer = helpers.make_customer(unit, erp_code="S1")
    helpers.make_receivable(customer, amount="100.00", doc_no="S-INV")
    path = erp.write_csv(
        tmp_path / "p.csv",
        ["收款单号", "客户编码", "收款金额", "收款日期", "对应单据"],
        [["SP-1", "S1", "40", "2026-03-01", "S-INV"]],
    )
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["import", "payments", str(path)])
    assert refused.exit_code == 1 and "Missing company" in refused.output
    result = runner.invoke(args=["import", "payments", str(path), "--company", "SUB"])
    assert result.exit_code == 0, result.output
    payment = db.session.scalar(select(Payment))
    assert payment.amount == Decimal("40.00") and payment.company_id == other.id


def test_cli_lists_every_problem_of_a_row(app, db, tmp_path):
    """A row with a missing company, bad date, unknown unit and duplicate prints all four."""
    _setup()
    helpers.make_company(code="SUB", name="子公司")  # two companies: no default company
    rows = erp.receivable_rows("", "EAST")[:2]
    rows[0][8], rows[0][9] = "2026-02-30", "火星事业部"
    rows[1][3] = rows[0][3]
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, rows)
    result = app.test_cli_runner().invoke(args=["import", "receivables", str(path)])
    assert result.exit_code == 1
    line2 = [ln for ln in result.output.splitlines() if "ERROR line 2 " in ln]
    assert len(line2) == 4, result.output
    for text in ("公司", "约定付款日 [2026-02-30]", "事业部 [火星事业部]", "单据编号 [INV-001]"):
        assert any(f"line 2 {text}" in ln for ln in line2), (text, line2)
