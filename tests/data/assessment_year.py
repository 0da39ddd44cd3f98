"""A year (2025) of debts taken over by the team, for the assessment tests (Art.8, 27–30).

Two units; three cases filed on 2025-02-01, each on one overdue receivable; payments received
in 2025 (one before filing, which does not count); a travel cost. Figures are chosen so the
tests can work them out by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal as D
from typing import Any

from backoffice.extensions import db
from backoffice.models import CaseReceivable, Litigation, PaymentAllocation
from backoffice.models.case import CaseCost, CaseStatus, CostKind
from backoffice.models.customer import FinancialStatus
from tests import helpers

FILED = date(2025, 2, 1)


@dataclass
class Year:
    company: Any
    east: Any
    north: Any
    leader: Any
    leader2: Any
    lead: Any
    alice: Any
    bob: Any
    case1: Any
    case2: Any
    case3: Any


def _case(customer, lead, amount: str, due: date):
    case = helpers.make_case(
        customer, status=CaseStatus.IN_PROGRESS, filed_on=FILED, lead_id=lead.id
    )
    rec = helpers.make_receivable(customer, amount=amount, due=due)
    db.session.add(CaseReceivable(case_id=case.id, receivable_id=rec.id))
    db.session.commit()
    return case, rec


def _pay(case, rec, amount: str, on: date) -> None:
    pay = helpers.make_payment(case.customer, amount=amount, received_on=on)
    db.session.add(PaymentAllocation(payment_id=pay.id, receivable_id=rec.id, amount=D(amount)))
    db.session.commit()


def build_year() -> Year:
    east = helpers.make_unit(name="华东事业部")
    north = helpers.make_unit(company=east.company, name="华北事业部")
    good = helpers.make_customer(
        east, name="上海宏达机械有限公司", financial_status=FinancialStatus.GOOD_FUNDS
    )
    bad = helpers.make_customer(
        north, name="北京恒信建材有限公司", financial_status=FinancialStatus.MALICIOUS
    )
    fine = helpers.make_customer(
        east, name="苏州锦程物流有限公司", financial_status=FinancialStatus.GOOD_FUNDS
    )
    leader = helpers.make_user("leader", username="zongcai", display_name="王总裁")
    leader2 = helpers.make_user("leader", username="cfo", display_name="李财务总监")
    lead = helpers.make_user("team_lead", username="zuzhang", display_name="赵组长")
    alice = helpers.make_user("collector", units=[east], username="alice", display_name="陈清收")
    bob = helpers.make_user("collector", units=[north], username="bob", display_name="刘催收")
    # Case 1: 12 months overdue when taken over (2024-01-10 → 2025-02-01), good funds → hard.
    case1, rec1 = _case(good, alice, "100000.00", date(2024, 1, 10))
    # Case 2: 4 months, malicious (2 points), litigated (1 point) → very hard.
    case2, rec2 = _case(bad, bob, "50000.00", date(2024, 9, 15))
    db.session.add(Litigation(case_id=case2.id, court="北京市朝阳区人民法院"))
    # Case 3: 1 month, good funds → standard (the team will override it to hard).
    case3, rec3 = _case(fine, alice, "30000.00", date(2024, 12, 20))
    db.session.commit()
    _pay(case1, rec1, "5000.00", date(2025, 1, 15))  # before the team took it over: not counted
    _pay(case1, rec1, "60000.00", date(2025, 5, 10))
    _pay(case2, rec2, "20000.00", date(2025, 7, 1))
    _pay(case3, rec3, "10000.00", date(2025, 3, 15))
    # Art.8: a trip to the northern debtor, charged to its unit (北), not the collector's.
    db.session.add(
        CaseCost(
            case_id=case2.id,
            company_id=case2.company_id,
            sales_unit_id=case2.sales_unit_id,
            kind=CostKind.TRAVEL,
            amount=D("500.00"),
            incurred_on=date(2025, 6, 20),
            note="赴京催收差旅费",
        )
    )
    db.session.commit()
    return Year(east.company, east, north, leader, leader2, lead, alice, bob, case1, case2, case3)
