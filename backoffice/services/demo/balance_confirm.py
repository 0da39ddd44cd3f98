"""Demo balance confirmations (issue 15): last year's 询证函 and a 对账确认 in every state, so
the auditor sees a filled register and the collector an open dispute on a fresh run.

Customers of the demo collector's unit (华东) with documents open at the end of last year get:
confirmed; disputed and still open; disputed and resolved by a credit note; the signed letter
returned; negative form with no disagreement received; unanswered (reminded once); returned
undelivered; and a 对账确认 awaiting its reply. Every answer goes through the answer service
with a documentation IP address (203.0.113.x), so the page log and the audit trail read true.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from backoffice.models.balance_confirmation import (
    BalanceConfirmationKind,
    DisputeReason,
    DisputeResolution,
    LetterForm,
)
from backoffice.models.customer import Customer
from backoffice.services import balance_confirm, balance_dispute, contacts
from backoffice.services import balance_confirm_answer as answer
from backoffice.services import balance_confirm_followup as followup

# A small, valid PDF standing in for the scanned, signed and sealed reply.
SIGNED_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _customers(builder, as_of: date, count: int) -> list[Customer]:
    east = [u for u in builder.units if u.code == "EAST"] or builder.units
    found = []
    for customer in builder.session.scalars(
        select(Customer).where(Customer.sales_unit_id == east[0].id).order_by(Customer.id)
    ):
        if len(balance_confirm.open_documents(builder.session, customer.id, as_of)) >= 2:
            found.append(customer)
        if len(found) == count:
            break
    return found


def seed(builder) -> None:
    """Add the demo requests, answers and disputes; commits."""
    session, users = builder.session, builder.users
    finance, collector = users["finance"], users["collector"]
    as_of = date(builder.today.year - 1, 12, 31)
    customers = _customers(builder, as_of, 8)
    if len(customers) < 8:
        return
    for customer in customers:
        if not contacts.billing_contacts(session, customer.id):
            contacts.add_contact(session, customer, "财务部", f"ar{customer.id}@customer.example")
    session.flush()

    def send(customer, form=LetterForm.POSITIVE, kind=BalanceConfirmationKind.AUDIT_LETTER):
        req, token, _sent = balance_confirm.create_and_send(
            session, customer=customer, kind=kind, letter_form=form, as_of=as_of,
            user=finance, today=builder.today,
        )  # fmt: skip
        return req, answer.find_link(session, token)

    def visitor(n: int) -> answer.Visitor:
        return answer.Visitor(f"203.0.113.{n}", "Mozilla/5.0 (demo)")

    # 1. Confirmed online.
    req, link = send(customers[0])
    answer.view(session, link, visitor(10))
    answer.confirm(session, link, visitor(10), signer="王会计")
    # 2. and 3. Disputed on two lines; one dispute stays open, one is resolved.
    for i, resolve in ((1, False), (2, True)):
        req, link = send(customers[i])
        answer.view(session, link, visitor(20 + i))
        first, second = req.lines[0], req.lines[1]
        disputed = [
            answer.DisputedLine(first.id, min(first.outstanding, Decimal("8000.00")),
                                DisputeReason.QUALITY, "第三批货物质量问题，已退回部分"),
            answer.DisputedLine(second.id, min(second.outstanding, Decimal("2000.00")),
                                DisputeReason.ALREADY_PAID, "已于12月28日电汇"),
        ]  # fmt: skip
        figure = req.balance - sum((d.disputed_amount for d in disputed), Decimal("0"))
        answer.dispute(
            session, link, visitor(20 + i), debtor_balance=figure, lines=disputed,
            note="部分货物质量不合格；另有一笔已付款未核销。", signer="李出纳",
        )  # fmt: skip
        if resolve:
            dispute = session.scalar(
                select(balance_dispute.BalanceDispute).where(
                    balance_dispute.BalanceDispute.request_id == req.id
                )
            )
            balance_dispute.resolve(
                session, dispute, resolution=DisputeResolution.CREDIT_NOTE,
                note="质量问题属实，已开具红字发票；已付款项已核销。", user=collector,
            )  # fmt: skip
    # 4. The signed and sealed letter uploaded.
    req, link = send(customers[3])
    letter = io.BytesIO(SIGNED_PDF)
    answer.return_letter(session, link, visitor(40), "询证函回函（已盖章）.pdf", letter)
    # 5. Negative form, silence: no disagreement received.
    negative, _link = send(customers[4], LetterForm.NEGATIVE)
    followup.record_silence(session, negative.reply_due + timedelta(days=1))
    # 6. Unanswered positive request, reminded once.
    req, _link = send(customers[5])
    balance_confirm.send_letter(session, req, reminder=True)
    req.reminders_sent, req.last_reminded_on = 1, builder.today
    # 7. Returned undelivered.
    req, _link = send(customers[6])
    balance_confirm.mark_undeliverable(session, req, finance, "查无此单位，邮件退回")
    # 8. A 对账确认 awaiting its reply.
    send(customers[7], None, BalanceConfirmationKind.RECONCILIATION)
    builder.commit()
