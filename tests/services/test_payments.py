"""Payment allocation: by document, oldest first, partial, over, credit notes, idempotent."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal as D

from sqlalchemy import func, select

from backoffice.models import Payment, PaymentAllocation, Receivable
from backoffice.models.receivable import PaymentKind, ReceivableStatus
from backoffice.services import payments
from tests import helpers

_n = itertools.count(1)


def make_payment(db, customer, amount, received=date(2026, 3, 1), ref=None, kind=None):
    payment = Payment(
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        customer_id=customer.id,
        payment_no=f"P{next(_n):05d}",
        amount=D(amount),
        received_on=received,
        doc_no_ref=ref,
        kind=kind or PaymentKind.PAYMENT,
    )
    db.session.add(payment)
    db.session.flush()
    return payment


def state(db, rec):
    db.session.refresh(rec)
    return rec.paid_amount, rec.outstanding, rec.status, rec.settled_on


def test_partial_payment_leaves_the_rest_outstanding(db):
    """A partial payment lowers outstanding and leaves the receivable open."""
    rec = helpers.make_receivable(amount="1000.00")
    pay = make_payment(db, rec.customer, "300.50")
    allocations = payments.allocate(db.session, pay)
    db.session.commit()
    assert [(a.receivable_id, a.amount) for a in allocations] == [(rec.id, D("300.50"))]
    assert state(db, rec) == (D("300.50"), D("699.50"), ReceivableStatus.OPEN, None)
    assert pay.unallocated == D("0.00")


def test_oldest_due_first_and_settled_on(db):
    """Without a document reference, money goes to the oldest due date first."""
    cust = helpers.make_customer()
    newer = helpers.make_receivable(cust, amount="500", due=date(2026, 2, 28))
    older = helpers.make_receivable(cust, amount="400", due=date(2026, 1, 31))
    pay = make_payment(db, cust, "600", received=date(2026, 3, 5))
    payments.allocate(db.session, pay)
    db.session.commit()
    assert state(db, older) == (D("400.00"), D("0.00"), ReceivableStatus.SETTLED, date(2026, 3, 5))
    assert state(db, newer) == (D("200.00"), D("300.00"), ReceivableStatus.OPEN, None)


def test_named_document_goes_first(db):
    """The document the payer named is paid before older ones."""
    cust = helpers.make_customer()
    older = helpers.make_receivable(cust, amount="400", due=date(2026, 1, 31))
    named = helpers.make_receivable(cust, amount="500", due=date(2026, 2, 28), doc_no="FP-9")
    pay = make_payment(db, cust, "700", ref="FP-9")
    payments.allocate(db.session, pay)
    db.session.commit()
    assert state(db, named)[1] == D("0.00")
    assert state(db, older)[1] == D("200.00")


def test_overpayment_stays_visible_as_unallocated(db):
    """Money beyond everything open stays on the payment as unallocated."""
    rec = helpers.make_receivable(amount="100.00")
    pay = make_payment(db, rec.customer, "150.25")
    payments.allocate(db.session, pay)
    db.session.commit()
    assert state(db, rec)[1:3] == (D("0.00"), ReceivableStatus.SETTLED)
    assert pay.unallocated == D("50.25")
    assert payments.unallocated_total(db.session, [rec.customer_id]) == D("50.25")


def test_credit_note_reduces_outstanding(db):
    """A credit note (positive amount) reduces outstanding like a payment."""
    rec = helpers.make_receivable(amount="1000.00")
    note = make_payment(db, rec.customer, "250", kind=PaymentKind.CREDIT_NOTE)
    pay = make_payment(db, rec.customer, "100")
    payments.allocate(db.session, note)
    payments.allocate(db.session, pay)
    db.session.commit()
    assert state(db, rec)[:2] == (D("350.00"), D("650.00"))


def test_allocate_twice_changes_nothing(db):
    """Re-allocating an already allocated payment is a no-op."""
    cust = helpers.make_customer()
    rec = helpers.make_receivable(cust, amount="100")
    pay = make_payment(db, cust, "60")
    payments.allocate(db.session, pay)
    db.session.commit()
    payments.allocate(db.session, pay)
    db.session.commit()
    count = db.session.scalar(select(func.count()).select_from(PaymentAllocation))
    assert count == 1
    assert state(db, rec)[:2] == (D("60.00"), D("40.00"))


def test_reverse_reopens_and_is_idempotent(db):
    """Reversing undoes the allocation and reopens a settled receivable."""
    rec = helpers.make_receivable(amount="100")
    pay = make_payment(db, rec.customer, "100")
    payments.allocate(db.session, pay)
    db.session.commit()
    payments.reverse(db.session, pay)
    payments.reverse(db.session, pay)
    db.session.commit()
    assert state(db, rec) == (D("0.00"), D("100.00"), ReceivableStatus.OPEN, None)
    assert pay.unallocated == D("100.00")
    assert db.session.scalar(select(func.count()).select_from(PaymentAllocation)) == 0


def test_unallocated_money_is_applied_to_new_receivables(db):
    """An overpayment is applied when a new receivable arrives; the rest stays visible."""
    cust = helpers.make_customer()
    pay = make_payment(db, cust, "300")
    payments.allocate(db.session, pay)
    db.session.commit()
    assert pay.unallocated == D("300.00")
    rec = helpers.make_receivable(cust, amount="120")
    changed = payments.apply_unallocated(db.session, cust.id)
    db.session.commit()
    assert [(a.receivable_id, a.amount) for a in changed] == [(rec.id, D("120.00"))]
    assert pay.unallocated == D("180.00")
    assert payments.apply_unallocated(db.session, cust.id) == []


def test_lowered_amount_is_recomputed(db):
    """Lowering a receivable's amount below what was paid returns the excess to the payment."""
    rec = helpers.make_receivable(amount="500")
    pay = make_payment(db, rec.customer, "400", received=date(2026, 2, 10))
    payments.allocate(db.session, pay)
    db.session.commit()
    rec.amount = D("300")
    payments.recompute_receivable(db.session, rec)
    db.session.commit()
    assert state(db, rec) == (D("300.00"), D("0.00"), ReceivableStatus.SETTLED, date(2026, 2, 10))
    assert pay.unallocated == D("100.00")
    payments.recompute_receivable(db.session, rec)
    assert state(db, rec)[:2] == (D("300.00"), D("0.00"))


def test_lowered_payment_amount_is_reallocated(db):
    """A payment corrected downward is re-applied with its new amount."""
    rec = helpers.make_receivable(amount="500")
    pay = make_payment(db, rec.customer, "400")
    payments.allocate(db.session, pay)
    db.session.commit()
    pay.amount = D("150")
    payments.allocate(db.session, pay)
    db.session.commit()
    assert state(db, rec)[:2] == (D("150.00"), D("350.00"))


def test_only_the_customers_receivables(db):
    """A payment never touches another customer's receivables."""
    unit = helpers.make_unit()
    mine = helpers.make_receivable(helpers.make_customer(unit), amount="100")
    other = helpers.make_receivable(helpers.make_customer(unit), amount="100", doc_no="X-1")
    pay = make_payment(db, mine.customer, "250", ref="X-1")
    payments.allocate(db.session, pay)
    db.session.commit()
    assert state(db, other)[1] == D("100.00")
    assert state(db, mine)[1] == D("0.00")
    assert pay.unallocated == D("150.00")


def test_many_payments_sum_correctly(db):
    """Outstanding equals amount minus the sum of allocations after many partial payments."""
    cust = helpers.make_customer()
    recs = [
        helpers.make_receivable(cust, amount=str(100 + i), due=date(2026, 1, 1 + i))
        for i in range(5)
    ]
    for amount in ("33.33", "66.67", "100.01", "250", "60"):
        payments.allocate(db.session, make_payment(db, cust, amount))
    db.session.commit()
    total_out = db.session.scalar(
        select(func.sum(Receivable.outstanding)).where(Receivable.customer_id == cust.id)
    )
    assert total_out == D("0.00")  # 510.00 owed, 510.01 paid
    unallocated = db.session.scalar(
        select(func.sum(Payment.unallocated)).where(Payment.customer_id == cust.id)
    )
    assert unallocated == D("0.01")
    for rec in recs:
        db.session.refresh(rec)
        assert rec.outstanding == rec.amount - rec.paid_amount
