"""The practice texts' warning before the due date: a configurable number of days before a
receivable falls due its collector is reminded (once), and a reminder letter can be printed;
and the rules' settings page that sets the days (Art.3, Art.16 (2) on the same page)."""

import subprocess
from datetime import date, timedelta

from sqlalchemy import select

from backoffice.models import AuditLog, Notification, Setting
from backoffice.services import predue, rule_settings
from tests import helpers
from tests.services.test_report_dispatch import client_as

TODAY = date(2026, 11, 2)


def world(db):
    unit = helpers.make_unit(name="东北事业部")
    collector = helpers.make_user("collector", units=[unit])
    other = helpers.make_user("collector", units=[unit])
    customer = helpers.make_customer(unit, name="沈阳重工设备有限公司")
    soon = helpers.make_receivable(
        customer, amount="42000", due=TODAY + timedelta(days=7), collector_id=collector.id
    )
    later = helpers.make_receivable(
        customer, amount="5000", due=TODAY + timedelta(days=8), collector_id=collector.id
    )
    unnamed = helpers.make_receivable(customer, amount="3000", due=TODAY + timedelta(days=1))
    return {
        "unit": unit,
        "collector": collector,
        "other": other,
        "customer": customer,
        "soon": soon,
        "later": later,
        "unnamed": unnamed,
    }


def inbox(db, user):
    return [
        n.title
        for n in db.session.scalars(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    ]


def test_collectors_are_warned_once_within_the_warning_days(db):
    """With the default 7 days: the document due in 7 days warns its collector, the one due
    in 8 does not; a document without a collector warns the unit's collectors; running again
    the same day sends nothing."""
    w = world(db)
    sent = predue.remind_collectors(db.session, TODAY)
    db.session.commit()
    assert sent == 3
    mine = inbox(db, w["collector"])
    assert any(w["soon"].doc_no in t for t in mine) and not any(
        w["later"].doc_no in t for t in mine
    )
    assert any(w["unnamed"].doc_no in t for t in inbox(db, w["other"]))
    assert predue.remind_collectors(db.session, TODAY) == 0


def test_the_warning_days_are_a_setting(db):
    """At 10 days the document due in 8 days is warned too."""
    w = world(db)
    db.session.add(Setting(key=predue.WARNING_SETTING, value=10))
    db.session.commit()
    predue.remind_collectors(db.session, TODAY)
    assert any(w["later"].doc_no in t for t in inbox(db, w["collector"]))


def test_the_collector_prints_the_reminder_letter_and_legal_is_refused(app, db):
    """The falling-due page lists the customer's documents; the letter names them and the
    total; legal staff may not open the page."""
    w = world(db)
    db.session.commit()
    client = client_as(app, "collector", units=[w["unit"]])
    # The page works from today's date (the fixture's dates are around 2 Nov 2026).
    helpers.make_receivable(
        w["customer"], amount="12345.60", due=date.today() + timedelta(days=3), doc_no="PRE-1"
    )
    page = client.get("/admin/predue/").get_data(as_text=True)
    assert "PRE-1" in page and f"/admin/predue/letter/{w['customer'].id}.pdf" in page
    response = client.get(f"/admin/predue/letter/{w['customer'].id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=response.data, capture_output=True, check=True
    ).stdout.decode()
    assert "到期付款提醒函" in text and "PRE-1" in text and "12,345.60" in text
    assert client_as(app, "legal").get("/admin/predue/").status_code == 403


def test_finance_keeps_the_rule_settings_and_others_cannot(app, db):
    """Finance saves the three settings (each change audited); the team lead may read the
    page but not change it; a collector may not open it."""
    finance = client_as(app, "finance")
    token = helpers.csrf_token(finance, "/admin/rules/")
    data = {
        "csrf_token": token,
        "included": ["interest", "damages"],
        "large_amount": "500,000",
        "warning_days": "5",
    }
    assert finance.post("/admin/rules/", data=data).status_code == 303
    now = rule_settings.current(db.session)
    assert {k.value for k in now.included} == {"interest", "damages"}
    assert str(now.large_amount) == "500000.00" and now.warning_days == 5
    audited = db.session.scalars(select(AuditLog.entity_id).where(AuditLog.entity == "setting"))
    assert {"overdue_total_charges", "large_debt_amount", "predue_warning_days"} <= set(audited)
    bad = {**data, "warning_days": "0", "csrf_token": helpers.csrf_token(finance, "/admin/rules/")}
    assert finance.post("/admin/rules/", data=bad).status_code == 400
    lead = client_as(app, "team_lead")
    assert lead.get("/admin/rules/").status_code == 200
    token = helpers.csrf_token(lead, "/admin/rules/")
    assert (
        lead.post(
            "/admin/rules/", data={**data, "csrf_token": token, "warning_days": "9"}
        ).status_code
        == 403
    )
    assert rule_settings.current(db.session).warning_days == 5
    assert client_as(app, "collector").get("/admin/rules/").status_code == 403
