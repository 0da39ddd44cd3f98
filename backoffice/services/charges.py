"""Art.3 charges: interest, penalty interest and liquidated damages per the contract's terms,
computed apart from the principal, in Python (one receivable) and in SQL (lists, reports).

The SQL ``penalty_expr`` is the penalty interest (罚息) the receivables list has always shown;
``charges_of`` gives all three for one document, and ``included_charges`` says which of them
the overdue total counts (a setting; none by default, so existing totals do not move).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import case, func, literal, or_, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from backoffice.models.base import CENT, Money
from backoffice.models.receivable import ChargeKind, Contract, PenaltyKind, Receivable
from backoffice.services import ledger_cache
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


# ---------------------------------------------------------------------------------------------
# Art.3: the three charges apart, and which of them the overdue total counts

#: Setting ``overdue_total_charges``: which charges the overdue total includes. By default
#: none, so the overdue total is the principal outstanding, as before the setting existed.
CHARGES_SETTING = "overdue_total_charges"
DEFAULT_INCLUDED: dict[str, bool] = {kind.value: False for kind in ChargeKind}

#: The charges' names on documents sent out (reports, statements): always Chinese, like the
#: rest of those documents' text.
DOCUMENT_NAMES: dict[ChargeKind, str] = {
    ChargeKind.INTEREST: "利息",
    ChargeKind.PENALTY_INTEREST: "罚息",
    ChargeKind.DAMAGES: "违约金",
}

#: Each charge's terms on the contract: (kind, daily rate, fixed amount) columns.
TERMS: dict[ChargeKind, tuple[str, str, str]] = {
    ChargeKind.INTEREST: ("interest_kind", "interest_daily_rate", "interest_fixed"),
    ChargeKind.PENALTY_INTEREST: ("penalty_kind", "penalty_daily_rate", "penalty_fixed"),
    ChargeKind.DAMAGES: ("damages_kind", "damages_daily_rate", "damages_fixed"),
}


@dataclass(frozen=True)
class Charges:
    """Art.3: interest, penalty interest and liquidated damages of one or more documents."""

    interest: Decimal = ZERO
    penalty_interest: Decimal = ZERO
    damages: Decimal = ZERO

    def of(self, kind: ChargeKind) -> Decimal:
        return getattr(self, kind.value)

    def __add__(self, other: Charges) -> Charges:
        return Charges(*(self.of(k) + other.of(k) for k in ChargeKind))

    @property
    def any(self) -> bool:
        return any(self.of(k) for k in ChargeKind)

    def included(self, kinds: frozenset[ChargeKind]) -> Decimal:
        """The part of the charges the overdue total counts (Art.3, by the setting)."""
        return sum((self.of(k) for k in ChargeKind if k in kinds), ZERO)


def included_charges(session: Session) -> frozenset[ChargeKind]:
    """Art.3: the charges the overdue total includes (Setting ``overdue_total_charges``).
    Read-only; an unknown key in the stored setting is ignored."""
    stored = ledger_cache.setting(session, CHARGES_SETTING)
    value = dict(DEFAULT_INCLUDED)
    if isinstance(stored, dict):
        value.update({k: bool(v) for k, v in stored.items() if k in value})
    return frozenset(kind for kind in ChargeKind if value[kind.value])


def has_terms(contract: Contract | None) -> bool:
    """Whether the contract sets any Art.3 charge."""
    if contract is None:
        return False
    return any(getattr(contract, TERMS[k][0]) not in (None, PenaltyKind.NONE) for k in ChargeKind)


def charges_of(contract: Contract | None, outstanding: Decimal, due: date, as_of: date) -> Charges:
    """Art.3: each charge on ``outstanding`` overdue since ``due``, on ``as_of``, by the
    contract's terms for it; all zero without a contract or when not overdue. Pure."""
    if contract is None:
        return Charges()
    amounts = []
    for kind in ChargeKind:
        kind_col, rate_col, fixed_col = TERMS[kind]
        amounts.append(
            penalty(
                outstanding,
                due,
                as_of,
                getattr(contract, kind_col),
                getattr(contract, rate_col),
                getattr(contract, fixed_col),
            )
        )
    return Charges(*amounts)


def overdue_total(principal: Decimal, charges: Charges, kinds: frozenset[ChargeKind]) -> Decimal:
    """Art.3: the overdue total is the principal outstanding plus the charges the setting
    includes (none by default)."""
    return principal + charges.included(kinds)


def total_label(kinds: frozenset[ChargeKind]) -> str:
    """Art.3: the overdue total's name on documents sent out, saying which charges it counts."""
    if not kinds:
        return "逾期合计（仅本金）"
    counted = "＋".join(DOCUMENT_NAMES[k] for k in ChargeKind if k in kinds)
    return f"逾期合计（本金＋{counted}）"


def charge_expr(kind: ChargeKind, outstanding: Any, as_of: date) -> ColumnElement[Decimal]:
    """SQL: the Art.3 charge ``kind`` on ``outstanding`` (a money expression, e.g. the balance
    at a month's close) on ``as_of``, by the joined ``Contract``'s terms for it, rounded like
    ``penalty``. The caller joins ``Contract`` and keeps the rows overdue on ``as_of`` with
    something outstanding (the same conditions ``penalty`` checks)."""
    kind_col, rate_col, fixed_col = (getattr(Contract, name) for name in TERMS[kind])
    zero = type_coerce(literal(ZERO, Money()), Money())
    term = case(
        (
            kind_col == PenaltyKind.DAILY_RATE,
            func.coalesce(_DailyPenalty(outstanding, rate_col, days_overdue_expr(as_of)), zero),
        ),
        (kind_col == PenaltyKind.FIXED, func.coalesce(fixed_col, zero)),
        else_=zero,
    )
    return type_coerce(term, Money())


def has_terms_expr() -> ColumnElement[bool]:
    """SQL: the joined ``Contract`` sets at least one Art.3 charge (``has_terms`` in SQL)."""
    charged = (PenaltyKind.DAILY_RATE, PenaltyKind.FIXED)
    return or_(*(getattr(Contract, TERMS[k][0]).in_(charged) for k in ChargeKind))
