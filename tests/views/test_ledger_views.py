"""Receivables and customers lists: aging and credit flags in the list, filters, exports."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal as D

import openpyxl
import pytest
from flask import g
from sqlalchemy import event, select

from backoffice.models import CreditEvent, Customer, Payment
from backoffice.services import aging, payments
from tests import helpers

TODAY = date.today()


def _view(app, endpoint):
    admin = app.extensions["admin"]
    admin = admin[0] if isinstance(admin, list) else admin
    return next(v for v in admin._views if getattr(v, "endpoint", None) == endpoint)


def _csv_rows(response) -> list[dict[str, str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM for Excel"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_receivables_list_shows_aging_as_of_today(client, login_as, db):
    """The list shows days and months overdue, bucket, class and penalty computed in SQL."""
    unit = helpers.make_unit()
    cust = helpers.make_customer(unit)
    due = TODAY - timedelta(days=45)
    helpers.make_receivable(cust, amount="1000", due=due, doc_no="AG-1")
    login_as("finance")
    html = client.get("/admin/receivable/").get_data(as_text=True)
    assert "AG-1" in html
    assert f">{aging.days_overdue(due, TODAY)}<" in html.replace("\n", "").replace(" ", "")
    label = str(aging.bucket(due, TODAY).label)
    assert label in html


def test_a_settled_document_shows_no_days_overdue(client, login_as, db):
    """A paid document past its due date is overdue by nothing: 逾期天数 and 账龄 stay blank on
    the list and in the export, while an unpaid one beside it counts its days."""
    cust = helpers.make_customer(helpers.make_unit())
    due = TODAY - timedelta(days=45)
    paid = helpers.make_receivable(cust, amount="1000", due=due, doc_no="PAID-1")
    payment = helpers.make_payment(cust, amount="1000", doc_no_ref="PAID-1")
    payments.allocate(db.session, payment)
    db.session.commit()
    helpers.make_receivable(cust, amount="500", due=due, doc_no="OPEN-1")
    assert paid.outstanding == 0
    login_as("finance")
    html = client.get("/admin/receivable/").get_data(as_text=True)
    cells = {
        doc: re.search(r'<td class="col-days_overdue">\s*([^<]*?)\s*</td>', row).group(1)
        for doc, row in re.findall(r"(PAID-1|OPEN-1)(.*?)</tr>", html, re.S)
    }
    assert cells == {"PAID-1": "", "OPEN-1": str(aging.days_overdue(due, TODAY))}
    rows = {r["单据号"]: r for r in _csv_rows(client.get("/admin/receivable/export/csv/"))}
    assert rows["PAID-1"]["逾期天数"] == "" and rows["OPEN-1"]["逾期天数"] == "45"


def test_receivables_list_shows_ten_columns_and_exports_all(client, login_as, db):
    """The list keeps to the ten columns a reader needs on a laptop; the export has them all."""
    helpers.make_receivable(helpers.make_customer(), doc_no="COL-1")
    login_as("finance")
    html = client.get("/admin/receivable/").get_data(as_text=True)
    headers = re.findall(r'<th class="column-header col-([a-z_]+)', html)
    assert len(headers) == 10, headers
    assert "col-penalty" not in html and "col-months_overdue" not in html
    rows = _csv_rows(client.get("/admin/receivable/export/csv/"))
    assert len(rows[0]) >= 15


def test_list_statement_count_does_not_grow_with_page_size(client, login_as, db, app):
    """A list request issues the same number of SQL statements at page size 20 and 100."""
    unit = helpers.make_unit()
    customers = [helpers.make_customer(unit) for _ in range(3)]
    for i in range(120):
        helpers.make_receivable(customers[i % 3], due=TODAY - timedelta(days=i))
    login_as("finance")
    client.get("/admin/receivable/")  # warm up: caches built on the first request
    counts = []
    for size in (20, 100, 20):
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/admin/receivable/?page_size={size}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1] == counts[2], statements


def test_bucket_and_class_filters(client, login_as, db):
    """Filtering by aging bucket or debt class keeps only matching rows."""
    cust = helpers.make_customer()
    helpers.make_receivable(cust, due=TODAY + timedelta(days=10), doc_no="F-NOTDUE")
    helpers.make_receivable(cust, due=TODAY - timedelta(days=400), doc_no="F-OLD")
    login_as("finance")
    view = _view(client.application, "receivable")
    kinds = [getattr(f, "kind", None) for f in view._filters]
    b = kinds.index("bucket")
    page = client.get(f"/admin/receivable/?flt0_{b}=gt_6m").get_data(as_text=True)
    assert "F-OLD" in page and "F-NOTDUE" not in page
    c = kinds.index("class")
    page = client.get(f"/admin/receivable/?flt0_{c}=normal").get_data(as_text=True)
    assert "F-NOTDUE" in page and "F-OLD" not in page


def test_csv_export_keeps_chinese_and_aging(client, login_as, db):
    """CSV export has a BOM, Chinese intact, and the aging columns."""
    cust = helpers.make_customer(name="上海清欠测试有限公司")
    helpers.make_receivable(cust, amount="88.80", due=TODAY - timedelta(days=200), doc_no="发票-1")
    login_as("finance")
    response = client.get("/admin/receivable/export/csv/")
    assert response.status_code == 200
    rows = _csv_rows(response)
    assert len(rows) == 1
    values = list(rows[0].values())
    assert "发票-1" in values
    assert any(v.startswith("上海清欠测试有限公司") for v in values)
    assert str(aging.Bucket.OVER_6M.label) in values
    assert "88.80" in values


def test_xlsx_export_works(client, login_as, db):
    """XLSX export opens and holds the Chinese document number."""
    cust = helpers.make_customer()
    helpers.make_receivable(cust, doc_no="单据-42")
    login_as("finance")
    response = client.get("/admin/receivable/export/xlsx/")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    cells = [c.value for row in book.active.iter_rows() for c in row]
    assert "单据-42" in cells


def test_collector_exports_only_their_unit(client, login_as, db):
    """A collector's CSV and XLSX exports contain only their own unit's receivables."""
    mine, other = helpers.make_unit(), helpers.make_unit()
    helpers.make_receivable(helpers.make_customer(mine), doc_no="MINE-1")
    helpers.make_receivable(helpers.make_customer(other), doc_no="OTHER-1")
    login_as("collector", units=[mine])
    rows = _csv_rows(client.get("/admin/receivable/export/csv/"))
    docs = {v for r in rows for v in r.values()}
    assert "MINE-1" in docs and "OTHER-1" not in docs
    book = openpyxl.load_workbook(
        io.BytesIO(client.get("/admin/receivable/export/xlsx/").get_data())
    )
    cells = {c.value for row in book.active.iter_rows() for c in row}
    assert "MINE-1" in cells and "OTHER-1" not in cells


def test_customer_list_shows_credit_flags(client, login_as, db):
    """Customers over their limit or overdue past the flag age are flagged in the list."""
    cust = helpers.make_customer(name="超限客户", credit_limit=D("10"))
    helpers.make_receivable(cust, amount="20", due=TODAY + timedelta(days=5))
    login_as("finance")
    response = client.get("/admin/customer/export/csv/")
    rows = _csv_rows(response)
    assert len(rows) == 1
    values = list(rows[0].values())
    assert "20.00" in values  # exposure
    assert "是" in values  # over limit, as 是/否
    html = client.get("/admin/customer/").get_data(as_text=True)
    assert "超限客户" in html


def test_credit_page_records_changes_with_reason(client, login_as, db):
    """The credit page changes limit and hold with a reason and writes the history."""
    cust = helpers.make_customer()
    login_as("credit")
    # The tests share one app context across requests; drop the token cached before login.
    g.pop("csrf_token", None)
    page = client.get(f"/admin/customer/credit/{cust.id}/")
    assert page.status_code == 200
    token = helpers.CSRF_RE.search(page.get_data(as_text=True))
    token = token.group(1) or token.group(2)
    response = client.post(
        f"/admin/customer/credit/{cust.id}/",
        data={
            "csrf_token": token,
            "credit_rating": "B",
            "credit_limit": "¥12,000.00",
            "shipment": "hold",
            "financial_status": "good_funds",
            "reason": "连续三个月逾期",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    db.session.expire_all()
    cust = db.session.get(Customer, cust.id)
    assert cust.credit_limit == D("12000.00") and cust.shipment_hold
    events = db.session.scalars(select(CreditEvent)).all()
    assert len(events) == 4 and {e.reason for e in events} == {"连续三个月逾期"}
    html = client.get(f"/admin/customer/credit/{cust.id}/").get_data(as_text=True)
    assert "连续三个月逾期" in html


@pytest.mark.parametrize("limit", ["1,2,3", "1E30", "NaN", "١٢٣", "9999999999999999"])
def test_credit_limit_follows_the_amount_grammar(client, login_as, db, limit):
    """A credit limit the import would refuse is refused with its reason; nothing changes."""
    cust = helpers.make_customer()
    login_as("credit")
    g.pop("csrf_token", None)
    page = client.get(f"/admin/customer/credit/{cust.id}/")
    token = helpers.CSRF_RE.search(page.get_data(as_text=True))
    response = client.post(
        f"/admin/customer/credit/{cust.id}/",
        data={
            "csrf_token": token.group(1) or token.group(2),
            "credit_limit": limit,
            "reason": "年度评审",
        },
        follow_redirects=True,
    )
    assert response.status_code in (200, 400)
    db.session.expire_all()
    assert db.session.get(Customer, cust.id).credit_limit is None
    assert db.session.scalars(select(CreditEvent)).all() == []


def test_credit_page_needs_credit_permission(client, login_as, db):
    """Finance may view customers but not use the credit page (Action.CREDIT)."""
    cust = helpers.make_customer()
    login_as("finance")
    assert client.get(f"/admin/customer/credit/{cust.id}/").status_code == 403


def test_payment_entered_in_the_browser_is_allocated(client, login_as, db):
    """A payment created on the payments page is applied to the customer's receivables."""
    cust = helpers.make_customer()
    rec = helpers.make_receivable(cust, amount="500", due=TODAY - timedelta(days=5))
    login_as("finance")
    g.pop("csrf_token", None)
    token = helpers.csrf_token(client, "/admin/payment/new/")
    response = client.post(
        "/admin/payment/new/",
        data={
            "csrf_token": token,
            "customer": str(cust.id),
            "payment_no": "WEB-1",
            "kind": "payment",
            "amount": "650.00",
            "received_on": TODAY.isoformat(),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    rec = db.session.get(type(rec), rec.id)
    assert rec.outstanding == D("0.00")
    payment = db.session.scalar(select(Payment).where(Payment.payment_no == "WEB-1"))
    assert payment.unallocated == D("150.00") and payment.company_id == cust.company_id
