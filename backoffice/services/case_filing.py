"""Filing a case and its documents (Art.16, 17, Annex 2): the filing notice, the checklist the
team issues, and what of it is still missing.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.case import (
    CaseReceivable,
    CaseStatus,
    CollectionCase,
    DocumentRequirement,
)
from backoffice.models.evidence import DocumentType, EvidenceDocument
from backoffice.models.notification import TaskKind
from backoffice.models.receivable import Receivable
from backoffice.models.user import RoleName
from backoffice.services import notify
from backoffice.services.calendar import WorkCalendar
from backoffice.services.case_core import CHECKLIST, DOCUMENT_WORKDAYS, _claim, move


def request_documents(session: Session, case: CollectionCase, on: date) -> None:
    """Art.17: issue the checklist; evidence, reasons and measures due in 5 working days."""
    _claim(session, case)
    move(case, CaseStatus.DOCUMENTS_REQUESTED)
    case.documents_due = WorkCalendar(session).add_workdays(on, DOCUMENT_WORKDAYS)
    have = {
        r.doc_type
        for r in session.scalars(
            select(DocumentRequirement).where(DocumentRequirement.case_id == case.id)
        )
    }
    for doc_type in CHECKLIST:
        if doc_type.value not in have:
            session.add(
                DocumentRequirement(
                    case_id=case.id, doc_type=doc_type.value, due_on=case.documents_due
                )
            )
    collectors = notify.users_with_role(session, RoleName.COLLECTOR, case.sales_unit_id)
    for uid in collectors:
        notify.open_task(
            session,
            kind=TaskKind.SUBMIT_DOCUMENTS,
            title=f"案件 {case.case_no} 请在 {case.documents_due} 前提交证据材料",
            subject_type="collection_case",
            subject_id=case.id,
            assignee_id=uid,
            due_on=case.documents_due,
            link=f"/admin/collection_case/details/?id={case.id}",
            company_id=case.company_id,
            sales_unit_id=case.sales_unit_id,
        )


def _file(session: Session, case: CollectionCase, on: date) -> None:
    """The case is filed (立案): filing notice to the business unit, then the checklist."""
    if case.status is not CaseStatus.FILED:
        move(case, CaseStatus.FILED)
    case.filed_on = on
    session.flush()
    case.filing_notice_key = _filing_notice(session, case)
    unit_people = notify.users_with_role(session, RoleName.COLLECTOR, case.sales_unit_id)
    if case.sales_unit and case.sales_unit.vp_id:
        unit_people.append(case.sales_unit.vp_id)
    leads = notify.users_with_role(session, RoleName.TEAM_LEAD)
    notify.notify(
        session,
        [*unit_people, *leads],
        f"逾期清收立案书 {case.case_no}",
        f"客户 {case.customer.name} 已立案，清欠小组介入协助清收。",
        link=f"/admin/collection_case/details/?id={case.id}",
        dedup_key=f"case-filed:{case.id}",
    )
    request_documents(session, case, on)


def _filing_notice(session: Session, case: CollectionCase) -> str:
    """Annex 2: the filing notice (or accepted application) as a stored PDF."""
    from backoffice.services.pdf import render_pdf
    from backoffice.services.storage import get_storage

    rows = session.scalars(
        select(Receivable)
        .join(CaseReceivable)
        .where(CaseReceivable.case_id == case.id)
        .order_by(Receivable.due_date)
    ).all()
    pdf = render_pdf(
        "filing_notice.html",
        company=case.company,
        case=case,
        customer=case.customer,
        receivables=rows,
        total=sum((r.outstanding for r in rows), Decimal(0)),
    )
    return get_storage().put(io.BytesIO(pdf)).key


def missing_documents(session: Session, case: CollectionCase) -> list[DocumentRequirement]:
    """Art.17: the checklist's documents not in yet (no live document of the type, none linked)."""
    return [req for req, have in checklist(session, case) if not have and req.document_id is None]


def checklist(session: Session, case: CollectionCase) -> list[tuple[DocumentRequirement, bool]]:
    """Art.17: each required document and whether a (live) document of that type is in."""
    have = set(
        session.scalars(
            select(EvidenceDocument.doc_type).where(
                EvidenceDocument.case_id == case.id, EvidenceDocument.deleted_at.is_(None)
            )
        )
    )
    reqs = session.scalars(
        select(DocumentRequirement)
        .where(DocumentRequirement.case_id == case.id)
        .order_by(DocumentRequirement.id)
    )
    return [(r, DocumentType(r.doc_type) in have) for r in reqs]
