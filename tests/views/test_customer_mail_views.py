"""The customer e-mail screens (issue 14 §2): contacts, the exclusion and the dunning pause on
the customer's e-mail page, scoped to the collector's units; the send log read-only; the
templates and the schedule kept by finance; every other role refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backoffice.models import (
    AuditLog,
    CustomerContact,
    CustomerMail,
    CustomerMailOptOut,
    DunningPause,
    MailKind,
    MailStatus,
)
from backoffice.services import contacts, customer_mail, dunning
from tests import helpers


@pytest.fixture()
def shop(db):
    east = helpers.make_unit(name="华东事业部")
    west = helpers.make_unit(company=east.company, name="华西事业部")
    mine = helpers.make_customer(east, name="上海明达机电有限公司")
    theirs = helpers.make_customer(west, name="成都蜀南建材有限公司")
    contact = contacts.add_contact(db.session, mine, "王会计", "wang@mingda.example.cn")
    db.session.add(
        CustomerMail(
            kind=MailKind.STATEMENT,
            period="2026-10",
            customer_id=mine.id,
            company_id=mine.company_id,
            sales_unit_id=mine.sales_unit_id,
            contact_id=contact.id,
            recipient=contact.email,
            subject="对账单（2026-10）",
            body="…",
            status=MailStatus.FAILED,
            attempts=4,
            max_attempts=4,
            last_error="SMTPRecipientsRefused: 550 Mailbox unavailable",
        )
    )
    db.session.commit()
    return {"east": east, "west": west, "mine": mine, "theirs": theirs, "contact": contact}


def as_role(app, role, units=()):
    """A new client logged in as a new user with ``role``."""
    client = app.test_client()
    helpers.login(client, helpers.make_user(role, units=units).username)
    return client


def post(client, csrf, path, **data):
    return client.post(path, data={"csrf_token": csrf("/account"), **data})


def test_collector_keeps_contacts_exclusion_and_pause_of_own_units_customers(
    client, login_as, csrf, shop, db
):
    login_as("collector", units=[shop["east"]])
    mine, theirs = shop["mine"], shop["theirs"]
    page = client.get(f"/admin/customer/mail/{mine.id}/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "wang@mingda.example.cn" in html and "550 Mailbox unavailable" in html  # the failure
    assert client.get(f"/admin/customer/mail/{theirs.id}/").status_code == 404
    assert (
        post(
            client,
            csrf,
            f"/admin/customer/mail/{theirs.id}/contact",
            name="x",
            email="x@y.example.cn",
        ).status_code
        == 404
    )
    r = post(
        client,
        csrf,
        f"/admin/customer/mail/{mine.id}/contact",
        name="李出纳",
        email="LI@mingda.example.cn",
    )
    assert r.status_code == 303
    post(client, csrf, f"/admin/customer/mail/{mine.id}/contact", name="坏", email="not-an-address")
    emails = sorted(db.session.scalars(select(CustomerContact.email)))
    assert emails == ["li@mingda.example.cn", "wang@mingda.example.cn"]
    post(
        client,
        csrf,
        f"/admin/customer/mail/{mine.id}/contact/{shop['contact'].id}/active",
        active="0",
    )
    db.session.expire_all()
    assert [c.email for c in contacts.billing_contacts(db.session, mine.id)] == [
        "li@mingda.example.cn"
    ]
    post(client, csrf, f"/admin/customer/mail/{mine.id}/exclude", reason="")
    assert db.session.scalar(select(CustomerMailOptOut)) is None  # a reason is required
    post(client, csrf, f"/admin/customer/mail/{mine.id}/exclude", reason="客户要求纸质函件")
    opt = db.session.scalar(select(CustomerMailOptOut))
    assert opt.reason == "客户要求纸质函件" and opt.user_id is not None
    assert "客户要求纸质函件" in client.get(f"/admin/customer/mail/{mine.id}/").get_data(
        as_text=True
    )
    post(client, csrf, f"/admin/customer/mail/{mine.id}/include")
    assert db.session.scalar(select(CustomerMailOptOut)) is None
    post(client, csrf, f"/admin/customer/mail/{mine.id}/pause", reason="已签还款协议，按期付款")
    db.session.expire_all()
    assert dunning.paused(db.session, mine.id).reason == "已签还款协议，按期付款"
    post(client, csrf, f"/admin/customer/mail/{mine.id}/resume")
    assert db.session.scalar(select(DunningPause)) is None
    actions = set(db.session.scalars(select(AuditLog.entity)))
    assert {"customer_contact", "customer_mail_opt_out", "dunning_pause"} <= actions


@pytest.mark.parametrize("role", ["leader", "legal"])
def test_other_roles_cannot_open_or_change_the_mail_page(client, login_as, csrf, shop, db, role):
    login_as(role)
    mine = shop["mine"]
    assert client.get(f"/admin/customer/mail/{mine.id}/").status_code == 403
    for action, data in (
        ("contact", {"name": "x", "email": "x@y.example.cn"}),
        ("exclude", {"reason": "r"}),
        ("pause", {"reason": "r"}),
        ("resume", {}),
        ("include", {}),
        (f"contact/{shop['contact'].id}/active", {"active": "0"}),
    ):
        assert (
            post(client, csrf, f"/admin/customer/mail/{mine.id}/{action}", **data).status_code
            == 403
        )
    assert db.session.scalar(select(DunningPause)) is None
    db.session.expire_all()
    assert db.session.get(CustomerContact, shop["contact"].id).active


def test_anonymous_visitors_are_sent_to_the_login_page(client, shop):
    r = client.get(f"/admin/customer/mail/{shop['mine'].id}/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.get("/admin/customer_mail/").status_code == 302
    assert client.get("/admin/mail-settings/").status_code == 302


@pytest.mark.parametrize("role", ["team_lead", "credit", "auditor"])
def test_readers_see_the_page_but_change_nothing(client, login_as, csrf, shop, db, role):
    login_as(role)
    mine = shop["mine"]
    html = client.get(f"/admin/customer/mail/{mine.id}/").get_data(as_text=True)
    assert "wang@mingda.example.cn" in html and 'id="add-contact"' not in html
    assert (
        post(
            client,
            csrf,
            f"/admin/customer/mail/{mine.id}/contact",
            name="x",
            email="x@y.example.cn",
        ).status_code
        == 403
    )
    assert (
        post(client, csrf, f"/admin/customer/mail/{mine.id}/exclude", reason="r").status_code == 403
    )
    status = post(client, csrf, f"/admin/customer/mail/{mine.id}/pause", reason="r").status_code
    assert status == (303 if role == "team_lead" else 403)


def test_the_send_log_is_read_only_and_scoped(app, client, login_as, csrf, shop, db):
    west = as_role(app, "collector", units=[shop["west"]])
    assert "wang@mingda.example.cn" not in west.get("/admin/customer_mail/").get_data(as_text=True)
    login_as("finance")
    html = client.get("/admin/customer_mail/").get_data(as_text=True)
    assert "wang@mingda.example.cn" in html and "失败" in html
    assert client.get("/admin/customer_mail/new/").status_code in (403, 404)
    row = db.session.scalar(select(CustomerMail))
    r = post(client, csrf, f"/admin/customer_mail/edit/?id={row.id}", recipient="x@y.example.cn")
    assert r.status_code in (403, 404)
    r = post(client, csrf, "/admin/customer_mail/delete/", id=str(row.id))
    assert r.status_code in (403, 404)
    db.session.expire_all()
    assert db.session.get(CustomerMail, row.id).recipient == "wang@mingda.example.cn"
    for role in ("leader", "legal", "team_lead"):
        assert as_role(app, role).get("/admin/customer_mail/").status_code == 403, role


def test_the_send_log_says_why_a_sending_failed_in_words(client, login_as, shop, db):
    """The list reads 收件方邮件服务器拒收该地址 instead of "SMTPRecipientsRefused: 550 …", and
    leaves the subject (对账单（2026-10）, what and period again) to the details page, where the
    server's own answer stays for the administrator (issue 11: 1366 px, no raw values)."""
    login_as("finance")
    html = client.get("/admin/customer_mail/").get_data(as_text=True)
    assert "收件方邮件服务器拒收该地址" in html
    assert "SMTPRecipientsRefused" not in html and "对账单（2026-10）" not in html
    row = db.session.scalar(select(CustomerMail))
    details = client.get(f"/admin/customer_mail/details/?id={row.id}").get_data(as_text=True)
    assert "对账单（2026-10）" in details and "550 Mailbox unavailable" in details, details[-3000:]


def test_finance_edits_templates_and_schedule_others_may_not(app, client, login_as, csrf, db):
    login_as("finance")
    page = client.get("/admin/mail-settings/").get_data(as_text=True)
    assert "对账单" in page and "付款提醒" in page
    data = {
        "statement-subject": "对账单 $period",
        "statement-body": "$customer 您好，附件为对账单。",
        "debt_class": ["attention", "overdue", ""],
        "days": ["5", "100", ""],
        "step": ["reminder", "demand_letter", "reminder"],
    }
    r = client.post("/admin/mail-settings/", data={"csrf_token": csrf("/account"), **data})
    assert r.status_code == 303
    assert customer_mail.render(
        db.session, MailKind.STATEMENT, customer="甲", period="2026-10"
    ) == (
        "对账单 2026-10",
        "甲 您好，附件为对账单。",
    )
    assert [(s.debt_class.value, s.days, s.step.value) for s in dunning.schedule(db.session)] == [
        ("attention", 5, "reminder"),
        ("overdue", 100, "demand_letter"),
    ]
    bad = {**data, "days": ["0", "100", ""]}
    assert (
        client.post(
            "/admin/mail-settings/", data={"csrf_token": csrf("/account"), **bad}
        ).status_code
        == 400
    )
    for role in ("collector", "auditor", "team_lead"):
        other = as_role(app, role)
        token = helpers.csrf_token(other, "/account")
        r = other.post("/admin/mail-settings/", data={"csrf_token": token, **data})
        assert r.status_code == 403, role
    assert other.get("/admin/mail-settings/").status_code == 403  # team lead: not even read
