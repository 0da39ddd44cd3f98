"""The importer's checks that look past a row's first problem or across the whole file (issue 11
item 1), mixed into the importer's run (``backoffice/services/importer.py``).

- **Every problem of every row.** A row with a missing company is still checked for its sales
  unit (against every company's units) and for duplicates (keyed by the company text as written);
  a row with a bad value is still resolved against the customers and the stored documents, in
  check-only mode, so an unknown customer or a written-off document shows next to the bad date.
- **New customers named anywhere in the file.** A row that gives only the ERP code of a customer
  the database does not know yet is resolved to the new customer that another (good) line of the
  same file names, before or after it. Check pass: such a row waits until the end of the pass;
  if no line named the code, the wait becomes the error. Apply pass: every naming line is known,
  and the customer is created once, from its first naming line.
"""

from __future__ import annotations

from typing import Any

from backoffice.models.customer import Customer
from backoffice.models.receivable import ImportKind

# A row that waits for its customer's naming line: (line, counted as created, (field, code)).
_Pending = tuple[int, bool, tuple[str, str]]


class FileChecks:
    """Mixin of ``importer._Run``: uses its session, outcome, kind, reference data and issues."""

    def _init_file_checks(self) -> None:
        self.pending: dict[tuple[int, str], list[_Pending]] = {}
        self.created_customers: dict[tuple[int, str], int] = {}

    # -- keys that do not need a known company -------------------------------------------------

    def _dup_key(self, row: Any, key_value: str) -> tuple:
        """(company, number); a row without a known company is keyed by its company as written."""
        from backoffice.services.importer import normalize_header, text

        if row.company_id is not None:
            return (row.company_id, key_value)
        return (("?", normalize_header(text(row.raw.get("company")))), key_value)

    def _unit(self, row: Any, problems: list) -> None:
        """The sales unit of the row's company; without a company, any company's unit will do
        for the check (the row is bad anyway), so an unknown unit is still named."""
        from backoffice.services.importer import RowProblem, normalize_header, text

        unit_text = text(row.raw.get("sales_unit"))
        row.values["unit_id"] = None
        if not unit_text:
            return
        key = normalize_header(unit_text)
        if row.company_id is not None:
            row.values["unit_id"] = self.unit_by_key.get((row.company_id, key))
            known = row.values["unit_id"] is not None
        else:
            known = key in {k for _cid, k in self.unit_by_key}
        if not known:
            problems.append(RowProblem("sales_unit", "unknown_unit"))

    # -- new customers named elsewhere in the file ------------------------------------------------

    def _split(self, rows: list, parse: Any, apply: bool) -> tuple[list, list]:
        """Parse a chunk: the good rows, and the bad rows (with the fields at fault) that are
        still resolved in check-only mode so their other problems are listed too."""
        good, checked = [], []
        for row in rows:
            problems = parse(row)
            for p in problems:
                self._problem(row, p)
            unique = True
            if row.values.get(self._key_field):
                unique = self._check_duplicate(row, row.values[self._key_field], apply)
            if not problems and unique:
                good.append(row)
            elif not apply and row.company_id is not None:
                checked.append((row, {p.field for p in problems}))
        return good, checked

    def _file_customer(self, row: Any, plan: bool, unit_checked: bool, counted: bool) -> bool:
        """A customer code the database does not know: a new customer named by this row (code,
        name and unit) or by another line of the file. False: the error is recorded.

        ``plan``: a good row (bad rows name no customer); ``counted``: the row is counted as
        created in the check pass, to be taken back if its customer is never named."""
        name, unit = row.values["customer_name"], row.values.get("unit_id")
        if name and unit is not None:
            ckey = (row.company_id, row.values["customer_code"])
            if plan and ckey not in self.outcome.new_customers:
                self.outcome.new_customers[ckey] = {
                    "line": row.line,
                    "code": ckey[1],
                    "name": name,
                    "company_id": row.company_id,
                    "sales_unit_id": unit,
                }
            return True
        if name and not unit_checked:
            return True  # its unit is already reported as unknown
        if name and (self.kind == ImportKind.RECEIVABLES or "sales_unit" in self.columns):
            why = ("sales_unit", "missing_unit")
        elif self.kind == ImportKind.PAYMENTS:  # a payment file without units names no one
            why = ("customer_code", "unknown_customer")
        else:
            why = ("customer_name", "new_customer_needs_name")
        ckey = (row.company_id, row.values["customer_code"])
        if ckey in self.outcome.new_customers:
            return True
        if self.applying:  # cannot happen: every naming line was seen in the check pass
            self._error(row.line, why[0], None, why[1])
            return False
        # Check pass: wait for a naming line further down (counted as created meanwhile).
        self.pending.setdefault(ckey, []).append((row.line, counted, why))
        return True

    def _settle_pending(self) -> None:
        """End of the check pass: a code that no good line of the file named is an error."""
        for ckey, waits in self.pending.items():
            if ckey in self.outcome.new_customers:
                continue
            for line, counted, (fld, code) in waits:
                self._error(line, fld, ckey[1] if fld == "customer_code" else None, code)
                if counted:
                    self.outcome.created -= 1
        self.pending = {}

    def _new_customer_unit(self, row: Any, ckey: tuple[int, str]) -> int | None:
        """A row's sales unit for a new customer: its own, else the naming line's."""
        return row.values.get("unit_id") or self.outcome.new_customers[ckey]["sales_unit_id"]

    def _new_customer(self, ckey: tuple[int, str]) -> Customer:
        """The Customer a file's naming line describes (added to the session, not flushed)."""
        planned = self.outcome.new_customers[ckey]
        customer = Customer(
            company_id=planned["company_id"],
            sales_unit_id=planned["sales_unit_id"],
            erp_code=planned["code"],
            name=planned["name"],
            from_import=True,
        )
        self.session.add(customer)
        return customer

    def _new_customer_id(self, ckey: tuple[int, str]) -> int:
        """Create the file's new customer once per run (payments: few rows name one)."""
        if ckey not in self.created_customers:
            customer = self._new_customer(ckey)
            self.session.flush()
            self.created_customers[ckey] = customer.id
        return self.created_customers[ckey]
