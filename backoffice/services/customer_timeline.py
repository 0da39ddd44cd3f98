"""A customer's timeline (客户往来记录, issue 14 §2): everything that passed between us and one
customer, newest first, read-only.

Public API:

- ``events(session, customer_id, limit=LIMIT)`` → ``(events, more)``: the latest ``limit``
  events, and whether older ones were left off. One query per source, each limited to
  ``limit`` rows (the newest ``limit`` of the union are among them):

  - every e-mail of the send log (what, to whom, sent or failed with the reason);
  - the collection actions of all the customer's cases, with the case number;
  - credit events (rating, limit, shipment hold, financial status), with the reason;
  - balance confirmation requests and the debtor's answers;
  - balance disputes and their resolution;
  - payments and credit notes received.

Every text is in words (labels, money, 是/否); the page shows the time in Beijing time to the
minute, or the day alone for what is recorded by day (an action, a payment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from backoffice.models import CustomerMail, MailStatus
from backoffice.models.balance_confirmation import BalanceConfirmationRequest, BalanceDispute
from backoffice.models.case import CollectionAction, CollectionCase
from backoffice.models.customer import CreditEvent
from backoffice.models.receivable import Payment
from backoffice.services.credit import shown_value
from backoffice.services.formatting import SHANGHAI, format_money

LIMIT = 200


@dataclass(frozen=True)
class Event:
    at: datetime  # aware; a day-only event at the start of its day in Beijing time
    by_day: bool  # recorded by day only: show the date, not a time
    source: str  # 电子邮件, 催收记录, 信用变更 …
    title: str
    detail: str = ""
    case_no: str = ""
    who: str = ""
    failed: bool = False


def _at(value: datetime) -> datetime:
    """A stored timestamp as an aware datetime (naive ones are UTC, as ``utcnow`` writes)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _day(value: date) -> datetime:
    return datetime.combine(value, time.min, tzinfo=SHANGHAI)


def _name(user) -> str:
    return user.display_name if user is not None else ""


def _mails(session: Session, customer_id: int, limit: int) -> list[Event]:
    at = func.coalesce(CustomerMail.sent_at, CustomerMail.created_at)
    rows = session.scalars(
        select(CustomerMail)
        .options(joinedload(CustomerMail.requested_by))
        .where(CustomerMail.customer_id == customer_id)
        .order_by(at.desc(), CustomerMail.id.desc())
        .limit(limit)
    )
    out = []
    for m in rows:
        failed = m.status in (MailStatus.FAILED, MailStatus.RETRYING)
        detail = _("To %(to)s: %(subject)s", to=m.recipient, subject=m.subject)
        if m.attachment_name:
            detail += _(", attachment %(name)s", name=m.attachment_name)
        if failed and m.last_error:
            detail += _(" — reason: %(reason)s", reason=m.last_error)
        out.append(
            Event(
                at=_at(m.sent_at or m.created_at),
                by_day=False,
                source=_("E-mail"),
                title=f"{m.kind.label} · {m.status.label}",
                detail=detail,
                who=_name(m.requested_by) or _("Scheduled job"),
                failed=failed,
            )
        )
    return out


def _actions(session: Session, customer_id: int, limit: int) -> list[Event]:
    rows = session.execute(
        select(CollectionAction, CollectionCase.case_no)
        .join(CollectionCase, CollectionAction.case_id == CollectionCase.id)
        .options(joinedload(CollectionAction.user))
        .where(CollectionCase.customer_id == customer_id)
        .order_by(CollectionAction.on.desc(), CollectionAction.id.desc())
        .limit(limit)
    )
    return [
        Event(
            at=_day(a.on),
            by_day=True,
            source=_("Collection action"),
            title=str(a.kind.label),
            detail=a.result or "",
            case_no=case_no,
            who=_name(a.user),
        )
        for a, case_no in rows
    ]


def _credit(session: Session, customer_id: int, limit: int) -> list[Event]:
    rows = session.scalars(
        select(CreditEvent)
        .options(joinedload(CreditEvent.user))
        .where(CreditEvent.customer_id == customer_id)
        .order_by(CreditEvent.at.desc(), CreditEvent.id.desc())
        .limit(limit)
    )
    out = []
    for e in rows:
        old = shown_value(e.kind, e.old_value) or "—"
        new = shown_value(e.kind, e.new_value) or "—"
        out.append(
            Event(
                at=_at(e.at),
                by_day=False,
                source=_("Credit change"),
                title=str(e.kind.label),
                detail=_(
                    "%(old)s → %(new)s; reason: %(reason)s", old=old, new=new, reason=e.reason
                ),  # fmt: skip
                who=_name(e.user),
            )
        )
    return out


def _confirmations(session: Session, customer_id: int, limit: int) -> list[Event]:
    """A request, and the debtor's answer when there is one (two events from one row)."""
    latest = func.coalesce(
        BalanceConfirmationRequest.answered_at,
        BalanceConfirmationRequest.sent_at,
        BalanceConfirmationRequest.created_at,
    )
    rows = session.scalars(
        select(BalanceConfirmationRequest)
        .options(joinedload(BalanceConfirmationRequest.created_by))
        .where(BalanceConfirmationRequest.customer_id == customer_id)
        .order_by(latest.desc(), BalanceConfirmationRequest.id.desc())
        .limit(limit)
    )
    out = []
    for r in rows:
        out.append(
            Event(
                at=_at(r.sent_at or r.created_at),
                by_day=False,
                source=_("Balance confirmation"),
                title=_("%(number)s %(kind)s sent", number=r.number, kind=r.kind.label),
                detail=_(
                    "Balance %(balance)s as of %(as_of)s; reply due %(due)s",
                    balance=format_money(r.balance),
                    as_of=r.as_of.isoformat(),
                    due=r.reply_due.isoformat(),
                ),  # fmt: skip
                who=_name(r.created_by),
            )
        )
        if r.answered_at is not None:
            detail = ""
            if r.debtor_balance is not None:
                detail = _("Debtor's balance %(b)s", b=format_money(r.debtor_balance))
            if r.debtor_note:
                detail = f"{detail}；{r.debtor_note}" if detail else r.debtor_note
            out.append(
                Event(
                    at=_at(r.answered_at),
                    by_day=False,
                    source=_("Balance confirmation"),
                    title=_(
                        "%(number)s answered: %(status)s", number=r.number, status=r.status.label
                    ),  # fmt: skip
                    detail=detail,
                    who=r.debtor_signer or "",
                    failed=False,
                )
            )
    return out


def _disputes(session: Session, customer_id: int, limit: int) -> list[Event]:
    latest = func.coalesce(BalanceDispute.resolved_at, BalanceDispute.created_at)
    rows = session.scalars(
        select(BalanceDispute)
        .where(BalanceDispute.customer_id == customer_id)
        .order_by(latest.desc(), BalanceDispute.id.desc())
        .limit(limit)
    )
    out = []
    for d in rows:
        out.append(
            Event(
                at=_at(d.created_at),
                by_day=False,
                source=_("Balance dispute"),
                title=_("Disputed: %(reason)s", reason=d.reason.label),
                detail=_(
                    "Difference %(diff)s, disputed %(amount)s; resolve by %(deadline)s",
                    diff=format_money(d.difference),
                    amount=format_money(d.disputed_amount),
                    deadline=d.deadline.isoformat(),
                ),  # fmt: skip
            )
        )
        if d.resolved_at is not None:
            label = d.resolution.label if d.resolution else d.status.label
            out.append(
                Event(
                    at=_at(d.resolved_at),
                    by_day=False,
                    source=_("Balance dispute"),
                    title=_("Dispute resolved: %(how)s", how=label),
                    detail=d.resolution_note or "",
                )
            )
    return out


def _payments(session: Session, customer_id: int, limit: int) -> list[Event]:
    rows = session.scalars(
        select(Payment)
        .where(Payment.customer_id == customer_id)
        .order_by(Payment.received_on.desc(), Payment.id.desc())
        .limit(limit)
    )
    return [
        Event(
            at=_day(p.received_on),
            by_day=True,
            source=_("Payment received"),
            title=f"{p.kind.label} {p.payment_no}",
            detail=format_money(p.amount) + (f"；{p.note}" if p.note else ""),
        )
        for p in rows
    ]


SOURCES = (_mails, _actions, _credit, _confirmations, _disputes, _payments)


def events(session: Session, customer_id: int, limit: int = LIMIT) -> tuple[list[Event], bool]:
    """The customer's latest ``limit`` events, newest first, and whether older ones exist."""
    found: list[Event] = []
    more = False
    for source in SOURCES:
        rows = source(session, customer_id, limit)
        more = more or len(rows) >= limit
        found.extend(rows)
    found.sort(key=lambda e: e.at, reverse=True)
    return found[:limit], more or len(found) > limit
