"""Figures for the home page (SPEC §3.1, Art.9, Art.11), computed in SQL within the row scope.

Every figure uses the same expressions as the receivables list (``backoffice.services.aging``),
so the dashboard's totals match the list filtered the same way. A collector sees only their own
sales units (``scope_filter``) and their own open tasks. Read-only.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, literal, select, type_coerce

from backoffice.extensions import db
from backoffice.models.base import Money
from backoffice.models.customer import Customer
from backoffice.models.notification import Task
from backoffice.models.org import Company, SalesUnit
from backoffice.models.receivable import Payment, PaymentAllocation, Receivable
from backoffice.permissions import scope_filter, unit_restricted
from backoffice.services import aging, credit
from backoffice.services.aging import Bucket, DebtClass, ReportBucket
from backoffice.services.sql_hints import unindexed

# The five aggregates below read most of the ledger: each says ``unindexed`` for the terms
# SQLite would otherwise answer through a low-selectivity index, one rowid look-up per row
# (``services.sql_hints``; 6.1 s against 1.8 s at 1M rows, issue 13).
_outstanding = unindexed(Receivable.outstanding)
_due = unindexed(Receivable.due_date)

ZERO = Decimal("0.00")


def money_sum(expr) -> Any:
    """SQL: the sum of a money expression as ``Money`` (0.00, not NULL, over no rows)."""
    return type_coerce(func.coalesce(func.sum(expr), literal(ZERO, Money())), Money())


def month_ends(as_of: date, count: int = 12) -> list[date]:
    """The last ``count - 1`` month ends before ``as_of``, then ``as_of`` itself."""
    points = []
    year, month = as_of.year, as_of.month
    for _ in range(count - 1):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        points.append(date(year, month, calendar.monthrange(year, month)[1]))
    return sorted(points) + [as_of]


def _open_disputed_lines():
    """SQL: receivable id → the amount under an open dispute (a few rows: open disputes only)."""
    from backoffice.models.balance_confirmation import (
        BalanceDispute,
        BalanceDisputeLine,
        DisputeStatus,
    )

    return (
        select(
            BalanceDisputeLine.receivable_id.label("receivable_id"),
            func.sum(BalanceDisputeLine.disputed_amount).label("amount"),
        )
        .join(BalanceDispute, BalanceDispute.id == BalanceDisputeLine.dispute_id)
        .where(BalanceDispute.status == DisputeStatus.OPEN)
        .group_by(BalanceDisputeLine.receivable_id)
        .subquery("open_disputed")
    )


def _aging_totals(scope, as_of: date, rules) -> dict[str, Any]:
    bucket = aging.bucket_expr(as_of)
    report = aging.report_bucket_expr(as_of)
    klass = aging.debt_class_expr(as_of, rules)
    # Issue 15: the amount in dispute (争议中) is shown apart, in the same statement: each
    # document's open disputed amount, capped by what is left of it, in the receivables'
    # scope like every other figure (``balance_dispute.open_disputed_total``'s rule).
    disputed = _open_disputed_lines()
    in_dispute = case(
        (disputed.c.amount > Receivable.outstanding, Receivable.outstanding),
        else_=disputed.c.amount,
    )
    rows = db.session.execute(
        select(
            bucket,
            report,
            klass,
            money_sum(Receivable.outstanding),
            func.count(),
            money_sum(in_dispute),
        )
        .select_from(Receivable)
        .outerjoin(disputed, disputed.c.receivable_id == Receivable.id)
        .where(_outstanding > ZERO, scope)
        .group_by(bucket, report, klass)
    ).all()
    by_bucket: dict[str, Decimal] = defaultdict(lambda: ZERO)
    by_report: dict[str, Decimal] = defaultdict(lambda: ZERO)
    by_class: dict[str, Decimal] = defaultdict(lambda: ZERO)
    count = 0
    in_dispute_total = ZERO
    for b, r, k, amount, n, held in rows:  # at most a few dozen groups, not rows
        by_bucket[b] += amount
        by_report[r] += amount
        by_class[k] += amount
        count += n
        in_dispute_total += held
    return {
        "buckets": [(m, by_bucket[m.value]) for m in Bucket],
        "report_buckets": [(m, by_report[m.value]) for m in ReportBucket],
        "classes": [(m, by_class[m.value], rules.handling_for(m)) for m in DebtClass],
        "outstanding": sum(by_bucket.values(), ZERO),
        "overdue": sum((v for k, v in by_bucket.items() if k != Bucket.NOT_DUE.value), ZERO),
        "open_count": count,
        "in_dispute": in_dispute_total,
    }


def _by_company_and_unit(scope, as_of: date) -> dict[str, Any]:
    overdue = money_sum(case((Receivable.due_date < as_of, Receivable.outstanding), else_=None))
    company, unit = unindexed(Receivable.company_id), unindexed(Receivable.sales_unit_id)
    rows = db.session.execute(
        select(company, unit, money_sum(Receivable.outstanding), overdue)
        .where(_outstanding > ZERO, scope)
        .group_by(company, unit)
    ).all()
    companies = dict(db.session.execute(select(Company.id, Company.name)).all())
    unit_ids = {r[1] for r in rows if r[1] is not None}
    units = (
        dict(
            db.session.execute(
                select(SalesUnit.id, SalesUnit.name).where(SalesUnit.id.in_(unit_ids))
            ).all()
        )
        if unit_ids
        else {}
    )
    by_company: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    by_unit = []
    for company_id, unit_id, out, over in rows:
        by_company[company_id][0] += out
        by_company[company_id][1] += over
        by_unit.append((units.get(unit_id, "—"), out, over))
    return {
        "by_company": sorted(
            ((companies.get(cid, "—"), v[0], v[1]) for cid, v in by_company.items()),
            key=lambda r: -r[2],
        ),
        "by_unit": sorted(by_unit, key=lambda r: -r[2]),
    }


def overdue_trend(scope, as_of: date) -> list[tuple[date, Decimal]]:
    """Overdue at each of the last 12 month ends (the last point is ``as_of``), in SQL.

    What was overdue at a month end m: every receivable due before m, less what had been paid
    or credited to it by m (allocations of payments received on or before m). Write-offs are
    taken at their current amount.
    """
    points = month_ends(as_of)
    n = len(points)
    # One pass, one CASE per row: each row is put in the first interval whose month end it
    # precedes, and the totals are summed up to each month end here (twelve CASE sums per
    # row made this the slowest figure at 1M rows, issue 13).
    due_step = case(*((Receivable.due_date < m, i) for i, m in enumerate(points)), else_=n)
    gross_rows = db.session.execute(
        select(due_step, money_sum(Receivable.amount - Receivable.written_off_amount))
        .where(_due < as_of, scope)
        .group_by(due_step)
    ).all()
    paid_step = case(*((Payment.received_on <= m, i) for i, m in enumerate(points)), else_=n)
    paid_rows = db.session.execute(
        select(due_step, paid_step, money_sum(PaymentAllocation.amount))
        .select_from(PaymentAllocation)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .join(Receivable, Receivable.id == PaymentAllocation.receivable_id)
        .where(Receivable.due_date < as_of, scope)
        .group_by(due_step, paid_step)
    ).all()
    overdue = [ZERO] * n
    for step, amount in gross_rows:
        for k in range(step, n):
            overdue[k] += amount
    for due, paid, amount in paid_rows:
        for k in range(max(due, paid), n):
            overdue[k] -= amount
    return list(zip(points, overdue, strict=True))


def top_overdue_customers(scope, as_of: date, limit: int = 10) -> list[Any]:
    """The customers owing the most overdue money: (id, name, erp_code, overdue, oldest due)."""
    customer = unindexed(Receivable.customer_id)
    per_customer = (
        select(
            customer.label("customer_id"),
            money_sum(Receivable.outstanding).label("overdue"),
            func.min(Receivable.due_date).label("oldest_due"),
        )
        .where(_outstanding > ZERO, _due < as_of, scope)
        .group_by(customer)
        .order_by(money_sum(Receivable.outstanding).desc(), customer)
        .limit(limit)
        .subquery()
    )
    return db.session.execute(
        select(
            Customer.id,
            Customer.name,
            Customer.erp_code,
            per_customer.c.overdue,
            per_customer.c.oldest_due,
        )
        .join(per_customer, per_customer.c.customer_id == Customer.id)
        .order_by(per_customer.c.overdue.desc(), Customer.id)
    ).all()


def open_tasks(user: Any, limit: int = 20) -> list[Task]:
    """The user's own open tasks, earliest due first."""
    return list(
        db.session.scalars(
            select(Task)
            .where(Task.assignee_id == user.id, Task.done_at.is_(None))
            .order_by(Task.due_on.is_(None), Task.due_on, Task.id)
            .limit(limit)
        )
    )


def scope_key(user: Any) -> tuple:
    """What the figures depend on about ``user``: their company and, for a unit-restricted
    role, their units. Users with the same key see the same figures and share a cache entry."""
    units = tuple(sorted(user.unit_ids)) if unit_restricted(user) else None
    return (user.company_id, units)


def dashboard_figures(user: Any, as_of: date | None = None) -> dict[str, Any]:
    """The money on the home page for ``user``'s scope (``scope_key``), as of ``as_of``."""
    as_of = as_of or date.today()
    scope = scope_filter(Receivable, user)
    rules = aging.debt_class_rules(db.session)
    data: dict[str, Any] = {"as_of": as_of}
    data.update(_aging_totals(scope, as_of, rules))
    data.update(_by_company_and_unit(scope, as_of))
    data["trend"] = overdue_trend(scope, as_of)
    data["top_customers"] = top_overdue_customers(scope, as_of)
    data["flagged"] = credit.flagged_customers(db.session, scope, as_of, limit=10)
    data["flag_days"] = credit.flag_overdue_days(db.session)
    return data


def with_tasks(
    figures: dict[str, Any], user: Any, as_of: date, counted: tuple[int, int] | None = None
) -> dict[str, Any]:
    """``figures`` plus ``user``'s own open tasks (always read fresh, never cached): the first
    ``open_tasks`` of them, and how many there are and how many are late, all of them, not
    only those shown. ``counted`` is that (total, late) when the caller has it already (the
    home page's to-do); otherwise it is read here."""
    from backoffice.services.todo import my_tasks

    data = dict(figures)
    data["tasks"] = open_tasks(user)
    data["task_count"], data["overdue_tasks"] = counted or my_tasks(user, as_of)
    return data


def dashboard_data(user: Any, as_of: date | None = None) -> dict[str, Any]:
    """Everything the home page shows, for ``user``, as of ``as_of`` (default today)."""
    as_of = as_of or date.today()
    return with_tasks(dashboard_figures(user, as_of), user, as_of)
