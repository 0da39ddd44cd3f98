"""Demo data for customer e-mail (issue 14 §2): a few of the collector's customers with billing
contacts, one excluded from e-mail, one whose dunning is paused (Art.23), and a send log with
last month's statements sent, a friendly reminder sent and one that failed after its retries.

The log rows are written as the delivery job leaves them (nothing is actually sent while the
demo is built); runs last in ``story.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from backoffice.models import Customer, CustomerMail, CustomerMailOptOut, MailKind, MailStatus
from backoffice.services import contacts, dunning

PEOPLE = (("王会计", "wang"), ("李出纳", "li"), ("赵经理", "zhao"))


def seed(builder) -> None:
    session, today, users = builder.session, builder.today, builder.users
    collector = users["collector"]
    customers = list(
        session.scalars(
            select(Customer)
            .where(Customer.sales_unit_id.in_(sorted(collector.unit_ids) or [-1]))
            .order_by(Customer.id)
            .limit(5)
        )
    )
    if len(customers) < 4:
        return
    last_month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    this_month = today.strftime("%Y-%m")
    sent_at = datetime.combine(today.replace(day=1) + timedelta(days=7), time(2, 5), tzinfo=UTC)
    for n, customer in enumerate(customers):
        made = []
        for name, box in PEOPLE[: 2 if n % 2 == 0 else 1]:
            made.append(
                contacts.add_contact(
                    session, customer, name, f"{box}.{customer.erp_code.lower()}@example.cn"
                )
            )
        if n == 3:
            continue  # excluded below: nothing was ever sent
        for contact in made:
            session.add(_row(customer, contact, MailKind.STATEMENT, last_month, "对账单", sent_at))
    excluded = customers[3]
    session.add(
        CustomerMailOptOut(
            customer_id=excluded.id,
            reason="客户书面要求只收纸质对账单，由业务员上门送达。",
            user_id=users["finance"].id if "finance" in users else None,
        )
    )
    dunning.pause(
        session,
        customers[2],
        "客户已签还款协议并按期付款，暂停催收邮件以维护合作关系（第二十三条）。",
        collector.id,
    )
    reminder_at = sent_at + timedelta(days=20)
    first = customers[0].contacts[0]
    session.add(_row(customers[0], first, MailKind.REMINDER, this_month, "付款提醒", reminder_at))
    bad = customers[1].contacts[0]
    failed = _row(customers[1], bad, MailKind.REMINDER, this_month, "付款提醒", None)
    failed.status, failed.attempts = MailStatus.FAILED, failed.max_attempts
    failed.last_error = (
        f"SMTPRecipientsRefused: {{'{bad.email}': (550, b'5.1.1 Mailbox unavailable')}}"
    )
    session.add(failed)
    builder.commit()


def _row(customer, contact, kind, period, what, sent_at):
    return CustomerMail(
        kind=kind,
        period=period,
        customer_id=customer.id,
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        contact_id=contact.id,
        recipient=contact.email,
        subject=f"{what}（{period}）",
        body=f"{customer.name}：\n\n{what}，请查收。",
        attachment_name=f"对账单-{customer.erp_code}-{period}.pdf"
        if kind is MailKind.STATEMENT
        else None,
        status=MailStatus.SENT if sent_at else MailStatus.QUEUED,
        attempts=1,
        max_attempts=4,
        message_id=f"<demo-{kind.value}-{period}-{contact.id}@example.cn>" if sent_at else None,
        created_at=(sent_at or datetime.now(UTC)) - timedelta(minutes=1),
        sent_at=sent_at,
    )
