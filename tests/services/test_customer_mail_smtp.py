"""Customer e-mail over a real SMTP server on loopback (issue 14 §2, "Done when"): statements
arrive once per contact with the right PDF, a refused recipient is retried and then logged as
failed, the dunning schedule sends by debt class, pauses hold, STARTTLS/SSL with login."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from backoffice.models import (
    CollectionAction,
    CustomerMail,
    CustomerMailOptOut,
    JobRun,
    MailKind,
    MailStatus,
    Statement,
)
from backoffice.models.case import ActionKind
from backoffice.models.job import JobStatus
from backoffice.services import contacts, customer_mail, dunning
from backoffice.services.calendar import load_year
from jobs.monthly import run_period
from jobs.schedule import SCHEDULE, daily_dunning_run
from tests import helpers
from tests import smtp_server as smtp
from tests.jobs.test_machinery import work

HAS_POPPLER = subprocess.run(["which", "pdftotext"], capture_output=True).returncode == 0


@pytest.fixture()
def server(app, monkeypatch):
    """The loopback SMTP server, and the app pointed at it (plain SMTP, no login)."""
    yield from smtp.serve(app, monkeypatch)


@pytest.fixture()
def queues(app, db, redis_conn, monkeypatch):
    """Redis, with RQ's retries re-queued at once (the back-off is RQ's own interval list)."""
    monkeypatch.setitem(app.config, "JOB_RETRY_INTERVALS", [0])
    return redis_conn


@pytest.fixture()
def no_queue(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)


def statements(server) -> list:
    """The statements received (the monthly run also sends each customer with billing
    contacts its 对账确认, issue 15: logged as ``confirmation``, see ``test_statements_...``)."""
    return [r for r in server.received if "对账单（" in r.message["Subject"]]


def mails(db, **where) -> list[CustomerMail]:
    db.session.expire_all()
    query = select(CustomerMail).order_by(CustomerMail.id)
    for key, value in where.items():
        query = query.where(getattr(CustomerMail, key) == value)
    return list(db.session.scalars(query))


def test_statements_arrive_once_per_contact_with_the_right_pdf(ledger, db, server, no_queue):
    """After the monthly run each billing contact receives the customer's statement, the PDF's
    SHA-256 that of Statement.pdf_sha256; an excluded customer's contacts receive nothing; a
    repeated run sends nothing again."""
    acme, beta = ledger["acme"], ledger["beta"]
    contacts.add_contact(db.session, acme, "王会计", "wang@acme.example.cn")
    contacts.add_contact(db.session, acme, "李出纳", "li@acme.example.cn")
    contacts.add_contact(db.session, beta, "赵经理", "zhao@beta.example.cn")
    db.session.add(CustomerMailOptOut(customer_id=beta.id, reason="客户要求只收纸质对账单"))
    db.session.commit()
    run_period("2026-10", inline=True)
    run_period("2026-10", inline=True)  # repeated: nothing new
    assert sorted(a for r in statements(server) for a in r.rcpt) == [
        "li@acme.example.cn",
        "wang@acme.example.cn",
    ]
    statement = db.session.scalar(select(Statement).where(Statement.customer_id == acme.id))
    for got in statements(server):
        assert got.attachment_sha256() == statement.pdf_sha256
        assert got.attachments[0][0] == f"对账单-{acme.erp_code}-2026-10.pdf"
        assert "上海宏达机械有限公司" in got.body and "2026-09-30" in got.body
        assert got.message["Subject"].endswith("对账单（2026-10）")
    rows = mails(db, kind=MailKind.STATEMENT)
    assert [(r.kind, r.status, r.attempts) for r in rows] == [
        (MailKind.STATEMENT, MailStatus.SENT, 1)
    ] * 2
    assert {r.message_id for r in rows} == {g.message["Message-ID"] for g in statements(server)}
    # Issue 15: the 对账确认 with the statement is in the send log too, once per contact.
    confirmations = mails(db, kind=MailKind.CONFIRMATION)
    assert sorted((r.recipient, r.status) for r in confirmations) == [
        ("li@acme.example.cn", MailStatus.SENT),
        ("wang@acme.example.cn", MailStatus.SENT),
    ]
    assert len(server.received) == 4
    assert rows[0].attachment_sha256 == statement.pdf_sha256
    # Once per (kind, period, contact), even asked for directly.
    assert dunning.mail_statements(db.session, "2026-10", [acme.id, beta.id]) == 0


def test_statements_go_out_as_rq_jobs_after_the_run(ledger, db, server, queues):
    """Through the queue: the statement job logs the messages and queues one delivery job
    each; a worker sends them; running the period again queues nothing more."""
    acme = ledger["acme"]
    contacts.add_contact(db.session, acme, "王会计", "wang@acme.example.cn")
    db.session.commit()
    run_period("2026-10")
    work(queues)
    assert [r.rcpt for r in statements(server)] == [["wang@acme.example.cn"]]
    (row,) = mails(db, kind=MailKind.STATEMENT)
    assert row.status is MailStatus.SENT
    job = db.session.scalar(select(JobRun).where(JobRun.rq_job_id == f"customer-mail_{row.id}"))
    assert job.status is JobStatus.FINISHED
    run_period("2026-10")
    work(queues)
    assert len(statements(server)) == 1


def test_a_refused_recipient_is_retried_then_logged_as_failed(db, server, queues, app):
    """The server refuses one address: its delivery job runs 1 + MAIL_RETRIES times (RQ's
    retries), the row ends ``failed`` with the server's answer; the other contact gets one
    message."""
    app.config["MAIL_RETRIES"] = 2
    customer = helpers.make_customer(name="苏州远景电子有限公司")
    customer_id = customer.id
    contacts.add_contact(db.session, customer, "好地址", "ok@yuanjing.example.cn")
    contacts.add_contact(db.session, customer, "坏地址", "gone@yuanjing.example.cn")
    db.session.commit()
    server.refuse.add("gone@yuanjing.example.cn")
    rows = customer_mail.send_to_contacts(
        db.session, customer, MailKind.REMINDER, "2026-11", "付款提醒", "请安排付款。"
    )
    assert len(rows) == 2
    work(queues)
    app.config["MAIL_RETRIES"] = 3
    good, bad = mails(db)
    assert (good.status, good.attempts) == (MailStatus.SENT, 1)
    assert (bad.status, bad.attempts, bad.max_attempts) == (MailStatus.FAILED, 3, 3)
    assert "550" in bad.last_error and "Mailbox unavailable" in bad.last_error
    assert server.refused == ["gone@yuanjing.example.cn"] * 3
    assert [r.rcpt for r in server.received] == [["ok@yuanjing.example.cn"]]
    run = db.session.scalar(select(JobRun).where(JobRun.rq_job_id == f"customer-mail_{bad.id}"))
    assert run.status is JobStatus.FAILED and run.attempts == 3
    assert customer_mail.failures(db.session, customer_id) == [bad]
    # Asked again for the same period: the failed contact is not written to twice.
    customer = db.session.get(type(customer), customer_id)
    assert (
        customer_mail.send_to_contacts(
            db.session, customer, MailKind.REMINDER, "2026-11", "付款提醒", "请安排付款。"
        )
        == []
    )


@pytest.fixture()
def debtors(db):
    """Customers whose worst debt is: 10 days overdue, 40 days, 120 days (class 'overdue'),
    not yet due; one more 40 days overdue whose dunning is paused; each with a contact."""
    load_year(db.session, 2026)
    unit = helpers.make_unit(name="华东事业部")
    today = date(2026, 11, 20)
    out = {"today": today, "unit": unit}
    for tag, days in (("fresh", 10), ("month", 40), ("old", 120), ("current", -5), ("paused", 40)):
        customer = helpers.make_customer(unit, name=f"{tag}贸易有限公司", erp_code=f"D-{tag}")
        helpers.make_receivable(customer, amount="5000.00", due=today - timedelta(days=days))
        contacts.add_contact(db.session, customer, "财务", f"ap@{tag}.example.cn")
        out[tag] = customer
    db.session.commit()
    dunning.pause(db.session, out["paused"], "客户已签还款协议并按期付款", None)
    db.session.commit()
    return out


def test_the_dunning_schedule_sends_by_class_and_pauses_hold(debtors, db, server, no_queue):
    """The default schedule: a friendly reminder for 'attention' debts from 1 day, the demand
    letter from 30 days and for 'overdue' debts; nothing for debts not yet due; nothing for a
    paused customer; once per step and month however often the day runs."""
    today = debtors["today"]
    counts = dunning.run(db.session, today)
    assert counts == {"customers": 4, "paused": 1, "reminder": 1, "demand_letter": 2}
    dunning.run(db.session, today)
    dunning.run(db.session, today + timedelta(days=1))
    got = {r.rcpt[0]: r for r in server.received}
    assert sorted(got) == ["ap@fresh.example.cn", "ap@month.example.cn", "ap@old.example.cn"]
    assert got["ap@fresh.example.cn"].attachments == []
    assert "付款提醒" in got["ap@fresh.example.cn"].message["Subject"]
    for who in ("month", "old"):
        ((name, pdf),) = got[f"ap@{who}.example.cn"].attachments
        assert name.startswith(f"催款函-D-{who}-") and pdf.startswith(b"%PDF")
        if HAS_POPPLER:
            text = subprocess.run(
                ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
            ).stdout.decode()
            assert "催款函" in text and f"{who}贸易有限公司" in text and "5,000.00" in text
    assert [(r.kind, r.period) for r in mails(db, customer_id=debtors["old"].id)] == [
        (MailKind.DEMAND_LETTER, "2026-11")
    ]
    # The pause holds on every run; resumed, the customer is dunned on the next one.
    assert mails(db, customer_id=debtors["paused"].id) == []
    dunning.resume(db.session, debtors["paused"])
    db.session.commit()
    dunning.run(db.session, today + timedelta(days=2))
    assert [r.kind for r in mails(db, customer_id=debtors["paused"].id)] == [MailKind.DEMAND_LETTER]
    # Next month the steps go out again.
    dunning.run(db.session, date(2026, 12, 1))
    assert len(mails(db, customer_id=debtors["fresh"].id)) == 2


def test_a_configured_schedule_and_the_case_timeline(debtors, db, server, no_queue):
    """A schedule that reminds 'overdue' debts only; each message sent is a collection action
    on the customer's open case."""
    dunning.save_schedule(
        db.session,
        dunning.parse_schedule([{"debt_class": "overdue", "days": 60, "step": "reminder"}]),
    )
    db.session.commit()
    case = helpers.make_case(debtors["old"])
    counts = dunning.run(db.session, debtors["today"])
    assert counts["reminder"] == 1 and counts["demand_letter"] == 0
    assert [r.rcpt for r in server.received] == [["ap@old.example.cn"]]
    action = db.session.scalar(select(CollectionAction).where(CollectionAction.case_id == case.id))
    assert action.kind is ActionKind.EMAIL and "ap@old.example.cn" in action.result
    with pytest.raises(dunning.DunningError):
        dunning.parse_schedule([{"debt_class": "normal", "days": 1, "step": "reminder"}])
    with pytest.raises(dunning.DunningError):
        dunning.parse_schedule([{"debt_class": "overdue", "days": 1, "step": "statement"}])


def test_the_scheduler_runs_the_dunning_daily(db):
    assert daily_dunning_run in SCHEDULE
    assert [d.job_id for d in daily_dunning_run(date(2026, 11, 20))] == ["dunning_2026-11-20"]


def test_pausing_needs_a_reason_and_happens_once(debtors, db):
    with pytest.raises(dunning.DunningError):
        dunning.pause(db.session, debtors["fresh"], "  ", None)
    with pytest.raises(dunning.DunningError):
        dunning.pause(db.session, debtors["paused"], "again", None)
    with pytest.raises(dunning.DunningError):
        dunning.resume(db.session, debtors["fresh"])


def test_one_row_per_kind_period_and_contact_in_the_database(db):
    """The unique key itself refuses a second row for the same contact, kind and period."""
    from sqlalchemy.exc import IntegrityError

    customer = helpers.make_customer()
    contact = contacts.add_contact(db.session, customer, "王会计", "w@x.example.cn")
    db.session.commit()
    for _ in range(2):
        db.session.add(
            CustomerMail(
                kind=MailKind.STATEMENT,
                period="2026-10",
                customer_id=customer.id,
                company_id=customer.company_id,
                contact_id=contact.id,
                recipient=contact.email,
                subject="s",
                body="b",
            )
        )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CustomerMail)) == 0


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_starttls_or_ssl_with_login(db, app, monkeypatch, tmp_path, no_queue, mode):
    """STARTTLS (MAIL_USE_TLS) and implicit TLS (MAIL_USE_SSL), the server's certificate
    verified against MAIL_TLS_CA_FILE, with MAIL_USERNAME/MAIL_PASSWORD."""
    cert, key = smtp.self_signed(tmp_path)
    handler = smtp.Handler()
    context = smtp.server_context(cert, key)
    auth = {"authenticator": smtp.authenticator("qq", "s3cret"), "auth_require_tls": True}
    if mode == "starttls":
        controller = smtp.start(handler, tls_context=context, require_starttls=True, **auth)
    else:
        # The whole session is TLS: aiosmtpd's STARTTLS-only check would hide AUTH.
        controller = smtp.start(handler, ssl_context=context, **{**auth, "auth_require_tls": False})
    try:
        for k, v in {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": controller.port,
            "MAIL_USE_TLS": mode == "starttls",
            "MAIL_USE_SSL": mode == "ssl",
            "MAIL_USERNAME": "qq",
            "MAIL_PASSWORD": "s3cret",
            "MAIL_TLS_CA_FILE": str(cert),
            "MAIL_TIMEOUT": 5,
        }.items():
            monkeypatch.setitem(app.config, k, v)
        customer = helpers.make_customer()
        contacts.add_contact(db.session, customer, "王会计", "w@tls.example.cn")
        db.session.commit()
        customer_mail.send_to_contacts(
            db.session, customer, MailKind.REMINDER, "2026-11", "付款提醒", "请安排付款。"
        )
        first = db.session.scalar(select(CustomerMail))
        assert first.status is MailStatus.SENT, first.last_error
        assert [r.rcpt for r in handler.received] == [["w@tls.example.cn"]]
        monkeypatch.setitem(app.config, "MAIL_PASSWORD", "wrong")
        other = helpers.make_customer()
        contacts.add_contact(db.session, other, "李", "l@tls.example.cn")
        db.session.commit()
        (row,) = customer_mail.send_to_contacts(
            db.session, other, MailKind.REMINDER, "2026-11", "付款提醒", "请安排付款。"
        )
        db.session.refresh(row)
        assert row.status is MailStatus.FAILED and "Authentication" in row.last_error
    finally:
        controller.stop()


def test_two_runs_at_once_write_to_each_contact_once(app, db, no_queue):
    """Two processes log the same statement mail at the same moment: the unique key keeps one
    row (and so one message) per contact."""
    customer = helpers.make_customer()
    for n in range(3):
        contacts.add_contact(db.session, customer, f"联系人{n}", f"c{n}@race.example.cn")
    db.session.commit()
    customer_id = customer.id

    def work(n, together):
        from backoffice.extensions import db as _db
        from backoffice.models import Customer

        who = _db.session.get(Customer, customer_id)
        together()
        try:
            rows = customer_mail.send_to_contacts(
                _db.session, who, MailKind.STATEMENT, "2026-10", "对账单", "请查收。"
            )
        except Exception as exc:  # noqa: BLE001 - SQLite: the loser's write is refused whole
            _db.session.rollback()
            return f"refused: {type(exc).__name__}"
        return len(rows)

    results = helpers.race(app, work)
    rows = mails(db)
    assert len(rows) == 3 and {r.recipient for r in rows} == {
        f"c{n}@race.example.cn" for n in range(3)
    }
    assert sum(r for r in results if isinstance(r, int)) == 3  # between them, each contact once


def test_a_run_resumed_after_a_killed_job_mails_the_statements_it_missed(
    ledger, db, server, queues
):
    """The statement job built the statements and was killed before it mailed them: running
    the period again queues no statement job (nothing is missing) but still mails them."""
    from backoffice.services import monthly

    acme = ledger["acme"]
    contacts.add_contact(db.session, acme, "王会计", "wang@acme.example.cn")
    db.session.commit()
    p = monthly.plan(db.session, "2026-10")
    monthly.build_statements(db.session, p, monthly.statement_customer_ids(db.session, p.as_of))
    assert mails(db) == []
    result = run_period("2026-10")
    assert result["statement_jobs"] == 0
    work(queues)
    assert [r.rcpt for r in statements(server)] == [["wang@acme.example.cn"]]
