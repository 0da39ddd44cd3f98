"""Demo steps: receivables over two years, payments, credit notes and one overpayment, allocated
to the receivables so the ledger is consistent (Art.2–3)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from backoffice.models.base import to_money
from backoffice.models.receivable import (
    Payment,
    PaymentAllocation,
    PaymentKind,
    Receivable,
    ReceivableStatus,
    ReceivableType,
)
from backoffice.services.demo.data import (
    CUSTOMERS_PER_COMMIT,
    FUTURE_DAYS,
    GOOD,
    HISTORY_DAYS,
    SLOW,
    _CustomerPlan,
)


class LedgerSteps:
    """Mixed into ``DemoBuilder``."""

    def ledger(self) -> None:
        rows: list[object] = []
        for index, plan in enumerate(self.plans, start=1):
            rows += self._receivables(plan)
            rows += self._payments(plan)
            if index % CUSTOMERS_PER_COMMIT == 0:
                self.commit(rows)
                rows = []
        self.commit(rows)

    def _receivables(self, plan: _CustomerPlan) -> list[Receivable]:
        rng = self.rng
        customer = plan.customer
        first_due = self.today - timedelta(days=HISTORY_DAYS)
        last_due = self.today + timedelta(days=FUTURE_DAYS)
        if plan.stopped_on:  # no new business long after a customer stopped paying
            last_due = min(last_due, plan.stopped_on + timedelta(days=60))
        span = (last_due - first_due).days
        collector = self.users["collector"]
        for _ in range(plan.count):
            due = first_due + timedelta(days=rng.randint(0, span))
            kind = rng.choices(
                [ReceivableType.PRODUCT, ReceivableType.PROJECT, ReceivableType.FREIGHT],
                weights=[70, 12, 18],
            )[0]
            amount = {
                ReceivableType.PRODUCT: lambda: self.money(5_000, 800_000),
                ReceivableType.PROJECT: lambda: self.money(150_000, 2_000_000),
                ReceivableType.FREIGHT: lambda: self.money(5_000, 60_000),
            }[kind]()
            contract = rng.choice(plan.contracts) if plan.contracts else None
            terms = contract.payment_terms_days if contract else rng.choice([30, 60, 90])
            issue = due - timedelta(days=terms)
            prefix = {"product": "XS", "project": "GC", "freight": "YF"}[kind.value]
            seq = self.next_no(self.doc_seq, customer.company_id)
            mine = plan.salesperson == collector.display_name and rng.random() < 0.9
            plan.receivables.append(
                Receivable(
                    company_id=customer.company_id,
                    sales_unit_id=customer.sales_unit_id,
                    customer_id=customer.id,
                    contract=contract,
                    collector_id=collector.id if mine else None,
                    collector_name=collector.display_name if mine else plan.salesperson,
                    doc_no=f"{prefix}{issue:%Y%m}{seq:05d}",
                    doc_type=kind,
                    amount=amount,
                    currency="CNY",
                    issue_date=issue,
                    due_date=due,
                    paid_amount=Decimal("0.00"),
                    written_off_amount=Decimal("0.00"),
                    outstanding=amount,
                    status=ReceivableStatus.OPEN,
                )
            )
        plan.receivables.sort(key=lambda r: r.due_date)
        return plan.receivables

    def _pay_plan(
        self, plan: _CustomerPlan, rec: Receivable
    ) -> tuple[str, date | None, date | None]:
        """What happens to one receivable: ('full'|'partial'|'open', date received, date the
        rest of a partial payment arrives or None if it never does)."""
        rng = self.rng
        rest_after = rng.randint(20, 150)
        if plan.profile == GOOD:
            delay = rng.randint(-10, 35)
            outcome = rng.choices(["full", "partial"], weights=[95, 5])[0]
        elif plan.profile == SLOW:
            delay = rng.randint(20, 200)
            outcome = rng.choices(["full", "partial"], weights=[85, 15])[0]
            if outcome == "partial" and rng.random() < 0.05:
                rest_after = None  # a straggler that ends up long overdue
        else:
            delay = rng.randint(30, 120)
            rest_after = None
            if plan.stopped_on and rec.due_date + timedelta(days=delay) > plan.stopped_on:
                outcome = rng.choices(["partial", "open"], weights=[25, 75])[0]
                delay = min(delay, max(0, (plan.stopped_on - rec.due_date).days))
            else:
                outcome = "full"
        received = rec.due_date + timedelta(days=delay)
        if outcome == "open" or received > self.today:
            return "open", None, None
        rest_on = received + timedelta(days=rest_after) if rest_after else None
        if rest_on and rest_on > self.today:
            rest_on = None
        return outcome, received, rest_on

    def _payment(self, plan, received: date, amount: Decimal, **kw) -> Payment:
        customer = plan.customer
        seq = self.next_no(self.payment_seq, customer.company_id)
        kind = kw.pop("kind", PaymentKind.PAYMENT)
        prefix = "HZ" if kind == PaymentKind.CREDIT_NOTE else "SK"
        return Payment(
            company_id=customer.company_id,
            sales_unit_id=customer.sales_unit_id,
            customer_id=customer.id,
            payment_no=f"{prefix}{received:%Y%m%d}{seq:05d}",
            kind=kind,
            amount=amount,
            received_on=received,
            unallocated=Decimal("0.00"),
            **kw,
        )

    def _allocate(self, payment: Payment, rec: Receivable, amount: Decimal) -> PaymentAllocation:
        """Apply ``amount`` of ``payment`` to ``rec``, keeping paid/outstanding/status right."""
        rec.paid_amount += amount
        rec.outstanding = rec.amount - rec.paid_amount - rec.written_off_amount
        assert rec.outstanding >= 0, rec.doc_no
        if rec.outstanding == 0:
            rec.status = ReceivableStatus.SETTLED
            rec.settled_on = payment.received_on
        return PaymentAllocation(payment=payment, receivable=rec, amount=amount)

    def _payments(self, plan: _CustomerPlan) -> list[object]:
        rng = self.rng
        rows: list[object] = []
        pending: tuple[Payment, list[Receivable]] | None = None  # a payment covering several
        for rec in plan.receivables:
            outcome, received, rest_on = self._pay_plan(plan, rec)
            if outcome == "full":
                assert received is not None
                # Good payers often settle two or three documents with one transfer; the
                # allocation then goes oldest first, as the payer named no document.
                if pending and rng.random() < 0.6 and len(pending[1]) < 3:
                    payment, covered = pending
                    payment.amount += rec.outstanding
                    payment.received_on = max(payment.received_on, received)
                    payment.doc_no_ref = None
                    covered.append(rec)
                    continue
                self._settle_pending(pending, rows)
                payment = self._payment(plan, received, rec.outstanding, doc_no_ref=rec.doc_no)
                pending = (payment, [rec])
                if plan.profile != GOOD or rng.random() < 0.8:
                    self._settle_pending(pending, rows)
                    pending = None
            elif outcome == "partial":
                assert received is not None
                share = Decimal(str(rng.choice([0.2, 0.3, 0.4, 0.5, 0.6, 0.7])))
                part = to_money(rec.amount * share)
                payment = self._payment(
                    plan, received, part, doc_no_ref=rec.doc_no, note="部分回款"
                )
                rows += [payment, self._allocate(payment, rec, part)]
            if (
                self.credit_notes_left
                and outcome != "full"  # a full payment's amount is fixed already
                and rec.status == ReceivableStatus.OPEN
                and rec.doc_type == ReceivableType.PRODUCT
                and rec.due_date < self.today - timedelta(days=45)
                and rng.random() < 0.08
            ):
                rows += self._credit_note(plan, rec)
            if outcome == "partial" and rest_on:
                payment = self._payment(
                    plan, rest_on, rec.outstanding, doc_no_ref=rec.doc_no, note="尾款"
                )
                rows += [payment, self._allocate(payment, rec, rec.outstanding)]
        self._settle_pending(pending, rows)
        if not self.overpayment_done and plan.profile == GOOD:
            rows += self._overpayment(plan)
        return rows

    def _settle_pending(self, pending, rows: list[object]) -> None:
        if not pending:
            return
        payment, covered = pending
        rows.append(payment)
        for rec in sorted(covered, key=lambda r: r.due_date):
            rows.append(self._allocate(payment, rec, rec.outstanding))

    def _credit_note(self, plan: _CustomerPlan, rec: Receivable) -> list[object]:
        """红字发票: a price difference (单价差异, Art.15) credited against the document."""
        self.credit_notes_left -= 1
        amount = min(rec.outstanding, to_money(rec.amount * Decimal("0.05")))
        issued = min(self.today, rec.due_date + timedelta(days=30))
        note = self._payment(
            plan,
            issued,
            amount,
            kind=PaymentKind.CREDIT_NOTE,
            doc_no_ref=rec.doc_no,
            note="单价差异, 开具红字发票折让",
        )
        return [note, self._allocate(note, rec, amount)]

    def _overpayment(self, plan: _CustomerPlan) -> list[object]:
        """One customer paid more than it owed in all: the surplus stays unallocated.

        The payment clears every open receivable of the customer first, as the allocation
        service would (oldest first), so the surplus has nothing left to go to.
        """
        open_recs = [r for r in plan.receivables if r.status == ReceivableStatus.OPEN]
        if not open_recs or open_recs[0].due_date > self.today:
            return []
        surplus = Decimal("8800.00")
        owed = sum((r.outstanding for r in open_recs), Decimal("0.00"))
        payment = self._payment(
            plan,
            self.today - timedelta(days=3),
            owed + surplus,
            note="客户多付货款, 待退回或冲抵下期货款",
        )
        rows: list[object] = [payment]
        rows += [self._allocate(payment, r, r.outstanding) for r in open_recs]
        payment.unallocated = surplus
        self.overpayment_done = True
        return rows

    # -- cases ---------------------------------------------------------------------------------
