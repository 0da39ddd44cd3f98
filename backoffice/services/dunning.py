"""What is e-mailed to customers and when (issue 14 §2): statements after the monthly run, and
the dunning schedule by debt class.

- ``mail_statements(session, period, customer_ids)``: each customer's statement of the period,
  the PDF attached, to its billing contacts, once per contact (``customer_mail``'s unique key).
- ``run(session, today)``: the dunning schedule, run daily by the scheduler. Each step of the
  schedule (``Setting`` ``dunning_schedule``, edited on the e-mail settings page) is a debt
  class and a number of days overdue: a customer whose worst open debt has that class and at
  least that many days overdue gets the step's message, a friendly reminder or the demand
  letter PDF (the case file's template), once per customer and step in a month.
- ``pause`` / ``resume``: Art.23, a collector keeps the relationship where the debtor
  cooperates: a paused customer gets no dunning (statements still go).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext, lazy_gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.models import Customer, CustomerContact, DunningPause, MailKind, Statement
from backoffice.models.audit import AuditAction
from backoffice.models.org import Company
from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.models.setting import Setting
from backoffice.services import audit, customer_mail
from backoffice.services.aging import (
    DebtClass,
    debt_class,
    debt_class_rules,
    litigated_customer_ids,
)
from backoffice.services.formatting import format_money
from backoffice.services.pdf import render_pdf
from backoffice.services.storage import get_storage

SCHEDULE_SETTING = "dunning_schedule"
STEPS = (MailKind.REMINDER, MailKind.DEMAND_LETTER)
LETTER_DAYS = 15  # the demand letter's deadline, as the case file's
#: The default schedule: a friendly reminder early in each class, the demand letter later.
DEFAULT_SCHEDULE: list[dict] = [
    {"debt_class": DebtClass.ATTENTION.value, "days": 1, "step": MailKind.REMINDER.value},
    {"debt_class": DebtClass.ATTENTION.value, "days": 30, "step": MailKind.DEMAND_LETTER.value},
    {"debt_class": DebtClass.OVERDUE.value, "days": 91, "step": MailKind.DEMAND_LETTER.value},
]


class DunningError(ValueError):
    """A schedule or pause the rules refuse; the message is shown to the user."""


@dataclass(frozen=True)
class Step:
    debt_class: DebtClass
    days: int
    step: MailKind


# -- statements -------------------------------------------------------------------------------


def mail_statements(session: Session, period: str, customer_ids: list[int]) -> int:
    """E-mail each statement of ``period`` among ``customer_ids`` to its billing contacts.

    Commits; queues the deliveries. Returns how many messages were logged now."""
    with_contacts = select(CustomerContact.customer_id).where(
        CustomerContact.active.is_(True), CustomerContact.customer_id.in_(customer_ids)
    )
    statements = session.scalars(
        select(Statement).where(
            Statement.period == period,
            Statement.customer_id.in_(with_contacts),
            Statement.pdf_key.is_not(None),
        )
    ).all()
    companies = {c.id: c for c in session.scalars(select(Company))}
    logged = 0
    for st in statements:
        if not customer_mail.pending_contacts(session, st.customer_id, MailKind.STATEMENT, period):
            continue  # nobody to write to, or all written to: the PDF is not read
        with get_storage().read_verified(st.pdf_key, st.pdf_sha256) as fh:
            pdf = fh.read()
        company = companies.get(st.customer.company_id)
        subject, body = customer_mail.render(
            session,
            MailKind.STATEMENT,
            customer=st.customer.name,
            company=company.name if company else "",
            period=period,
            as_of=st.as_of.isoformat(),
            total=format_money(st.total_outstanding),
        )
        name = f"对账单-{st.customer.erp_code}-{period}.pdf"
        logged += len(
            customer_mail.send_to_contacts(
                session,
                st.customer,
                MailKind.STATEMENT,
                period,
                subject,
                body,
                (name, pdf, "application/pdf"),
            )
        )
    return logged


# -- the schedule -----------------------------------------------------------------------------


def schedule(session: Session) -> list[Step]:
    """The steps in force (stored, else the default), ordered by class and days."""
    row = session.get(Setting, SCHEDULE_SETTING)
    raw = row.value if row is not None and isinstance(row.value, list) else DEFAULT_SCHEDULE
    return parse_schedule(raw)


def parse_schedule(raw: list[dict]) -> list[Step]:
    steps = []
    for item in raw:
        try:
            step = Step(DebtClass(item["debt_class"]), int(item["days"]), MailKind(item["step"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DunningError(gettext("A schedule line is incomplete or unknown.")) from exc
        if step.step not in STEPS:
            raise DunningError(gettext("A step is a friendly reminder or a demand letter."))
        if step.debt_class is DebtClass.NORMAL:
            raise DunningError(gettext("Debts not yet due are not dunned."))
        if not 1 <= step.days <= 3650:
            raise DunningError(gettext("Days overdue must be a whole number from 1 to 3650."))
        steps.append(step)
    order = [c for c in DebtClass]
    return sorted(set(steps), key=lambda s: (order.index(s.debt_class), s.days, s.step.value))


def save_schedule(session: Session, steps: list[Step]) -> None:
    """Store the schedule (audited, before and after); the caller commits."""
    before = [_as_json(s) for s in schedule(session)]
    after = [_as_json(s) for s in steps]
    row = session.get(Setting, SCHEDULE_SETTING)
    if row is None:
        row = Setting(key=SCHEDULE_SETTING, note="Dunning schedule (issue 14 §2)")
        session.add(row)
    row.value = after
    audit.record(
        session,
        AuditAction.UPDATE,
        entity="setting",
        entity_id=SCHEDULE_SETTING,
        before={"steps": before},
        after={"steps": after},
    )


def _as_json(step: Step) -> dict:
    return {"debt_class": step.debt_class.value, "days": step.days, "step": step.step.value}


def step_for(steps: list[Step], cls: DebtClass, days: int) -> Step | None:
    """The furthest step of ``cls`` the customer has reached (most days), or None."""
    reached = [s for s in steps if s.debt_class is cls and days >= s.days]
    return max(reached, key=lambda s: (s.days, s.step is MailKind.DEMAND_LETTER), default=None)


# -- pauses (Art.23) --------------------------------------------------------------------------


def paused(session: Session, customer_id: int) -> DunningPause | None:
    return session.scalar(select(DunningPause).where(DunningPause.customer_id == customer_id))


def _said(message) -> str:
    """An audit detail (a lazy string) in the system's language: the auditor reads it."""
    with audit.in_system_language():
        return str(message)


def _named(customer: Customer) -> str:
    return f"{customer.name}（{customer.erp_code}）"


def pause(session: Session, customer: Customer, reason: str, user_id: int | None) -> DunningPause:
    """Art.23: stop dunning ``customer`` (a cooperative debtor); the caller commits."""
    reason = (reason or "").strip()
    if not reason:
        raise DunningError(gettext("Say why the dunning is paused."))
    if paused(session, customer.id) is not None:
        raise DunningError(gettext("The dunning of this customer is already paused."))
    row = DunningPause(customer_id=customer.id, reason=reason, user_id=user_id)
    session.add(row)
    session.flush()
    audit.record(
        session,
        AuditAction.CREATE,
        entity="dunning_pause",
        entity_id=customer.id,
        after={"reason": reason},
        detail=_said(lazy_gettext("Dunning paused for %(customer)s", customer=_named(customer))),
    )
    return row


def resume(session: Session, customer: Customer) -> None:
    """Dunning again for ``customer``; the caller commits."""
    row = paused(session, customer.id)
    if row is None:
        raise DunningError(gettext("The dunning of this customer is not paused."))
    audit.record(
        session,
        AuditAction.DELETE,
        entity="dunning_pause",
        entity_id=customer.id,
        before={"reason": row.reason},
        detail=_said(lazy_gettext("Dunning resumed for %(customer)s", customer=_named(customer))),
    )
    session.delete(row)


# -- the daily run ----------------------------------------------------------------------------


def overdue_customers(session: Session, today: date) -> list[tuple[int, date, Decimal]]:
    """(customer id, oldest due date, overdue total) of customers with open overdue debt."""
    rows = session.execute(
        select(
            Receivable.customer_id, func.min(Receivable.due_date), func.sum(Receivable.outstanding)
        )
        .where(
            Receivable.status == ReceivableStatus.OPEN,
            Receivable.outstanding > 0,
            Receivable.due_date < today,
        )
        .group_by(Receivable.customer_id)
        .order_by(Receivable.customer_id)
    ).all()
    return [(cid, due, Decimal(total)) for cid, due, total in rows]


def run(session: Session, today: date) -> dict[str, int]:
    """The day's dunning: each unpaused customer's step, once per step and month. Commits."""
    steps = schedule(session)
    rules = debt_class_rules(session)
    litigated = set(session.scalars(litigated_customer_ids()))
    month = f"{today.year:04d}-{today.month:02d}"
    counts = {"customers": 0, "paused": 0, MailKind.REMINDER.value: 0}
    counts[MailKind.DEMAND_LETTER.value] = 0
    paused_ids = set(session.scalars(select(DunningPause.customer_id)))
    for cid, oldest, total in overdue_customers(session, today):
        cls = debt_class(oldest, today, total, cid in litigated, rules)
        step = step_for(steps, cls, (today - oldest).days) if cls else None
        if step is None:
            continue
        counts["customers"] += 1
        if cid in paused_ids:
            counts["paused"] += 1  # Art.23: the relationship comes first
            continue
        customer = session.get(Customer, cid)
        counts[step.step.value] += len(_send_step(session, customer, step.step, month, today))
    return counts


def _send_step(session: Session, customer: Customer, kind: MailKind, month: str, today: date):
    if not customer_mail.pending_contacts(session, customer.id, kind, month):
        return []  # sent this month already (or nobody to write to): nothing to render
    company = session.get(Company, customer.company_id)
    receivables = session.scalars(
        select(Receivable)
        .where(
            Receivable.customer_id == customer.id,
            Receivable.status == ReceivableStatus.OPEN,
            Receivable.outstanding > 0,
            Receivable.due_date < today,
        )
        .order_by(Receivable.due_date, Receivable.id)
    ).all()
    total = sum((r.outstanding for r in receivables), Decimal(0))
    deadline = today + timedelta(days=LETTER_DAYS)
    subject, body = customer_mail.render(
        session,
        kind,
        customer=customer.name,
        company=company.name if company else "",
        period=month,
        total=format_money(total),
        deadline=deadline.isoformat(),
    )
    attachment = None
    if kind is MailKind.DEMAND_LETTER:
        pdf = render_pdf(
            "demand_letter.html",
            company=company,
            case=_LetterRef(f"{customer.erp_code}-{month}"),
            customer=customer,
            receivables=receivables,
            total=total,
            deadline=deadline,
            issued_on=today,
        )
        attachment = (f"催款函-{customer.erp_code}-{today.isoformat()}.pdf", pdf, "application/pdf")
    return customer_mail.send_to_contacts(session, customer, kind, month, subject, body, attachment)


@dataclass(frozen=True)
class _LetterRef:
    """The letter number the template prints (a case's number when it comes from a case)."""

    case_no: str
