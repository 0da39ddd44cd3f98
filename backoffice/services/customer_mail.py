"""E-mail to customers' billing contacts, with a send log (issue 14 §2).

Public API (everything else here is internal):

- ``send_to_contacts(session, customer, kind, period, subject, body, attachment=None,
  user_id=None)`` → the new ``CustomerMail`` rows. One row per active billing contact
  (``contacts.billing_contacts``: none for a customer excluded from e-mail), skipping a contact
  that already has a row for (kind, period): a unique key, so a repeated run writes nobody
  twice. The attachment (file name, bytes, MIME type) is stored once, by hash, and read back
  verified when the message goes out. Commits, then queues one RQ job per row
  (``jobs.customer_mail.deliver_mail``: retried with RQ's back-off, ``MAIL_RETRIES`` times),
  or, without Redis, sends at once (one attempt).
- ``log_messages`` (the rows, no commit, no sending) with ``log_after_commit`` and, after the
  caller's commit, ``dispatch_pending``: for callers that send inside their own transaction
  (the balance confirmation e-mails, issue 15).
- ``deliver(session, mail_id)``: one attempt at sending a logged message (the job's body).
- ``render(session, kind, **values)`` → (subject, body) from the editable Chinese templates
  (``Setting`` ``mail_templates``, edited on the e-mail settings page).

Every message goes through ``notify.send_mail`` (SMTP or the outbox folder). Every message sent
is recorded as a collection action on the customer's open case, if it has one; the customer's
e-mail page lists all of them (the send log is its e-mail timeline).
"""

from __future__ import annotations

import contextlib
import io
import smtplib
from string import Template
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice.models import Customer, CustomerMail, MailKind, MailStatus
from backoffice.models.audit import AuditAction
from backoffice.models.base import local_today, utcnow
from backoffice.models.case import ActionKind, CaseStatus, CollectionAction, CollectionCase
from backoffice.models.setting import Setting
from backoffice.services import audit, contacts, notify
from backoffice.services.storage import StorageError, get_storage

TEMPLATES_SETTING = "mail_templates"
#: The Chinese defaults; ``$customer``, ``$company``, ``$period``, ``$as_of``, ``$total``,
#: ``$deadline`` are filled in (an unknown ``$name`` is left as written).
DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    MailKind.STATEMENT.value: {
        "subject": "$company 对账单（$period）",
        "body": (
            "$customer：\n\n您好！附件为贵司截至 $as_of 的对账单（$period），未付余额合计"
            "人民币 $total 元。"
            "\n请核对；如有不符，请于收到后 10 个工作日内回复本邮件并附相关凭证。\n\n"
            "此致\n敬礼\n\n$company 财务部"
        ),
    },
    MailKind.REMINDER.value: {
        "subject": "$company 付款提醒",
        "body": (
            "$customer：\n\n您好！感谢贵司一直以来的合作。经核对，贵司尚有逾期未付款项合计"
            "人民币 $total 元，烦请安排付款。如已付款，请忽略本提醒，并告知付款信息以便核对。"
            "\n\n此致\n敬礼\n\n$company"
        ),
    },
    MailKind.DEMAND_LETTER.value: {
        "subject": "$company 催款函",
        "body": (
            "$customer：\n\n附件为我司催款函。贵司逾期未付款项合计人民币 $total 元，"
            "请于 $deadline 前全额支付。如有异议，请于同一期限内书面告知。\n\n$company"
        ),
    },
    MailKind.CONFIRMATION.value: {
        "subject": "$company 余额确认（$period）",
        "body": "$customer：\n\n请确认贵司截至 $period 月末的余额。\n\n$company",
    },
}
#: What a sent message is recorded as on the case timeline.
ACTION_KINDS = {MailKind.DEMAND_LETTER: ActionKind.DEMAND_LETTER}
WHAT = {
    MailKind.STATEMENT: "对账单",
    MailKind.REMINDER: "付款提醒",
    MailKind.DEMAND_LETTER: "催款函",
    MailKind.CONFIRMATION: "余额确认",
}


class MailDeliveryError(RuntimeError):
    """One attempt failed; the row says whether it will be retried."""


# -- templates --------------------------------------------------------------------------------


def templates(session: Session) -> dict[str, dict[str, str]]:
    """The templates in force: the stored ones over the defaults, per kind."""
    row = session.get(Setting, TEMPLATES_SETTING)
    stored = row.value if row is not None and isinstance(row.value, dict) else {}
    return {
        kind: {**default, **{k: v for k, v in (stored.get(kind) or {}).items() if v}}
        for kind, default in DEFAULT_TEMPLATES.items()
    }


def save_templates(session: Session, new: dict[str, dict[str, str]]) -> bool:
    """Store edited templates (audited with before and after); the caller commits."""
    before = templates(session)
    after = {
        kind: {
            "subject": (new.get(kind, {}).get("subject") or "").strip()[:200] or t["subject"],
            "body": (new.get(kind, {}).get("body") or "").strip() or t["body"],
        }
        for kind, t in before.items()
    }
    if after == before:
        return False
    row = session.get(Setting, TEMPLATES_SETTING)
    if row is None:
        row = Setting(key=TEMPLATES_SETTING, note="Customer e-mail templates (issue 14 §2)")
        session.add(row)
    row.value = after
    audit.record(
        session,
        AuditAction.UPDATE,
        entity="setting",
        entity_id=TEMPLATES_SETTING,
        before=before,
        after=after,
    )
    return True


def render(session: Session, kind: MailKind, **values: Any) -> tuple[str, str]:
    """(subject, body) of ``kind``'s template with ``values`` filled in."""
    t = templates(session)[kind.value]
    values = {k: "" if v is None else str(v) for k, v in values.items()}
    subject = Template(t["subject"]).safe_substitute(values).replace("\n", " ")
    return subject[:200], Template(t["body"]).safe_substitute(values)


# -- the send log -----------------------------------------------------------------------------


def send_to_contacts(
    session: Session,
    customer: Customer,
    kind: MailKind,
    period: str,
    subject: str,
    body: str,
    attachment: tuple[str, bytes, str] | None = None,
    user_id: int | None = None,
) -> list[CustomerMail]:
    """Log and send ``kind`` for ``period`` to each billing contact not yet written to.

    Commits. Returns the rows created now (empty: excluded, no contacts, or all sent before).
    """
    rows = log_messages(session, customer, kind, period, subject, body, attachment, user_id)
    session.commit()
    dispatch(session, rows)
    return rows


def log_messages(
    session: Session,
    customer: Customer,
    kind: MailKind,
    period: str,
    subject: str,
    body: str,
    attachment: tuple[str, bytes, str] | None = None,
    user_id: int | None = None,
) -> list[CustomerMail]:
    """The rows of ``send_to_contacts`` without committing or sending (for batch callers)."""
    targets = pending_contacts(session, customer.id, kind, period)
    if not targets:
        return []
    key = sha = name = None
    if attachment is not None:
        name, data, _mime = attachment
        stored = get_storage().put(io.BytesIO(data))
        key, sha = stored.key, stored.sha256
    attempts = int(current_app.config.get("MAIL_RETRIES", 3)) + 1
    rows = []
    for contact in targets:
        row = CustomerMail(
            kind=kind,
            period=period,
            customer_id=customer.id,
            company_id=customer.company_id,
            sales_unit_id=customer.sales_unit_id,
            contact_id=contact.id,
            recipient=contact.email,
            subject=subject[:200],
            body=body,
            attachment_name=name,
            attachment_key=key,
            attachment_sha256=sha,
            status=MailStatus.QUEUED,
            attempts=0,
            max_attempts=attempts,
            requested_by_id=user_id,
            created_at=utcnow(),
        )
        try:
            with session.begin_nested():  # a concurrent run logged it first: skip it
                session.add(row)
        except IntegrityError:
            continue
        rows.append(row)
    return rows


def pending_contacts(session: Session, customer_id: int, kind: MailKind, period: str) -> list:
    """The billing contacts not yet written to about ``kind`` for ``period``."""
    targets = contacts.billing_contacts(session, customer_id)
    if not targets:
        return []
    done = set(
        session.scalars(
            select(CustomerMail.contact_id).where(
                CustomerMail.kind == kind,
                CustomerMail.period == period,
                CustomerMail.contact_id.in_([c.id for c in targets]),
            )
        )
    )
    return [c for c in targets if c.id not in done]


#: ``session.info`` key: ids of rows logged inside a caller's transaction, to be dispatched
#: once it commits (``log_after_commit`` / ``dispatch_pending``).
PENDING = "customer_mail_pending"


def log_after_commit(session: Session, rows: list[CustomerMail]) -> None:
    """Note ``rows`` (logged by ``log_messages`` inside the caller's transaction) for
    ``dispatch_pending``, which the caller runs after its commit: a message goes out only
    once its row is committed, so a rolled-back transaction sends nothing."""
    session.info.setdefault(PENDING, []).extend(row.id for row in rows)


def dispatch_pending(session: Session) -> int:
    """After the caller's commit: queue (or, without Redis, send) the rows noted by
    ``log_after_commit``. Rows rolled back meanwhile are gone, and rows already attempted are
    left to their job: only committed, never-tried rows go. Returns how many were dispatched."""
    ids = session.info.pop(PENDING, None)
    if not ids:
        return 0
    rows = list(
        session.scalars(
            select(CustomerMail)
            .where(
                CustomerMail.id.in_(ids),
                CustomerMail.status == MailStatus.QUEUED,
                CustomerMail.attempts == 0,
            )
            .order_by(CustomerMail.id)
        )
    )
    dispatch(session, rows)
    return len(rows)


def dispatch(session: Session, rows: list[CustomerMail]) -> None:
    """Queue a delivery job per committed row; without Redis, send each at once."""
    if not rows:
        return
    from jobs import QueueUnavailable, enqueue, make_job_id
    from jobs.customer_mail import deliver_mail

    for row in rows:
        try:
            enqueue(
                deliver_mail,
                row.id,
                job_id=make_job_id("customer-mail", row.id),
                retries=row.max_attempts - 1,
            )
        except QueueUnavailable:
            row.max_attempts = row.attempts + 1  # no queue to retry from: this attempt is all
            session.commit()
            with contextlib.suppress(MailDeliveryError):  # logged as failed on the row
                deliver(session, row.id)


def _mime(name: str | None) -> str:
    return (
        "application/pdf" if (name or "").lower().endswith(".pdf") else "application/octet-stream"
    )


def deliver(session: Session, mail_id: int) -> CustomerMail:
    """One attempt at sending the logged message ``mail_id``; commits the outcome.

    A row already sent or failed is left alone. A failure is written on the row (attempts,
    last error) and raises ``MailDeliveryError``; after ``max_attempts`` the row is ``failed``
    (shown on the customer and in the send log) and audited.
    """
    row = session.get(CustomerMail, mail_id)
    if row is None:
        raise LookupError(f"no customer mail {mail_id}")
    if row.status in (MailStatus.SENT, MailStatus.FAILED):
        return row
    row.attempts += 1
    try:
        files = []
        if row.attachment_key:
            with get_storage().read_verified(row.attachment_key, row.attachment_sha256) as fh:
                files.append((row.attachment_name, fh.read(), _mime(row.attachment_name)))
        message_id = notify.send_mail(row.recipient, row.subject, row.body, files)
    except (smtplib.SMTPException, OSError, StorageError) as exc:
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        final = row.attempts >= row.max_attempts
        row.status = MailStatus.FAILED if final else MailStatus.RETRYING
        if final:
            audit.record(
                session,
                AuditAction.JOB,
                entity="customer_mail",
                entity_id=row.id,
                detail=f"e-mail to {row.recipient} failed after {row.attempts} attempts"[:500],
            )
        session.commit()
        raise MailDeliveryError(row.last_error) from exc
    row.status, row.message_id, row.sent_at, row.last_error = (
        MailStatus.SENT,
        message_id,
        utcnow(),
        None,
    )
    _record_action(session, row)
    session.commit()
    return row


def _record_action(session: Session, row: CustomerMail) -> None:
    """The message on the customer's open case timeline, as a collection action."""
    case = session.scalar(
        select(CollectionCase).where(
            CollectionCase.customer_id == row.customer_id,
            CollectionCase.status.notin_([CaseStatus.CLOSED, CaseStatus.REFUSED]),
        )
    )
    if case is None:
        return
    attached = f"，附件 {row.attachment_name}" if row.attachment_name else ""
    session.add(
        CollectionAction(
            case_id=case.id,
            kind=ACTION_KINDS.get(row.kind, ActionKind.EMAIL),
            on=local_today(),
            user_id=row.requested_by_id,
            # Which e-mail it was: its kind, period and send-log number (unique per contact).
            result=(
                f"电子邮件（{WHAT[row.kind]}，{row.period}，发送记录第 {row.id} 号）"
                f"已发送至 {row.recipient}：{row.subject}{attached}"
            ),
        )
    )


def customer_log(session: Session, customer_id: int, limit: int = 50) -> list[CustomerMail]:
    """The customer's e-mails, newest first (its e-mail timeline)."""
    return list(
        session.scalars(
            select(CustomerMail)
            .where(CustomerMail.customer_id == customer_id)
            .order_by(CustomerMail.created_at.desc(), CustomerMail.id.desc())
            .limit(limit)
        )
    )


def failures(session: Session, customer_id: int) -> list[CustomerMail]:
    return list(
        session.scalars(
            select(CustomerMail)
            .where(
                CustomerMail.customer_id == customer_id,
                CustomerMail.status == MailStatus.FAILED,
            )
            .order_by(CustomerMail.id.desc())
        )
    )
