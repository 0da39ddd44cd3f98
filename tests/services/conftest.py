"""Fixtures shared by the service tests."""

from datetime import date
from decimal import Decimal

import pytest

from backoffice.models import Payment, PaymentAllocation
from backoffice.services.calendar import load_year
from tests import helpers


@pytest.fixture()
def ledger(db):
    """Two units; overdue, not-yet-due and partly paid receivables; a collector per unit."""
    load_year(db.session, 2026)
    db.session.commit()
    east = helpers.make_unit(name="华东事业部")
    north = helpers.make_unit(company=east.company, name="华北事业部")
    acme = helpers.make_customer(east, name="上海宏达机械有限公司")
    beta = helpers.make_customer(north, name="北京恒信建材有限公司")
    r1 = helpers.make_receivable(acme, amount="120000.00", due=date(2026, 7, 31), doc_no="INV-A1")
    helpers.make_receivable(acme, amount="5000.00", due=date(2026, 12, 31), doc_no="INV-A2")
    r3 = helpers.make_receivable(beta, amount="88000.50", due=date(2026, 9, 15), doc_no="INV-B1")
    # A payment received after the September close must not reduce the snapshot.
    pay = Payment(
        company_id=beta.company_id,
        sales_unit_id=north.id,
        customer_id=beta.id,
        payment_no="P-1",
        amount=Decimal("8000.50"),
        received_on=date(2026, 10, 2),
        unallocated=Decimal(0),
    )
    db.session.add(pay)
    db.session.flush()
    db.session.add(
        PaymentAllocation(payment_id=pay.id, receivable_id=r3.id, amount=Decimal("8000.50"))
    )
    r3.paid_amount, r3.outstanding = Decimal("8000.50"), Decimal("80000.00")
    # And one received before the close does.
    pay2 = Payment(
        company_id=acme.company_id,
        sales_unit_id=east.id,
        customer_id=acme.id,
        payment_no="P-2",
        amount=Decimal("20000"),
        received_on=date(2026, 9, 10),
        unallocated=Decimal(0),
    )
    db.session.add(pay2)
    db.session.flush()
    db.session.add(
        PaymentAllocation(payment_id=pay2.id, receivable_id=r1.id, amount=Decimal("20000"))
    )
    r1.paid_amount, r1.outstanding = Decimal("20000"), Decimal("100000")
    db.session.commit()
    helpers.make_user("collector", units=[east])
    helpers.make_user("collector", units=[north])
    return {"east": east, "north": north, "acme": acme, "beta": beta}


@pytest.fixture()
def chain(db):
    """A unit with its VP, the whole approval chain, finance and credit, a collector, and a
    customer with two open receivables."""
    from backoffice.models.user import LeaderTitle

    load_year(db.session, 2026)
    unit = helpers.make_unit(name="华东事业部")
    people = {
        "collector": helpers.make_user("collector", units=[unit]),
        "lead": helpers.make_user("team_lead"),
        "vp": helpers.make_user("leader", leader_title=LeaderTitle.DIVISION_VP),
        "other_vp": helpers.make_user("leader", leader_title=LeaderTitle.DIVISION_VP),
        "cfo": helpers.make_user("leader", leader_title=LeaderTitle.CFO),
        "president": helpers.make_user("leader", leader_title=LeaderTitle.PRESIDENT),
        "finance": helpers.make_user("finance"),
        "credit": helpers.make_user("credit"),
    }
    unit.vp_id = people["vp"].id
    customer = helpers.make_customer(unit, name="常州永泰建材有限公司")
    r1 = helpers.make_receivable(customer, amount="30000", due=date(2025, 3, 31), doc_no="HX-1")
    r2 = helpers.make_receivable(customer, amount="12000.50", due=date(2025, 5, 31), doc_no="HX-2")
    db.session.commit()
    return {"unit": unit, "customer": customer, "r1": r1, "r2": r2, **people}
