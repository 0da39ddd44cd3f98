"""Importing receivables (SPEC §3.1, Art.2, Art.7): parse, check and write one chunk of rows.

New documents (and the new customers the file names) are inserted in bulk with one audit entry
per chunk (``trail``); a document whose values changed is updated through the ORM, so its audit
entry keeps the before and after and its outstanding amount is recomputed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select

from backoffice.models.customer import Customer
from backoffice.models.receivable import Contract, Payment, Receivable, ReceivableStatus
from backoffice.models.user import User
from backoffice.services.importer.report import RowProblem
from backoffice.services.importer.trail import insert_chunk
from backoffice.services.importer.values import parse_currency, parse_doc_type, text

# What a stored document is compared on (and its state, for the checks).
_COMPARED = ("customer_id", "sales_unit_id", "doc_type", "amount", "currency", "issue_date",
             "due_date", "collector_id", "collector_name")  # fmt: skip
_EXISTING = (Receivable.id, Receivable.company_id, Receivable.doc_no, Receivable.paid_amount,
             Receivable.written_off_amount, Receivable.status, Receivable.contract_id,
             Receivable.import_batch_id, *(getattr(Receivable, c) for c in _COMPARED))  # fmt: skip
_ZERO = Decimal("0")
_DOC_KEY = ("company_id", "doc_no")
_CUSTOMER_KEY = ("company_id", "erp_code")


class ReceivableRows:
    """Mixin of ``core.Run`` for receivables."""

    def _init_kind(self) -> None:
        # Documents this run changed, as they were before (checks compare with the old ledger).
        self.pre_images: dict[tuple[int, str], Any] = {}
        self.touched_customers: set[int] = set()
        self.first_created: int | None = None  # ids from here on are this run's documents

    def _parse_receivable(self, row: Any) -> list[RowProblem]:
        problems = self._parse_common(row)
        v = row.values
        doc_no = text(row.raw.get("doc_no"))
        v["doc_no"] = doc_no
        if not doc_no:
            problems.append(RowProblem("doc_no", "missing"))
        self._amount(row, problems)
        if v.get("amount") is not None and v["amount"] < 0:
            problems.append(RowProblem("amount", "negative_amount"))
        elif v.get("amount") == 0:
            problems.append(RowProblem("amount", "not_positive"))
        self._date(row, "due_date", problems, required=True)
        self._date(row, "issue_date", problems, required=False)
        due, issued = v.get("due_date"), v.get("issue_date")
        if due and issued and due < issued:
            problems.append(RowProblem("due_date", "due_before_issue"))
        v["doc_type"] = self._memo(parse_doc_type, row.raw.get("doc_type"))
        if v["doc_type"] is None:
            del v["doc_type"]
            problems.append(RowProblem("doc_type", "bad_doc_type"))
        v["currency"] = self._memo(parse_currency, row.raw.get("currency"))
        if v["currency"] is None:
            del v["currency"]
            problems.append(RowProblem("currency", "bad_currency"))
        if not v["customer_code"] and not v["customer_name"]:
            problems.append(RowProblem("customer_name", "missing_customer"))
        self._unit(row, problems)
        v["salesperson"] = text(row.raw.get("salesperson"))
        v["contract"] = text(row.raw.get("contract"))
        self._text_lengths(row, problems)
        return problems

    def _receivables_chunk(self, rows: list) -> None:
        good, checked = self._split(rows, self._parse_receivable)
        if not good and not checked:
            return
        both = good + [r for r, _f in checked]
        by_code, by_name = self._customers(both)
        users = self._users({r.values["salesperson"] for r in good if r.values["salesperson"]})
        contracts = self._contracts({r.values["contract"] for r in good if r.values["contract"]})
        existing = self._existing_receivables([r for r in both if r.values.get("doc_no")])
        for row, fields in checked:  # bad rows: list their other problems too, plan nothing
            current = existing.get((row.company_id, row.values["doc_no"]))
            if not fields & {"customer_code", "customer_name"}:
                unit_ok = "sales_unit" not in fields
                self._resolve_customer(row, by_code, by_name, plan=False, unit_checked=unit_ok)
            if current is not None and row.values.get("amount") is not None:
                self._check_existing(row, current)
        resolved: list[tuple[Any, Any, Any]] = []
        for row in good:
            current = existing.get((row.company_id, row.values["doc_no"]))
            customer = self._resolve_customer(row, by_code, by_name)
            if customer is None:
                continue
            if current is not None and not self._check_existing(row, current):
                continue
            self._assign_collector(row, users)
            self._link_contract(row, contracts)
            if customer == "new":
                ckey = (row.company_id, row.values["customer_code"])
                if ckey not in self.outcome.new_customers:  # named further down, maybe
                    self._hold(ckey, row, current)
                    continue
                customer = ckey
            resolved.append((row, customer, current))
        resolved = [(row, ckey, cur) for ckey, row, cur in self._released()] + resolved
        self._write_receivables(resolved)

    def _write_receivables(self, resolved: list) -> None:
        new_keys = [c for _r, c, _cur in resolved if isinstance(c, tuple)]
        if self.writing:
            self._create_customers(new_keys)
        created: list[dict[str, Any]] = []
        for row, customer, current in resolved:
            v = row.values
            if isinstance(customer, tuple):
                customer_id = self.created_customers.get(customer)
                unit_id = self._new_customer_unit(row, customer)
            else:
                customer_id = customer.id
                unit_id = v["unit_id"] or customer.sales_unit_id
            wanted = {
                "customer_id": customer_id,
                "sales_unit_id": unit_id,
                "doc_type": v["doc_type"],
                "amount": v["amount"],
                "currency": v["currency"],
                "issue_date": v["issue_date"],
                "due_date": v["due_date"],
                "collector_id": v["collector_id"],
                "collector_name": v["collector_name"],
            }
            if current is None:
                self.outcome.created += 1
                if self.writing:
                    if not isinstance(customer, tuple):  # money may wait for it (new: none)
                        self.touched_customers.add(customer_id)
                    wanted.update(
                        company_id=row.company_id,
                        doc_no=v["doc_no"],
                        contract_id=v["contract_id"],
                        paid_amount=_ZERO,
                        written_off_amount=_ZERO,
                        outstanding=v["amount"],
                        status=ReceivableStatus.OPEN,
                        import_batch_id=self.batch_id,
                    )
                    created.append(wanted)
                continue
            if v["contract_id"] is not None:
                wanted["contract_id"] = v["contract_id"]
            changed = {k: val for k, val in wanted.items() if getattr(current, k) != val}
            if not changed:
                self.outcome.unchanged += 1
                continue
            self.outcome.updated += 1
            if self.writing:
                self._update_receivable(row, current, changed)
        if created:
            ids = insert_chunk(self.session, Receivable, created, self.batch_id, _DOC_KEY)
            if self.first_created is None:
                self.first_created = min(ids.values())
            self.wrote = True
        if self.writing:
            self._apply_waiting_money()

    def _create_customers(self, ckeys: list[tuple[int, str]]) -> None:
        """The new customers these rows need, from their naming lines, in bulk."""
        todo = [k for k in dict.fromkeys(ckeys) if k not in self.created_customers]
        if not todo:
            return
        planned = [self.outcome.new_customers[k] for k in todo]
        rows = [{"company_id": p["company_id"], "sales_unit_id": p["sales_unit_id"],
                 "erp_code": p["code"], "name": p["name"], "from_import": True}
                for p in planned]  # fmt: skip
        ids = insert_chunk(self.session, Customer, rows, self.batch_id, _CUSTOMER_KEY)
        self.wrote = True
        for ckey in todo:
            self.created_customers[ckey] = ids[ckey]
            self.created_customer_ids.add(ids[ckey])

    def _update_receivable(self, row: Any, current: Any, changed: dict[str, Any]) -> None:
        key = (row.company_id, row.values["doc_no"])
        self.pre_images.setdefault(key, current)
        obj = self.session.get(Receivable, current.id)
        for k, val in changed.items():
            setattr(obj, k, val)
        obj.import_batch_id = self.batch_id
        self.wrote = True
        if "amount" in changed:
            from backoffice.services.payments import recompute_receivable

            # outstanding = amount − paid − written off; allocations trimmed if it fell below.
            recompute_receivable(self.session, obj)
            self.touched_customers.add(obj.customer_id)

    def _apply_waiting_money(self) -> None:
        """Money received before its receivable arrived is applied now (oldest first).

        Only customers that existed before the run can have money waiting."""
        touched, self.touched_customers = self.touched_customers, set()
        if not touched:
            return
        from backoffice.services.payments import apply_unallocated

        self.session.flush()
        waiting = self.session.scalars(
            select(Payment.customer_id)
            .where(Payment.customer_id.in_(touched), Payment.unallocated > 0)
            .distinct()
        ).all()
        for customer_id in sorted(waiting):
            apply_unallocated(self.session, customer_id)

    def _resolve_customer(
        self, row: Any, by_code: dict, by_name: dict, plan: bool = True, unit_checked: bool = True
    ) -> Any:
        """An existing customer row, ``"new"`` (to be created), or None (error recorded).

        ``plan=False`` checks a bad row only; ``unit_checked=False``: its unit is already
        reported as unknown, so a missing unit is not reported again."""
        code, name = row.values["customer_code"], row.values["customer_name"]
        no_unit = unit_checked and row.values.get("unit_id") is None
        if code:
            found = by_code.get((row.company_id, code))
            if found is not None:
                if no_unit and found.sales_unit_id is None:
                    self._error(row.line, "sales_unit", None, "missing_unit")
                    return None
                return found
            if self._file_customer(row, plan, unit_checked):
                return "new"
            return None
        matches = by_name.get((row.company_id, name), [])
        if len(matches) == 1:
            if no_unit and matches[0].sales_unit_id is None:
                self._error(row.line, "sales_unit", None, "missing_unit")
                return None
            return matches[0]
        if len(matches) > 1:
            self._error(row.line, "customer_name", name, "ambiguous_customer")
        else:
            self._error(row.line, "customer_code", None, "new_customer_needs_code")
        return None

    def _users(self, names: set[str]) -> dict[str, int | None]:
        """Salesperson → user id by employee code, else by display name (None: ambiguous)."""
        if not names:
            return {}
        rows = self.session.execute(
            select(User.id, User.employee_code, User.display_name).where(
                or_(User.employee_code.in_(names), User.display_name.in_(names))
            )
        ).all()
        found: dict[str, int | None] = {}
        for uid, _code, name in rows:
            if name in names:
                found[name] = uid if name not in found else None
        for uid, code, _name in rows:
            if code in names:
                found[code] = uid
        return found

    def _assign_collector(self, row: Any, users: dict[str, int | None]) -> None:
        # SPEC §3.1 / Art.7: the salesperson is the collector; unknown names are kept, flagged.
        name = row.values["salesperson"]
        row.values["collector_id"] = users.get(name) if name else None
        row.values["collector_name"] = name or None
        if row.values["collector_id"] is None and not self.applying:
            if name:
                self._warn(row.line, "salesperson", name, "unassigned", name=name)
            else:
                self._warn(row.line, "salesperson", None, "no_salesperson")

    def _contracts(self, numbers: set[str]) -> dict[tuple[int, str], int]:
        if not numbers:
            return {}
        rows = self.session.execute(
            select(Contract.id, Contract.company_id, Contract.number).where(
                Contract.number.in_(numbers)
            )
        )
        return {(cid, number): id_ for id_, cid, number in rows}

    def _link_contract(self, row: Any, contracts: dict) -> None:
        number = row.values["contract"]
        row.values["contract_id"] = contracts.get((row.company_id, number)) if number else None
        if number and row.values["contract_id"] is None and not self.applying:
            self._warn(row.line, "contract", number, "unknown_contract", number=number)

    def _existing_receivables(self, rows: list) -> dict:
        """Stored documents of these rows, as they were before this run (plain rows)."""
        keys = {(r.company_id, r.values["doc_no"]) for r in rows}
        if not keys:
            return {}
        stmt = select(*_EXISTING).where(Receivable.doc_no.in_({k[1] for k in keys}))
        found = {}
        for r in self.session.execute(stmt):
            key = (r.company_id, r.doc_no)
            if key not in keys:
                continue
            if key in self.pre_images:  # this run changed it: compare with what it was
                r = self.pre_images[key]  # noqa: PLW2901
            elif r.import_batch_id == self.batch_id and r.id >= (self.first_created or r.id + 1):
                continue  # this run created it: it did not exist before
            found[key] = r
        return found

    def _check_existing(self, row: Any, current: Any) -> bool:
        amount = row.values["amount"]
        if amount == current.amount:
            return True
        if current.status == ReceivableStatus.WRITTEN_OFF:
            self._error(row.line, "amount", amount, "written_off")
            return False
        settled = (current.paid_amount or 0) + (current.written_off_amount or 0)
        if amount < settled and not self.applying:
            # The ERP is the master: the amount is lowered and the excess payments become
            # unallocated (visible on the payment), which the user should know.
            self._warn(row.line, "amount", amount, "below_paid", amount=amount, paid=settled)
        return True
