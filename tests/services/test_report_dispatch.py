"""Art.12: the monthly overdue report goes to each unit's contacts and to the finance
specialist when it is generated; each sending is recorded and can be seen, once."""

from email import policy
from email.parser import BytesParser
from pathlib import Path

from sqlalchemy import select

from backoffice.models import MonthlyReport, Notification, ReportDispatch
from backoffice.models.monthly import DispatchChannel
from backoffice.services.report_dispatch import contact_addresses
from jobs.monthly import run_period
from tests import helpers


def client_as(app, *roles, units=()):
    """A new client logged in as a new user with ``roles``."""
    user = helpers.make_user(*roles, units=units)
    client = app.test_client()
    helpers.login(client, user.username)
    return client


def mails_to(app, address: str) -> list:
    """The e-mails in the outbox addressed to ``address``."""
    outbox = Path(app.config["MAIL_OUTBOX_DIR"])
    found = []
    for path in sorted(outbox.glob("*.eml")):
        msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if msg["To"] == address:
            found.append(msg)
    return found


def test_contacts_are_read_from_the_units_list():
    """Commas (either width), semicolons and spaces separate the unit's contacts."""
    assert contact_addresses("a@x.cn，b@x.cn; a@x.cn  c@x.cn") == ["a@x.cn", "b@x.cn", "c@x.cn"]


def test_generated_report_is_sent_to_contacts_and_finance_and_recorded(app, db, ledger):
    """On generation the unit's contacts get the PDF and XLSX by e-mail, finance gets it in the
    inbox; each sending is a record of who, when and what; a re-run sends nothing again."""
    north = ledger["north"]
    north.contact_emails = "north-ar@partA.example.com, north-boss@partA.example.com"
    finance = helpers.make_user("finance", display_name="财务专员甲")
    db.session.commit()
    run_period("2026-10", inline=True)
    report = db.session.scalar(select(MonthlyReport).where(MonthlyReport.sales_unit_id == north.id))
    rows = db.session.scalars(
        select(ReportDispatch).where(ReportDispatch.report_id == report.id)
    ).all()
    by_recipient = {r.recipient: r for r in rows}
    assert set(by_recipient) == {
        "north-ar@partA.example.com",
        "north-boss@partA.example.com",
        f"财务专员甲（{finance.username}）",
    }
    mail = by_recipient["north-ar@partA.example.com"]
    assert mail.channel is DispatchChannel.EMAIL and mail.sent_by_id is None
    assert "逾期账款报表-" in mail.attachments and ".xlsx" in mail.attachments
    (sent,) = mails_to(app, "north-ar@partA.example.com")
    names = sorted(part.get_filename() for part in sent.iter_attachments())
    assert names == [
        f"逾期账款报表-{north.name}-2026-10.pdf",
        f"逾期账款报表-{north.name}-2026-10.xlsx",
    ]
    inbox = db.session.scalars(select(Notification).where(Notification.user_id == finance.id))
    assert any("逾期账款报表" in n.title and north.name in n.title for n in inbox)
    run_period("2026-10", inline=True)
    again = db.session.scalars(
        select(ReportDispatch).where(ReportDispatch.report_id == report.id)
    ).all()
    assert len(again) == 3 and len(mails_to(app, "north-ar@partA.example.com")) == 1


def test_finance_sees_the_sendings_and_a_collector_is_refused(app, db, ledger):
    """The sending register opens for finance with the recipients; a collector gets 403."""
    ledger["east"].contact_emails = "east-ar@partA.example.com"
    db.session.commit()
    run_period("2026-10", inline=True)
    page = client_as(app, "finance").get("/admin/report_dispatch/").get_data(as_text=True)
    assert "east-ar@partA.example.com" in page
    collector = client_as(app, "collector", units=[ledger["east"]])
    assert collector.get("/admin/report_dispatch/").status_code == 403


def test_finance_sends_a_report_again_recorded_like_the_first_time(app, db, ledger):
    """重新发送: finance sends the unit's report once more from its row; every recipient gets
    it again (the contacts as they are now), each sending recorded as sending 2 by finance;
    the first sending's records stay."""
    north = ledger["north"]
    north.contact_emails = "north-again@partA.example.com"
    finance = helpers.make_user("finance", display_name="财务专员甲")
    db.session.commit()
    run_period("2026-10", inline=True)
    report = db.session.scalar(select(MonthlyReport).where(MonthlyReport.sales_unit_id == north.id))
    north.contact_emails = "north-again@partA.example.com, north-new@partA.example.com"
    db.session.commit()

    sender = helpers.make_user("finance", display_name="财务专员乙")
    client = app.test_client()
    helpers.login(client, sender.username)
    listing = client.get("/admin/monthly_report/").get_data(as_text=True)
    url = f"/admin/monthly_report/send-again/{report.id}"
    assert url in listing and "重新发送" in listing
    response = client.post(
        url, data={"csrf_token": helpers.csrf_token(client, "/admin/monthly_report/")}
    )
    assert response.status_code == 303
    rows = db.session.scalars(
        select(ReportDispatch)
        .where(ReportDispatch.report_id == report.id)
        .order_by(ReportDispatch.sending_no, ReportDispatch.id)
    ).all()
    first = [(r.sending_no, r.recipient, r.sent_by_id) for r in rows if r.sending_no == 1]
    second = {(r.recipient, r.sent_by_id, r.channel) for r in rows if r.sending_no == 2}
    assert first == [
        (1, "north-again@partA.example.com", None),
        (1, f"财务专员甲（{finance.username}）", None),
    ]
    assert second == {
        ("north-again@partA.example.com", sender.id, DispatchChannel.EMAIL),
        ("north-new@partA.example.com", sender.id, DispatchChannel.EMAIL),
        (f"财务专员甲（{finance.username}）", sender.id, DispatchChannel.INBOX),
        (f"财务专员乙（{sender.username}）", sender.id, DispatchChannel.INBOX),
    }
    mails = mails_to(app, "north-again@partA.example.com")
    assert len(mails) == 2 and "第 2 次发送" in mails[1]["Subject"]
    assert len(list(mails[1].iter_attachments())) == 2
    inbox = db.session.scalars(select(Notification).where(Notification.user_id == finance.id))
    assert sum(north.name in n.title for n in inbox) == 2  # once more in finance's inbox
    register = client.get("/admin/report_dispatch/").get_data(as_text=True)
    assert "财务专员乙" in register and "north-new@partA.example.com" in register


def test_only_finance_and_admins_may_send_again(app, db, ledger):
    """A collector, the team lead or an auditor gets 403 and nothing is sent or recorded; they
    see no 重新发送 button. An admin may."""
    ledger["east"].contact_emails = "east-again@partA.example.com"
    db.session.commit()
    run_period("2026-10", inline=True)
    report = db.session.scalar(
        select(MonthlyReport).where(MonthlyReport.sales_unit_id == ledger["east"].id)
    )
    url = f"/admin/monthly_report/send-again/{report.id}"
    before = db.session.query(ReportDispatch).count()
    for role, units in (("collector", [ledger["east"]]), ("team_lead", []), ("auditor", [])):
        client = client_as(app, role, units=units)
        listing = client.get("/admin/monthly_report/").get_data(as_text=True)
        assert url not in listing, role
        token = helpers.csrf_token(client, "/admin/monthly_report/")
        assert client.post(url, data={"csrf_token": token}).status_code == 403, role
    assert db.session.query(ReportDispatch).count() == before
    assert len(mails_to(app, "east-again@partA.example.com")) == 1
    admin = client_as(app, "admin")
    token = helpers.csrf_token(admin, "/admin/monthly_report/")
    assert admin.post(url, data={"csrf_token": token}).status_code == 303
    assert len(mails_to(app, "east-again@partA.example.com")) == 2


def test_with_nobody_to_send_to_sending_again_is_refused(app, db, ledger):
    """No contact and no finance user: the page says so and records nothing."""
    run_period("2026-10", inline=True)
    report = db.session.scalar(
        select(MonthlyReport).where(MonthlyReport.sales_unit_id == ledger["east"].id)
    )
    admin = client_as(app, "admin")
    token = helpers.csrf_token(admin, "/admin/monthly_report/")
    url = f"/admin/monthly_report/send-again/{report.id}"
    response = admin.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert "未发送" in response.get_data(as_text=True)
    assert db.session.query(ReportDispatch).filter_by(report_id=report.id).count() == 0


def test_two_sendings_again_at_once_are_numbered_one_after_the_other(app, db, ledger):
    """Two finance users click 重新发送 at the same moment (two processes): both sendings go
    out and are recorded, as sendings 2 and 3, without a clash on the unique key."""
    from backoffice.extensions import db as _db
    from backoffice.services import report_dispatch

    ledger["east"].contact_emails = "east-race@partA.example.com"
    senders = [helpers.make_user("finance").id, helpers.make_user("finance").id]
    db.session.commit()
    run_period("2026-10", inline=True)
    report_id = db.session.scalar(
        select(MonthlyReport.id).where(MonthlyReport.sales_unit_id == ledger["east"].id)
    )

    def send(n: int, together) -> int:
        report = _db.session.get(MonthlyReport, report_id)
        together()
        sent = report_dispatch.send_again(_db.session, report, senders[n])
        _db.session.commit()
        return sent[0].sending_no

    assert sorted(helpers.race(app, send)) == [2, 3]
    numbers = db.session.scalars(
        select(ReportDispatch.sending_no).where(
            ReportDispatch.report_id == report_id,
            ReportDispatch.recipient == "east-race@partA.example.com",
        )
    ).all()
    assert sorted(numbers) == [1, 2, 3]
