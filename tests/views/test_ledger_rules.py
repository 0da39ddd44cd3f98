"""The ledger's edit forms keep the workflows' records whole: a written-off receivable is not
edited or deleted by hand (Art.18), an amount never drops below what was paid and written off,
and a customer with an open case does not move to another unit (Art.16, 21)."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser

from sqlalchemy import select

from backoffice.models import AuditLog, Customer, Receivable
from backoffice.models.receivable import ReceivableStatus
from backoffice.services import payments
from tests import helpers


class _Form(HTMLParser):
    """The values an edit form would post as the browser shows it."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "checkbox"):
            self.data[name] = a.get("value") or ""
        elif tag == "input" and name and a.get("type") == "checkbox" and "checked" in a:
            self.data[name] = a.get("value") or "y"
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def _post_edit(client, view: str, obj_id: int, **changes) -> tuple[int, str]:
    url = f"/admin/{view}/edit/?id={obj_id}"
    page = client.get(url)
    assert page.status_code == 200
    form = _Form()
    form.feed(page.get_data(as_text=True))
    response = client.post(url, data={**form.data, **changes}, follow_redirects=True)
    return response.status_code, response.get_data(as_text=True)


def _refusals(db) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog.detail).where(AuditLog.action == "refused")))


def test_a_written_off_receivable_is_not_edited_or_deleted_by_hand(client, login_as, db):
    """Finance's edit and delete of a written-off receivable are refused in Chinese, audited,
    and change nothing."""
    record = helpers.make_receivable(amount="7477.85", doc_no="WO-1")
    record.status, record.written_off_amount = ReceivableStatus.WRITTEN_OFF, Decimal("7477.85")
    record.outstanding, record.writeoff_ref = Decimal("0"), "记-2026-11-0042"
    db.session.commit()
    login_as("finance")
    status, html = _post_edit(client, "receivable", record.id, amount="1.00")
    assert status == 200 and "已核销" in html
    token = helpers.csrf_token(client, "/admin/receivable/")
    client.post("/admin/receivable/delete/", data={"id": record.id, "csrf_token": token})
    db.session.expire_all()
    record = db.session.get(Receivable, record.id)
    assert record is not None and record.amount == Decimal("7477.85")
    assert any("WO-1" in (d or "") for d in _refusals(db))


def test_an_amount_below_what_was_paid_is_refused(client, login_as, db):
    """A receivable partly paid keeps an amount of at least the paid part."""
    record = helpers.make_receivable(amount="1000.00", doc_no="PP-1")
    payments.allocate(db.session, helpers.make_payment(record.customer, amount="600.00"))
    db.session.commit()
    assert record.paid_amount == Decimal("600.00")
    login_as("finance")
    status, html = _post_edit(client, "receivable", record.id, amount="500.00")
    assert status == 200 and "600.00" in html
    db.session.expire_all()
    assert db.session.get(Receivable, record.id).amount == Decimal("1000.00")
    status, _html = _post_edit(client, "receivable", record.id, amount="800.00")
    db.session.expire_all()
    saved = db.session.get(Receivable, record.id)
    assert saved.amount == Decimal("800.00") and saved.outstanding == Decimal("200.00")


def test_a_customer_with_an_open_case_stays_in_its_unit(client, login_as, db):
    """Moving a customer with an open case to another unit is refused; without a case the
    move is saved."""
    company = helpers.make_company()
    east, north = helpers.make_unit(company), helpers.make_unit(company)
    cased = helpers.make_customer(east, name="有案件的客户")
    helpers.make_case(cased, case_no="QQ2026-00077")
    free = helpers.make_customer(east, name="无案件的客户")
    login_as("finance")
    status, html = _post_edit(client, "customer", cased.id, sales_unit=str(north.id))
    assert status == 200 and "QQ2026-00077" in html
    _post_edit(client, "customer", free.id, sales_unit=str(north.id))
    db.session.expire_all()
    assert db.session.get(Customer, cased.id).sales_unit_id == east.id
    assert db.session.get(Customer, free.id).sales_unit_id == north.id
