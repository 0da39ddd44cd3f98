"""Art.3 on the leadership report: each unit's interest, penalty interest and liquidated damages
at the month end, apart from the overdue principal, and an overdue total that counts only the
charges the rules' setting includes. Figures worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from backoffice.models import Contract, Setting
from backoffice.models.receivable import ChargeKind, PenaltyKind, Receivable
from backoffice.services import charges, leadership
from tests import helpers
from tests.services.test_leadership import TODAY, ledger  # noqa: F401  (the hand-checked month)


def _terms(db, receivable, number, **terms):
    """Put ``receivable`` under a contract of its customer with the given Art.3 terms."""
    customer = receivable.customer
    contract = Contract(
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        customer_id=customer.id,
        number=number,
        **terms,
    )
    db.session.add(contract)
    db.session.flush()
    receivable.contract_id = contract.id
    db.session.commit()


@pytest.fixture()
def charged(db, ledger):  # noqa: F811
    """On the October ledger: 华东's 1,000 (due 30 Apr, 600 left at 31 Oct: 184 days overdue)
    and 华南's 2,000 (due 28 Feb 2025, all left at 31 Oct 2026: 610 days) get contract terms;
    a not-yet-due receivable under terms owes nothing."""
    unit_a, unit_b = ledger
    by_amount = {
        (r.sales_unit_id, r.amount): r for r in db.session.scalars(select(Receivable)).all()
    }
    # 600 × 0.0003 × 184 = 33.12 interest; 10.00 penalty interest, fixed
    _terms(
        db,
        by_amount[(unit_a.id, D("1000"))],
        "HT-A",
        interest_kind=PenaltyKind.DAILY_RATE,
        interest_daily_rate=D("0.0003"),
        penalty_kind=PenaltyKind.FIXED,
        penalty_fixed=D("10.00"),
    )
    # 2,000 × 0.0005 × 610 = 610.00 interest; 100.00 penalty interest; 50.00 damages
    _terms(
        db,
        by_amount[(unit_b.id, D("2000"))],
        "HT-B",
        interest_kind=PenaltyKind.DAILY_RATE,
        interest_daily_rate=D("0.0005"),
        penalty_kind=PenaltyKind.FIXED,
        penalty_fixed=D("100.00"),
        damages_kind=PenaltyKind.FIXED,
        damages_fixed=D("50.00"),
    )
    # due 20 Oct, 500 left: overdue 11 days at the close; damages 1% a day → 55.00 for 华东
    _terms(
        db,
        by_amount[(unit_a.id, D("500"))],
        "HT-C",
        damages_kind=PenaltyKind.DAILY_RATE,
        damages_daily_rate=D("0.01"),
    )
    # not yet due on 31 Oct: no charge whatever its terms
    late = helpers.make_receivable(
        helpers.make_customer(unit_a), "700", date(2026, 11, 15), issue_date=date(2026, 10, 1)
    )
    _terms(db, late, "HT-D", penalty_kind=PenaltyKind.FIXED, penalty_fixed=D("999.00"))
    return unit_a, unit_b


def _units(report):
    return {u.name: u for u in report.units}


def test_each_units_charges_stand_apart_from_its_overdue_principal(db, charged):
    """Interest, penalty interest and damages per unit at the close, by each contract's terms;
    by default none is counted, so the overdue total is the principal overdue."""
    report = leadership.build(db.session, helpers.make_user("finance"), "2026-10", TODAY)
    a, b = _units(report)["华东事业部"], _units(report)["华南事业部"]
    assert (a.overdue, a.interest, a.penalty_interest, a.damages) == (
        D("1100"),
        D("33.12"),
        D("10.00"),
        D("55.00"),
    )
    assert (b.overdue, b.interest, b.penalty_interest, b.damages) == (
        D("2000"),
        D("610.00"),
        D("100.00"),
        D("50.00"),
    )
    t = report.total
    assert t.charges == charges.Charges(D("643.12"), D("110.00"), D("105.00"))
    assert report.included == frozenset() and report.show_charges
    assert (a.overdue_total, b.overdue_total, t.overdue_total) == (D("1100"), D("2000"), D("3100"))
    assert report.total_label == "逾期合计（仅本金）"


def test_the_setting_decides_which_charges_the_overdue_total_counts(db, charged):
    """Counting interest and damages: 华南 2,000 + 610 + 50; penalty interest stays apart."""
    db.session.add(Setting(key=charges.CHARGES_SETTING, value={"interest": True, "damages": True}))
    db.session.commit()
    report = leadership.build(db.session, helpers.make_user("leader"), "2026-10", TODAY)
    b = _units(report)["华南事业部"]
    assert report.included == frozenset({ChargeKind.INTEREST, ChargeKind.DAMAGES})
    assert b.overdue_total == D("2660.00")
    assert report.total.overdue_total == D("3848.12")  # 3,100 + 643.12 + 105.00
    assert report.total_label == "逾期合计（本金＋利息＋违约金）"


def test_charges_follow_the_row_scope(db, charged):
    """A collector of 华东 sees only 华东's charges."""
    unit_a, _ = charged
    collector = helpers.make_user("collector", units=[unit_a])
    report = leadership.build(db.session, collector, "2026-10", TODAY)
    assert [u.name for u in report.units] == ["华东事业部"]
    assert report.total.charges == charges.Charges(D("33.12"), D("10.00"), D("55.00"))


def test_without_terms_there_are_no_charges(db, ledger):  # noqa: F811
    """A ledger without contract terms shows zero charges and the principal as the total."""
    report = leadership.build(db.session, helpers.make_user("finance"), "2026-10", TODAY)
    assert not report.show_charges
    assert report.total.overdue_total == report.total.overdue == D("3100")
