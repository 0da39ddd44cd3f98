"""The customer's timeline (客户往来记录, issue 14 §2): every e-mail of the send log, the
collection actions of all the customer's cases with the case number, credit events, balance
confirmations and disputes, payments — newest first, in words; collectors only for their
units' customers (404 for the others), roles with no business on customers refused (403)."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice.models import CustomerMail, MailKind, MailStatus
from backoffice.models.balance_confirmation import (
    BalanceConfirmationKind,
    BalanceConfirmationRequest,
    BalanceConfirmationStatus,
    BalanceDispute,
    DisputeReason,
)
from backoffice.models.case import CollectionAction
from backoffice.models.customer import CreditRating
from backoffice.services import contacts, credit, customer_mail, customer_timeline
from tests import helpers
from tests.browser.scanner import scan


# Without Redis the e-mails go out at once to the outbox (with it, as queued jobs; the
# queued path is tests/views/test_balance_confirm_mail.py and the SMTP tests).
@pytest.fixture()
def shop(db, no_redis):
    east = helpers.make_unit(name="华东事业部")
    west = helpers.make_unit(company=east.company, name="华西事业部")
    mine = helpers.make_customer(east, name="上海明达机电有限公司")
    theirs = helpers.make_customer(west, name="成都蜀南建材有限公司")
    contacts.add_contact(db.session, mine, "王会计", "wang@mingda.example.cn")
    db.session.commit()
    return {"east": east, "west": west, "mine": mine, "theirs": theirs}


def remind(db, customer, period="2026-11"):
    """A reminder e-mail through the send log; no Redis in tests: sent at once (outbox)."""
    return customer_mail.send_to_contacts(
        db.session, customer, MailKind.REMINDER, period, "付款提醒", "请安排付款。"
    )


def test_reminder_to_a_customer_without_a_case_is_on_its_timeline(client, login_as, shop, db):
    mine = shop["mine"]
    (row,) = remind(db, mine)
    db.session.refresh(row)
    assert row.status is MailStatus.SENT
    assert db.session.scalar(select(CollectionAction)) is None  # no case: no action
    login_as("collector", units=[shop["east"]])
    page = client.get(f"/admin/customer/timeline/{mine.id}/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert str(MailKind.REMINDER.label) in html
    assert "wang@mingda.example.cn" in html and "付款提醒" in html
    # Reachable from the customer's e-mail page and the customer list's row actions.
    assert f"/admin/customer/timeline/{mine.id}/" in client.get(
        f"/admin/customer/mail/{mine.id}/"
    ).get_data(as_text=True)
    assert f"/admin/customer/timeline/{mine.id}/" in client.get("/admin/customer/").get_data(
        as_text=True
    )


def test_with_a_case_the_collection_action_names_the_mail_and_the_case(
    client, login_as, shop, db, app, monkeypatch
):
    mine = shop["mine"]
    case = helpers.make_case(mine)
    (row,) = remind(db, mine)
    action = db.session.scalar(select(CollectionAction).where(CollectionAction.case_id == case.id))
    assert action is not None
    assert f"发送记录第 {row.id} 号" in action.result and "2026-11" in action.result
    # A failed send: shown failed, with the reason (a closed port on loopback).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 2)
    (bad,) = remind(db, mine, period="2026-12")
    db.session.refresh(bad)
    assert bad.status is MailStatus.FAILED and bad.last_error
    login_as("auditor")
    html = client.get(f"/admin/customer/timeline/{mine.id}/").get_data(as_text=True)
    assert case.case_no in html and f"发送记录第 {row.id} 号" in html
    assert "ConnectionRefusedError" in html and "table-danger" in html
    assert str(MailStatus.FAILED.label) in html


def test_every_source_in_words_newest_first(client, login_as, shop, db):
    mine = shop["mine"]
    remind(db, mine)
    credit.set_rating(db.session, mine, CreditRating.B, "付款多次延迟", None)
    db.session.commit()
    helpers.make_payment(mine, amount="12345.60", received_on=date(2026, 11, 20))
    request = BalanceConfirmationRequest(
        company_id=mine.company_id,
        sales_unit_id=mine.sales_unit_id,
        number="XZ2026-09999",
        kind=BalanceConfirmationKind.RECONCILIATION,
        customer_id=mine.id,
        as_of=date(2026, 10, 31),
        year=2026,
        balance=Decimal("50000"),
        reply_due=date(2026, 11, 15),
        sent_at=datetime(2026, 11, 1, 2, 0, tzinfo=UTC),
        status=BalanceConfirmationStatus.DISPUTED,
        answered_at=datetime(2026, 11, 3, 6, 30, tzinfo=UTC),
        debtor_balance=Decimal("45000"),
        debtor_note="11 月 2 日已付 5000 元",
    )
    db.session.add(request)
    db.session.flush()
    db.session.add(
        BalanceDispute(
            company_id=mine.company_id,
            sales_unit_id=mine.sales_unit_id,
            request_id=request.id,
            customer_id=mine.id,
            our_balance=Decimal("50000"),
            debtor_balance=Decimal("45000"),
            difference=Decimal("5000"),
            disputed_amount=Decimal("5000"),
            reason=DisputeReason.ALREADY_PAID,
            deadline=date(2026, 11, 17),
        )
    )
    db.session.commit()
    events, more = customer_timeline.events(db.session, mine.id)
    assert not more
    assert [e.at for e in events] == sorted((e.at for e in events), reverse=True)
    assert len({e.source for e in events}) == 5  # mail, credit, payment, confirmation, dispute
    _, more = customer_timeline.events(db.session, mine.id, limit=2)
    assert more
    login_as("credit")
    page = client.get(f"/admin/customer/timeline/{mine.id}/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "XZ2026-09999" in html and "12,345.60" in html and "付款多次延迟" in html
    assert "2026-11-03 14:30" in html  # the answer, in Beijing time to the minute
    assert str(DisputeReason.ALREADY_PAID.label) in html
    assert scan(html) == [], scan(html)


def test_scope_and_roles(client, login_as, shop, db, app):
    mine, theirs = shop["mine"], shop["theirs"]
    login_as("collector", units=[shop["east"]])
    assert client.get(f"/admin/customer/timeline/{theirs.id}/").status_code == 404
    assert client.get(f"/admin/customer/timeline/{mine.id}/").status_code == 200
    for role in ("leader", "legal"):
        other = app.test_client()
        helpers.login(other, helpers.make_user(role).username)
        assert other.get(f"/admin/customer/timeline/{mine.id}/").status_code == 403, role
        assert f"/admin/customer/timeline/{mine.id}/" not in other.get("/admin/customer/").get_data(
            as_text=True
        )
    for role in ("finance", "team_lead", "admin"):
        other = app.test_client()
        helpers.login(other, helpers.make_user(role).username)
        assert other.get(f"/admin/customer/timeline/{mine.id}/").status_code == 200, role
    anon = app.test_client()
    assert anon.get(f"/admin/customer/timeline/{mine.id}/").status_code == 302
    assert db.session.scalar(select(CustomerMail)) is None  # reading changes nothing
