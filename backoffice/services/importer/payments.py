"""Importing payments (SPEC §3.1, issue 3 item 3): parse, check and write one chunk of rows.

A payment is allocated to the customer's open documents as soon as it is written (in file
order, so oldest-first stays deterministic); that needs the ORM, so payments keep one audit
entry per object. A payment imported before with other values is an error, never a change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, tuple_

from backoffice.models.customer import Customer
from backoffice.models.receivable import Payment, PaymentKind, Receivable
from backoffice.services.importer.report import RowProblem
from backoffice.services.importer.values import parse_payment_kind, text

_NEW = "new"


class PaymentRows:
    """Mixin of ``core.Run`` for payments."""

    def _parse_payment(self, row: Any) -> list[RowProblem]:
        problems = self._parse_common(row)
        v = row.values
        v["payment_no"] = text(row.raw.get("payment_no"))
        if not v["payment_no"]:
            problems.append(RowProblem("payment_no", "missing"))
        self._amount(row, problems)
        self._date(row, "received_on", problems, required=True)
        try:
            v["kind"] = parse_payment_kind(row.raw.get("kind"))
        except ValueError:
            problems.append(RowProblem("kind", "bad_payment_kind"))
        amount = v.get("amount")
        if amount is not None and v.get("kind") is not None:
            if v["kind"] == PaymentKind.CREDIT_NOTE:
                amount = abs(amount)  # 红字: ERPs print credit notes as negative amounts
            if amount <= 0:
                problems.append(RowProblem("amount", "not_positive"))
            v["amount"] = amount
        v["doc_no_ref"] = text(row.raw.get("doc_no_ref")) or None
        v["note"] = text(row.raw.get("note")) or None
        self._unit(row, problems)
        if not v["doc_no_ref"] and not v["customer_code"] and not v["customer_name"]:
            problems.append(RowProblem("customer_name", "missing_customer"))
        self._text_lengths(row, problems)
        return problems

    def _payments_chunk(self, rows: list) -> None:
        good, checked = self._split(rows, self._parse_payment)
        if not good and not checked:
            return
        both = good + [r for r, _f in checked]
        by_code, by_name = self._customers(both)
        refs = {r.values["doc_no_ref"] for r in both if r.values["doc_no_ref"]}
        receivables = {}
        if refs:
            cols = (Receivable.company_id, Receivable.doc_no, Receivable.customer_id)
            cols += (Receivable.sales_unit_id, Customer.erp_code)
            stmt = select(*cols).join(Customer, Customer.id == Receivable.customer_id)
            for r in self.session.execute(stmt.where(Receivable.doc_no.in_(refs))):
                receivables[(r.company_id, r.doc_no)] = r
        nos = {(r.company_id, r.values["payment_no"]) for r in both if r.values["payment_no"]}
        existing = {
            (p.company_id, p.payment_no): p
            for p in self.session.scalars(
                select(Payment).where(
                    tuple_(Payment.company_id, Payment.payment_no).in_(sorted(nos))
                )
            )
        }
        for row, fields in checked:  # bad rows: list their other problems too, plan nothing
            if not fields & {"customer_code", "customer_name", "doc_no_ref"}:
                unit_ok = "sales_unit" not in fields
                self._payment_target(row, receivables, by_code, by_name, False, unit_ok)
        ready: list[tuple[Any, Any]] = []
        for row in good:
            current = existing.get((row.company_id, row.values["payment_no"]))
            target = self._payment_target(row, receivables, by_code, by_name)
            if target is None:
                continue
            if current is not None:
                self._compare_payment(row, current, target)
                continue
            if target[0] == _NEW and target[1] not in self.outcome.new_customers:
                self._hold(target[1], row, target)  # its customer is named further down
                continue
            ready.append((row, target))
        ready = [(row, target) for _ckey, row, target in self._released()] + ready
        self._write_payments(ready)

    def _compare_payment(self, row: Any, current: Payment, target: tuple) -> None:
        v = row.values
        customer_id = target[1] if target[0] != _NEW else None
        same = (
            current.customer_id == customer_id
            and current.kind == v["kind"]
            and current.amount == v["amount"]
            and current.received_on == v["received_on"]
            and (current.doc_no_ref or None) == v["doc_no_ref"]
        )
        if not same:
            self._error(row.line, "payment_no", v["payment_no"], "payment_changed")
        else:
            self.outcome.unchanged += 1

    def _write_payments(self, ready: list) -> None:
        to_allocate: list[Payment] = []
        for row, target in ready:
            self.outcome.created += 1
            if not self.writing:
                continue
            if target[0] == _NEW:
                customer_id = self._new_customer_id(target[1])
                unit_id = self._new_customer_unit(row, target[1])
            else:
                customer_id, unit_id = target[1], target[2]
            v = row.values
            payment = Payment(
                company_id=row.company_id,
                sales_unit_id=unit_id,
                customer_id=customer_id,
                payment_no=v["payment_no"],
                kind=v["kind"],
                amount=v["amount"],
                received_on=v["received_on"],
                doc_no_ref=v["doc_no_ref"],
                unallocated=v["amount"],
                import_batch_id=self.batch_id,
                note=v["note"],
            )
            self.session.add(payment)
            to_allocate.append(payment)
        if to_allocate:
            from backoffice.services.holds import lift_recovered_many
            from backoffice.services.payments import allocate  # sibling service (issue 3 item 3)

            self.wrote = True
            self.session.flush()
            for payment in to_allocate:  # in file order, so oldest-first stays deterministic
                allocate(self.session, payment, lift_holds=False)
                self.session.flush()
            # Art.26(1): the holds of every customer paid in this chunk, in one look-up.
            lift_recovered_many(self.session, (p.customer_id for p in to_allocate))
            self.session.flush()

    def _new_customer_id(self, ckey: tuple[int, str]) -> int:
        """Create the file's new customer once per run (payments: few rows name one)."""
        if ckey not in self.created_customers:
            planned = self.outcome.new_customers[ckey]
            customer = Customer(
                company_id=planned["company_id"],
                sales_unit_id=planned["sales_unit_id"],
                erp_code=planned["code"],
                name=planned["name"],
                from_import=True,
            )
            self.session.add(customer)
            self.session.flush()
            self.created_customers[ckey] = customer.id
            self.created_customer_ids.add(customer.id)
        return self.created_customers[ckey]

    def _payment_target(
        self, row, receivables, by_code, by_name, plan=True, unit_checked=True
    ) -> tuple | None:
        """("old", customer id, sales unit id) of a payment row, ("new", customer key) for a
        customer the file names, or None with the error recorded.

        A customer code the ledger does not know is the new customer that this line or another
        line of the file names (code, name and sales unit); it is created once, when written."""
        v = row.values
        customer = None
        new_ckey = None
        if v["customer_code"]:
            customer = by_code.get((row.company_id, v["customer_code"]))
            if customer is None:
                if not self._file_customer(row, plan, unit_checked):
                    return None
                new_ckey = (row.company_id, v["customer_code"])
        elif v["customer_name"]:
            matches = by_name.get((row.company_id, v["customer_name"]), [])
            if len(matches) > 1:
                self._error(row.line, "customer_name", v["customer_name"], "ambiguous_customer")
                return None
            if not matches and not v["doc_no_ref"]:
                self._error(row.line, "customer_name", v["customer_name"], "unknown_customer")
                return None
            customer = matches[0] if matches else None
        if v["doc_no_ref"]:
            rec = receivables.get((row.company_id, v["doc_no_ref"]))
            if rec is None:
                self._error(row.line, "doc_no_ref", v["doc_no_ref"], "unknown_document")
                return None
            if new_ckey is not None or (customer is not None and customer.id != rec.customer_id):
                self._error(
                    row.line,
                    "doc_no_ref",
                    v["doc_no_ref"],
                    "customer_mismatch",
                    customer=rec.erp_code,
                )
                return None
            return ("old", rec.customer_id, rec.sales_unit_id)
        if new_ckey is not None:
            return (_NEW, new_ckey)
        return ("old", customer.id, customer.sales_unit_id)
