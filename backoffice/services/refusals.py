"""Art.16 (4): an application the team refuses leaves the debt, and its consequences, with the
sales unit and the handler who applied: "否则清欠小组不予受理，由此引起的后果由本销售单位及
经办人承担".

``record_consequence`` runs when the team refuses (``cases.refuse`` calls it): it writes one
``RefusalConsequence`` naming the unit, the handler, the customer and what stays outstanding,
and tells the handler and the unit's VP. The register (views/case_rules.py) shows them.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.models.case import CaseReceivable, CollectionCase
from backoffice.models.case_rules import RefusalConsequence
from backoffice.models.org import SalesUnit
from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.services import notify


def consequence_text(unit_name: str, handler_name: str, outstanding: Decimal) -> str:
    """The consequence as the article states it, for this unit and handler."""
    return (
        f"清欠小组未受理本次逾期清收申请。该笔欠款（未收余额 {outstanding:,.2f} 元）仍由"
        f"{unit_name}及经办人{handler_name}负责催收，由此引起的后果由{unit_name}及经办人"
        f"{handler_name}承担（《逾期账款清欠管理办法》第十六条第4款）。"
    )


def record_consequence(
    session: Session, case: CollectionCase, user_id: int | None
) -> RefusalConsequence:
    """Art.16 (4): record, once per refused application, that the unit and the handler keep the
    debt and answer for its consequences; notify the handler and the unit's VP. Adds to the
    session; the caller commits. Idempotent: a second call returns the first record."""
    existing = session.scalar(
        select(RefusalConsequence).where(RefusalConsequence.case_id == case.id)
    )
    if existing is not None:
        return existing
    outstanding = session.scalar(
        select(func.coalesce(func.sum(Receivable.outstanding), 0))
        .join(CaseReceivable, CaseReceivable.receivable_id == Receivable.id)
        .where(CaseReceivable.case_id == case.id, Receivable.status == ReceivableStatus.OPEN)
    ) or Decimal("0")
    unit = session.get(SalesUnit, case.sales_unit_id) if case.sales_unit_id else None
    from backoffice.models.user import User

    handler = session.get(User, case.applied_by_id) if case.applied_by_id else None
    unit_name = unit.name if unit else "本销售单位"
    handler_name = handler.display_name if handler else "（未记录）"
    row = RefusalConsequence(
        case_id=case.id,
        company_id=case.company_id,
        sales_unit_id=case.sales_unit_id,
        customer_id=case.customer_id,
        handler_id=case.applied_by_id,
        outstanding=Decimal(outstanding),
        refusal_reason=case.refusal_reason or "",
        consequence=consequence_text(unit_name, handler_name, Decimal(outstanding)),
        recorded_by_id=user_id,
    )
    session.add(row)
    people = [case.applied_by_id, unit.vp_id if unit else None]
    notify.notify(
        session,
        people,
        f"逾期清收申请 {case.case_no} 未受理：后果由本单位及经办人承担",
        row.consequence,
        "/admin/refusal_consequence/",
        dedup_key=f"refusal-consequence:{case.id}",
    )
    return row
