"""Push: receivables and payments in batches through the importer's own rules, all or nothing,
every bad item listed in the import report's words, and idempotent retries."""

from __future__ import annotations

import html
import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice.models import ImportBatch, Payment, Receivable
from tests import helpers


@pytest.fixture()
def world(db, make_token):
    unit = helpers.make_unit(code="EAST", name="华东事业部")
    customer = helpers.make_customer(unit, erp_code="K001", name="上海宏达机械有限公司")
    token, headers = make_token("receivables:write", "payments:write", company=unit.company)
    return {"unit": unit, "customer": customer, "headers": headers, "token": token}


def receivable(n: int, **kw) -> dict:
    item = {
        "customer_code": "K001",
        "doc_no": f"INV-{n:04d}",
        "amount": "1200.50",
        "issue_date": "2026-09-01",
        "due_date": "2026-10-31",
        "sales_unit": "EAST",
    }
    item.update(kw)
    return item


def count(model) -> int:
    from backoffice.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


def test_a_good_batch_creates_every_receivable(client, world, db):
    """Three valid receivables are imported in one batch with exact amounts."""
    items = [receivable(1), receivable(2, amount=99.99), receivable(3, amount="1,000.00")]
    response = client.post("/api/v1/receivables", headers=world["headers"], json={"items": items})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["outcome"], body["created"], body["idempotent_replay"]) == ("applied", 3, False)
    amounts = dict(db.session.execute(select(Receivable.doc_no, Receivable.amount)).all())
    assert amounts == {
        "INV-0001": Decimal("1200.50"),
        "INV-0002": Decimal("99.99"),
        "INV-0003": Decimal("1000.00"),
    }


def test_payments_are_pushed_and_reduce_what_is_outstanding(client, world, db):
    """A pushed payment against a pushed receivable leaves the right outstanding amount."""
    client.post("/api/v1/receivables", headers=world["headers"], json={"items": [receivable(1)]})
    payment = {
        "customer_code": "K001",
        "payment_no": "P-1",
        "amount": "200.50",
        "received_on": "2026-11-02",
        "doc_no_ref": "INV-0001",
    }
    response = client.post("/api/v1/payments", headers=world["headers"], json={"items": [payment]})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert count(Payment) == 1
    rec = db.session.scalar(select(Receivable))
    assert rec.outstanding == Decimal("1000.00")


def test_bad_items_are_all_listed_and_nothing_is_imported(client, world, db, login_as):
    """One bad item stops the batch; each problem has index, field and the report's reason."""
    items = [
        receivable(1),
        receivable(2, amount="abc", due_date="2026-02-30"),
        receivable(3, sales_unit="不存在的事业部"),
        receivable(1),  # the same document twice
        {"doc_no": "INV-9", "amount": "1", "due_date": "2026-10-01", "company": "C1"},
    ]
    response = client.post("/api/v1/receivables", headers=world["headers"], json={"items": items})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["type"] == "urn:qingqian:problem:invalid-items"
    assert body["title"] == "部分条目未通过校验，整批未导入"
    found = {(e["index"], e["field"], e["code"]) for e in body["errors"]}
    assert {
        (1, "amount", "amount_not_number"),
        (1, "due_date", "bad_date"),
        (2, "sales_unit", "unknown_unit"),
        (0, "doc_no", "duplicate"),
        (3, "doc_no", "duplicate"),
        (4, "company", "unknown_field"),
    } <= found
    assert count(Receivable) == 0
    # The same words as the import report: the batch's result page shows each reason.
    login_as("finance")
    page = html.unescape(
        client.get(f"/admin/import/{body['batch_id']}/result/").get_data(as_text=True)
    )
    for error in body["errors"]:
        if error["code"] not in ("unknown_field", "duplicate"):
            assert error["reason"] in page, error
    duplicate = next(e for e in body["errors"] if e["code"] == "duplicate" and e["index"] == 0)
    assert duplicate["reason"] == "文件内重复（另见第 3 行）"  # the other item's index


def test_a_dry_run_checks_and_changes_nothing(client, world):
    """?dry_run=true reports what would be created and imports nothing."""
    response = client.post(
        "/api/v1/receivables?dry_run=true",
        headers=world["headers"],
        json={"items": [receivable(1), receivable(2)]},
    )
    body = response.get_json()
    assert (response.status_code, body["outcome"], body["created"]) == (200, "checked", 2)
    assert count(Receivable) == 0


def test_a_batch_over_the_item_limit_is_refused(client, world, app, monkeypatch):
    """More items than API_MAX_ITEMS: 413 too-many-items, nothing recorded."""
    monkeypatch.setitem(app.config, "API_MAX_ITEMS", 3)
    items = [receivable(n) for n in range(4)]
    response = client.post("/api/v1/receivables", headers=world["headers"], json={"items": items})
    body = response.get_json(force=True)
    assert (response.status_code, body["type"]) == (413, "urn:qingqian:problem:too-many-items")
    assert (body["max_items"], body["items"]) == (3, 4)
    assert count(ImportBatch) == 0


def test_ten_thousand_items_are_accepted(client, world, db):
    """The documented maximum batch (10,000 receivables) imports in one request."""
    items = [receivable(n) for n in range(10_000)]
    response = client.post("/api/v1/receivables", headers=world["headers"], json={"items": items})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.get_json()["created"] == 10_000
    assert count(Receivable) == 10_000


def test_a_retried_batch_with_the_same_key_is_a_no_op_and_says_so(client, world, db):
    """The second request with the same Idempotency-Key replays the answer and runs nothing."""
    headers = {**world["headers"], "Idempotency-Key": "nightly-2026-11-30"}
    payload = {"items": [receivable(1), receivable(2)]}
    first = client.post("/api/v1/receivables", headers=headers, json=payload)
    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    # Someone pays in between: a replay must not touch the ledger again.
    rec = db.session.scalar(select(Receivable).where(Receivable.doc_no == "INV-0001"))
    rec.amount = Decimal("5.00")
    db.session.commit()
    second = client.post("/api/v1/receivables", headers=headers, json=payload)
    assert second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json()["idempotent_replay"] is True
    assert second.get_json()["batch_id"] == first.get_json()["batch_id"]
    assert count(ImportBatch) == 1
    db.session.expire_all()
    assert db.session.get(Receivable, rec.id).amount == Decimal("5.00")


def test_a_rejected_batch_is_replayed_as_rejected(client, world):
    """A retry of a refused batch gets the same problem back, marked as a replay."""
    headers = {**world["headers"], "Idempotency-Key": "k-1"}
    payload = {"items": [receivable(1, amount="x")]}
    first = client.post("/api/v1/receivables", headers=headers, json=payload)
    second = client.post("/api/v1/receivables", headers=headers, json=payload)
    assert first.status_code == second.status_code == 422
    assert second.mimetype == "application/problem+json"
    assert second.get_json(force=True)["errors"] == first.get_json(force=True)["errors"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count(ImportBatch) == 1


def test_the_same_key_with_another_batch_is_refused(client, world):
    """Reusing a key for different items is 422 idempotency-key-reused; nothing imported."""
    headers = {**world["headers"], "Idempotency-Key": "k-2"}
    client.post("/api/v1/receivables", headers=headers, json={"items": [receivable(1)]})
    response = client.post("/api/v1/receivables", headers=headers, json={"items": [receivable(2)]})
    body = response.get_json(force=True)
    assert (response.status_code, body["type"]) == (
        422,
        "urn:qingqian:problem:idempotency-key-reused",
    )
    assert count(Receivable) == 1


def test_without_a_key_the_importer_still_makes_a_repeat_harmless(client, world):
    """The same items twice without a key: the second batch changes nothing."""
    payload = {"items": [receivable(1)]}
    client.post("/api/v1/receivables", headers=world["headers"], json=payload)
    body = client.post("/api/v1/receivables", headers=world["headers"], json=payload).get_json()
    assert (body["created"], body["unchanged"]) == (0, 1)
    assert count(Receivable) == 1


def test_a_push_cannot_reach_another_companys_units(client, world, db):
    """The token's company decides: another company's sales unit is unknown to it."""
    other = helpers.make_unit(code="WEST", name="西南事业部")
    helpers.make_customer(other, erp_code="K001", name="同编码的他司客户")
    response = client.post(
        "/api/v1/receivables",
        headers=world["headers"],
        json={"items": [receivable(1, sales_unit="WEST")]},
    )
    errors = response.get_json(force=True)["errors"]
    assert [(e["index"], e["field"], e["code"]) for e in errors] == [
        (0, "sales_unit", "unknown_unit")
    ]
    assert count(Receivable) == 0


@pytest.mark.parametrize(
    "body, content_type, slug",
    [
        ("{not json", "application/json", "bad-request"),
        (json.dumps({"items": []}), "application/json", "bad-request"),
        (json.dumps([1, 2]), "application/json", "bad-request"),
        ("items=1", "application/x-www-form-urlencoded", "unsupported-media-type"),
    ],
)
def test_malformed_requests_get_problems(client, world, body, content_type, slug):
    """Bad JSON, an empty batch and a form post are refused as problem+json."""
    response = client.post(
        "/api/v1/receivables",
        headers=world["headers"],
        data=body,
        content_type=content_type,
    )
    assert response.mimetype == "application/problem+json"
    assert response.get_json(force=True)["type"] == f"urn:qingqian:problem:{slug}"
