"""Art.23 (2): each customer in arrears is analysed one by one: why it is behind, the target
(an amount by a date), the plan, and a strategy that follows its financial status.

- ``resuggest``: when the debtor's financial status changes (``credit.set_financial_status``),
  its open case's suggested strategy follows it and the case's people are told; an override
  stays, with its reason, and the message says so, so someone decides whether it still holds.
- ``set_customer_plan``: the team records the target and plan; each new one supersedes the
  last, which stays as history. ``plan_progress`` reads what was collected against it.

Functions add to the session; callers commit.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.models.case import CollectionCase
from backoffice.models.case_steps import CustomerCollectionPlan
from backoffice.models.customer import Customer
from backoffice.models.receivable import Payment, PaymentKind
from backoffice.models.user import RoleName
from backoffice.services import notify
from backoffice.services.case_core import CaseError, open_case_of, suggest_strategy


def resuggest(session: Session, customer: Customer) -> CollectionCase | None:
    """Art.23 (2): the suggestion follows the customer's current financial status. Returns the
    open case whose suggestion changed (and whose people were told), else None."""
    case = open_case_of(session, customer.id)
    if case is None:
        return None
    new = suggest_strategy(customer.financial_status)
    if new == case.suggested_strategy:
        return None
    old, case.suggested_strategy = case.suggested_strategy, new
    body = gettext(
        "The suggested strategy changed from %(old)s to %(new)s (financial status: %(status)s).",
        old=old.label if old else "—",
        new=new.label if new else "—",
        status=customer.financial_status.label if customer.financial_status else "—",
    )
    if case.strategy_override is not None:
        body += " " + gettext(
            "The strategy chosen by hand, %(strategy)s, stays (reason: %(reason)s); "
            "check that it still holds.",
            strategy=case.strategy_override.label,
            reason=case.override_reason or "",
        )
    people = notify.users_with_role(session, RoleName.COLLECTOR, case.sales_unit_id)
    notify.notify(
        session,
        [*people, case.lead_id, *notify.users_with_role(session, RoleName.TEAM_LEAD)],
        f"清欠策略建议变更：案件 {case.case_no}",
        body,
        link=f"/admin/collection_case/file/{case.id}",
    )  # no dedup key: each change of status that changes the suggestion is news
    return case


def set_customer_plan(
    session: Session,
    customer: Customer,
    user_id: int,
    *,
    reasons: str,
    target_amount: Decimal | None,
    target_date: date | None,
    measures: str,
    on: date,
    case: CollectionCase | None = None,
) -> CustomerCollectionPlan:
    """Art.23 (2): record why the customer is behind, the target and the plan. Refused
    without reasons, measures, an amount above zero, or a target date after today."""
    reasons, measures = (reasons or "").strip(), (measures or "").strip()
    if not reasons or not measures:
        raise CaseError(gettext("a plan says why the customer is behind and what will be done"))
    if target_amount is None or target_amount <= 0:
        raise CaseError(gettext("a target needs an amount above zero"))
    if target_date is None or target_date <= on:
        raise CaseError(gettext("the target date must be after today"))
    strategy = None
    if case is not None:
        strategy = case.strategy_override or case.suggested_strategy
    plan = CustomerCollectionPlan(
        customer_id=customer.id,
        case_id=case.id if case else None,
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        reasons=reasons,
        target_amount=target_amount,
        target_date=target_date,
        measures=measures,
        strategy=strategy or suggest_strategy(customer.financial_status),
        set_by_id=user_id,
        set_on=on,
    )
    session.add(plan)
    session.flush()
    return plan


def current_plan(session: Session, customer_id: int) -> CustomerCollectionPlan | None:
    return session.scalar(
        select(CustomerCollectionPlan)
        .where(CustomerCollectionPlan.customer_id == customer_id)
        .order_by(CustomerCollectionPlan.set_on.desc(), CustomerCollectionPlan.id.desc())
        .limit(1)
    )


def plan_progress(session: Session, plan: CustomerCollectionPlan) -> Decimal:
    """Money received from the customer from the day the plan was set up to its target date."""
    return session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.customer_id == plan.customer_id,
            Payment.kind == PaymentKind.PAYMENT,
            Payment.received_on >= plan.set_on,
            Payment.received_on <= plan.target_date,
        )
    )
