"""Aging in calendar months and days, buckets, debt classes and penalty: SQL agrees with Python."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from backoffice.models import Receivable, Setting
from backoffice.models.case import CaseOrigin, CaseStatus, CollectionCase, Litigation
from backoffice.models.receivable import Contract, PenaltyKind
from backoffice.services import aging, charges, payments
from backoffice.services.aging import Bucket, DebtClass, Handling, ReportBucket
from tests import helpers
from tests.services.test_payments import make_payment

_n = itertools.count(1)

# (due, as_of, months, days) — worked out by hand.
HAND = [
    (date(2026, 1, 31), date(2026, 2, 27), 0, 27),
    (date(2026, 1, 31), date(2026, 2, 28), 1, 28),  # month-end rule: 31st → 28th
    (date(2026, 1, 31), date(2026, 3, 30), 1, 58),
    (date(2026, 1, 31), date(2026, 3, 31), 2, 59),
    (date(2026, 3, 31), date(2026, 4, 30), 1, 30),  # 31st → 30th
    (date(2026, 3, 31), date(2026, 4, 29), 0, 29),
    (date(2024, 1, 31), date(2024, 2, 29), 1, 29),  # leap year
    (date(2024, 1, 31), date(2024, 2, 28), 0, 28),  # 28 Feb 2024 is not the month end
    (date(2024, 2, 29), date(2024, 3, 28), 0, 28),
    (date(2024, 2, 29), date(2024, 3, 29), 1, 29),
    (date(2024, 2, 29), date(2025, 2, 28), 12, 365),  # anniversary of a leap day
    (date(2026, 1, 15), date(2026, 1, 15), 0, 0),  # due today: not overdue
    (date(2026, 5, 1), date(2026, 1, 15), 0, 0),  # not due yet
    (date(2025, 12, 15), date(2026, 6, 15), 6, 182),
    (date(2025, 12, 15), date(2026, 6, 14), 5, 181),
]


@pytest.mark.parametrize(("due", "as_of", "months", "days"), HAND)
def test_python_months_and_days_match_hand(due, as_of, months, days):
    """Calendar months and days overdue follow the month-end rule and leap years."""
    assert aging.months_overdue(due, as_of) == months
    assert aging.days_overdue(due, as_of) == days


def _sql_row(db, rec_id, as_of, rules=None):
    cols = aging.aging_columns(as_of, rules)
    return db.session.execute(select(*cols.values()).where(Receivable.id == rec_id)).one()._asdict()


def test_sql_matches_hand_calculation(db):
    """The SQL expressions give the hand-calculated months and days."""
    cust = helpers.make_customer()
    for due, as_of, months, days in HAND:
        rec = helpers.make_receivable(cust, due=due)
        row = _sql_row(db, rec.id, as_of)
        assert (row["months_overdue"], row["days_overdue"]) == (months, days), (due, as_of)


def test_sql_agrees_with_python_over_a_calendar_grid(db):
    """Buckets, report buckets, classes, months and days agree between SQL and Python."""
    cust = helpers.make_customer()
    dues = [
        date(2023, 12, 31),
        date(2024, 2, 29),
        date(2025, 8, 31),
        date(2025, 9, 30),
        date(2025, 11, 30),
        date(2025, 12, 31),
        date(2026, 1, 29),
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 3),
    ]
    recs = {helpers.make_receivable(cust, due=d).id: d for d in dues}
    as_ofs = [date(2026, 2, 28), date(2026, 3, 31), date(2026, 5, 31), date(2026, 6, 30)]
    as_ofs += [date(2024, 2, 29), date(2026, 7, 31), date(2026, 8, 30), date(2026, 3, 1)]
    for as_of in as_ofs:
        cols = aging.aging_columns(as_of)
        rows = db.session.execute(select(Receivable.id, *cols.values())).all()
        for row in rows:
            due = recs[row.id]
            assert row.days_overdue == aging.days_overdue(due, as_of)
            assert row.months_overdue == aging.months_overdue(due, as_of), (due, as_of)
            assert row.aging_bucket == aging.bucket(due, as_of).value, (due, as_of)
            assert row.report_bucket == aging.report_bucket(due, as_of).value
            assert row.debt_class == aging.debt_class(due, as_of).value, (due, as_of)


def test_bucket_boundaries_by_hand():
    """Three months after 30 Nov is 28 Feb: on that day it is still 'up to 3 months'."""
    due = date(2025, 11, 30)
    assert aging.bucket(due, date(2026, 2, 28)) == Bucket.UP_TO_3M
    assert aging.bucket(due, date(2026, 3, 1)) == Bucket.M3_TO_6
    assert aging.bucket(due, date(2026, 5, 30)) == Bucket.M3_TO_6
    assert aging.bucket(due, date(2026, 5, 31)) == Bucket.OVER_6M
    assert aging.bucket(due, due) == Bucket.NOT_DUE
    assert aging.report_bucket(due, due + timedelta(days=30)) == ReportBucket.D1_30
    assert aging.report_bucket(due, due + timedelta(days=31)) == ReportBucket.D31_60
    assert aging.report_bucket(due, due + timedelta(days=366)) == ReportBucket.OVER_365
    assert aging.months_cutoff(date(2026, 2, 28), 1) == date(2026, 1, 28)


def test_partial_overpaid_and_credited_receivables(db):
    """Outstanding, bucket and class are right after partial payments, over-payments and credits."""
    cust = helpers.make_customer()
    partial = helpers.make_receivable(cust, amount="1000", due=date(2025, 12, 31))
    paid = helpers.make_receivable(cust, amount="200", due=date(2025, 11, 30))
    credited = helpers.make_receivable(cust, amount="300", due=date(2026, 3, 31), doc_no="CN-T")
    payments.allocate(db.session, make_payment(db, cust, "500"))  # 200 to `paid`, 300 partial
    from backoffice.models.receivable import PaymentKind

    payments.allocate(
        db.session, make_payment(db, cust, "300", ref="CN-T", kind=PaymentKind.CREDIT_NOTE)
    )
    over = make_payment(db, cust, "800")
    payments.allocate(db.session, over)
    db.session.commit()
    as_of = date(2026, 3, 31)
    got = {r.id: _sql_row(db, r.id, as_of) for r in (partial, paid, credited)}
    for rec in (partial, paid, credited):
        db.session.refresh(rec)
    # 1000 - 300 (first payment) - 700 (of the 800) = 0; the overpayment keeps 100.
    assert (partial.outstanding, over.unallocated) == (D("0.00"), D("100.00"))
    assert got[partial.id]["aging_bucket"] is None
    assert got[paid.id]["debt_class"] is None
    assert credited.outstanding == D("0.00")
    # Reverse the big payment: the partial one is 700 outstanding, 3 months overdue.
    payments.reverse(db.session, over)
    db.session.commit()
    row = _sql_row(db, partial.id, as_of)
    db.session.refresh(partial)
    assert partial.outstanding == D("700.00")
    assert (row["months_overdue"], row["days_overdue"]) == (3, 90)
    assert row["aging_bucket"] == Bucket.UP_TO_3M.value
    assert row["report_bucket"] == ReportBucket.D61_90.value
    assert row["debt_class"] == DebtClass.ATTENTION.value


def test_debt_class_rules_come_from_settings(db):
    """The thresholds of the debt classes are configurable in the Setting table."""
    cust = helpers.make_customer()
    rec = helpers.make_receivable(cust, due=date(2026, 1, 31))
    as_of = date(2026, 3, 31)  # 2 months overdue
    assert _sql_row(db, rec.id, as_of)["debt_class"] == "attention"
    db.session.add(Setting(key="debt_classes", value={"attention_max_months": 1}))
    db.session.commit()
    rules = aging.debt_class_rules(db.session)
    assert rules.attention_max_months == 1 and rules.overdue_max_months == 6
    assert _sql_row(db, rec.id, as_of, rules)["debt_class"] == "overdue"
    assert aging.debt_class(rec.due_date, as_of, rules=rules) == DebtClass.OVERDUE
    assert rules.handling_for(DebtClass.ATTENTION) == Handling.DEMAND_LETTER
    assert rules.handling_for(DebtClass.OVERDUE) == Handling.TARGETED_PLAN


def test_litigation_makes_debts_stagnant(db):
    """A customer with litigation in an open case has stagnant debts, even if not due."""
    cust = helpers.make_customer()
    rec = helpers.make_receivable(cust, due=date(2026, 6, 30))
    case = CollectionCase(
        case_no=f"QQ-{next(_n)}",
        customer_id=cust.id,
        company_id=cust.company_id,
        sales_unit_id=cust.sales_unit_id,
        origin=CaseOrigin.COMPULSORY,
        status=CaseStatus.IN_PROGRESS,
    )
    db.session.add(case)
    db.session.flush()
    db.session.add(Litigation(case_id=case.id, court="上海市第一中级人民法院"))
    db.session.commit()
    assert _sql_row(db, rec.id, date(2026, 3, 1))["debt_class"] == "stagnant"
    case.status = CaseStatus.CLOSED
    case.outcome_note = "closed"
    db.session.commit()
    assert _sql_row(db, rec.id, date(2026, 3, 1))["debt_class"] == "normal"


def _contract(db, cust, kind, rate=None, fixed=None):
    contract = Contract(
        company_id=cust.company_id,
        sales_unit_id=cust.sales_unit_id,
        customer_id=cust.id,
        number=f"HT-{next(_n)}",
        penalty_kind=kind,
        penalty_daily_rate=rate,
        penalty_fixed=fixed,
    )
    db.session.add(contract)
    db.session.commit()
    return contract


def test_penalty_by_daily_rate_and_fixed(db):
    """Penalty = rate × outstanding × days (half up to the cent), or a fixed sum once overdue."""
    cust = helpers.make_customer()
    daily = _contract(db, cust, PenaltyKind.DAILY_RATE, rate=D("0.0005"))
    fixed = _contract(db, cust, PenaltyKind.FIXED, fixed=D("888.88"))
    none = _contract(db, cust, PenaltyKind.NONE)
    r1 = helpers.make_receivable(
        cust, amount="12345.67", due=date(2026, 1, 31), contract_id=daily.id
    )
    r2 = helpers.make_receivable(cust, amount="100", due=date(2026, 1, 31), contract_id=fixed.id)
    r3 = helpers.make_receivable(cust, amount="100", due=date(2026, 1, 31), contract_id=none.id)
    r4 = helpers.make_receivable(cust, amount="100", due=date(2026, 1, 31))
    r5 = helpers.make_receivable(cust, amount="100", due=date(2026, 5, 1), contract_id=fixed.id)
    as_of = date(2026, 3, 2)  # 30 days overdue
    # 12345.67 × 0.0005 × 30 = 185.18505 → 185.19
    expected = {r1: D("185.19"), r2: D("888.88"), r3: D("0"), r4: D("0"), r5: D("0")}
    for rec, value in expected.items():
        assert _sql_row(db, rec.id, as_of)["penalty"] == value
        contract = rec.contract
        assert (
            charges.penalty(
                rec.outstanding,
                rec.due_date,
                as_of,
                contract.penalty_kind if contract else None,
                contract.penalty_daily_rate if contract else None,
                contract.penalty_fixed if contract else None,
            )
            == value
        )
    # Principal is not changed by the penalty.
    db.session.refresh(r1)
    assert r1.outstanding == D("12345.67")


def test_filter_criteria_agree_with_expressions(db):
    """The index-friendly bucket and class filters select exactly the rows the CASE labels."""
    cust = helpers.make_customer()
    sued = helpers.make_customer()
    for i in range(0, 420, 7):
        helpers.make_receivable(cust, due=date(2026, 3, 31) - timedelta(days=i))
        helpers.make_receivable(sued, due=date(2026, 3, 31) - timedelta(days=i))
    settled = helpers.make_receivable(cust, due=date(2025, 1, 1))
    settled.outstanding = D("0")
    case = CollectionCase(
        case_no=f"QQ-{next(_n)}",
        customer_id=sued.id,
        company_id=sued.company_id,
        sales_unit_id=sued.sales_unit_id,
        origin=CaseOrigin.APPLICATION,
        status=CaseStatus.FILED,
    )
    db.session.add(case)
    db.session.flush()
    db.session.add(Litigation(case_id=case.id, court="法院"))
    db.session.commit()
    as_of = date(2026, 3, 31)
    for enum_cls, expr, crit in (
        (Bucket, aging.bucket_expr(as_of), aging.bucket_criterion),
        (DebtClass, aging.debt_class_expr(as_of), aging.debt_class_criterion),
    ):
        for member in enum_cls:
            by_case = set(db.session.scalars(select(Receivable.id).where(expr == member.value)))
            by_range = set(
                db.session.scalars(select(Receivable.id).where(crit(as_of, member.value)))
            )
            assert by_case == by_range, member
            assert settled.id not in by_range
