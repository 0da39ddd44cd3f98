"""Every problem of every import row; new customers named anywhere in the file (issue 11 item 1)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice.models import Customer, Payment, Receivable
from backoffice.models.receivable import ImportStatus, ReceivableStatus
from backoffice.services import importer
from backoffice.services.importer import import_file
from tests import helpers
from tests.data import erp_files as erp


@pytest.fixture()
def org(db):
    company = helpers.make_company(code="HQ", name="总公司")
    unit = helpers.make_unit(company, code="EAST", name="华东事业部")
    return company, unit


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def issues(batch) -> dict[int, set[tuple[str | None, str]]]:
    """Line → {(column, reason code)} of the report's errors."""
    out: dict[int, set[tuple[str | None, str]]] = {}
    for e in batch.report["errors"]:
        out.setdefault(e["line"], set()).add((e["column"], e["code"]))
    return out


def receivable(company, code, name, doc_no, unit="EAST", due="2026-03-01", amount="100"):
    return [company, code, name, doc_no, "货款", amount, "", "2026-01-05", due, unit, ""]


# -- every problem of every row -------------------------------------------------------------------


def test_row_with_four_problems_lists_all_four(db, org, tmp_path):
    """Missing company, bad date, unknown unit and a duplicate number: all four are reported."""
    helpers.make_company(code="SUB", name="子公司")  # two companies: no default company
    rows = [
        receivable("HQ", "K001", "华东机械", "INV-1"),
        receivable("", "K001", "华东机械", "INV-9", unit="火星事业部", due="2026-02-30"),
        receivable("", "K001", "华东机械", "INV-9"),
    ]
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, rows)
    batch = import_file(db.session, path, "receivables")
    assert batch.status == ImportStatus.REJECTED
    found = issues(batch)
    assert found[3] == {
        ("公司", "missing_company"),
        ("约定付款日", "bad_date"),
        ("事业部", "unknown_unit"),
        ("单据编号", "duplicate"),
    }
    assert found[4] == {("公司", "missing_company"), ("单据编号", "duplicate")}
    assert 2 not in found and batch.rows_error == 2
    messages = {e["message"] for e in batch.report["errors"] if e["line"] == 3}
    assert "Duplicate in this file (also on line 4)" in messages
    assert count(db, Receivable) == 0 and count(db, Customer) == 0


def test_bad_row_is_still_checked_against_customers_and_documents(db, org, tmp_path):
    """A bad amount does not hide an unnamed new customer; a bad date does not hide a write-off."""
    company, unit = org
    customer = helpers.make_customer(unit, erp_code="K7", name="老客户")
    gone = helpers.make_receivable(customer, amount="50.00", doc_no="INV-OFF")
    gone.status = ReceivableStatus.WRITTEN_OFF
    db.session.commit()
    rows = [
        receivable("HQ", "K404", "", "INV-1", amount="12元3"),
        receivable("HQ", "K7", "老客户", "INV-OFF", amount="80", due="2026-13-01"),
    ]
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, rows)
    batch = import_file(db.session, path, "receivables", valid_only=True)
    found = issues(batch)
    assert found[2] == {
        ("应收金额(元)", "amount_not_number"),
        ("客户名称", "new_customer_needs_name"),
    }
    assert found[3] == {("约定付款日", "bad_date"), ("应收金额(元)", "written_off")}
    assert batch.report["new_customers"] == [] and count(db, Customer) == 1


def test_bad_payment_row_lists_its_unknown_document_too(db, org, tmp_path):
    """A payment row with a bad amount and an unknown document gets both reasons."""
    company, unit = org
    helpers.make_customer(unit, erp_code="K1", name="客户一")
    rows = [["HQ", "P-1", "K1", "abc", "2026-03-01", "NO-SUCH", "回款"]]
    path = erp.write_csv(tmp_path / "p.csv", erp.PAYMENT_HEADERS, rows)
    batch = import_file(db.session, path, "payments")
    assert batch.status == ImportStatus.REJECTED
    assert issues(batch)[2] == {("收款金额", "amount_not_number"), ("对应单据", "unknown_document")}
    assert count(db, Payment) == 0


# -- new customers named anywhere in the file -----------------------------------------------------


@pytest.mark.parametrize("chunk", [1000, 1])
@pytest.mark.parametrize("named", ["first", "last"])
def test_new_customer_named_on_another_line_in_any_order(
    db, org, tmp_path, monkeypatch, named, chunk
):
    """Rows giving only a new code resolve to the customer named first or last; created once."""
    company, unit = org
    monkeypatch.setattr(importer, "CHUNK_SIZE", chunk)  # also across chunks
    refs = [receivable("HQ", "K9", "", f"INV-{n}", unit="") for n in (1, 2)]
    naming = receivable("HQ", "K9", "新客户有限公司", "INV-3")
    rows = [naming, *refs] if named == "first" else [*refs, naming]
    path = erp.write_xlsx(tmp_path / "ar.xlsx", erp.RECEIVABLE_HEADERS, rows)
    dry = import_file(db.session, path, "receivables", dry_run=True)
    assert dry.status == ImportStatus.CHECKED and dry.rows_created == 3, dry.report["errors"]
    assert count(db, Customer) == 0
    batch = import_file(db.session, path, "receivables")
    assert batch.status == ImportStatus.APPLIED, batch.report["errors"]
    assert (batch.rows_created, batch.rows_error) == (3, 0)
    naming_line = 2 if named == "first" else 4
    assert [(c["code"], c["line"]) for c in batch.report["new_customers"]] == [("K9", naming_line)]
    k9 = db.session.scalars(select(Customer)).one()
    assert k9.erp_code == "K9" and k9.name == "新客户有限公司" and k9.sales_unit_id == unit.id
    owners = db.session.execute(select(Receivable.customer_id, Receivable.sales_unit_id)).all()
    assert set(owners) == {(k9.id, unit.id)} and len(owners) == 3
    again = import_file(db.session, path, "receivables")
    assert (again.rows_created, again.rows_unchanged) == (0, 3)


@pytest.mark.parametrize("named", ["first", "last"])
def test_named_line_without_unit_takes_the_unit_of_another_naming_line(db, org, tmp_path, named):
    """A line naming a new customer without its unit resolves to the line that gives the unit."""
    company, unit = org
    bare = receivable("HQ", "K9", "新客户", "INV-1", unit="")
    full = receivable("HQ", "K9", "新客户", "INV-2")
    rows = [full, bare] if named == "first" else [bare, full]
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, rows)
    batch = import_file(db.session, path, "receivables")
    assert batch.status == ImportStatus.APPLIED, batch.report["errors"]
    assert count(db, Customer) == 1 and count(db, Receivable) == 2
    alone = [receivable("HQ", "K10", "无事业部客户", "INV-3", unit="")]
    path = erp.write_csv(tmp_path / "alone.csv", erp.RECEIVABLE_HEADERS, alone)
    refused = import_file(db.session, path, "receivables")
    assert issues(refused) == {2: {("事业部", "missing_unit")}}


def test_code_named_nowhere_in_the_file_is_still_refused(db, org, tmp_path):
    """A new code that no good line names stays an error, also when a bad line names it."""
    rows = [
        receivable("HQ", "K8", "", "INV-1"),
        receivable("HQ", "K8", "坏行客户", "INV-2", amount="abc"),
        receivable("HQ", "K5", "好客户", "INV-3"),
    ]
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, rows)
    batch = import_file(db.session, path, "receivables", valid_only=True)
    assert batch.status == ImportStatus.APPLIED
    assert ("客户名称", "new_customer_needs_name") in issues(batch)[2]
    assert batch.rows_created == 1
    assert set(db.session.scalars(select(Customer.erp_code))) == {"K5"}


@pytest.mark.parametrize("named", ["first", "last"])
def test_payment_resolves_to_new_customer_named_in_the_file(db, org, tmp_path, named):
    """A payment giving only a new code resolves to the customer a payment line names."""
    company, unit = org
    headers = ["公司", "收款单号", "客户编码", "客户名称", "事业部", "收款金额", "收款日期"]
    ref = ["HQ", "P-1", "K9", "", "", "100", "2026-03-01"]
    naming = ["HQ", "P-2", "K9", "预收客户", "华东事业部", "50", "2026-03-02"]
    rows = [naming, ref] if named == "first" else [ref, naming]
    path = erp.write_csv(tmp_path / "p.csv", headers, rows)
    batch = import_file(db.session, path, "payments")
    assert batch.status == ImportStatus.APPLIED, batch.report["errors"]
    assert batch.rows_created == 2 and len(batch.report["new_customers"]) == 1
    k9 = db.session.scalars(select(Customer)).one()
    assert k9.name == "预收客户" and k9.sales_unit_id == unit.id and k9.from_import
    payments = db.session.scalars(select(Payment)).all()
    assert {(p.customer_id, p.sales_unit_id, p.unallocated) for p in payments} == {
        (k9.id, unit.id, Decimal("100.00")),
        (k9.id, unit.id, Decimal("50.00")),
    }
    again = import_file(db.session, path, "payments")
    assert (again.rows_created, again.rows_unchanged) == (0, 2)


def test_payment_file_without_units_creates_no_customer(db, org, tmp_path):
    """Without a sales-unit column a payment's unknown customer stays unknown, named or not."""
    headers = ["公司", "收款单号", "客户编码", "客户名称", "收款金额", "收款日期"]
    rows = [["HQ", "P-1", "K9", "预收客户", "100", "2026-03-01"]]
    path = erp.write_csv(tmp_path / "p.csv", headers, rows)
    batch = import_file(db.session, path, "payments")
    assert issues(batch) == {2: {("客户编码", "unknown_customer")}}
    assert count(db, Customer) == 0 and count(db, Payment) == 0
