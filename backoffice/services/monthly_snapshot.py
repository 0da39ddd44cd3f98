"""The monthly cycle's snapshot (Art.12): what was outstanding at the previous month's close,
per receivable, computed in SQL. Moved out of ``monthly.py`` unchanged; ``monthly`` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from backoffice.models.customer import Customer
from backoffice.models.receivable import Payment, PaymentAllocation, Receivable, ReceivableStatus


def paid_by(as_of: date):
    """Per receivable (``rid``), what was paid on it by ``as_of`` (``paid``), as a subquery."""
    return (
        select(
            PaymentAllocation.receivable_id.label("rid"),
            func.sum(PaymentAllocation.amount).label("paid"),
        )
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(Payment.received_on <= as_of)
        .group_by(PaymentAllocation.receivable_id)
        .subquery()
    )


def snapshot_query(as_of: date, *, overdue_only: bool):
    """Rows of (receivable, outstanding at close) for receivables open at ``as_of``."""
    paid = paid_by(as_of)
    outstanding = (
        Receivable.amount - func.coalesce(paid.c.paid, 0) - Receivable.written_off_amount
    ).label("outstanding_at_close")
    query = (
        select(Receivable, outstanding)
        .outerjoin(paid, paid.c.rid == Receivable.id)
        .where(or_(Receivable.issue_date.is_(None), Receivable.issue_date <= as_of))
        .where(Receivable.status != ReceivableStatus.WRITTEN_OFF)
        .where(outstanding > 0)
    )
    if overdue_only:  # Art.3: past the agreed due date and still unpaid
        query = query.where(Receivable.due_date < as_of)
    return query


@dataclass
class Line:
    receivable: Receivable
    customer_name: str
    outstanding: Decimal
    overdue_days: int
    # Art.3: interest, penalty interest and damages at the close (``charges.Charges``)
    charges: Any = None


def unit_lines(session: Session, unit_id: int, as_of: date) -> list[Line]:
    rows = session.execute(
        snapshot_query(as_of, overdue_only=True)
        .add_columns(Customer.name)
        .join(Customer, Customer.id == Receivable.customer_id)
        .where(Receivable.sales_unit_id == unit_id)
        .order_by(Customer.name, Receivable.due_date, Receivable.doc_no)
    ).all()
    return [
        Line(r.Receivable, r.name, r.outstanding_at_close, (as_of - r.Receivable.due_date).days)
        for r in rows
    ]
