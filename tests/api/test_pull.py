"""Pull: customers with balance, aging and debt class; cases with stage and next step;
statements and their hash-verified PDFs; filed write-offs; cursors; company isolation."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from backoffice.models import AuditLog, Statement, WriteOffApplication, WriteOffItem
from backoffice.models.base import SHANGHAI
from backoffice.models.case import CaseStatus, Strategy
from backoffice.models.writeoff import WriteOffGround, WriteOffStatus
from backoffice.services import monthly
from backoffice.services.calendar import load_year
from tests import helpers

TODAY = datetime.now(SHANGHAI).date()


def get(client, headers, url):
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def all_pages(client, headers, url, limit=2):
    items, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in url else "?"
        page = get(
            client, headers, f"{url}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        )
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages


def test_customers_come_with_balance_aging_and_debt_class(client, make_token, db):
    """Balance and overdue sum the open documents; the worst document names the class."""
    unit = helpers.make_unit()
    c = helpers.make_customer(unit, name="上海宏达机械有限公司")
    helpers.make_receivable(c, amount="100.00", due=TODAY + timedelta(days=30))
    helpers.make_receivable(c, amount="200.00", due=TODAY - timedelta(days=10))
    helpers.make_receivable(c, amount="300.00", due=TODAY - timedelta(days=200), paid_amount="50")
    helpers.make_receivable(c, amount="400.00", due=TODAY - timedelta(days=400), paid_amount="400")
    quiet = helpers.make_customer(unit, name="无欠款客户")
    _, headers = make_token("customers:read", company=unit.company)
    body = get(client, headers, f"/api/v1/customers/{c.id}")
    assert (body["balance"], body["overdue"]) == ("550.00", "450.00")
    assert {k: v["amount"] for k, v in body["aging"].items()} == {
        "not_due": "100.00",
        "le_3m": "200.00",
        "3m_6m": "0.00",
        "gt_6m": "250.00",
    }
    assert body["aging"]["gt_6m"]["label"] == "6个月以上"
    assert body["debt_class"] == {"code": "stagnant", "label": "呆滞"}
    none = get(client, headers, f"/api/v1/customers/{quiet.id}")
    assert (none["balance"], none["debt_class"]["code"]) == ("0.00", "normal")


def test_cursor_pages_are_stable_under_inserts(client, make_token, db):
    """Paging two at a time sees every customer once, and one added meanwhile at the end."""
    unit = helpers.make_unit()
    names = [helpers.make_customer(unit).name for _ in range(5)]
    _, headers = make_token("customers:read", company=unit.company)
    first = get(client, headers, "/api/v1/customers?limit=2")
    assert len(first["items"]) == 2 and first["next_cursor"]
    added = helpers.make_customer(unit, name="新增客户").name
    seen = [c["name"] for c in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = get(client, headers, f"/api/v1/customers?limit=2&cursor={cursor}")
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [*names, added]


def test_a_forged_or_foreign_cursor_is_refused(client, make_token, db):
    """A tampered cursor, or one from another list, is 400 bad-cursor."""
    unit = helpers.make_unit()
    for _ in range(3):
        helpers.make_case(helpers.make_customer(unit))
    _, headers = make_token(company=unit.company)
    cursor = get(client, headers, "/api/v1/cases?limit=1")["next_cursor"]
    for url in (
        f"/api/v1/cases?cursor={cursor[:-2]}xx",
        f"/api/v1/customers?cursor={cursor}",
        "/api/v1/cases?limit=0",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"
    body = client.get(f"/api/v1/customers?cursor={cursor}", headers=headers).get_json(force=True)
    assert (body["type"], body["title"]) == ("urn:qingqian:problem:bad-cursor", "分页游标无效")


def test_cases_come_with_stage_and_next_step(client, make_token, db):
    """Each stage names what comes next; work in progress carries its strategy."""
    unit = helpers.make_unit()
    applied = helpers.make_case(helpers.make_customer(unit), status=CaseStatus.APPLIED)
    waiting = helpers.make_case(
        helpers.make_customer(unit),
        status=CaseStatus.DOCUMENTS_REQUESTED,
        documents_due=date(2026, 12, 7),
    )
    working = helpers.make_case(
        helpers.make_customer(unit),
        status=CaseStatus.IN_PROGRESS,
        suggested_strategy=Strategy.PRESS_FOR_CASH,
        strategy_override=Strategy.LITIGATION,
    )
    closed = helpers.make_case(helpers.make_customer(unit), status=CaseStatus.CLOSED)
    _, headers = make_token("cases:read", company=unit.company)
    items = {c["id"]: c for c in all_pages(client, headers, "/api/v1/cases")[0]}
    assert items[applied.id]["stage"]["code"] == "applied"
    assert items[applied.id]["next_step"]["label"] == "清欠小组受理或不予受理申请"
    assert items[waiting.id]["next_step"]["code"] == "submit_documents"
    assert items[waiting.id]["next_step"]["due"] == "2026-12-07"
    assert items[working.id]["next_step"]["strategy"]["code"] == "litigation"
    assert items[closed.id]["next_step"] is None
    only = get(client, headers, "/api/v1/cases?stage=in_progress")["items"]
    assert [c["id"] for c in only] == [working.id]


@pytest.fixture()
def statement(db):
    """A real statement of account for October 2026, made by the monthly run's service."""
    load_year(db.session, 2026)
    db.session.commit()
    unit = helpers.make_unit()
    customer = helpers.make_customer(unit, name="北京恒信建材有限公司")
    helpers.make_receivable(customer, amount="88000.50", due=date(2026, 9, 15), doc_no="INV-B1")
    p = monthly.plan(db.session, "2026-10")
    assert monthly.build_statements(db.session, p, [customer.id]) == 1
    return db.session.scalar(select(Statement).where(Statement.customer_id == customer.id))


def test_statement_metadata_and_pdf_match_by_hash(client, make_token, statement, tmp_path):
    """The PDF served hashes to the SHA-256 in the metadata, and is the customer's statement."""
    _, headers = make_token("statements:read", company=statement.customer.company)
    listed = get(client, headers, "/api/v1/statements?period=2026-10")["items"]
    assert [s["id"] for s in listed] == [statement.id]
    meta = listed[0]
    assert (meta["total_outstanding"], meta["customer"]["name"]) == (
        "88000.50",
        "北京恒信建材有限公司",
    )
    response = client.get(meta["pdf"], headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert hashlib.sha256(response.data).hexdigest() == meta["sha256"]
    assert response.headers["X-Content-SHA256"] == meta["sha256"]
    assert response.headers["X-Verified"] == "true"
    assert "attachment" in response.headers["Content-Disposition"]
    pdf = tmp_path / "s.pdf"
    pdf.write_bytes(response.data)
    if subprocess.run(["which", "pdftotext"], capture_output=True).returncode == 0:
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "北京恒信建材有限公司" in text


def test_a_tampered_statement_pdf_is_refused_and_alerted(client, make_token, statement, app, db):
    """Bytes that no longer match the recorded hash are never served; an alert is audited."""
    _, headers = make_token("statements:read", company=statement.customer.company)
    stored = Path(app.config["STORAGE_DIR"]) / statement.pdf_key
    stored.chmod(0o600)
    stored.write_bytes(stored.read_bytes() + b"%tampered")
    response = client.get(f"/api/v1/statements/{statement.id}/pdf", headers=headers)
    assert response.status_code == 500
    body = response.get_json(force=True)
    assert body["type"] == "urn:qingqian:problem:stored-file-tampered"
    alerts = db.session.scalars(select(AuditLog).where(AuditLog.action == "alert")).all()
    assert [a.entity_id for a in alerts] == [str(statement.id)]


def _writeoff(customer, status, n):
    from backoffice.extensions import db

    rec = helpers.make_receivable(customer, amount="500.00", doc_no=f"INV-W{n}")
    user = helpers.make_user("collector")
    app = WriteOffApplication(
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        app_no=f"HX2026{n:04d}",
        customer_id=customer.id,
        applicant_id=user.id,
        ground=WriteOffGround.HOPELESS,
        amount=Decimal("500.00"),
        facts="多次催收无果",
        status=status,
        accounting_ref="记-2026-11-0042" if status == WriteOffStatus.FILED else None,
    )
    db.session.add(app)
    db.session.flush()
    db.session.add(WriteOffItem(application_id=app.id, receivable_id=rec.id, amount=Decimal("500")))
    db.session.commit()
    return app


def test_only_filed_write_offs_are_pulled(client, make_token, db):
    """A filed write-off comes with its items and accounting reference; a draft does not."""
    unit = helpers.make_unit()
    customer = helpers.make_customer(unit)
    filed = _writeoff(customer, WriteOffStatus.FILED, 1)
    draft = _writeoff(customer, WriteOffStatus.APPROVED, 2)
    _, headers = make_token("writeoffs:read", company=unit.company)
    items = get(client, headers, "/api/v1/writeoffs")["items"]
    assert [(w["app_no"], w["accounting_ref"]) for w in items] == [
        ("HX20260001", "记-2026-11-0042")
    ]
    assert items[0]["items"] == [{"doc_no": "INV-W1", "amount": "500.00"}]
    assert items[0]["ground"]["label"] == "经尽力追讨确无收回可能"
    assert client.get(f"/api/v1/writeoffs/{draft.id}", headers=headers).status_code == 404
    assert get(client, headers, f"/api/v1/writeoffs/{filed.id}")["id"] == filed.id


def test_a_token_of_company_a_never_sees_company_b(client, make_token, statement, db):
    """Lists hold only the token's company; B's rows answer 404 as if they did not exist."""
    unit_a = helpers.make_unit()
    a_customer = helpers.make_customer(unit_a, name="A公司客户")
    a_case = helpers.make_case(a_customer)
    b_customer = statement.customer
    b_case = helpers.make_case(b_customer)
    b_writeoff = _writeoff(b_customer, WriteOffStatus.FILED, 7)
    _, headers = make_token(company=unit_a.company)
    assert [c["id"] for c in get(client, headers, "/api/v1/customers")["items"]] == [a_customer.id]
    assert [c["id"] for c in get(client, headers, "/api/v1/cases")["items"]] == [a_case.id]
    assert get(client, headers, "/api/v1/statements")["items"] == []
    assert get(client, headers, "/api/v1/writeoffs")["items"] == []
    assert get(client, headers, f"/api/v1/customers?erp_code={b_customer.erp_code}")["items"] == []
    for url in (
        f"/api/v1/customers/{b_customer.id}",
        f"/api/v1/cases/{b_case.id}",
        f"/api/v1/statements/{statement.id}",
        f"/api/v1/statements/{statement.id}/pdf",
        f"/api/v1/writeoffs/{b_writeoff.id}",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 404, url
        assert response.get_json(force=True)["type"] == "urn:qingqian:problem:not-found"
