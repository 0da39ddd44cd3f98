"""The monthly leadership report (Art.9, Art.29), against figures worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from backoffice.models.assessment import ApprovalState
from backoffice.models.receivable import PaymentAllocation
from backoffice.models.setting import Target
from backoffice.services import leadership
from tests import helpers

TODAY = date(2026, 11, 30)


def pay(db, receivable, amount, on):
    """A payment received ``on``, allocated entirely to ``receivable``."""
    payment = helpers.make_payment(receivable.customer, amount=amount, received_on=on)
    db.session.add(
        PaymentAllocation(payment_id=payment.id, receivable_id=receivable.id, amount=D(amount))
    )
    db.session.commit()
    return payment


def target(db, unit, period, base, *, team=False):
    """A base (清欠基数) for ``unit`` (or, with ``team``, for its company's whole team)."""
    db.session.add(
        Target(
            company_id=unit.company_id,
            sales_unit_id=None if team else unit.id,
            period=period,
            base_amount=D(base),
            status=ApprovalState.APPROVED,  # Art.28: only an approved base counts
        )
    )
    db.session.commit()


@pytest.fixture()
def ledger(db):
    """October 2026 (opening 30 Sep, closing 31 Oct) for two units; amounts chosen by hand."""
    unit_a = helpers.make_unit(name="华东事业部")
    unit_b = helpers.make_unit(unit_a.company, name="华南事业部")
    a = helpers.make_customer(unit_a, name="甲客户")
    b = helpers.make_customer(unit_b, name="乙客户")
    r1 = helpers.make_receivable(a, "1000", date(2026, 4, 30), issue_date=date(2026, 3, 1))
    pay(db, r1, "400", date(2026, 10, 15))  # overdue when paid: collected overdue
    helpers.make_receivable(a, "500", date(2026, 10, 20), issue_date=date(2026, 9, 1))
    r3 = helpers.make_receivable(a, "300", date(2026, 12, 31), issue_date=date(2026, 10, 5))
    pay(db, r3, "300", date(2026, 10, 25))  # new and paid before its due date
    r4 = helpers.make_receivable(a, "200", date(2026, 8, 31), issue_date=date(2026, 8, 1))
    pay(db, r4, "200", date(2026, 9, 15))  # settled before the month: not in the report
    r5 = helpers.make_receivable(b, "2000", date(2025, 2, 28), issue_date=date(2025, 1, 1))
    pay(db, r5, "100", date(2026, 11, 5))  # after the closing: not in October
    target(db, unit_a, "2026-10", "300")
    target(db, unit_b, "2026-10", "1000")
    target(db, unit_a, "2026-09", "99999")  # another month's base does not count
    return unit_a, unit_b


def test_figures_by_unit_and_total_match_the_hand_calculation(db, ledger):
    finance = helpers.make_user("finance")
    report = leadership.build(db.session, finance, "2026-10", TODAY)
    assert (report.opening, report.closing, report.start) == (
        date(2026, 9, 30),
        date(2026, 10, 31),
        date(2026, 10, 1),
    )
    a, b = (next(u for u in report.units if u.name == n) for n in ("华东事业部", "华南事业部"))
    assert (a.opening, a.billed, a.collected, a.overdue_collected) == (
        D("1500"),
        D("300"),
        D("700"),
        D("400"),
    )
    assert (a.outstanding, a.overdue, a.billed_dso) == (D("1100"), D("1100"), D("800"))
    assert a.base == D("300") and a.achievement == D("1.3333") and a.excess == D("100")
    assert a.overdue_ratio == D("1.0000") and a.collection_rate == D("0.3889")
    assert a.dso == D("123.8")  # 1,100 × 90 / 800
    assert (b.opening, b.collected, b.outstanding, b.overdue) == (
        D("2000"),
        0,
        D("2000"),
        D("2000"),
    )
    assert b.achievement == 0 and b.excess == 0 and b.dso is None  # no sales in 90 days
    t = report.total
    assert (t.opening, t.billed, t.collected, t.overdue_collected) == (
        D("3500"),
        D("300"),
        D("700"),
        D("400"),
    )
    assert (t.outstanding, t.overdue, t.base) == (D("3100"), D("3100"), D("1300"))
    assert t.achievement == D("0.3077") and t.excess == 0
    assert [u.name for u in report.units] == ["华南事业部", "华东事业部"]  # most overdue first


def test_aging_migration_moves_each_receivable_between_buckets(db, ledger):
    report = leadership.build(db.session, helpers.make_user("leader"), "2026-10", TODAY)
    m = report.migration
    assert m["3m_6m"] == {"gt_6m": D("600"), "settled": D("400")}  # R1: aged, part paid
    assert m["not_due"] == {"le_3m": D("500"), "settled": 0}  # R2 fell due
    assert m["new"] == {"not_due": 0, "settled": D("300")}  # R3 issued and paid
    assert m["gt_6m"] == {"gt_6m": D("2000"), "settled": 0}  # R5 unchanged
    assert m["le_3m"] == {}
    # Every row adds up to what it started with; all rows to the opening plus the billing.
    assert sum(report.migration_total(r) for r in leadership.MIGRATION_ROWS) == D("3800")


def test_a_team_base_overrides_the_sum_of_unit_bases(db, ledger):
    unit_a, _ = ledger
    target(db, unit_a, "2026-10", "400", team=True)
    report = leadership.build(db.session, helpers.make_user("leader"), "2026-10", TODAY)
    assert report.total.base == D("400") and report.total.achievement == D("1.0000")
    assert report.total.excess == 0


def test_a_collector_sees_only_their_units(db, ledger):
    unit_a, _ = ledger
    collector = helpers.make_user("collector", units=[unit_a])
    report = leadership.build(db.session, collector, "2026-10", TODAY)
    assert [u.name for u in report.units] == ["华东事业部"]
    assert report.total.outstanding == D("1100") and report.total.collected == D("700")
    assert sum(report.migration_total(r) for r in leadership.MIGRATION_ROWS) == D("1800")


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "", "2026-11", "2027-01"])
def test_malformed_or_unfinished_months_are_refused(db, period):
    with pytest.raises(leadership.PeriodError):
        leadership.build(db.session, helpers.make_user("leader"), period, TODAY)


def test_an_empty_ledger_gives_zeros_not_errors(db):
    report = leadership.build(db.session, helpers.make_user("leader"), "2026-10", TODAY)
    assert report.units == [] and report.total.outstanding == 0
    assert report.total.overdue_ratio is None and report.total.collection_rate is None
    assert report.total.base is None and report.total.achievement is None


def test_a_credit_note_lowers_the_balance_but_is_not_collected(db, ledger):
    """A credit note in the month reduces what is owed (and shows as settled in the migration)
    but is no collection: neither collected nor counted against the base."""
    from backoffice.models.receivable import PaymentKind, Receivable

    unit_a, _ = ledger
    r2 = db.session.scalar(select(Receivable).where(Receivable.amount == D("500")))
    credit = pay(db, r2, "50", date(2026, 10, 28))
    credit.kind = PaymentKind.CREDIT_NOTE
    db.session.commit()
    report = leadership.build(db.session, helpers.make_user("finance"), "2026-10", TODAY)
    a = next(u for u in report.units if u.name == "华东事业部")
    assert a.outstanding == D("1050") and a.overdue == D("1050")
    assert a.collected == D("700") and a.overdue_collected == D("400")
    assert report.migration["not_due"] == {"le_3m": D("450"), "settled": D("50")}
