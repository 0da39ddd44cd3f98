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
from backoffice.models.case_rules import CaseSubmission
from backoffice.models.evidence import DocumentType, EvidenceDocument
from backoffice.models.notification import Task, TaskKind
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
    session.flush()  # the checklist's rows, which the task's title counts
    title = documents_task_title(session, case)
    for uid in collectors:
        notify.open_task(
            session,
            kind=TaskKind.SUBMIT_DOCUMENTS,
            title=title,
            subject_type="collection_case",
            subject_id=case.id,
            assignee_id=uid,
            due_on=case.documents_due,
            link=f"/admin/collection_case/details/?id={case.id}",
            company_id=case.company_id,
            sales_unit_id=case.sales_unit_id,
        )


def documents_task_title(session: Session, case: CollectionCase) -> str:
    """Art.17: what the collector still owes within the 5 working days — the checklist's
    documents (how many are missing), the reasons and proposed measures, both, or nothing
    more (the team starts work next). Read-only."""
    missing = len(missing_documents(session, case))
    submitted = session.scalar(
        select(CaseSubmission.id).where(CaseSubmission.case_id == case.id).limit(1)
    )
    head = f"案件 {case.case_no} 请在 {case.documents_due} 前"
    if missing and not submitted:
        return f"{head}提交证据材料（尚缺 {missing} 项）及欠款原因、清收措施建议"
    if missing:
        return f"{head}补齐证据材料（尚缺 {missing} 项）；欠款原因及措施建议已提交"
    if not submitted:
        return f"{head}提交欠款原因及清收措施建议；证据材料已齐"
    return f"案件 {case.case_no} 证据材料及欠款原因、措施建议均已提交，待清欠小组开始清收"


def retitle_documents_task(session: Session, case: CollectionCase) -> None:
    """Art.17: the open documents tasks of ``case`` say what is due now (after a submission
    of reasons and measures, or a document uploaded or deleted). Idempotent; the caller
    commits."""
    tasks = session.scalars(
        select(Task).where(
            Task.kind == TaskKind.SUBMIT_DOCUMENTS,
            Task.subject_type == "collection_case",
            Task.subject_id == case.id,
            Task.done_at.is_(None),
        )
    ).all()
    if not tasks:
        return
    title = documents_task_title(session, case)[:200]
    for task in tasks:
        if task.title != title:
            task.title = title


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
