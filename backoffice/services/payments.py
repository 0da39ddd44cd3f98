"""Allocation of payments (回款) and credit notes to receivables (SPEC §3.1, Art.2–3, 11).

A payment is applied first to the document the payer named (``doc_no_ref``), then to the
customer's other open receivables, oldest due date first. Whatever is left stays visible on the
payment as ``unallocated`` and is applied later by ``apply_unallocated`` when new receivables
arrive. A credit note is a positive amount of kind ``CREDIT_NOTE`` and reduces what is
outstanding in the same way.

Each receivable keeps ``paid_amount`` (the sum of its allocations), ``outstanding`` (= amount −
paid − written off) and its status: SETTLED, with ``settled_on``, once nothing is outstanding.

Concurrency: every change for one customer first locks the customer row (``FOR UPDATE`` on
PostgreSQL; SQLite serialises writers anyway), so two allocations for the same customer never
interleave and never deadlock. Each call issues a constant number of statements plus one flush,
so importing n payments costs O(n).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.models.customer import Customer
from backoffice.models.receivable import (
    Payment,
    PaymentAllocation,
    PaymentKind,
    Receivable,
    ReceivableStatus,
)
from backoffice.services.holds import lift_recovered

ZERO = Decimal("0.00")


def _lock_customer(session: Session, customer_id: int) -> None:
    session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update()).first()


def _lock_payment(session: Session, payment: Payment) -> None:
    session.execute(
        select(Payment)
        .where(Payment.id == payment.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _allocations_of(session: Session, payment: Payment) -> list[PaymentAllocation]:
    return list(
        session.scalars(
            select(PaymentAllocation)
            .where(PaymentAllocation.payment_id == payment.id)
            .order_by(PaymentAllocation.id)
        )
    )


def _set_state(receivable: Receivable, settled_on: date | None) -> None:
    """Derive outstanding and status from amount, paid and written off (no I/O)."""
    receivable.outstanding = (
        receivable.amount
        - (receivable.paid_amount or ZERO)
        - (receivable.written_off_amount or ZERO)
    )
    if receivable.status == ReceivableStatus.WRITTEN_OFF:
        return
    if receivable.outstanding <= ZERO:
        if receivable.status != ReceivableStatus.SETTLED:
            receivable.status = ReceivableStatus.SETTLED
            receivable.settled_on = settled_on
        elif receivable.settled_on is None:
            receivable.settled_on = settled_on
    else:
        receivable.status = ReceivableStatus.OPEN
        receivable.settled_on = None


def _open_receivables(session: Session, payment: Payment) -> list[Receivable]:
    """The customer's receivables with something outstanding, in allocation order, locked."""
    rows = list(
        session.scalars(
            select(Receivable)
            .where(
                Receivable.customer_id == payment.customer_id,
                Receivable.company_id == payment.company_id,
                Receivable.status == ReceivableStatus.OPEN,
                Receivable.outstanding > ZERO,
            )
            .order_by(Receivable.due_date, Receivable.id)
            .with_for_update(of=Receivable)
            .execution_options(populate_existing=True)
        )
    )
    if payment.doc_no_ref:
        ref = payment.doc_no_ref.strip()
        # The named document goes first; the sort is stable, so the rest stay oldest first.
        rows.sort(key=lambda r: r.doc_no != ref)
    return rows


def allocate(
    session: Session, payment: Payment, *, lift_holds: bool = True
) -> list[PaymentAllocation]:
    """Apply the payment's unapplied money to the customer's open receivables.

    Side effects: creates or grows ``PaymentAllocation`` rows, updates the receivables' paid
    amount, outstanding, status and ``settled_on``, and sets ``payment.unallocated``; flushes
    once, does not commit. Idempotent: a payment already fully applied, or with nothing open to
    apply to, changes nothing. If the payment's amount was lowered below what is already
    applied (an ERP correction), its allocations are undone and redone.
    Returns the payment's allocations. With ``lift_holds=False`` the caller lifts the holds of
    the customers it allocated for once, after its batch (``holds.lift_recovered_many``).
    """
    session.flush()
    _lock_customer(session, payment.customer_id)
    _lock_payment(session, payment)
    existing = _allocations_of(session, payment)
    applied = sum((a.amount for a in existing), ZERO)
    if applied > payment.amount:
        reverse(session, payment)
        existing, applied = [], ZERO
    remaining = payment.amount - applied
    if remaining > ZERO:
        by_receivable = {a.receivable_id: a for a in existing}
        for receivable in _open_receivables(session, payment):
            if remaining <= ZERO:
                break
            take = min(remaining, receivable.outstanding)
            allocation = by_receivable.get(receivable.id)
            if allocation is None:
                allocation = PaymentAllocation(
                    payment_id=payment.id, receivable_id=receivable.id, amount=take
                )
                session.add(allocation)
                existing.append(allocation)
                by_receivable[receivable.id] = allocation
            else:
                allocation.amount += take
            receivable.paid_amount = (receivable.paid_amount or ZERO) + take
            _set_state(receivable, payment.received_on)
            remaining -= take
    new_unallocated = max(remaining, ZERO)
    if payment.unallocated != new_unallocated:
        payment.unallocated = new_unallocated
    session.flush()
    if lift_holds:
        lift_recovered(session, payment.customer_id)  # Art.26(1): a loss paid back lifts holds
    return existing


def reverse(session: Session, payment: Payment) -> None:
    """Undo every allocation of the payment; its whole amount becomes unallocated again.

    Side effects: deletes the allocation rows, lowers the receivables' paid amount and reopens
    settled ones; flushes, does not commit. Idempotent: reversing twice changes nothing more.
    """
    session.flush()
    _lock_customer(session, payment.customer_id)
    _lock_payment(session, payment)
    allocations = _allocations_of(session, payment)
    if allocations:
        receivables = {
            r.id: r
            for r in session.scalars(
                select(Receivable)
                .where(Receivable.id.in_([a.receivable_id for a in allocations]))
                .with_for_update(of=Receivable)
                .execution_options(populate_existing=True)
            )
        }
        for allocation in allocations:
            receivable = receivables[allocation.receivable_id]
            receivable.paid_amount = (receivable.paid_amount or ZERO) - allocation.amount
            _set_state(receivable, None)
            session.delete(allocation)
    if payment.unallocated != payment.amount:
        payment.unallocated = payment.amount
    session.flush()


def recompute_receivable(session: Session, receivable: Receivable) -> Receivable:
    """Rebuild paid amount, outstanding and status of one receivable from its allocations.

    If the receivable now holds more than it can take (its amount was lowered, or part of it
    was written off), allocations are trimmed, latest payment first, and the excess goes back
    to those payments' ``unallocated``. Side effects: updates the receivable, possibly
    allocations and payments; flushes, does not commit. Idempotent.
    """
    session.flush()
    _lock_customer(session, receivable.customer_id)
    rows = session.execute(
        select(PaymentAllocation, Payment)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.receivable_id == receivable.id)
        .order_by(Payment.received_on.desc(), Payment.id.desc())
        .with_for_update(of=PaymentAllocation)
    ).all()
    capacity = max(receivable.amount - (receivable.written_off_amount or ZERO), ZERO)
    paid = sum((a.amount for a, _ in rows), ZERO)
    excess = paid - capacity
    for allocation, payment in rows:
        if excess <= ZERO:
            break
        cut = min(excess, allocation.amount)
        allocation.amount -= cut
        payment.unallocated = (payment.unallocated or ZERO) + cut
        if allocation.amount == ZERO:
            session.delete(allocation)
        excess -= cut
        paid -= cut
    kept = [(a, p) for a, p in rows if a.amount > ZERO]
    receivable.paid_amount = paid
    last_paid_on = max((p.received_on for _, p in kept), default=None)
    if receivable.status == ReceivableStatus.SETTLED:
        receivable.settled_on = None  # re-derived below from the allocations that remain
        receivable.status = ReceivableStatus.OPEN
    _set_state(receivable, last_paid_on)
    session.flush()
    return receivable


def apply_unallocated(session: Session, customer_id: int) -> list[PaymentAllocation]:
    """Apply the customer's unallocated money (oldest payment first) to open receivables.

    Call it after new receivables arrive. Side effects as ``allocate``; idempotent. Returns
    the allocations created or grown by this call.
    """
    session.flush()
    _lock_customer(session, customer_id)
    payments = session.scalars(
        select(Payment)
        .where(Payment.customer_id == customer_id, Payment.unallocated > ZERO)
        .order_by(Payment.received_on, Payment.id)
    ).all()
    changed: list[PaymentAllocation] = []
    for payment in payments:
        before = {a.id: a.amount for a in _allocations_of(session, payment)}
        for allocation in allocate(session, payment, lift_holds=False):
            if before.get(allocation.id) != allocation.amount:
                changed.append(allocation)
    if payments:
        lift_recovered(session, customer_id)  # Art.26(1): once for the customer, not per payment
    return changed


def unallocated_total(session: Session, customer_ids: Iterable[int] | None = None) -> Decimal:
    """Sum of money received but not yet applied (optionally for some customers). Read-only."""
    stmt = select(func.coalesce(func.sum(Payment.unallocated), ZERO))
    if customer_ids is not None:
        stmt = stmt.where(Payment.customer_id.in_(list(customer_ids)))
    return session.scalar(stmt) or ZERO


def allocated_to(
    session: Session, receivable_ids: Iterable[int], since: date | None = None
) -> Decimal:
    """Money (payments, not credit notes) allocated to ``receivable_ids``, received on or after
    ``since``. Read-only; what a repayment plan's instalments are paid from."""
    ids = list(receivable_ids)
    if not ids:
        return ZERO
    stmt = (
        select(func.coalesce(func.sum(PaymentAllocation.amount), ZERO))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.receivable_id.in_(ids), Payment.kind == PaymentKind.PAYMENT)
    )
    if since is not None:
        stmt = stmt.where(Payment.received_on >= since)
    return session.scalar(stmt) or ZERO
