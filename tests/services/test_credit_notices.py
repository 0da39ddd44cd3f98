"""Art.10 (3): a shipment hold or a credit change tells the unit's contacts (e-mail) and the
customer's collector (inbox and e-mail)."""

import uuid
from decimal import Decimal

from sqlalchemy import select

from backoffice.models import Notification
from backoffice.models.customer import CreditRating
from backoffice.services import credit
from tests import helpers
from tests.services.test_report_dispatch import mails_to


def _world(db):
    unit = helpers.make_unit(name="华南事业部")
    unit.contact_emails = f"south-{uuid.uuid4().hex[:8]}@partA.example.com"
    collector = helpers.make_user(
        "collector", units=[unit], email=f"c-{uuid.uuid4().hex[:8]}@partA.example.com"
    )
    other = helpers.make_user("collector", units=[unit])
    customer = helpers.make_customer(unit, name="广州顺达贸易有限公司")
    helpers.make_receivable(customer, collector_id=collector.id)
    db.session.commit()
    return unit, customer, collector, other


def test_hold_and_release_tell_the_collector_and_the_units_contacts(app, db):
    """停货 and its release each reach the customer's collector's inbox and mailbox and the
    unit's contact address, with the reason; a collector of other customers is not told."""
    unit, customer, collector, other = _world(db)
    credit.hold_shipments(db.session, customer, "逾期超过90天，停止发货", 1)
    db.session.commit()
    titles = [
        n.title
        for n in db.session.scalars(
            select(Notification).where(Notification.user_id == collector.id)
        )
    ]
    assert titles == ["广州顺达贸易有限公司 已停货"]
    assert not db.session.scalars(
        select(Notification).where(Notification.user_id == other.id)
    ).all()
    (mail,) = mails_to(app, unit.contact_emails)
    assert "逾期超过90天，停止发货" in mail.get_content()
    assert len(mails_to(app, collector.email)) == 1
    credit.release_shipments(db.session, customer, "已付清，解除停货", 1)
    db.session.commit()
    assert len(mails_to(app, unit.contact_emails)) == 2


def test_a_limit_change_says_from_what_to_what(app, db):
    """A new credit limit reaches the collector with the old and new limits."""
    unit, customer, collector, _ = _world(db)
    credit.set_limit(db.session, customer, Decimal("50000"), "授信下调", 1)
    db.session.commit()
    (note,) = db.session.scalars(select(Notification).where(Notification.user_id == collector.id))
    assert "→" in note.title and "50,000.00" in note.title
    credit.set_rating(db.session, customer, CreditRating.C, "评级下调", 1)
    db.session.commit()
    assert len(mails_to(app, unit.contact_emails)) == 2


def test_without_a_named_collector_the_units_collectors_are_told(db):
    """A customer whose receivables name no collector: the unit's collectors are told."""
    unit = helpers.make_unit()
    a = helpers.make_user("collector", units=[unit])
    customer = helpers.make_customer(unit)
    helpers.make_receivable(customer)
    credit.hold_shipments(db.session, customer, "停货", 1)
    db.session.commit()
    assert db.session.scalars(select(Notification).where(Notification.user_id == a.id)).all()


def test_a_collector_cannot_change_credit(client, login_as, db):
    """The credit page's change is the credit specialist's: a collector's POST is refused."""
    unit = helpers.make_unit()
    customer = helpers.make_customer(unit)
    login_as("collector", units=[unit])
    token = helpers.csrf_token(client, f"/admin/customer/details/?id={customer.id}")
    response = client.post(
        f"/admin/customer/credit/{customer.id}/",
        data={"csrf_token": token, "reason": "停货", "shipment": "hold"},
    )
    assert response.status_code == 403
