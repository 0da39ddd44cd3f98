"""Credit control: changes need a reason and keep history; exposure and flags."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from flask_babel import force_locale
from sqlalchemy import select, true

from backoffice.models import CreditEvent, Customer, Setting
from backoffice.models.customer import CreditEventKind, CreditRating, FinancialStatus
from backoffice.services import credit
from tests import helpers


def test_each_change_writes_history_with_reason(db):
    """Rating, limit, hold, release and financial status each leave a CreditEvent."""
    cust = helpers.make_customer()
    user = helpers.make_user("credit")
    assert credit.set_rating(db.session, cust, CreditRating.B, "付款拖延", user.id)
    assert credit.set_limit(db.session, cust, D("50000"), "年度评审", user.id)
    assert credit.hold_shipments(db.session, cust, "逾期超过90天", user.id)
    assert credit.release_shipments(db.session, cust, "已回款", user.id)
    assert credit.set_financial_status(
        db.session, cust, FinancialStatus.POOR_FUNDS_GOOD_PROSPECTS, "走访", user.id
    )
    db.session.commit()
    events = db.session.scalars(select(CreditEvent).order_by(CreditEvent.id)).all()
    assert [e.kind for e in events] == [
        CreditEventKind.RATING,
        CreditEventKind.LIMIT,
        CreditEventKind.HOLD,
        CreditEventKind.RELEASE,
        CreditEventKind.FINANCIAL_STATUS,
    ]
    assert events[1].new_value == "50000.00" and events[2].reason == "逾期超过90天"
    assert {e.user_id for e in events} == {user.id}
    assert events[0].sales_unit_id == cust.sales_unit_id
    assert cust.shipment_hold is False and cust.credit_limit == D("50000.00")


def test_history_values_read_as_labels_yes_no_and_money(db):
    """Stored event values show as the rating's and status's labels, 是/否 and money; an
    unknown value written by an older version shows as stored."""
    cust = helpers.make_customer()
    credit.set_rating(db.session, cust, CreditRating.B, "付款拖延")
    credit.hold_shipments(db.session, cust, "逾期超过90天")
    credit.set_financial_status(db.session, cust, FinancialStatus.MALICIOUS, "恶意拖欠")
    db.session.commit()
    events = db.session.scalars(select(CreditEvent).order_by(CreditEvent.id)).all()
    with force_locale("zh_Hans_CN"):
        shown = [(credit.shown_value(e.kind, e.old_value), credit.shown_value(e.kind, e.new_value))
                 for e in events]
        assert shown[0][1] == str(CreditRating.B.label)
        assert shown[1] == ("否", "是")
        assert shown[2][1] == str(FinancialStatus.MALICIOUS.label)
        assert credit.shown_value(CreditEventKind.HOLD, "false") == "否"
        assert credit.shown_value(CreditEventKind.LIMIT, "50000.00").endswith("50,000.00")
        assert credit.shown_value(CreditEventKind.RATING, "ZZ") == "ZZ"


def test_reason_required_and_unchanged_is_noop(db):
    """A change without a reason is refused; setting the same value writes nothing."""
    cust = helpers.make_customer()
    with pytest.raises(ValueError):
        credit.hold_shipments(db.session, cust, "  ")
    assert credit.hold_shipments(db.session, cust, "停货") is not None
    assert credit.hold_shipments(db.session, cust, "again") is None
    assert credit.set_limit(db.session, cust, None, "no limit") is None
    with pytest.raises(ValueError):
        credit.set_limit(db.session, cust, D("-1"), "negative")
    db.session.commit()
    assert db.session.query(CreditEvent).count() == 1


def test_refusals_speak_the_current_locale(db):
    """A refused change says why in Chinese by default (jobs, CLI) and in English when asked."""
    cust = helpers.make_customer()
    with pytest.raises(ValueError, match="每项信用控制变更都须说明原因"):
        credit.hold_shipments(db.session, cust, " ")
    with force_locale("en"), pytest.raises(ValueError, match="cannot be negative"):
        credit.set_limit(db.session, cust, D("-1"), "negative")
    assert db.session.query(CreditEvent).count() == 0


def test_exposure_and_flags(db):
    """Exposure sums outstanding; flags for over limit and for debts past the overdue age."""
    cust = helpers.make_customer(credit_limit=D("1500"))
    helpers.make_receivable(cust, amount="1000", due=date(2026, 1, 31))
    helpers.make_receivable(cust, amount="800", due=date(2026, 3, 31))
    as_of = date(2026, 4, 30)  # oldest is 89 days overdue
    status = credit.credit_status(db.session, cust, as_of)
    assert status.exposure == D("1800.00") and status.headroom == D("-300.00")
    assert status.over_limit and not status.overdue_past_age
    assert credit.credit_status(db.session, cust, date(2026, 5, 2)).overdue_past_age
    db.session.add(Setting(key="credit_flag_overdue_days", value=30))
    db.session.commit()
    assert credit.credit_status(db.session, cust, as_of).overdue_past_age


def test_flag_columns_and_flagged_customers_agree(db):
    """The SQL flags on the customer list and the dashboard's flagged list agree."""
    unit = helpers.make_unit()
    over = helpers.make_customer(unit, credit_limit=D("100"))
    old = helpers.make_customer(unit)
    fine = helpers.make_customer(unit, credit_limit=D("10000"))
    helpers.make_receivable(over, amount="150", due=date(2026, 4, 1))
    helpers.make_receivable(old, amount="10", due=date(2025, 12, 1))
    helpers.make_receivable(fine, amount="10", due=date(2026, 4, 1))
    as_of = date(2026, 4, 15)
    cols = credit.customer_flag_columns(as_of, 90)
    rows = db.session.execute(select(Customer.id, *cols.values()).order_by(Customer.id)).all()
    flags = {r.id: (r.exposure, bool(r.over_limit), bool(r.overdue_flag)) for r in rows}
    assert flags[over.id] == (D("150.00"), True, False)
    assert flags[old.id] == (D("10.00"), False, True)
    assert flags[fine.id] == (D("10.00"), False, False)
    flagged = credit.flagged_customers(db.session, true(), as_of)
    assert [r.id for r in flagged] == [over.id, old.id]
