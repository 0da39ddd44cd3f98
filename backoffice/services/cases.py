"""Collection cases (Art.16–17, 19, 21, 23): escalation, applications, the lifecycle, closing.

The lifecycle is enforced here, on the server: ``TRANSITIONS`` lists every legal move, and any
other raises ``CaseError`` (views turn it into a clear message and an audit entry). Functions
add to the session; callers commit.

This module holds the decisions on a case (apply, accept, refuse, start work, close) and
re-exports the rest, so ``from backoffice.services.cases import …`` finds everything:
``case_core`` (states, moves, creation), ``case_filing`` (filing notice, checklist),
``case_escalation`` (Art.16 daily run), ``case_progress`` (balance, strategy, promises).
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditAction
from backoffice.models.base import utcnow
from backoffice.models.case import (
    CaseOrigin,
    CaseOutcome,
    CaseStatus,
    CollectionCase,
)
from backoffice.models.customer import Customer
from backoffice.models.evidence import DocumentType
from backoffice.models.notification import TaskKind
from backoffice.models.user import RoleName
from backoffice.services import audit, notify, refusals
from backoffice.services.accountability import open_for_closed_case
from backoffice.services.case_core import (
    CHECKLIST,
    DOCUMENT_WORKDAYS,
    OPEN,
    STRATEGY_FOR,
    TRANSITIONS,
    CaseError,
    _case_no,
    _claim,
    _new_case,
    _overdue_receivables,
    move,
    open_case_of,
    suggest_strategy,
)
from backoffice.services.case_escalation import EscalationResult, escalate
from backoffice.services.case_filing import (
    _file,
    _filing_notice,
    checklist,
    missing_documents,
    request_documents,
)
from backoffice.services.case_progress import (
    judge_promises,
    late_instalments,
    open_balance,
    override_strategy,
)
from backoffice.services.transitions import claim

__all__ = [
    "CHECKLIST",
    "DOCUMENT_WORKDAYS",
    "OPEN",
    "STRATEGY_FOR",
    "TRANSITIONS",
    "CaseError",
    "EscalationResult",
    "_case_no",
    "_claim",
    "_file",
    "_filing_notice",
    "_new_case",
    "_overdue_receivables",
    "accept",
    "apply",
    "checklist",
    "close",
    "escalate",
    "judge_promises",
    "late_instalments",
    "missing_documents",
    "move",
    "open_balance",
    "open_case_of",
    "override_strategy",
    "refuse",
    "request_documents",
    "start_work",
    "suggest_strategy",
]


def apply(
    session: Session, customer_id: int, user_id: int, reason: str, on: date
) -> CollectionCase:
    """Art.16 (4): a collector applies in writing for a debt under 6 months overdue."""
    if not (reason or "").strip():
        raise CaseError(gettext("an application must say why the team's help is needed"))
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise CaseError(gettext("this customer has nothing overdue"))
    # Two collectors applying for one customer at once: the customer's row is locked, so the
    # second sees the first one's case instead of failing on the one-open-case key.
    claim(session, customer)
    if open_case_of(session, customer_id) is not None:
        raise CaseError(gettext("this customer already has an open case"))
    receivables = _overdue_receivables(session, customer_id, on)
    if not receivables:
        raise CaseError(gettext("this customer has nothing overdue"))
    case = _new_case(session, customer, CaseOrigin.APPLICATION, CaseStatus.APPLIED, on, receivables)
    case.applied_by_id, case.applied_at, case.application_reason = user_id, utcnow(), reason
    session.flush()
    for uid in notify.users_with_role(session, RoleName.TEAM_LEAD):
        notify.open_task(
            session,
            kind=TaskKind.REVIEW_APPLICATION,
            title=f"逾期清收申请 {case.case_no}：{customer.name}",
            subject_type="collection_case",
            subject_id=case.id,
            assignee_id=uid,
            link=f"/admin/collection_case/details/?id={case.id}",
            company_id=case.company_id,
            sales_unit_id=case.sales_unit_id,
        )
    return case


def accept(session: Session, case: CollectionCase, user_id: int, on: date) -> None:
    """The team accepts an application: only now does the case exist (Art.16 (4)).
    Compare-and-set: of two leads accepting at once, one files; the other gets
    ``StaleStateError`` (no second transition, notice or decider)."""
    _claim(session, case)
    move(case, CaseStatus.FILED)
    case.decided_by_id, case.decided_at = user_id, utcnow()
    notify.close_tasks(
        session,
        kind=TaskKind.REVIEW_APPLICATION,
        subject_type="collection_case",
        subject_id=case.id,
    )
    _file(session, case, on)


def refuse(session: Session, case: CollectionCase, user_id: int, reason: str) -> None:
    """The team refuses: the unit and its collector keep the debt (Art.16 (4))."""
    _claim(session, case)
    if not (reason or "").strip():
        raise CaseError(gettext("say why the application is refused"))
    move(case, CaseStatus.REFUSED)
    case.decided_by_id, case.decided_at, case.refusal_reason = user_id, utcnow(), reason
    notify.close_tasks(
        session,
        kind=TaskKind.REVIEW_APPLICATION,
        subject_type="collection_case",
        subject_id=case.id,
    )
    notify.notify(
        session,
        [case.applied_by_id],
        f"逾期清收申请 {case.case_no} 未受理",
        reason,
        dedup_key=f"case-refused:{case.id}",
    )
    refusals.record_consequence(session, case, user_id)  # Art.16 (4): the unit and handler


def start_work(session: Session, case: CollectionCase, override_reason: str | None = None) -> None:
    """Collection work starts. Art.17: "材料齐全后即可开始清收" — with documents of the checklist
    still missing it starts only on an explicit override with a reason, kept on the case
    (``start_override_reason``) and in the audit trail with the documents that were missing."""
    _claim(session, case)
    move(case, CaseStatus.IN_PROGRESS)
    missing = missing_documents(session, case)
    reason = (override_reason or "").strip()
    if missing and not reason:  # Art.17: documents first, or say why not
        raise CaseError(
            gettext(
                "documents still missing (Art.17): %(docs)s; starting anyway needs a reason",
                docs="、".join(str(DocumentType(r.doc_type).label) for r in missing),
            )
        )
    case.started_at = utcnow()
    if missing:
        case.start_override_reason = reason
        with audit.in_system_language():  # the auditor reads it in the audit log
            detail = gettext(
                "Art.17: collection started with documents missing (%(docs)s); reason: %(reason)s",
                docs="、".join(str(DocumentType(r.doc_type).label) for r in missing),
                reason=reason,
            )
        audit.record(
            session,
            AuditAction.UPDATE,
            entity="collection_case",
            entity_id=case.id,
            detail=detail[:2000],
        )
    notify.close_tasks(
        session, kind=TaskKind.SUBMIT_DOCUMENTS, subject_type="collection_case", subject_id=case.id
    )


def close(
    session: Session,
    case: CollectionCase,
    user_id: int,
    outcome: CaseOutcome | str | None,
    note: str | None,
    on: date,
) -> None:
    """Art.21: a case closes only with an outcome: collected in full (nothing left open), or
    the collection status and the reasons it is hard to collect."""
    _claim(session, case)
    if not outcome:
        raise CaseError(gettext("a case cannot be closed without an outcome (Art.21)"))
    outcome = CaseOutcome(outcome)
    if outcome is CaseOutcome.COLLECTED and open_balance(session, case) > 0:
        raise CaseError(gettext("not collected in full: receivables of the case are still open"))
    if outcome is CaseOutcome.HARD_TO_COLLECT and len((note or "").strip()) < 10:
        raise CaseError(gettext("state the collection status and why it is hard to collect"))
    move(case, CaseStatus.CLOSED)
    case.outcome, case.outcome_note = outcome, (note or "").strip() or None
    case.closed_on, case.closed_by_id = on, user_id
    open_for_closed_case(session, case)  # Art.25: a case closed with a loss gets a finding
