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
