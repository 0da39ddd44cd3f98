"""The confirmation e-mails to debtors go through the customer e-mail send log (issue 15 with
issue 14 §2): one logged row per billing contact and sending, the letter attached, retried by
the mail job, listed on the customer's e-mail page; sent only once the caller committed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from backoffice.models import (
    BalanceConfirmationLink,
    BalanceConfirmationRequest,
    CustomerMail,
    JobRun,
    MailKind,
    MailStatus,
)
from backoffice.models.balance_confirmation import BalanceConfirmationKind, LetterForm
from backoffice.models.job import JobStatus
from backoffice.services import balance_confirm, contacts, customer_mail
from backoffice.services.calendar import load_year
from tests import helpers
from tests import smtp_server as smtp
from tests.conftest import csrf_from
from tests.jobs.test_machinery import work


@pytest.fixture()
def server(app, monkeypatch):
    """The loopback SMTP server, and the app pointed at it (plain SMTP, no login)."""
    yield from smtp.serve(app, monkeypatch)


@pytest.fixture()
def acme(app, db):
    load_year(db.session, 2026)
    db.session.commit()
    east = helpers.make_unit(name="华东事业部")
    customer = helpers.make_customer(east, name="上海宏达机械有限公司")
    helpers.make_receivable(customer, amount="120000.00", due=date(2026, 7, 31), doc_no="INV-A1")
    contacts.add_contact(db.session, customer, "王会计", "wang@acme.example.cn")
    contacts.add_contact(db.session, customer, "李出纳", "li@acme.example.cn")
    db.session.commit()
    return customer


def _rows(db) -> list[CustomerMail]:
    db.session.expire_all()
    return list(db.session.scalars(select(CustomerMail).order_by(CustomerMail.id)))


def _link_ids(db, req_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(BalanceConfirmationLink.id)
            .where(BalanceConfirmationLink.request_id == req_id)
            .order_by(BalanceConfirmationLink.id)
        )
    )


def test_sent_and_reissued_over_http_each_logged_per_contact(
    app, db, client, login_as, acme, server, monkeypatch
):
    """Finance sends a 询证函 and sends it again: each sending is one send-log row per
    contact (kind 余额确认, keyed by the request number and the link), delivered with the
    letter, and the customer's e-mail page lists them."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)  # no queue: sent at once, one attempt
    login_as("finance")
    page = client.get("/admin/balance_confirmation_request/send/").get_data(as_text=True)
    response = client.post(
        "/admin/balance_confirmation_request/send/",
        data={
            "csrf_token": csrf_from(page),
            "kind": "audit_letter",
            "letter_form": "positive",
            "as_of": "2026-09-30",
            "customer_id": [str(acme.id)],
        },
    )
    assert response.status_code == 303
    req = db.session.scalar(select(BalanceConfirmationRequest))
    first = _rows(db)
    (link1,) = _link_ids(db, req.id)
    assert sorted(r.recipient for r in first) == ["li@acme.example.cn", "wang@acme.example.cn"]
    assert {(r.kind, r.period, r.status) for r in first} == {
        (MailKind.CONFIRMATION, f"{req.number}/{link1}", MailStatus.SENT)
    }
    assert all(r.attachment_name and r.attachment_name.endswith(".pdf") for r in first)
    assert sorted(m.rcpt[0] for m in server.received) == [
        "li@acme.example.cn",
        "wang@acme.example.cn",
    ]
    for message in server.received:
        ((_name, data),) = message.attachments
        assert data.startswith(b"%PDF") and req.number in message.message["Subject"]
    show = client.get(f"/admin/balance_confirmation_request/show/{req.id}").get_data(as_text=True)
    again = client.post(
        f"/admin/balance_confirmation_request/reissue/{req.id}",
        data={"csrf_token": csrf_from(show)},
    )
    assert again.status_code == 303
    rows = _rows(db)
    link2 = _link_ids(db, req.id)[-1]
    assert len(rows) == 4 and len(server.received) == 4
    assert {r.period for r in rows[2:]} == {f"{req.number}/{link2}"}
    mail_page = client.get(f"/admin/customer/mail/{acme.id}/").get_data(as_text=True)
    assert "余额确认" in mail_page and f"{req.number}/{link2}" in mail_page
    assert "li@acme.example.cn" in mail_page


def test_a_rolled_back_sending_sends_nothing(app, db, acme, server, monkeypatch):
    """The rows are written in the caller's transaction: rolled back, no row and no message;
    ``dispatch_pending`` after it finds nothing to send."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    balance_confirm.create_and_send(
        db.session,
        customer=acme,
        kind=BalanceConfirmationKind.AUDIT_LETTER,
        letter_form=LetterForm.POSITIVE,
        as_of=date(2026, 9, 30),
    )
    assert server.received == []  # nothing goes out before the commit
    db.session.rollback()
    assert customer_mail.dispatch_pending(db.session) == 0
    assert _rows(db) == [] and server.received == []


def test_a_refused_debtor_address_is_retried_by_the_mail_job(
    app, db, acme, server, redis_conn, monkeypatch
):
    """Through the queue: each row is a delivery job; a refused address is tried
    1 + MAIL_RETRIES times and logged as failed, the other contact gets its letter once."""
    monkeypatch.setitem(app.config, "JOB_RETRY_INTERVALS", [0])
    monkeypatch.setitem(app.config, "MAIL_RETRIES", 2)
    server.refuse.add("li@acme.example.cn")
    req, _token, sent = balance_confirm.create_and_send(
        db.session,
        customer=acme,
        kind=BalanceConfirmationKind.AUDIT_LETTER,
        letter_form=LetterForm.POSITIVE,
        as_of=date(2026, 9, 30),
    )
    number, acme_id = req.number, acme.id
    db.session.commit()
    assert customer_mail.dispatch_pending(db.session) == 2
    assert customer_mail.dispatch_pending(db.session) == 0  # once
    work(redis_conn)
    by_address = {r.recipient: r for r in _rows(db)}
    good, bad = by_address["wang@acme.example.cn"], by_address["li@acme.example.cn"]
    assert (good.status, good.attempts) == (MailStatus.SENT, 1)
    assert (bad.status, bad.attempts, bad.max_attempts) == (MailStatus.FAILED, 3, 3)
    assert server.refused == ["li@acme.example.cn"] * 3
    assert [r.rcpt for r in server.received] == [["wang@acme.example.cn"]]
    run = db.session.scalar(select(JobRun).where(JobRun.rq_job_id == f"customer-mail_{bad.id}"))
    assert run.status is JobStatus.FAILED
    assert customer_mail.failures(db.session, acme_id) == [bad]
    assert number in good.subject and sorted(sent) == sorted(by_address)
