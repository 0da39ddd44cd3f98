"""A case in progress (Art.21, 23): its open balance, the strategy override, promises and
instalments.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.models.case import (
    CaseReceivable,
    CollectionCase,
    PaymentPromise,
    PromiseStatus,
    RepaymentPlan,
    Strategy,
)
from backoffice.models.receivable import Payment, PaymentKind, Receivable, ReceivableStatus
from backoffice.services.case_core import CaseError


def open_balance(session: Session, case: CollectionCase) -> Decimal:
    return session.scalar(
        select(func.coalesce(func.sum(Receivable.outstanding), 0))
        .join(CaseReceivable)
        .where(CaseReceivable.case_id == case.id, Receivable.status == ReceivableStatus.OPEN)
    )


def override_strategy(case: CollectionCase, strategy: Strategy | str, reason: str) -> None:
    """Art.23: a person may override the suggested strategy, with a reason."""
    if not (reason or "").strip():
        raise CaseError(gettext("overriding the suggested strategy needs a reason"))
    case.strategy_override, case.override_reason = Strategy(strategy), reason.strip()


def judge_promises(session: Session, case: CollectionCase, today: date) -> None:
    """A promise is kept when the customer's payments between the promise and its due date
    cover it; broken once the due date passes without them."""
    for promise in session.scalars(
        select(PaymentPromise).where(
            PaymentPromise.case_id == case.id, PaymentPromise.status == PromiseStatus.PENDING
        )
    ):
        paid = session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.customer_id == case.customer_id,
                Payment.kind == PaymentKind.PAYMENT,
                Payment.received_on >= promise.promised_on,
                Payment.received_on <= promise.due_on,
            )
        )
        if paid >= promise.amount:
            promise.status = PromiseStatus.KEPT
        elif today > promise.due_on:
            promise.status = PromiseStatus.BROKEN


def late_instalments(session: Session, case: CollectionCase, today: date) -> list:
    plans = session.scalars(select(RepaymentPlan).where(RepaymentPlan.case_id == case.id))
    return [
        i
        for plan in plans
        for i in plan.instalments
        if i.due_on < today and i.paid_amount < i.amount
    ]
