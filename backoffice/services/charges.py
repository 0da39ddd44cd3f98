"""Art.3 charges: interest, penalty interest and liquidated damages per the contract's terms,
computed apart from the principal, in Python (one receivable) and in SQL (lists, reports).

Moved out of ``aging.py`` unchanged; ``aging.aging_columns`` still names ``penalty``.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case, func, literal, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from backoffice.models.base import CENT, Money
from backoffice.models.receivable import Contract, PenaltyKind, Receivable
from backoffice.services.aging import ZERO, _has_outstanding, days_overdue, days_overdue_expr


def penalty(
    outstanding: Decimal,
    due: date,
    as_of: date,
    kind: PenaltyKind | None,
    daily_rate: Decimal | None = None,
    fixed: Decimal | None = None,
) -> Decimal:
    """Art.3 interest / penalty / liquidated damages per the contract, apart from principal.

    Daily rate: ``rate × outstanding × days overdue``, rounded half up to the cent. Fixed: the
    fixed amount once overdue. Nothing when not overdue or nothing is outstanding.
    """
    days = days_overdue(due, as_of)
    if days == 0 or outstanding <= 0 or kind in (None, PenaltyKind.NONE):
        return ZERO
    if kind == PenaltyKind.DAILY_RATE:
        if not daily_rate:
            return ZERO
        return (outstanding * daily_rate * days).quantize(CENT, rounding=ROUND_HALF_UP)
    return (fixed or ZERO).quantize(CENT)


class _DailyPenalty(FunctionElement):
    """outstanding × rate × days, rounded half up to the cent, in the column's storage form."""

    type = Money()
    inherit_cache = True
    name = "qq_daily_penalty"


def _penalty_args(element, compiler, **kw):
    return [compiler.process(x, **kw) for x in element.clauses.clauses]


@compiles(_DailyPenalty)
def _daily_penalty_default(element, compiler, **kw):
    o, r, d = _penalty_args(element, compiler, **kw)
    return f"ROUND(CAST({o} AS NUMERIC) * CAST({r} AS NUMERIC) * {d}, 2)"


@compiles(_DailyPenalty, "sqlite")
def _daily_penalty_sqlite(element, compiler, **kw):
    # Money is integer cents and the rate is text on SQLite: scale the rate to an integer
    # (8 places, as the column allows) so the product is exact integer arithmetic, then round
    # half up back to cents.
    o, r, d = _penalty_args(element, compiler, **kw)
    rate = f"CAST(ROUND(CAST({r} AS REAL) * 100000000) AS INTEGER)"
    return f"(({o}) * {rate} * ({d}) + 50000000) / 100000000"


def penalty_expr(as_of: date) -> ColumnElement[Decimal]:
    """SQL: Art.3 penalty/interest of each receivable per its contract, apart from principal.

    A correlated look-up of the receivable's contract, so it costs one index probe per row
    shown; zero without a contract, without penalty terms, or when not overdue.
    """
    days = days_overdue_expr(as_of)
    term = case(
        (
            Contract.penalty_kind == PenaltyKind.DAILY_RATE,
            func.coalesce(
                _DailyPenalty(Receivable.outstanding, Contract.penalty_daily_rate, days),
                type_coerce(literal(ZERO, Money()), Money()),
            ),
        ),
        (
            Contract.penalty_kind == PenaltyKind.FIXED,
            func.coalesce(Contract.penalty_fixed, literal(ZERO, Money())),
        ),
        else_=literal(ZERO, Money()),
    )
    looked_up = (
        select(type_coerce(term, Money()))
        .where(Contract.id == Receivable.contract_id)
        .correlate(Receivable)
        .scalar_subquery()
    )
    return type_coerce(
        case(
            (
                (Receivable.due_date < as_of) & _has_outstanding(),
                func.coalesce(looked_up, literal(ZERO, Money())),
            ),
            else_=literal(ZERO, Money()),
        ),
        Money(),
    )
