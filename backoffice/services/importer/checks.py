"""The importer's checks that look past a row's first problem or across the whole file (issue 11
item 1), mixed into the run (``backoffice/services/importer/core.py``).

- **Every problem of every row.** A row with a missing company is still checked for its sales
  unit (against every company's units) and for duplicates (keyed by the company text as written);
  a row with a bad value is still resolved against the customers and the stored documents, in
  check-only mode, so an unknown customer or a written-off document shows next to the bad date.
- **New customers named anywhere in the file.** A row that gives only the ERP code of a customer
  the database does not know yet is resolved to the new customer that another (good) line of the
  same file names, before or after it. Such a row waits (it is held, not written) until a line
  names the customer; if no line of the file names the code, the wait becomes the error.
- **Duplicates.** A number seen twice in the file is an error on every line that carries it.

Checks read the ledger as it was before the run: customers this run created are left out of the
look-ups (a row is resolved to them through the file's naming line, as before any was written),
and a document this run changed is compared with what it was (``pre_images``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backoffice.models.customer import Customer
from backoffice.models.receivable import ImportKind
from backoffice.services.importer.report import RowProblem
from backoffice.services.importer.seen import SeenKeys, key_text
from backoffice.services.importer.values import normalize_header, text

# A row that waits for its customer's naming line: (line, (field, code)).
_Pending = tuple[int, tuple[str, str]]


class FileChecks:
    """Mixin of ``core.Run``: uses its session, outcome, kind, reference data and issues."""

    def _init_file_checks(self) -> None:
        self.pending: dict[tuple[int, str], list[_Pending]] = {}
        # Rows held until a line of the file names their new customer: ckey → [(row, extra)].
        self.held: dict[tuple[int, str], list[tuple[Any, Any]]] = {}
        self.created_customers: dict[tuple[int, str], int] = {}
        self.created_customer_ids: set[int] = set()
        self.seen = SeenKeys(self.session)
        self.duplicates: dict[tuple, int] = {}  # key → its first line

    # -- keys that do not need a known company -------------------------------------------------

    def _dup_key(self, row: Any, key_value: str) -> tuple:
        """(company, number); a row without a known company is keyed by its company as written."""
        if row.company_id is not None:
            return (row.company_id, key_value)
        return (("?", normalize_header(text(row.raw.get("company")))), key_value)

    def _duplicate_lines(self, rows: list) -> set[int]:
        """Lines of ``rows`` whose number was seen before (earlier in the file or the chunk):
        each is an error; the first occurrence is named at the end (``_name_duplicates``)."""
        if self.applying:  # a replay: every duplicate line is already an error and skipped
            return set()
        fld = self._key_field
        keyed = [(self._dup_key(row, row.values[fld]), row) for row in rows]
        texts = {key: key_text(key) for key, _row in keyed}
        earlier = self.seen.first_lines(sorted(set(texts.values())))
        first: dict[str, int] = {}
        lines = set()
        for key, row in keyed:
            known = earlier.get(texts[key]) or first.get(texts[key])
            if known is None:
                first[texts[key]] = row.line
                continue
            self.duplicates.setdefault(key, known)
            self._error(row.line, fld, row.values[fld], "duplicate", other="…")
            lines.add(row.line)
        self.seen.add(first)
        return lines

    def _name_duplicates(self) -> None:
        """End of the pass: name the first occurrence of each duplicate and its partners."""
        for key, line in self.duplicates.items():
            self._error(line, self._key_field, key[1], "duplicate", other="…")
        lines_by_key: dict[str, list[int]] = {}
        for issue in self.outcome.errors:
            if issue.code == "duplicate":
                lines_by_key.setdefault(issue.value or "", []).append(issue.line or 0)
        for issue in self.outcome.errors:
            if issue.code == "duplicate":
                others = sorted(set(lines_by_key[issue.value or ""]) - {issue.line})
                issue.params = {"other": ", ".join(str(n) for n in others)}

    def _unit(self, row: Any, problems: list) -> None:
        """The sales unit of the row's company; without a company, any company's unit will do
        for the check (the row is bad anyway), so an unknown unit is still named."""
        unit_text = text(row.raw.get("sales_unit"))
        row.values["unit_id"] = None
        if not unit_text:
            return
        key = self._norm(unit_text)
        if row.company_id is not None:
            row.values["unit_id"] = self.unit_by_key.get((row.company_id, key))
            known = row.values["unit_id"] is not None
        else:
            known = key in self.unit_keys
        if not known:
            problems.append(RowProblem("sales_unit", "unknown_unit"))

    def _split(self, rows: list, parse: Any) -> tuple[list, list]:
        """Parse a chunk: the good rows, and the bad rows (with the fields at fault) that are
        still resolved in check-only mode so their other problems are listed too."""
        good, checked = [], []
        parsed = []
        for row in rows:
            problems = parse(row)
            for p in problems:
                self._problem(row, p)
            parsed.append((row, problems))
        repeated = self._duplicate_lines([r for r in rows if r.values.get(self._key_field)])
        for row, problems in parsed:
            if not problems and row.line not in repeated:
                good.append(row)
            elif not self.applying and row.company_id is not None:
                checked.append((row, {p.field for p in problems}))
        return good, checked

    def _customers(self, rows: list) -> tuple[dict, dict]:
        """Customers that existed before the run, by (company, code) and by (company, name)."""
        codes = {r.values["customer_code"] for r in rows if r.values.get("customer_code")}
        names = {
            r.values["customer_name"]
            for r in rows
            if r.values.get("customer_name") and not r.values.get("customer_code")
        }
        by_code: dict[tuple[int, str], tuple] = {}
        by_name: dict[tuple[int, str], list[tuple]] = {}
        cols = (Customer.id, Customer.company_id, Customer.erp_code, Customer.name)
        cols += (Customer.sales_unit_id,)
        mine = self.created_customer_ids
        if codes:
            for c in self.session.execute(select(*cols).where(Customer.erp_code.in_(codes))):
                if c.id not in mine:
                    by_code[(c.company_id, c.erp_code)] = c
        if names:
            for c in self.session.execute(select(*cols).where(Customer.name.in_(names))):
                if c.id not in mine:
                    by_name.setdefault((c.company_id, c.name), []).append(c)
        return by_code, by_name

    # -- new customers named elsewhere in the file ------------------------------------------------

    def _file_customer(self, row: Any, plan: bool, unit_checked: bool) -> bool:
        """A customer code the database does not know: a new customer named by this row (code,
        name and unit) or by another line of the file. False: the error is recorded.

        ``plan``: a good row (bad rows name no customer)."""
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
        if self.applying:  # cannot happen: every naming line was seen before the replay
            self._error(row.line, why[0], None, why[1])
            return False
        # Wait for a naming line further down (the row is held meanwhile, not written).
        self.pending.setdefault(ckey, []).append((row.line, why))
        return True

    def _hold(self, ckey: tuple[int, str], row: Any, extra: Any) -> None:
        """Keep a row of a customer no line has named yet (``_released`` hands it back)."""
        self.held.setdefault(ckey, []).append((row, extra))

    def _released(self) -> list:
        """Rows held for customers that a line of this chunk named."""
        out = []
        for ckey in [k for k in self.held if k in self.outcome.new_customers]:
            out.extend((ckey, row, extra) for row, extra in self.held.pop(ckey))
        return out

    def _settle_pending(self) -> None:
        """End of the pass: a code that no good line of the file named is an error."""
        for ckey, waits in self.pending.items():
            if ckey in self.outcome.new_customers:
                continue
            for line, (fld, code) in waits:
                self._error(line, fld, ckey[1] if fld == "customer_code" else None, code)
        self.pending = {}
        self.held = {}

    def _new_customer_unit(self, row: Any, ckey: tuple[int, str]) -> int | None:
        """A row's sales unit for a new customer: its own, else the naming line's."""
        return row.values.get("unit_id") or self.outcome.new_customers[ckey]["sales_unit_id"]
