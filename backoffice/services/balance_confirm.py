"""Balance confirmation requests (issue 15): create, snapshot, one-time links, sending.

A request asks one customer to confirm its balance as of a date. It is either a 对账确认
attached to the monthly statement (Art.12–13: the monthly reconciliation), or an auditor's
询证函 in the positive or negative form. Its lines are a snapshot of the customer's open
documents as of that date; later payments never change what the debtor was asked.

The debtor answers through a one-time link (``issue_link``). The token is random, given out
once, and only its SHA-256 is stored; a link expires, can be revoked, and is used up by an
answer (``services/balance_confirm_answer.py``). ``deliver`` is the one function that sends
anything to the debtor (the e-mail send log hooks in there).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditAction
from backoffice.models.balance_confirmation import (
    BalanceConfirmationKind,
    BalanceConfirmationLine,
    BalanceConfirmationLink,
    BalanceConfirmationRequest,
    BalanceConfirmationStatus,
    LetterForm,
)
from backoffice.models.base import to_money, utcnow
from backoffice.models.contact import MailKind
from backoffice.models.customer import Customer
from backoffice.models.monthly import Statement
from backoffice.models.receivable import Payment, PaymentAllocation, Receivable
from backoffice.permissions import Action, can
from backoffice.services import audit, customer_mail
from backoffice.services.balance_confirm_links import (  # noqa: F401  (their old home)
    issue_link,
    link_url,
    live_link,
    revoke_link,
    token_hash,
)
from backoffice.services.calendar import CalendarError, add_workdays
from backoffice.services.contacts import billing_contacts
from backoffice.services.numbering import next_number

RESOURCE = "balance_confirmation_request"
PREFIX = {
    BalanceConfirmationKind.RECONCILIATION: "DZ",  # 对账
    BalanceConfirmationKind.AUDIT_LETTER: "XZ",  # 询证
}


class ConfirmationRequestError(ValueError):
    """A request that cannot be made as asked; the message is shown to the user."""


def working_days_after(session: Session, day: date, n: int) -> date:
    """``n`` working days after ``day``; weekdays only when the year's calendar is missing
    (a request must still get a date; the calendar page warns about the missing year)."""
    try:
        return add_workdays(session, day, n)
    except CalendarError:
        current = day
        while n > 0:
            current += timedelta(days=1)
            if current.weekday() < 5:
                n -= 1
        return current


def reply_days(kind: BalanceConfirmationKind, form: LetterForm | None) -> int:
    cfg = current_app.config
    if kind is BalanceConfirmationKind.RECONCILIATION:
        # The statement says: "如有不符，请于收到后 5 个工作日内与我司联系".
        return int(cfg.get("BALANCE_CONFIRM_RECONCILIATION_DAYS", 5))
    if form is LetterForm.NEGATIVE:
        return int(cfg.get("BALANCE_CONFIRM_NEGATIVE_DAYS", 10))
    return int(cfg.get("BALANCE_CONFIRM_POSITIVE_DAYS", 10))


# ---------------------------------------------------------------------------------------------
# The snapshot


def open_documents(
    session: Session, customer_id: int, as_of: date
) -> list[tuple[Receivable, Decimal]]:
    """The customer's documents open on ``as_of``, with what was outstanding that day.

    A document counts from its issue date (its due date when the ERP gave none); what is
    outstanding is its amount less the payments received by ``as_of`` and what was written off.
    """
    paid = (
        select(
            PaymentAllocation.receivable_id.label("rid"),
            func.sum(PaymentAllocation.amount).label("paid"),
        )
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(Payment.customer_id == customer_id, Payment.received_on <= as_of)
        .group_by(PaymentAllocation.receivable_id)
    )
    paid_by = {row.rid: to_money(row.paid) for row in session.execute(paid)}
    rows = session.scalars(
        select(Receivable)
        .where(
            Receivable.customer_id == customer_id,
            func.coalesce(Receivable.issue_date, Receivable.due_date) <= as_of,
        )
        .order_by(Receivable.due_date, Receivable.id)
    )
    result = []
    for rec in rows:
        left = (
            to_money(rec.amount)
            - paid_by.get(rec.id, Decimal("0"))
            - to_money(rec.written_off_amount)
        )
        if left > 0:
            result.append((rec, left))
    return result


def create_request(
    session: Session,
    *,
    customer: Customer,
    kind: BalanceConfirmationKind | str,
    as_of: date,
    user: Any = None,
    letter_form: LetterForm | str | None = None,
    statement: Statement | None = None,
    today: date | None = None,
) -> BalanceConfirmationRequest:
    """Create a request with its snapshot of open documents and balance (flushed; the caller
    commits). A 询证函 needs its form (positive or negative); a 对账确认 has none.

    ``user`` (None for a job) must hold ``create`` on requests. Not idempotent: each call is a
    new request with its own number.
    """
    if user is not None and not can(user, RESOURCE, Action.CREATE):
        raise PermissionError(_("You may not create balance confirmation requests."))
    kind = BalanceConfirmationKind(kind)
    form = LetterForm(letter_form) if letter_form else None
    if kind is BalanceConfirmationKind.AUDIT_LETTER and form is None:
        raise ConfirmationRequestError(_("Choose the positive or the negative form."))
    if kind is BalanceConfirmationKind.RECONCILIATION:
        form = None
    if kind is BalanceConfirmationKind.RECONCILIATION and statement is None:
        # Art.12–13: a 对账确认 goes with the month's statement of the same date, if there is one.
        statement = session.scalar(
            select(Statement).where(Statement.customer_id == customer.id, Statement.as_of == as_of)
        )
    today = today or as_of
    docs = open_documents(session, customer.id, as_of)
    req = BalanceConfirmationRequest(
        number=next_number(session, BalanceConfirmationRequest.number, PREFIX[kind], as_of.year),
        kind=kind,
        letter_form=form,
        customer_id=customer.id,
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        statement_id=statement.id if statement is not None else None,
        as_of=as_of,
        year=as_of.year,
        balance=sum((left for _rec, left in docs), Decimal("0.00")),
        status=BalanceConfirmationStatus.SENT,
        reply_due=working_days_after(session, max(today, as_of), reply_days(kind, form)),
        created_by_id=getattr(user, "id", None),
    )
    session.add(req)
    session.flush()
    for rec, left in docs:
        session.add(
            BalanceConfirmationLine(
                request_id=req.id,
                receivable_id=rec.id,
                doc_no=rec.doc_no,
                issue_date=rec.issue_date,
                due_date=rec.due_date,
                amount=rec.amount,
                outstanding=left,
            )
        )
    session.flush()
    return req


# ---------------------------------------------------------------------------------------------
# One-time links


# ---------------------------------------------------------------------------------------------
# Sending: the one place anything goes to the debtor


def message_for(
    req: BalanceConfirmationRequest, url: str, *, reminder: bool = False
) -> tuple[str, str]:
    """Subject and body of the e-mail to the debtor (Chinese: it goes to the customer)."""
    company = req.company.name if req.company else ""
    what = "对账确认" if req.kind is BalanceConfirmationKind.RECONCILIATION else "往来款项询证函"
    subject = f"{'【催复】' if reminder else ''}{company} {what} {req.number}"
    lines = [
        f"{req.customer.name}：",
        "",
        f"截至 {req.as_of:%Y年%m月%d日}，贵公司欠我公司款项余额为人民币 {req.balance:,.2f} 元。",
    ]
    if req.letter_form is LetterForm.NEGATIVE:
        lines.append(
            "如与贵公司记录相符，无须回复；"
            f"如有不符，请于 {req.reply_due:%Y年%m月%d日} 前通过下列链接告知。"
        )
    else:
        lines.append(
            f"请于 {req.reply_due:%Y年%m月%d日} 前通过下列链接确认或提出异议（无须注册账号）。"
        )
    lines += ["", url, "", "本函仅为复核账目之用，并非催款结算。", "", company]
    return subject, "\n".join(lines)


def deliver(
    session: Session,
    req: BalanceConfirmationRequest,
    token: str,
    *,
    reminder: bool = False,
    attachments: tuple = (),
) -> list[str]:
    """E-mail the request's link to the customer's billing contacts; the addresses written to.

    This is the ONLY function that writes to the debtor (first sending, reissues, reminders).
    Each message is a row of the customer e-mail send log (``customer_mail``, kind
    ``confirmation``), keyed by the request number and the link sent, so every sending is
    logged once per contact and retried by the mail job. The rows are written in the
    caller's transaction; the CALLER runs ``customer_mail.dispatch_pending`` after its commit
    (nothing goes out for a transaction rolled back). "Do not e-mail" customers get nothing
    (an empty list; the letter then goes on paper). Records an audit entry; sets ``sent_at``
    the first time.
    """
    if len(attachments) > 1:
        raise ValueError("a confirmation e-mail carries one attachment, the letter")
    url = link_url(token)
    subject, body = message_for(req, url, reminder=reminder)
    link_id = session.scalar(
        select(BalanceConfirmationLink.id).where(
            BalanceConfirmationLink.token_hash == token_hash(token)
        )
    )
    rows = customer_mail.log_messages(
        session,
        req.customer,
        MailKind.CONFIRMATION,
        f"{req.number}/{link_id}",
        subject,
        body,
        attachments[0] if attachments else None,
        user_id=req.created_by_id,
    )
    customer_mail.log_after_commit(session, rows)
    sent = [row.recipient for row in rows]
    if req.sent_at is None:
        req.sent_at = utcnow()
    audit.record(
        session,
        AuditAction.UPDATE,
        entity=RESOURCE,
        entity_id=req.id,
        detail=("reminder" if reminder else "sent") + " to " + (", ".join(sent) or "(no e-mail)"),
    )
    return sent


def send_letter(
    session: Session, req: BalanceConfirmationRequest, *, reminder: bool = False
) -> tuple[str, list[str]]:
    """Issue a fresh link, render and keep the letter with it, and e-mail both to the debtor.

    A new link revokes the previous one (the letter printed with it stops working), so the
    debtor always holds exactly one working link. Returns the token and the addresses.
    """
    from backoffice.services.balance_confirm_pdf import file_name, store_letter

    token = issue_link(session, req)
    pdf = store_letter(session, req, token)
    sent = deliver(
        session,
        req,
        token,
        reminder=reminder,
        attachments=((file_name(req), pdf, "application/pdf"),),
    )
    return token, sent


def create_and_send(
    session: Session, **kw: Any
) -> tuple[BalanceConfirmationRequest, str, list[str]]:
    """``create_request`` then ``send_letter``: the request, its token, the addresses."""
    req = create_request(session, **kw)
    token, sent = send_letter(session, req)
    return req, token, sent


def reissue(session: Session, req: BalanceConfirmationRequest, user: Any) -> tuple[str, list[str]]:
    """Finance sends a request again with a new link (the old one is revoked)."""
    if not can(user, RESOURCE, Action.EDIT):
        raise PermissionError(_("You may not send confirmation requests."))
    if req.answered or req.status in (
        BalanceConfirmationStatus.CANCELLED,
        BalanceConfirmationStatus.UNDELIVERABLE,
    ):
        raise ConfirmationRequestError(_("This request is closed; it cannot be sent again."))
    return send_letter(session, req)


def mark_undeliverable(
    session: Session, req: BalanceConfirmationRequest, user: Any, note: str = ""
) -> None:
    """The letter came back undelivered (退函, the register's "returned"); links revoked."""
    if not can(user, RESOURCE, Action.EDIT):
        raise PermissionError(_("You may not change confirmation requests."))
    if req.answered:
        raise ConfirmationRequestError(_("The debtor has already answered this request."))
    now = utcnow()
    for link in req.links:
        if link.revoked_at is None and link.used_at is None:
            link.revoked_at, link.revoked_by_id = now, user.id
    req.status = BalanceConfirmationStatus.UNDELIVERABLE
    req.closed_note = (note or "").strip() or None
    session.flush()


def reconcile_statements(
    session: Session, period: str, customer_ids: list[int]
) -> list[BalanceConfirmationRequest]:
    """Art.12–13: each of the period's statements for ``customer_ids`` whose customer has
    billing contacts gets its 对账确认 (made, letter stored, e-mailed), once per statement:
    a statement that already has one is skipped (unique ``statement_id``), so a re-run job
    sends nothing twice. Commits each request on its own. Customers without e-mail get the
    paper statement only. Off when ``BALANCE_CONFIRM_WITH_STATEMENTS`` is false.
    """
    if not current_app.config.get("BALANCE_CONFIRM_WITH_STATEMENTS", True) or not customer_ids:
        return []
    done = set(
        session.scalars(
            select(BalanceConfirmationRequest.statement_id).where(
                BalanceConfirmationRequest.statement_id.is_not(None)
            )
        )
    )
    statements = session.scalars(
        select(Statement)
        .where(Statement.period == period, Statement.customer_id.in_(customer_ids))
        .order_by(Statement.id)
    ).all()
    made = []
    for statement in statements:
        if statement.id in done or not billing_contacts(session, statement.customer_id):
            continue
        req = create_request(
            session,
            customer=statement.customer,
            kind=BalanceConfirmationKind.RECONCILIATION,
            as_of=statement.as_of,
            statement=statement,
        )
        send_letter(session, req)
        session.commit()
        customer_mail.dispatch_pending(session)
        made.append(req)
    return made
