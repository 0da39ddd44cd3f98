"""The collection-cost ledger (Art.8): costs by the unit owning the customer, by period.

Art.8: the collection team is a temporary body whose members keep their wages from their home
departments (never charged here); the travel, lost working time and the bonuses paid under the
assessment are charged to the business unit the customer belongs to. A case cost carries its
case's unit (copied from the customer, ``inherit_scope``), so the ledger sums ``CaseCost`` by
``sales_unit_id``. Bonuses enter only from an approved scorecard (``scorecard.book_bonuses``):
``check_manual`` refuses one typed in by hand, and any change to a booked one.

Read-only except ``check_manual``; every query runs inside the user's row scope (a collector
sees only their units).
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from backoffice.models.case import CaseCost, CollectionCase, CostKind
from backoffice.models.org import SalesUnit
from backoffice.permissions import scope_filter
from backoffice.services.dashboard import money_sum
from backoffice.services.export import export_filename, write_xlsx

ZERO = Decimal("0.00")
#: The ledger's columns: Art.8's three kinds, then the rest of what a case costs.
KINDS = (CostKind.TRAVEL, CostKind.LOST_TIME, CostKind.BONUS, CostKind.LEGAL, CostKind.OTHER)


class CostError(ValueError):
    """A cost change the ledger's rule refuses (translated message)."""


def check_manual(cost: CaseCost, *, deleting: bool = False) -> None:
    """Art.8: a bonus is the one an approved scorecard pays; it is never typed in, changed or
    deleted by hand. Raises ``CostError``; no side effects."""
    if cost.scorecard_line_id is not None:
        raise CostError(_("A bonus booked from an approved scorecard cannot be changed."))
    if not deleting and cost.kind == CostKind.BONUS:  # a form gives the plain value
        raise CostError(
            _("Bonuses enter the ledger from an approved scorecard (Art.8), not by hand.")
        )


@dataclass
class UnitCosts:
    unit_id: int | None
    name: str
    by_kind: dict[CostKind, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))

    @property
    def total(self) -> Decimal:
        return sum(self.by_kind.values(), ZERO)


@dataclass
class Ledger:
    start: date
    end: date
    units: list[UnitCosts]
    total: UnitCosts


def _criteria(user: Any, start: date, end: date, unit_id: int | None, kind: CostKind | None):
    criteria = [scope_filter(CaseCost, user), CaseCost.incurred_on >= start]
    criteria.append(CaseCost.incurred_on <= end)
    if unit_id is not None:
        criteria.append(CaseCost.sales_unit_id == unit_id)
    if kind is not None:
        criteria.append(CaseCost.kind == kind)
    return and_(*criteria)


def ledger(
    session: Session,
    user: Any,
    start: date,
    end: date,
    unit_id: int | None = None,
    kind: CostKind | None = None,
) -> Ledger:
    """Art.8: costs incurred in [start, end] per unit and kind, with totals, in ``user``'s
    scope, optionally one unit or one kind."""
    rows = session.execute(
        select(CaseCost.sales_unit_id, SalesUnit.name, CaseCost.kind, money_sum(CaseCost.amount))
        .outerjoin(SalesUnit, SalesUnit.id == CaseCost.sales_unit_id)
        .where(_criteria(user, start, end, unit_id, kind))
        .group_by(CaseCost.sales_unit_id, SalesUnit.name, CaseCost.kind)
    ).all()
    units: dict[int | None, UnitCosts] = {}
    total = UnitCosts(None, _("Total"))
    for unit, name, cost_kind, amount in rows:
        line = units.setdefault(unit, UnitCosts(unit, name or "—"))
        line.by_kind[cost_kind] += amount
        total.by_kind[cost_kind] += amount
    return Ledger(start, end, sorted(units.values(), key=lambda u: (-u.total, u.name)), total)


def entries(
    session: Session,
    user: Any,
    start: date,
    end: date,
    unit_id: int | None = None,
    kind: CostKind | None = None,
    limit: int | None = 500,
) -> list[CaseCost]:
    """The ledger's entries, newest first (at most ``limit``; None: all, for the export)."""
    query = (
        select(CaseCost)
        .where(_criteria(user, start, end, unit_id, kind))
        .order_by(CaseCost.incurred_on.desc(), CaseCost.id.desc())
    )
    if limit:
        query = query.limit(limit)
    return list(session.scalars(query))


def by_unit(session: Session, user: Any, start: date, end: date) -> dict[int | None, Decimal]:
    """Art.8: every unit's costs incurred in [start, end] (the leadership report's column)."""
    rows = session.execute(
        select(CaseCost.sales_unit_id, money_sum(CaseCost.amount))
        .where(_criteria(user, start, end, None, None))
        .group_by(CaseCost.sales_unit_id)
    ).all()
    return {unit: amount for unit, amount in rows}


def per_hundred(cost: Decimal | None, collected: Decimal | None) -> Decimal | None:
    """Cost per ¥100 collected (None when nothing was collected)."""
    if not collected or cost is None:
        return None
    return (cost * 100 / collected).quantize(Decimal("0.01"))


def export_xlsx(session: Session, user: Any, led: Ledger, **filters: Any) -> tuple[bytes, str]:
    """The ledger as an XLSX workbook: one row per entry, the totals by kind below. Returns
    (bytes, file name). Text cells are inert (``export``)."""
    headers = [
        _("Date"),
        _("Sales unit"),
        _("Case"),
        _("Customer"),
        _("Cost kind"),
        _("Amount"),
        _("Note"),
    ]
    names = dict(session.execute(select(SalesUnit.id, SalesUnit.name)).all())
    rows = []
    for cost in entries(session, user, led.start, led.end, limit=None, **filters):
        case: CollectionCase = cost.case
        rows.append(
            [
                cost.incurred_on,
                names.get(cost.sales_unit_id, "—"),
                case.case_no,
                case.customer.name,
                cost.kind,
                cost.amount,
                cost.note,
            ]
        )
    for unit in led.units:
        for kind in KINDS:
            if unit.by_kind.get(kind):
                rows.append(["", unit.name, "", "", kind, unit.by_kind[kind], _("Subtotal")])
    out = io.BytesIO()
    title = _("Collection cost ledger %(start)s to %(end)s", start=led.start, end=led.end)
    write_xlsx(
        out,
        _("Collection cost ledger"),
        headers,
        rows,
        title=title,
        footer=["", _("Total"), "", "", "", led.total.total, ""],
    )
    return out.getvalue(), export_filename(_("Collection cost ledger"), "xlsx")
