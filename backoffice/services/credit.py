"""Credit control (信用控制, Art.10 (3), Art.15, Art.23): rating, limit, shipment hold, status.

Every change is made with a reason and leaves a ``CreditEvent`` (the history). Exposure is the
sum of what the customer still owes, compared in SQL with the credit limit; a customer is
flagged when over the limit or when a debt is older than the configured overdue age (Setting
``credit_flag_overdue_days``, default 90 days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from backoffice.models.customer import (
    CreditEvent,
    CreditEventKind,
    CreditRating,
    Customer,
    FinancialStatus,
)
from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.services import ledger_cache
from backoffice.services.formatting import format_money
from backoffice.services.sql_hints import unindexed

ZERO = Decimal("0.00")
FLAG_SETTING = "credit_flag_overdue_days"
DEFAULT_FLAG_OVERDUE_DAYS = 90


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        # Translated when raised: the ledger's credit page shows it to the user.
        raise ValueError(gettext("A reason is required for every credit control change."))
    return reason


def _event(session, customer, kind, old, new, reason, user_id) -> CreditEvent:
    event = CreditEvent(
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        customer_id=customer.id,
        kind=kind,
        old_value=None if old is None else str(old)[:200],
        new_value=None if new is None else str(new)[:200],
        reason=reason,
        user_id=user_id,
    )
    session.add(event)
    return event


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


_FLAGS = {"1": True, "true": True, "0": False, "false": False}


def shown_value(kind: CreditEventKind, raw: str | None) -> str:
    """A credit event's stored old or new value as people read it: the rating's or the
    financial status's label, 是/否 for the shipment hold, the limit as money."""
    if raw is None or raw == "":
        return ""
    try:
        if kind is CreditEventKind.RATING:
            return str(CreditRating(raw).label)
        if kind is CreditEventKind.FINANCIAL_STATUS:
            return str(FinancialStatus(raw).label)
        if kind in (CreditEventKind.HOLD, CreditEventKind.RELEASE):
            return gettext("Yes") if _FLAGS[raw.lower()] else gettext("No")
        if kind is CreditEventKind.LIMIT:
            return format_money(Decimal(raw))
    except (ValueError, KeyError, ArithmeticError):
        pass  # a value written by an older version: shown as stored
    return raw


def set_rating(
    session: Session, customer: Customer, rating: CreditRating | None, reason: str, user_id=None
) -> CreditEvent | None:
    """Change the credit rating. Writes a CreditEvent; no-op (None) when unchanged."""
    reason = _reason(reason)
    if customer.credit_rating == rating:
        return None
    old, customer.credit_rating = customer.credit_rating, rating
    return _told(
        session,
        _event(
            session, customer, CreditEventKind.RATING, _value(old), _value(rating), reason, user_id
        ),
    )


def set_limit(
    session: Session, customer: Customer, limit: Decimal | None, reason: str, user_id=None
) -> CreditEvent | None:
    """Change the credit limit (None = no limit). Writes a CreditEvent; no-op when unchanged."""
    reason = _reason(reason)
    if limit is not None:
        limit = Decimal(limit).quantize(Decimal("0.01"))
        if limit < 0:
            raise ValueError(gettext("A credit limit cannot be negative."))
    if customer.credit_limit == limit:
        return None
    old, customer.credit_limit = customer.credit_limit, limit
    return _told(
        session, _event(session, customer, CreditEventKind.LIMIT, old, limit, reason, user_id)
    )


def hold_shipments(
    session: Session, customer: Customer, reason: str, user_id=None
) -> CreditEvent | None:
    """Art.10 (3), Art.15: stop shipments (停货). Writes a CreditEvent; no-op if already held."""
    reason = _reason(reason)
    if customer.shipment_hold:
        return None
    customer.shipment_hold = True
    customer.shipment_hold_reason = reason
    return _told(
        session, _event(session, customer, CreditEventKind.HOLD, "0", "1", reason, user_id)
    )


def release_shipments(
    session: Session, customer: Customer, reason: str, user_id=None
) -> CreditEvent | None:
    """Release the shipment hold. Writes a CreditEvent; no-op if not held."""
    reason = _reason(reason)
    if not customer.shipment_hold:
        return None
    customer.shipment_hold = False
    customer.shipment_hold_reason = None
    return _told(
        session, _event(session, customer, CreditEventKind.RELEASE, "1", "0", reason, user_id)
    )


def set_financial_status(
    session: Session, customer: Customer, status: FinancialStatus, reason: str, user_id=None
) -> CreditEvent | None:
    """Art.23: record the debtor's financial status. Writes a CreditEvent; no-op if unchanged."""
    reason = _reason(reason)
    if customer.financial_status == status:
        return None
    old, customer.financial_status = customer.financial_status, status
    event = _event(
        session,
        customer,
        CreditEventKind.FINANCIAL_STATUS,
        _value(old),
        _value(status),
        reason,
        user_id,
    )
    from backoffice.services.strategy import resuggest  # Art.23: the suggestion follows

    resuggest(session, customer)
    return event


# ---------------------------------------------------------------------------------------------
# Art.10 (3): who is told of a shipment hold or a credit change

#: The changes the unit and the collector are told of: the shipment hold and the credit itself.
#: Named in Chinese, like the product's other notices (they are also e-mailed out).
TOLD_OF = {
    CreditEventKind.HOLD: "已停货",
    CreditEventKind.RELEASE: "已解除停货",
    CreditEventKind.LIMIT: "信用额度调整",
    CreditEventKind.RATING: "信用评级调整",
}


def customer_collectors(session: Session, customer: Customer) -> list[int]:
    """The collectors of the customer's open receivables; the unit's collectors when none is
    named on them."""
    named = sorted(
        set(
            session.scalars(
                select(Receivable.collector_id).where(
                    Receivable.customer_id == customer.id,
                    Receivable.collector_id.is_not(None),
                    _open(),
                )
            )
        )
    )
    if named:
        return named
    from backoffice.models.user import RoleName
    from backoffice.services.notify import users_with_role

    return users_with_role(session, RoleName.COLLECTOR, customer.sales_unit_id)


def notify_credit_change(session: Session, event: CreditEvent) -> int:
    """Art.10 (3): 总裁办 "通知停货与解除停货", adjusts credit — the sales unit's contacts (by
    e-mail) and the customer's collectors (inbox and e-mail) are told what changed, from what
    to what, and why. Once per event (dedup ``credit:<event id>``). Adds rows; the caller
    commits. Returns how many people and addresses were told."""
    from backoffice.models.org import SalesUnit
    from backoffice.services.notify import notify, send_mail
    from backoffice.services.report_dispatch import contact_addresses

    customer = event.customer or session.get(Customer, event.customer_id)
    what = TOLD_OF[event.kind]
    change = ""
    if event.kind in (CreditEventKind.LIMIT, CreditEventKind.RATING):
        old = shown_value(event.kind, event.old_value) or "—"
        new = shown_value(event.kind, event.new_value) or "—"
        change = f"：{old} → {new}"
    title = f"{customer.name} {what}{change}"
    body = f"客户 {customer.name}（{customer.erp_code}）{what}{change}。原因：{event.reason}"
    link = f"/admin/customer/details/?id={customer.id}"
    told = notify(session, customer_collectors(session, customer), title, body, link,
                  dedup_key=f"credit:{event.id}")  # fmt: skip
    unit = session.get(SalesUnit, customer.sales_unit_id) if customer.sales_unit_id else None
    addresses = contact_addresses(unit.contact_emails if unit else None)
    for address in addresses:
        send_mail(address, title, body)
    return len(told) + len(addresses)


def _told(session: Session, event: CreditEvent) -> CreditEvent:
    session.flush()  # the event's id keys the notifications
    notify_credit_change(session, event)
    return event


def flag_overdue_days(session: Session) -> int:
    value = ledger_cache.setting(session, FLAG_SETTING)  # a request's snapshot, if it has one
    if value in (None, ""):
        return DEFAULT_FLAG_OVERDUE_DAYS
    return int(value)


# ---------------------------------------------------------------------------------------------
# Exposure and flags, in SQL


def _open():
    return and_(Receivable.status == ReceivableStatus.OPEN, Receivable.outstanding > ZERO)


def exposure_expr():
    """SQL (correlated to Customer): the sum of the customer's outstanding receivables."""
    return (
        select(func.coalesce(func.sum(Receivable.outstanding), ZERO))
        .where(Receivable.customer_id == Customer.id, _open())
        .correlate(Customer)
        .scalar_subquery()
    )


def oldest_due_expr():
    """SQL (correlated to Customer): the earliest due date still outstanding."""
    return (
        select(func.min(Receivable.due_date))
        .where(Receivable.customer_id == Customer.id, _open())
        .correlate(Customer)
        .scalar_subquery()
    )


def customer_flag_columns(as_of: date, overdue_days: int) -> dict[str, Any]:
    """Named SQL expressions for a customers query: exposure, over limit, overdue past age."""
    exposure = exposure_expr()
    oldest = oldest_due_expr()
    cutoff = as_of - timedelta(days=overdue_days)
    return {
        "exposure": exposure.label("exposure"),
        "over_limit": and_(Customer.credit_limit.is_not(None), exposure > Customer.credit_limit)
        .self_group()
        .label("over_limit"),
        "overdue_flag": (oldest < cutoff).self_group().label("overdue_flag"),
    }


@dataclass(frozen=True)
class CreditStatus:
    exposure: Decimal
    limit: Decimal | None
    oldest_due: date | None
    over_limit: bool
    overdue_past_age: bool

    @property
    def headroom(self) -> Decimal | None:
        return None if self.limit is None else self.limit - self.exposure

    @property
    def flagged(self) -> bool:
        return self.over_limit or self.overdue_past_age


def credit_status(session: Session, customer: Customer, as_of: date | None = None) -> CreditStatus:
    """Exposure against limit and the flags for one customer (one query). Read-only."""
    as_of = as_of or date.today()
    exposure, oldest = session.execute(
        select(
            func.coalesce(func.sum(Receivable.outstanding), ZERO), func.min(Receivable.due_date)
        ).where(Receivable.customer_id == customer.id, _open())
    ).one()
    days = flag_overdue_days(session)
    return CreditStatus(
        exposure=exposure,
        limit=customer.credit_limit,
        oldest_due=oldest,
        over_limit=customer.credit_limit is not None and exposure > customer.credit_limit,
        overdue_past_age=oldest is not None and (as_of - oldest).days > days,
    )


def flagged_customers(session: Session, scope: Any, as_of: date | None = None, limit: int = 50):
    """Customers over their limit or with a debt older than the flag age, biggest exposure first.

    ``scope`` is a SQL criterion on Receivable (``scope_filter(Receivable, user)``). One
    grouped query; read-only. Returns rows (customer_id, name, erp_code, exposure, limit,
    oldest_due, over_limit, overdue_past_age).
    """
    as_of = as_of or date.today()
    cutoff = as_of - timedelta(days=flag_overdue_days(session))
    # Most open rows are read: a table scan, not an index walk per row on SQLite (sql_hints).
    customer = unindexed(Receivable.customer_id)
    per_customer = (
        select(
            customer.label("customer_id"),
            func.sum(Receivable.outstanding).label("exposure"),
            func.min(Receivable.due_date).label("oldest_due"),
        )
        .where(
            unindexed(Receivable.status) == ReceivableStatus.OPEN,
            unindexed(Receivable.outstanding) > ZERO,
            scope,
        )
        .group_by(customer)
        .subquery()
    )
    over_limit = and_(
        Customer.credit_limit.is_not(None), per_customer.c.exposure > Customer.credit_limit
    )
    past_age = per_customer.c.oldest_due < cutoff
    stmt = (
        select(
            Customer.id,
            Customer.name,
            Customer.erp_code,
            per_customer.c.exposure,
            Customer.credit_limit,
            per_customer.c.oldest_due,
            over_limit.self_group().label("over_limit"),
            past_age.self_group().label("overdue_past_age"),
            Customer.shipment_hold,
        )
        .join(per_customer, per_customer.c.customer_id == Customer.id)
        .where(or_(over_limit, past_age))
        .order_by(per_customer.c.exposure.desc(), Customer.id)
        .limit(limit)
    )
    return session.execute(stmt).all()
