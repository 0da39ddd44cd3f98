"""Billing contacts: validated, one address once per customer, none for an excluded customer."""

import pytest

from backoffice.models import CustomerMailOptOut
from backoffice.services import contacts
from tests import helpers


def test_contacts_are_validated_and_unique_per_customer(app, db):
    unit = helpers.make_unit(name="华东事业部")
    customer = helpers.make_customer(unit, name="上海明达机电有限公司")
    db.session.commit()
    contacts.add_contact(db.session, customer, "王会计", " Wang.KJ@Mingda.example.cn ")
    contacts.add_contact(db.session, customer, "李出纳", "li@mingda.example.cn")
    db.session.commit()
    assert [c.email for c in contacts.billing_contacts(db.session, customer.id)] == [
        "wang.kj@mingda.example.cn",
        "li@mingda.example.cn",
    ]
    with pytest.raises(contacts.ContactError):
        contacts.add_contact(db.session, customer, "王会计", "wang.kj@mingda.example.cn")
    for bad in ("", "wang", "wang@", "a b@x.cn", "x@y", "<x@y.cn>"):
        with pytest.raises(contacts.ContactError):
            contacts.add_contact(db.session, customer, "某人", bad)
    with pytest.raises(contacts.ContactError):
        contacts.add_contact(db.session, customer, " ", "ok@mingda.example.cn")


def test_an_excluded_customer_has_no_one_to_write_to(app, db):
    unit = helpers.make_unit(name="华北事业部")
    customer = helpers.make_customer(unit, name="天津恒通物资有限公司")
    db.session.commit()
    contacts.add_contact(db.session, customer, "赵经理", "zhao@hengtong.example.cn")
    db.session.add(CustomerMailOptOut(customer_id=customer.id, reason="客户要求只接受纸质对账单"))
    db.session.commit()
    assert contacts.billing_contacts(db.session, customer.id) == []
    assert contacts.opted_out(db.session, customer.id).reason == "客户要求只接受纸质对账单"
