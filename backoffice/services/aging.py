"""Aging of receivables as of any date: calendar months and days, buckets, debt classes, penalty.

SPEC §3.1 (seed Art.3, Art.16, and the "清欠管理办法" section). Two faces of the same rules:

* SQL expressions (``days_overdue_expr``, ``months_overdue_expr``, ``bucket_expr``,
  ``report_bucket_expr``, ``debt_class_expr``; Art.3's ``penalty_expr`` is in ``charges``)
  for lists, reports and the dashboard, so nothing loops over rows in Python. They work on
  SQLite and PostgreSQL.
* Python helpers (``days_overdue``, ``months_overdue``, ``bucket``…) for one receivable; the
  tests check that both agree.

Calendar months: a receivable is *N months overdue* once ``as_of`` has reached the due date
moved N calendar months on, where a due day that does not exist in the target month falls on
that month's last day (due 31 Jan → one month overdue on 28/29 Feb). Because ``as_of`` is a
constant, every "over N months" test is a comparison of ``due_date`` with a cutoff date
computed here in Python, so bucket filters use the index on ``due_date``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, and_, case, cast, extract, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from backoffice.models.base import LabeledEnum, _l
from backoffice.models.case import CaseStatus, CollectionCase, Litigation
from backoffice.models.receivable import Receivable
from backoffice.services import ledger_cache

ZERO = Decimal("0.00")


class Bucket(LabeledEnum):
    """SPEC §3.1 aging buckets, by calendar months overdue."""

    NOT_DUE = "not_due", _l("Not due")
    UP_TO_3M = "le_3m", _l("Up to 3 months")
    M3_TO_6 = "3m_6m", _l("3–6 months")
    OVER_6M = "gt_6m", _l("Over 6 months")


class ReportBucket(LabeledEnum):
    """SPEC §3.1 finer report buckets, by days overdue."""

    NOT_DUE = "not_due", _l("Not due")
    D1_30 = "1_30", _l("1–30 days")
    D31_60 = "31_60", _l("31–60 days")
    D61_90 = "61_90", _l("61–90 days")
    D91_180 = "91_180", _l("91–180 days")
    D181_365 = "181_365", _l("181–365 days")
    OVER_365 = "gt_365", _l("Over 365 days")


# Upper bound (inclusive) in days of each overdue report bucket; the last one is open.
REPORT_BUCKET_DAYS = (
    (ReportBucket.D1_30, 30),
    (ReportBucket.D31_60, 60),
    (ReportBucket.D61_90, 90),
    (ReportBucket.D91_180, 180),
    (ReportBucket.D181_365, 365),
)


class DebtClass(LabeledEnum):
    """Debt classes of the "清欠管理办法" section: 正常 / 关注 / 逾期 / 呆滞."""

    NORMAL = "normal", _l("Normal")
    ATTENTION = "attention", _l("Attention")
    OVERDUE = "overdue", _l("Overdue")
    STAGNANT = "stagnant", _l("Stagnant")


class Handling(LabeledEnum):
    """The default handling a debt class calls for (SPEC §3.1, Art.15–16)."""

    RECONCILE = "reconcile", _l("Reconcile accounts")
    DEMAND_LETTER = "demand_letter", _l("Demand letter")
    TARGETED_PLAN = "targeted_plan", _l("Targeted collection plan")
    LEGAL = "legal", _l("Legal action")


DEBT_CLASS_SETTING = "debt_classes"
DEFAULT_DEBT_CLASSES: dict[str, Any] = {
    # Overdue up to this many calendar months is "attention" (关注).
    "attention_max_months": 3,
    # Overdue up to this many months is "overdue" (逾期); beyond it "stagnant" (呆滞).
    "overdue_max_months": 6,
    # A customer in litigation (an open case with a litigation record) makes every open debt
    # of theirs "stagnant".
    "litigation_is_stagnant": True,
    "handling": {
        DebtClass.NORMAL.value: Handling.RECONCILE.value,
        DebtClass.ATTENTION.value: Handling.DEMAND_LETTER.value,
        DebtClass.OVERDUE.value: Handling.TARGETED_PLAN.value,
        DebtClass.STAGNANT.value: Handling.LEGAL.value,
    },
}


@dataclass(frozen=True)
class DebtClassRules:
    attention_max_months: int = 3
    overdue_max_months: int = 6
    litigation_is_stagnant: bool = True
    handling: dict[str, str] | None = None

    def handling_for(self, debt_class: DebtClass) -> Handling:
        table = {**DEFAULT_DEBT_CLASSES["handling"], **(self.handling or {})}
        return Handling(table[debt_class.value])


def debt_class_rules(session) -> DebtClassRules:
    """The configured rules (Setting ``debt_classes``), falling back to the SPEC defaults.

    Read-only; a partial setting overrides only the keys it names. Within a request the
    setting comes from the settings snapshot of the ledger version (``ledger_cache.setting``).
    """
    stored = ledger_cache.setting(session, DEBT_CLASS_SETTING)
    value = dict(DEFAULT_DEBT_CLASSES)
    if isinstance(stored, dict):
        value.update(stored)
    attention = int(value["attention_max_months"])
    overdue = int(value["overdue_max_months"])
    if not 0 <= attention <= overdue:
        raise ValueError("debt_classes: need 0 <= attention_max_months <= overdue_max_months")
    return DebtClassRules(
        attention_max_months=attention,
        overdue_max_months=overdue,
        litigation_is_stagnant=bool(value["litigation_is_stagnant"]),
        handling=dict(value.get("handling") or {}),
    )


# ---------------------------------------------------------------------------------------------
# Calendar arithmetic (Python)


def is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def add_months(day: date, months: int) -> date:
    """``day`` moved ``months`` calendar months, clamped to the target month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def days_overdue(due: date, as_of: date) -> int:
    """Days past the due date on ``as_of`` (0 when not yet overdue)."""
    return max(0, (as_of - due).days)


def months_overdue(due: date, as_of: date) -> int:
    """Whole calendar months past the due date on ``as_of`` (month-end rule, leap years)."""
    if as_of <= due:
        return 0
    months = (as_of.year * 12 + as_of.month) - (due.year * 12 + due.month)
    if as_of.day < due.day and not is_month_end(as_of):
        months -= 1
    return months


def over_months(due: date, as_of: date, months: int) -> bool:
    """True when on ``as_of`` the debt is overdue by more than ``months`` calendar months."""
    return as_of > add_months(due, months)


def months_cutoff(as_of: date, months: int) -> date:
    """The earliest due date that is *not* over ``months`` months overdue on ``as_of``.

    ``due >= cutoff`` ⇔ ``not over_months(due, as_of, months)``, because moving a date on by
    N months is monotonic; several due dates (29–31 Jan) may share one month end.
    """
    cutoff = add_months(as_of, -months)
    while add_months(cutoff, months) < as_of:
        cutoff += timedelta(days=1)
    while add_months(cutoff - timedelta(days=1), months) >= as_of:
        cutoff -= timedelta(days=1)
    return cutoff


def bucket(due: date, as_of: date, outstanding: Decimal = Decimal(1)) -> Bucket | None:
    """The SPEC §3.1 bucket of one receivable (None when nothing is outstanding)."""
    if outstanding <= 0:
        return None
    if due >= as_of:
        return Bucket.NOT_DUE
    if not over_months(due, as_of, 3):
        return Bucket.UP_TO_3M
    if not over_months(due, as_of, 6):
        return Bucket.M3_TO_6
    return Bucket.OVER_6M


def report_bucket(due: date, as_of: date, outstanding: Decimal = Decimal(1)) -> ReportBucket | None:
    if outstanding <= 0:
        return None
    days = days_overdue(due, as_of)
    if days == 0:
        return ReportBucket.NOT_DUE
    for name, upper in REPORT_BUCKET_DAYS:
        if days <= upper:
            return name
    return ReportBucket.OVER_365


def debt_class(
    due: date,
    as_of: date,
    outstanding: Decimal = Decimal(1),
    in_litigation: bool = False,
    rules: DebtClassRules | None = None,
) -> DebtClass | None:
    """The debt class of one receivable under ``rules`` (None when nothing is outstanding)."""
    rules = rules or DebtClassRules()
    if outstanding <= 0:
        return None
    if in_litigation and rules.litigation_is_stagnant:
        return DebtClass.STAGNANT
    if due >= as_of:
        return DebtClass.NORMAL
    if not over_months(due, as_of, rules.attention_max_months):
        return DebtClass.ATTENTION
    if not over_months(due, as_of, rules.overdue_max_months):
        return DebtClass.OVERDUE
    return DebtClass.STAGNANT


# ---------------------------------------------------------------------------------------------
# SQL


class _DayNumber(FunctionElement):
    """A date as a day count, so that subtracting two gives days (both dialects)."""

    type = Integer()
    inherit_cache = True
    name = "qq_day_number"


@compiles(_DayNumber)
def _day_number_default(element, compiler, **kw):
    arg = compiler.process(element.clauses, **kw)
    return f"({arg} - DATE '1970-01-01')"


@compiles(_DayNumber, "sqlite")
def _day_number_sqlite(element, compiler, **kw):
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(julianday({arg}) - 2440587.5 AS INTEGER)"


def _epoch_days(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def days_overdue_expr(as_of: date, due=None) -> ColumnElement[int]:
    """SQL: days past ``due`` (default ``Receivable.due_date``) on ``as_of``, never negative."""
    due = Receivable.due_date if due is None else due
    diff = literal(_epoch_days(as_of), Integer()) - _DayNumber(due)
    return case((due < as_of, diff), else_=literal(0, Integer()))


def months_overdue_expr(as_of: date, due=None) -> ColumnElement[int]:
    """SQL: whole calendar months past ``due`` on ``as_of`` (same rule as ``months_overdue``)."""
    due = Receivable.due_date if due is None else due
    due_index = cast(extract("year", due), Integer) * 12 + cast(extract("month", due), Integer)
    months = literal(as_of.year * 12 + as_of.month, Integer()) - due_index
    if is_month_end(as_of):
        adjusted = months  # month-end rule: the as-of month's last day completes the month
    else:
        adjusted = months - case(
            (cast(extract("day", due), Integer) > as_of.day, 1), else_=literal(0, Integer())
        )
    return case((due < as_of, adjusted), else_=literal(0, Integer()))


def _has_outstanding():
    return Receivable.outstanding > ZERO


def bucket_by_due_expr(as_of: date) -> ColumnElement[str]:
    """SQL: the ``Bucket`` a receivable's due date puts it in on ``as_of``, whatever it owes
    (for a past date, where today's outstanding says nothing)."""
    due = Receivable.due_date
    return case(
        (due >= as_of, Bucket.NOT_DUE.value),
        (due >= months_cutoff(as_of, 3), Bucket.UP_TO_3M.value),
        (due >= months_cutoff(as_of, 6), Bucket.M3_TO_6.value),
        else_=Bucket.OVER_6M.value,
    )


def bucket_expr(as_of: date) -> ColumnElement[str]:
    """SQL: the ``Bucket`` value of each receivable (NULL when nothing is outstanding)."""
    return case((~_has_outstanding(), None), else_=bucket_by_due_expr(as_of))


def report_bucket_expr(as_of: date) -> ColumnElement[str]:
    """SQL: the ``ReportBucket`` value of each receivable (NULL when nothing is outstanding)."""
    due = Receivable.due_date
    whens: list[Any] = [(~_has_outstanding(), None), (due >= as_of, ReportBucket.NOT_DUE.value)]
    for name, upper in REPORT_BUCKET_DAYS:
        whens.append((due >= as_of - timedelta(days=upper), name.value))
    return case(*whens, else_=ReportBucket.OVER_365.value)


def litigated_customer_ids():
    """SQL: ids of customers with a litigation record in a case that is not closed."""
    return (
        select(CollectionCase.customer_id)
        .join(Litigation, Litigation.case_id == CollectionCase.id)
        .where(CollectionCase.status.notin_([CaseStatus.CLOSED, CaseStatus.REFUSED]))
    )


def debt_class_expr(as_of: date, rules: DebtClassRules | None = None) -> ColumnElement[str]:
    """SQL: the ``DebtClass`` value of each receivable under ``rules``."""
    rules = rules or DebtClassRules()
    due = Receivable.due_date
    whens: list[Any] = [(~_has_outstanding(), None)]
    if rules.litigation_is_stagnant:
        whens.append((Receivable.customer_id.in_(litigated_customer_ids()), "stagnant"))
    whens += [
        (due >= as_of, DebtClass.NORMAL.value),
        (due >= months_cutoff(as_of, rules.attention_max_months), DebtClass.ATTENTION.value),
        (due >= months_cutoff(as_of, rules.overdue_max_months), DebtClass.OVERDUE.value),
    ]
    return case(*whens, else_=DebtClass.STAGNANT.value)


def _ranges(as_of: date, first: int, second: int) -> dict[str, Any]:
    """The due-date range of each band, as criteria the ``due_date`` index can serve."""
    due = Receivable.due_date
    c1, c2 = months_cutoff(as_of, first), months_cutoff(as_of, second)
    return {
        "not_due": due >= as_of,
        "first": and_(due < as_of, due >= c1),
        "second": and_(due < c1, due >= c2),
        "beyond": due < c2,
    }


def bucket_criterion(as_of: date, value: str) -> ColumnElement[bool]:
    """SQL: ``bucket_expr(as_of) == value`` written as a due-date range (index-friendly)."""
    bands = _ranges(as_of, 3, 6)
    band = {
        Bucket.NOT_DUE.value: bands["not_due"],
        Bucket.UP_TO_3M.value: bands["first"],
        Bucket.M3_TO_6.value: bands["second"],
        Bucket.OVER_6M.value: bands["beyond"],
    }[Bucket(value).value]
    return and_(_has_outstanding(), band)


def debt_class_criterion(
    as_of: date, value: str, rules: DebtClassRules | None = None
) -> ColumnElement[bool]:
    """SQL: ``debt_class_expr(as_of, rules) == value`` written with due-date ranges."""
    rules = rules or DebtClassRules()
    bands = _ranges(as_of, rules.attention_max_months, rules.overdue_max_months)
    band = {
        DebtClass.NORMAL.value: bands["not_due"],
        DebtClass.ATTENTION.value: bands["first"],
        DebtClass.OVERDUE.value: bands["second"],
        DebtClass.STAGNANT.value: bands["beyond"],
    }[DebtClass(value).value]
    if rules.litigation_is_stagnant:
        litigated = Receivable.customer_id.in_(litigated_customer_ids())
        band = or_(band, litigated) if value == DebtClass.STAGNANT.value else and_(band, ~litigated)
    return and_(_has_outstanding(), band)


def aging_columns(as_of: date, rules: DebtClassRules | None = None) -> dict[str, Any]:
    """Named SQL expressions for a receivables query: days, months, bucket, class, penalty."""
    from backoffice.services.charges import penalty_expr  # charges builds on this module

    return {
        "days_overdue": days_overdue_expr(as_of).label("days_overdue"),
        "months_overdue": months_overdue_expr(as_of).label("months_overdue"),
        "aging_bucket": bucket_expr(as_of).label("aging_bucket"),
        "report_bucket": report_bucket_expr(as_of).label("report_bucket"),
        "debt_class": debt_class_expr(as_of, rules).label("debt_class"),
        "penalty": penalty_expr(as_of).label("penalty"),
    }
