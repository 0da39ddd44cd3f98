"""The monthly run (Art.12–15): snapshot at the close, one report/form per unit, one
statement per customer, idempotent, deadlines in working days, PDFs that extract correctly."""

import subprocess
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice.models import (
    ConfirmationForm,
    ConfirmationLine,
    MonthlyReport,
    Notification,
    Statement,
    Task,
)
from backoffice.services import monthly
from backoffice.services.calendar import CalendarMissing, load_year
from backoffice.services.storage import get_storage
from jobs.monthly import run_period
from tests import helpers

HAS_POPPLER = subprocess.run(["which", "pdftotext"], capture_output=True).returncode == 0


def test_plan_dates_follow_the_working_calendar(db):
    """October 2026: dispatch on the 8th (after the National Day holiday), the form the next
    working day, answers due 5 working days after the form; data as of 30 September."""
    load_year(db.session, 2026)
    p = monthly.plan(db.session, "2026-10")
    assert p.as_of == date(2026, 9, 30)
    assert p.dispatch_date == date(2026, 10, 8)
    assert p.form_date == date(2026, 10, 9)
    # Saturday 10 October is a make-up working day (调休): 10, 12, 13, 14, 15.
    assert p.answer_due == date(2026, 10, 15)


def test_a_period_without_calendar_data_is_refused(db):
    """2027 has no calendar data: the run refuses with the year named, it does not guess."""
    with pytest.raises(CalendarMissing, match="2027"):
        monthly.plan(db.session, "2027-01")


def test_bad_period_is_refused(db):
    """A malformed period is a clear error."""
    with pytest.raises(monthly.PeriodError):
        monthly.plan(db.session, "2026-13")


def test_run_creates_one_of_each_and_is_idempotent(ledger, db, app):
    """A run creates one report and one form per unit and one statement per customer with
    anything outstanding; running it again changes nothing."""
    run_period("2026-10", inline=True)
    first = monthly.counts(db.session, "2026-10")
    assert first == {"reports": 2, "forms": 2, "statements": 2}
    run_period("2026-10", inline=True)
    assert monthly.counts(db.session, "2026-10") == first
    lines = db.session.scalars(select(ConfirmationLine)).all()
    by_doc = {line.receivable.doc_no: line for line in lines}
    # INV-A2 is not yet due; INV-B1's October payment is after the close.
    assert set(by_doc) == {"INV-A1", "INV-B1"}
    assert by_doc["INV-A1"].outstanding_at_close == Decimal("100000.00")
    assert by_doc["INV-B1"].outstanding_at_close == Decimal("88000.50")
    assert by_doc["INV-A1"].overdue_days == (date(2026, 9, 30) - date(2026, 7, 31)).days
    form = db.session.scalar(
        select(ConfirmationForm).where(ConfirmationForm.sales_unit_id == ledger["east"].id)
    )
    assert form.issued_on == date(2026, 10, 9) and form.answer_due == date(2026, 10, 15)
    # The unit's collector has a task and an inbox message, once.
    assert db.session.scalar(select(func.count()).select_from(Task)) == 2
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 2


def test_leaders_and_team_leads_are_told_the_month_can_be_reported_once(ledger, db):
    """Art.9: the run for November tells leaders and team leads that October's leadership
    report can be read, with a link to it; a second run tells nobody again."""
    leader, lead = helpers.make_user("leader"), helpers.make_user("team_lead")
    finance = helpers.make_user("finance")
    run_period("2026-11", inline=True)
    run_period("2026-11", inline=True)
    notes = db.session.scalars(
        select(Notification).where(Notification.link == "/admin/leadership/?period=2026-10")
    ).all()
    assert sorted(n.user_id for n in notes) == sorted([leader.id, lead.id])
    assert all("清欠工作月报 2026-10" in n.title for n in notes)
    assert finance.id not in {n.user_id for n in notes}


def test_a_crash_midway_is_completed_by_a_rerun(ledger, db):
    """If statements are missing (a killed run), running again creates just those."""
    run_period("2026-10", inline=True)
    victim = db.session.scalar(select(Statement).where(Statement.customer_id == ledger["acme"].id))
    db.session.delete(victim)
    db.session.commit()
    run_period("2026-10", inline=True)
    assert monthly.counts(db.session, "2026-10")["statements"] == 2
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Statement)
            .where(Statement.customer_id == ledger["acme"].id)
        )
        == 1
    )


@pytest.mark.skipif(not HAS_POPPLER, reason="poppler-utils not installed")
def test_statement_pdf_extracts_chinese_name_documents_and_totals(ledger, db, tmp_path):
    """pdftotext of a statement gives back the customer's Chinese name, the document numbers
    and the totals exactly; pdffonts shows the CJK font embedded."""
    run_period("2026-10", inline=True)
    statement = db.session.scalar(
        select(Statement).where(Statement.customer_id == ledger["acme"].id)
    )
    assert statement.total_outstanding == Decimal("105000.00")
    path = tmp_path / "statement.pdf"
    with get_storage().open(statement.pdf_key) as fh:
        path.write_bytes(fh.read())
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "上海宏达机械有限公司" in text
    assert "INV-A1" in text and "INV-A2" in text
    assert "105,000.00" in text and "100,000.00" in text
    fonts = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert any("WenQuanYi" in line and " yes yes " in line for line in fonts.splitlines())


def test_report_xlsx_holds_the_unit_lines(ledger, db):
    """The unit's XLSX report lists its overdue documents and the total."""
    from openpyxl import load_workbook

    run_period("2026-10", inline=True)
    report = db.session.scalar(
        select(MonthlyReport).where(MonthlyReport.sales_unit_id == ledger["north"].id)
    )
    assert report.total_overdue == Decimal("88000.50") and report.line_count == 1
    with get_storage().open(report.xlsx_key) as fh:
        wb = load_workbook(fh, read_only=True)
        rows = [r for r in wb.active.iter_rows(values_only=True)]
    assert any(len(r) > 1 and r[1] == "INV-B1" and r[0] == "北京恒信建材有限公司" for r in rows)
    assert rows[-1][0] == "合计" and rows[-1][4] == 88000.5


def test_scheduler_starts_the_run_on_the_dispatch_day_and_catches_up(db):
    """Art.12: nothing before the dispatch day; the run on it; a missed day catches up; a
    year without calendar data refuses."""
    from jobs.schedule import monthly_on_dispatch_day

    load_year(db.session, 2026)
    assert monthly_on_dispatch_day(date(2026, 10, 7)) == []
    (due,) = monthly_on_dispatch_day(date(2026, 10, 8))
    assert due.job_id == "monthly-run_2026-10" and due.args == ("2026-10",)
    assert monthly_on_dispatch_day(date(2026, 10, 12))[0].job_id == "monthly-run_2026-10"
    with pytest.raises(CalendarMissing, match="2027"):
        monthly_on_dispatch_day(date(2027, 1, 4))


def test_report_xlsx_writes_names_inert_and_amounts_typed(db):
    """A customer, document, salesperson or company named like a formula reaches the unit's
    workbook as quoted string cells; amounts are money numbers and due dates date cells."""
    from openpyxl import load_workbook

    from backoffice.services.export import DATE_FORMAT, MONEY_FORMAT

    load_year(db.session, 2026)
    db.session.commit()
    unit = helpers.make_unit(company=helpers.make_company(name="@SUM(A1)"), name="华东事业部")
    payloads = ['=HYPERLINK("http://evil.example/x")', "+1", "-2+3", "@SUM(A1)"]
    for i, payload in enumerate(payloads):
        helpers.make_receivable(
            helpers.make_customer(unit, name=payload),
            amount="1000.50",
            due=date(2026, 8, 31),
            doc_no=f"-{i}",
            collector_name=payload,
        )
    run_period("2026-10", inline=True)
    report = db.session.scalar(select(MonthlyReport).where(MonthlyReport.sales_unit_id == unit.id))
    with get_storage().open(report.xlsx_key) as fh:
        ws = load_workbook(fh).active
    cells = [c for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert ws["A1"].value.startswith("'@SUM(A1)") and ws["A1"].data_type == "s"
    lines = list(ws.iter_rows(min_row=3, max_row=2 + len(payloads)))
    assert sorted(r[0].value for r in lines) == sorted("'" + p for p in payloads)
    assert sorted(r[6].value for r in lines) == sorted("'" + p for p in payloads)
    assert all(r[1].value.startswith("'-") and r[1].data_type == "s" for r in lines)
    for r in lines:
        assert r[2].is_date and r[2].number_format == DATE_FORMAT
        assert (r[3].value, r[3].data_type, r[3].number_format) == (1000.5, "n", MONEY_FORMAT)
        assert r[4].data_type == "n" and r[5].value == (date(2026, 9, 30) - date(2026, 8, 31)).days
    total = [c.value for c in ws[ws.max_row]]
    assert total[0] == "合计" and total[4] == 4002
