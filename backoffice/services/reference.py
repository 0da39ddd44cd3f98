"""Reference data every installation needs, loaded by ``flask --app app setup`` (idempotent):
the published working-calendar years, the Art.14 sub-reasons of overdue debts with the route
each implies (Art.15), and the Annex 6 materials each write-off ground requires (Art.18).
Admins edit all of them afterwards; loading again adds only what is missing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.evidence import DocumentType
from backoffice.models.monthly import OverdueReason, ReasonClass, RouteHint
from backoffice.models.writeoff import MaterialRequirement, WriteOffGround

# Art.14–15: the seed's examples of sub-reasons, with what each implies for routing.
OVERDUE_REASONS = [
    (ReasonClass.INTERNAL, "财务记账差异", RouteHint.BOOKKEEPING),
    (ReasonClass.INTERNAL, "非财务记账差异(内部其他原因)", RouteHint.INTERNAL_OTHER),
    (ReasonClass.EXTERNAL, "单价差异", RouteHint.COMMERCIAL),
    (ReasonClass.EXTERNAL, "交货数量差异", RouteHint.COMMERCIAL),
    (ReasonClass.EXTERNAL, "品质问题", RouteHint.COMMERCIAL),
    (ReasonClass.EXTERNAL, "客户无故拖欠货款", RouteHint.UNJUSTIFIED),
]

# Annex 6 defaults (SPEC §3.5): the materials each write-off ground requires. Documents that
# only apply to some cases (bankruptcy, death ...) are listed as optional.
MATERIALS: dict[WriteOffGround, list[tuple[DocumentType, bool]]] = {
    WriteOffGround.DISCOUNT: [
        (DocumentType.CONTRACT, True),
        (DocumentType.RECONCILIATION, True),
        (DocumentType.COLLECTION_RECORD, True),
        (DocumentType.CORRESPONDENCE, False),
        (DocumentType.RESTRUCTURING, False),
    ],
    WriteOffGround.HOPELESS: [
        (DocumentType.CONTRACT, True),
        (DocumentType.RECONCILIATION, True),
        (DocumentType.COLLECTION_RECORD, True),
        (DocumentType.BANKRUPTCY, False),
        (DocumentType.DEREGISTRATION, False),
        (DocumentType.DEATH, False),
        (DocumentType.RESTRUCTURING, False),
    ],
    WriteOffGround.UNENFORCEABLE: [
        (DocumentType.CONTRACT, True),
        (DocumentType.RECONCILIATION, True),
        (DocumentType.COLLECTION_RECORD, True),
        (DocumentType.JUDGMENT, True),
        (DocumentType.BANKRUPTCY, False),
        (DocumentType.DEREGISTRATION, False),
    ],
}


def ensure_reference_data(session: Session) -> dict[str, int]:
    """Add whatever of the defaults is missing; never changes an admin's edits. No commit."""
    from backoffice.services.calendar import ensure_published_years

    added = {"calendar_years": len(ensure_published_years(session))}
    have = {(r.reason_class, r.label) for r in session.scalars(select(OverdueReason))}
    reasons = [
        OverdueReason(reason_class=cls, label=label, route_hint=hint)
        for cls, label, hint in OVERDUE_REASONS
        if (cls, label) not in have
    ]
    session.add_all(reasons)
    have_materials = {(m.ground, m.doc_type) for m in session.scalars(select(MaterialRequirement))}
    materials = [
        MaterialRequirement(ground=ground, doc_type=doc_type.value, required=required)
        for ground, docs in MATERIALS.items()
        for doc_type, required in docs
        if (ground, doc_type.value) not in have_materials
    ]
    session.add_all(materials)
    session.flush()
    added.update(overdue_reasons=len(reasons), materials=len(materials))
    return added
