"""A world with a balance confirmation request in every state (issue 15), for the register,
reminders, archive and Art.14 tests: two units, four customers with open documents."""

from datetime import date

from backoffice.extensions import db
from backoffice.services import contacts
from backoffice.services.calendar import load_year
from backoffice.services.demo.balance_confirm import every_state
from tests import helpers

AS_OF = date(2026, 9, 30)


def build():
    load_year(db.session, 2026)
    db.session.commit()
    east = helpers.make_unit(name="华东事业部")
    north = helpers.make_unit(company=east.company, name="华北事业部")
    collector = helpers.make_user("collector", units=[east])
    customers = []
    for n, (unit, name) in enumerate(
        [
            (east, "上海宏达机械有限公司"),
            (east, "苏州恒通电气有限公司"),
            (east, "杭州远景建材有限公司"),
            (north, "北京恒信建材有限公司"),
        ]
    ):
        customer = helpers.make_customer(unit, name=name)
        for k in range(2):
            helpers.make_receivable(
                customer,
                amount=f"{(n + 1) * 10000 + k * 1000}.00",
                due=date(2026, 7 + k, 28),
                doc_no=f"INV-{n}{k}",
                collector_id=collector.id if unit is east else None,
            )
        contacts.add_contact(db.session, customer, "财务", f"ap{n}@example.com")
        customers.append(customer)
    db.session.commit()
    finance = helpers.make_user("finance")
    made = every_state(db.session, customers, AS_OF, date(2026, 10, 9), finance)
    db.session.commit()
    return {"east": east, "north": north, "collector": collector, "customers": customers,
            "finance": finance, "requests": made}  # fmt: skip
