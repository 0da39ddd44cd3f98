"""The monthly leadership report (SPEC §3.7): plan, progress and results of a month's collection.

Art.9: the collection team reports its plan, progress and results to the leadership group every
month. Art.29: the leadership group sets a base (清欠基数) for the overdue debt the team is to
collect; meeting it meets the target, and what is collected beyond it is excess.

A report covers one calendar month, ``period`` = ``YYYY-MM``, from the close of the month before
(``opening``) to the last day of the month (``closing``). Everything is computed in SQL within
the user's row scope, with the same outstanding-at-a-date expression as the monthly overdue
report (``monthly.snapshot_query``), so the two agree. Read-only.

Figures per sales unit and in total:

- ``opening`` / ``outstanding``: what was owed at the opening and at the closing;
- ``overdue``: of ``outstanding``, past its due date at the closing (Art.3);
- ``billed``: receivables issued in the month; ``collected``: payments received in the month,
  as allocated to receivables (credit notes lower the balances but are not collections);
  ``overdue_collected``: the part of ``collected`` paid on receivables already overdue when
  the money arrived, the collection result of Art.29;
- ``base``: the month's target (``Target``), ``achievement`` = overdue collected / base,
  ``excess`` = what exceeds the base;
- ``interest``, ``penalty_interest``, ``damages``: the Art.3 charges at the closing on what was
  overdue then, by each contract's terms (``services/charges.py``), shown apart from the
  principal; ``overdue_total`` is ``overdue`` plus the charges the setting
  ``overdue_total_charges`` includes (none by default), as on the unit's monthly report;
- ``cost``: the collection costs charged to the unit in the month (Art.8, ``services/costs.py``)
  and ``cost_per_100``, that cost per ¥100 collected;
- KPIs: overdue ratio = overdue / outstanding; collection rate = collected / (opening + billed);
  DSO = outstanding / billed in the 90 days to the closing × 90.

``migration`` moves the money between aging buckets: each receivable counts in the row of its
bucket at the opening (``new`` when issued during the month) and in the column of its bucket at
the closing, or ``settled`` for the part paid or credited during the month.

Like the monthly report, amounts written off are left out at both dates (the ledger keeps the
written-off amount, not the day it was written off), so a write-off moves no money here.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from backoffice.models.assessment import ApprovalState
from backoffice.models.base import Money
from backoffice.models.org import SalesUnit
from backoffice.models.receivable import (
    ChargeKind,
    Contract,
    Payment,
    PaymentAllocation,
    PaymentKind,
    Receivable,
    ReceivableStatus,
)
from backoffice.models.setting import Target
from backoffice.permissions import scope_filter
from backoffice.services import aging, charges, costs, monthly
from backoffice.services.aging import Bucket
from backoffice.services.dashboard import money_sum

ZERO = Decimal("0.00")
DSO_DAYS = 90
NEW = "new"
SETTLED = "settled"
MIGRATION_ROWS = (NEW, *(b.value for b in Bucket))
MIGRATION_COLUMNS = (*(b.value for b in Bucket), SETTLED)
LABELS = {NEW: _l("Issued this month"), SETTLED: _l("Paid or credited this month")} | {
    b.value: b.label for b in Bucket
}


class PeriodError(monthly.PeriodError):
    """A period that is not ``YYYY-MM``, or one that has not ended yet (message translated)."""


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(Decimal("0.0001")) if whole else None


@dataclass
class Figures:
    """One sales unit's month (or the total of several)."""

    name: str
    base: Decimal | None = None
    opening: Decimal = ZERO
    billed: Decimal = ZERO
    collected: Decimal = ZERO
    overdue_collected: Decimal = ZERO
    outstanding: Decimal = ZERO
    overdue: Decimal = ZERO
    billed_dso: Decimal = ZERO
    cost: Decimal = ZERO
    # Art.3: the charges at the closing, apart from the principal ``overdue``
    interest: Decimal = ZERO
    penalty_interest: Decimal = ZERO
    damages: Decimal = ZERO
    #: Art.3: the charges the overdue total counts (setting ``overdue_total_charges``)
    included: frozenset[ChargeKind] = frozenset()

    @property
    def charges(self) -> charges.Charges:
        return charges.Charges(self.interest, self.penalty_interest, self.damages)

    @property
    def overdue_total(self) -> Decimal:
        """Art.3: the principal overdue plus the charges the setting includes."""
        return charges.overdue_total(self.overdue, self.charges, self.included)

    @property
    def cost_per_100(self) -> Decimal | None:
        """Art.8: the collection cost charged to the unit per ¥100 collected in the month."""
        return costs.per_hundred(self.cost, self.collected)

    @property
    def overdue_ratio(self) -> Decimal | None:
        return _ratio(self.overdue, self.outstanding)

    @property
    def collection_rate(self) -> Decimal | None:
        return _ratio(self.collected, self.opening + self.billed)

    @property
    def dso(self) -> Decimal | None:
        """Days sales outstanding at the closing (None without sales in the last 90 days)."""
        if not self.billed_dso:
            return None
        return (self.outstanding * DSO_DAYS / self.billed_dso).quantize(Decimal("0.1"))

    @property
    def achievement(self) -> Decimal | None:
        """Art.29: overdue debt collected against the base (1 = target met)."""
        return _ratio(self.overdue_collected, self.base) if self.base else None

    @property
    def excess(self) -> Decimal | None:
        """Art.29: what was collected beyond the base (0 when the base was not reached)."""
        if not self.base:
            return None
        return max(self.overdue_collected - self.base, ZERO)

    def add(self, other: Figures) -> None:
        for name in (
            "opening",
            "billed",
            "collected",
            "overdue_collected",
            "outstanding",
            "overdue",
            "billed_dso",
            "cost",
            *(kind.value for kind in ChargeKind),
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Report:
    period: str
    opening: date
    closing: date
    units: list[Figures]
    total: Figures
    migration: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    included: frozenset[ChargeKind] = frozenset()

    @property
    def show_charges(self) -> bool:
        """Art.3: whether any unit owes a charge, or the overdue total counts one."""
        return self.total.charges.any or bool(self.included)

    @property
    def included_kinds(self) -> list[ChargeKind]:
        """The charges the overdue total counts, in their usual order."""
        return [kind for kind in ChargeKind if kind in self.included]

    @property
    def total_label(self) -> str:
        """The overdue total's name on the PDF, saying which charges it counts."""
        return charges.total_label(self.included)

    @property
    def start(self) -> date:
        """The month's first day (``opening`` is the close of the month before)."""
        return self.opening + timedelta(days=1)

    def migration_total(self, row: str) -> Decimal:
        return sum(self.migration.get(row, {}).values(), ZERO)


def period_dates(period: str, today: date) -> tuple[date, date]:
    """(opening, closing) of ``period``; refuses a malformed period or a month not yet over."""
    try:
        year, month = monthly.parse_period(period)
    except monthly.PeriodError as exc:
        raise PeriodError(_l("Enter the month as YYYY-MM, for example 2026-10.")) from exc
    closing = date(year, month, calendar.monthrange(year, month)[1])
    if closing >= today:
        raise PeriodError(_l("%(period)s has not ended yet.", period=period))
    return date(year, month, 1) - timedelta(days=1), closing


def last_closed_period(today: date) -> str:
    previous = today.replace(day=1) - timedelta(days=1)
    return f"{previous.year:04d}-{previous.month:02d}"


def _balances(session: Session, scope, opening: date, closing: date):
    """Per unit: outstanding at the opening and closing, and overdue at the closing; and the
    bucket migration, in one pass over the receivables open at either date."""
    paid_open, paid_close = monthly.paid_by(opening), monthly.paid_by(closing)
    at_open = Receivable.amount - func.coalesce(paid_open.c.paid, 0) - Receivable.written_off_amount
    at_close = (
        Receivable.amount - func.coalesce(paid_close.c.paid, 0) - Receivable.written_off_amount
    )
    issued_before = or_(Receivable.issue_date.is_(None), Receivable.issue_date <= opening)
    existed = case((issued_before, at_open), else_=literal(ZERO, Money()))
    row_bucket = case((issued_before, aging.bucket_by_due_expr(opening)), else_=literal(NEW))
    col_bucket = aging.bucket_by_due_expr(closing)
    overdue_close = case((Receivable.due_date < closing, at_close), else_=None)
    issued_by_close = or_(Receivable.issue_date.is_(None), Receivable.issue_date <= closing)
    rows = session.execute(
        select(
            Receivable.sales_unit_id,
            row_bucket,
            col_bucket,
            money_sum(existed),
            money_sum(case((at_close > 0, at_close), else_=None)),
            money_sum(case((at_close > 0, overdue_close), else_=None)),
            # what each started the month with; one issued in the month starts at its amount
            money_sum(case((at_open > 0, at_open), else_=None)),
        )
        .outerjoin(paid_open, paid_open.c.rid == Receivable.id)
        .outerjoin(paid_close, paid_close.c.rid == Receivable.id)
        .where(scope, issued_by_close, Receivable.status != ReceivableStatus.WRITTEN_OFF)
        .where(or_(at_open > 0, at_close > 0))
        .group_by(Receivable.sales_unit_id, row_bucket, col_bucket)
    ).all()
    per_unit: dict[int | None, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    migration: dict[str, dict[str, Decimal]] = {
        r: defaultdict(lambda: ZERO) for r in MIGRATION_ROWS
    }
    for unit_id, frm, to, opened, closed, overdue, started in rows:
        unit = per_unit[unit_id]
        unit["opening"] += opened
        unit["outstanding"] += closed
        unit["overdue"] += overdue
        migration[frm][to] += closed
        migration[frm][SETTLED] += started - closed
    return per_unit, {r: dict(v) for r, v in migration.items()}


def _flows(session: Session, scope, opening: date, closing: date):
    """Per unit: billed in the month and in the DSO window; collected, and collected overdue."""
    in_month = and_(Receivable.issue_date > opening, Receivable.issue_date <= closing)
    dso_from = closing - timedelta(days=DSO_DAYS)
    billed = session.execute(
        select(
            Receivable.sales_unit_id,
            money_sum(case((in_month, Receivable.amount), else_=None)),
            money_sum(case((Receivable.issue_date > dso_from, Receivable.amount), else_=None)),
        )
        .where(scope, Receivable.issue_date > min(opening, dso_from))
        .where(Receivable.issue_date <= closing)
        .group_by(Receivable.sales_unit_id)
    ).all()
    collected = session.execute(
        select(
            Receivable.sales_unit_id,
            money_sum(PaymentAllocation.amount),
            # Art.29: money on a receivable already past due when it arrived is collected overdue
            money_sum(
                case(
                    (Receivable.due_date < Payment.received_on, PaymentAllocation.amount),
                    else_=None,
                )
            ),
        )
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .join(Receivable, Receivable.id == PaymentAllocation.receivable_id)
        .where(scope, Payment.received_on > opening, Payment.received_on <= closing)
        # Money received: a credit note lowers what is owed but collects nothing
        .where(Payment.kind == PaymentKind.PAYMENT)
        .group_by(Receivable.sales_unit_id)
    ).all()
    out: dict[int | None, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for unit_id, month, window in billed:
        out[unit_id]["billed"] += month
        out[unit_id]["billed_dso"] += window
    for unit_id, paid, overdue in collected:
        out[unit_id]["collected"] += paid
        out[unit_id]["overdue_collected"] += overdue
    return out


def _charges(session: Session, scope, closing: date) -> dict[int | None, dict[str, Decimal]]:
    """Art.3: per unit, interest, penalty interest and damages at the closing on the balance
    then overdue, each by its contract's terms, in SQL; the same lines, balances and rounding
    as the unit's monthly report (``monthly_report.with_charges``)."""
    paid = monthly.paid_by(closing)
    at_close = Receivable.amount - func.coalesce(paid.c.paid, 0) - Receivable.written_off_amount
    kinds = list(ChargeKind)
    rows = session.execute(
        select(
            Receivable.sales_unit_id,
            *(money_sum(charges.charge_expr(kind, at_close, closing)) for kind in kinds),
        )
        .join(Contract, Contract.id == Receivable.contract_id)
        .outerjoin(paid, paid.c.rid == Receivable.id)
        .where(scope, charges.has_terms_expr(), Receivable.due_date < closing)
        .where(or_(Receivable.issue_date.is_(None), Receivable.issue_date <= closing))
        .where(Receivable.status != ReceivableStatus.WRITTEN_OFF, at_close > 0)
        .group_by(Receivable.sales_unit_id)
    ).all()
    return {
        unit_id: {kind.value: amount for kind, amount in zip(kinds, amounts, strict=True)}
        for unit_id, *amounts in rows
    }


def _targets(session: Session, user: Any, period: str) -> dict[int | None, Decimal]:
    """The month's approved bases by unit (None: the whole team), within the user's company;
    members' own bases are the scorecard's (Art.27-28)."""
    query = select(Target.sales_unit_id, func.sum(Target.base_amount)).where(
        Target.period == period,
        Target.user_id.is_(None),
        Target.status == ApprovalState.APPROVED,
    )
    if getattr(user, "company_id", None) is not None:
        query = query.where(Target.company_id == user.company_id)
    return {unit: amount for unit, amount in session.execute(query.group_by(Target.sales_unit_id))}


def build(session: Session, user: Any, period: str, today: date) -> Report:
    """The report for ``period`` as ``user`` may see it (their row scope)."""
    opening, closing = period_dates(period, today)
    scope = scope_filter(Receivable, user)
    balances, migration = _balances(session, scope, opening, closing)
    flows = _flows(session, scope, opening, closing)
    targets = _targets(session, user, period)
    charged = costs.by_unit(session, user, opening + timedelta(days=1), closing)
    owed = _charges(session, scope, closing)
    included = charges.included_charges(session)
    unit_ids = set(balances) | set(flows) | set(charged) | set(owed)
    names = dict(
        session.execute(
            select(SalesUnit.id, SalesUnit.name).where(SalesUnit.id.in_(unit_ids - {None}))
        ).all()
    )
    units = []
    for unit_id in unit_ids:
        figures = Figures(
            name=names.get(unit_id, "—"),
            base=targets.get(unit_id),
            cost=charged.get(unit_id, ZERO),
            included=included,
        )
        for source in (balances.get(unit_id, {}), flows.get(unit_id, {}), owed.get(unit_id, {})):
            for key, value in source.items():
                setattr(figures, key, getattr(figures, key) + value)
        units.append(figures)
    units.sort(key=lambda f: (-f.overdue, f.name))
    total = Figures(name=str(_l("Total")), included=included)
    for figures in units:
        total.add(figures)
    unit_bases = [v for k, v in targets.items() if k is not None]
    # Art.29: the team's base if one is set for the month, else the units' bases added up
    total.base = targets.get(None) or (sum(unit_bases, ZERO) if unit_bases else None)
    return Report(period, opening, closing, units, total, migration, included)
