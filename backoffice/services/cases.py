"""Collection cases (Art.16–17, 19, 21, 23): escalation, applications, the lifecycle, closing.

The lifecycle is enforced here, on the server: ``TRANSITIONS`` lists every legal move, and any
other raises ``CaseError`` (views turn it into a clear message and an audit entry). Functions
add to the session; callers commit.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditAction
from backoffice.models.base import utcnow
from backoffice.models.case import (
    CaseOrigin,
    CaseOutcome,
    CaseReceivable,
    CaseStatus,
    CollectionCase,
    DocumentRequirement,
    PaymentPromise,
    PromiseStatus,
    RepaymentPlan,
    Strategy,
    WatchListEntry,
)
from backoffice.models.customer import Customer, FinancialStatus
from backoffice.models.evidence import DocumentType, EvidenceDocument
from backoffice.models.notification import TaskKind
from backoffice.models.receivable import Payment, PaymentKind, Receivable, ReceivableStatus
from backoffice.models.user import RoleName
from backoffice.services import audit, large_debts, notify, refusals
from backoffice.services.aging import months_cutoff
from backoffice.services.calendar import WorkCalendar
from backoffice.services.numbering import next_number
from backoffice.services.transitions import claim

DOCUMENT_WORKDAYS = 5  # Art.17: evidence, reasons and measures due in 5 working days
#: Art.17: the checklist the team sends when it takes a case.
CHECKLIST = (
    DocumentType.CONTRACT,
    DocumentType.DELIVERY_NOTE,
    DocumentType.RECONCILIATION,
    DocumentType.INVOICE,
    DocumentType.CORRESPONDENCE,
)
OPEN = (
    CaseStatus.APPLIED,
    CaseStatus.FILED,
    CaseStatus.DOCUMENTS_REQUESTED,
    CaseStatus.IN_PROGRESS,
)

TRANSITIONS: dict[CaseStatus, set[CaseStatus]] = {
    CaseStatus.APPLIED: {CaseStatus.FILED, CaseStatus.REFUSED},
    CaseStatus.REFUSED: set(),
    CaseStatus.FILED: {CaseStatus.DOCUMENTS_REQUESTED},
    CaseStatus.DOCUMENTS_REQUESTED: {CaseStatus.IN_PROGRESS},
    CaseStatus.IN_PROGRESS: {CaseStatus.CLOSED},
    CaseStatus.CLOSED: set(),
}

# Art.23 (2): the strategy the debtor's financial status suggests.
STRATEGY_FOR = {
    FinancialStatus.GOOD_FUNDS: Strategy.PRESS_FOR_CASH,
    FinancialStatus.POOR_FUNDS_GOOD_PROSPECTS: Strategy.COLLATERAL,
    FinancialStatus.POOR_FUNDS_POORLY_RUN: Strategy.PAYMENT_IN_KIND,
    FinancialStatus.MALICIOUS: Strategy.LITIGATION,
}


class CaseError(ValueError):
    """A case operation the rules refuse; the message says why.

    Messages are translated when raised (``gettext``): the user's language inside a request,
    ``BABEL_DEFAULT_LOCALE`` (Chinese) in CLI commands and jobs.
    """


def suggest_strategy(status: FinancialStatus | None) -> Strategy | None:
    return STRATEGY_FOR.get(status) if status else None


def move(case: CollectionCase, to: CaseStatus) -> None:
    """Change status if the lifecycle allows it, else raise ``CaseError``. Callers ``claim``
    the case first (``_claim``), so the status checked is the committed one."""
    if to not in TRANSITIONS[case.status]:
        raise CaseError(
            gettext(
                "a case that is %(now)s cannot become %(to)s",
                now=case.status.label,
                to=to.label,
            )
        )
    case.status = to


def _case_no(session: Session, year: int) -> str:
    return next_number(session, CollectionCase.case_no, "QQ", year)


def open_case_of(session: Session, customer_id: int) -> CollectionCase | None:
    return session.scalar(
        select(CollectionCase).where(
            CollectionCase.customer_id == customer_id, CollectionCase.status.in_(OPEN)
        )
    )


def _overdue_receivables(session: Session, customer_id: int, as_of: date) -> list[Receivable]:
    return list(
        session.scalars(
            select(Receivable)
            .where(
                Receivable.customer_id == customer_id,
                Receivable.status == ReceivableStatus.OPEN,
                Receivable.outstanding > 0,
                Receivable.due_date < as_of,
            )
            .order_by(Receivable.due_date)
        )
    )


def _new_case(
    session: Session,
    customer: Customer,
    origin: CaseOrigin,
    status: CaseStatus,
    as_of: date,
    receivables: list[Receivable],
) -> CollectionCase:
    case = CollectionCase(
        case_no=_case_no(session, as_of.year),
        customer_id=customer.id,
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        origin=origin,
        status=status,
        amount_at_filing=sum((r.outstanding for r in receivables), Decimal(0)),
        suggested_strategy=suggest_strategy(customer.financial_status),
    )
    case.receivables = [CaseReceivable(receivable_id=r.id) for r in receivables]
    session.add(case)
    return case


def _claim(session: Session, case: CollectionCase) -> None:
    """Compare-and-set on the case's status: a concurrent change of stage makes this request
    lose (``StaleStateError``, a 409) before it writes anything."""
    claim(session, case, "status")


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


@dataclass
class EscalationResult:
    watch_listed: list[int] = field(default_factory=list)  # customer ids
    filed: list[str] = field(default_factory=list)  # case numbers


def escalate(session: Session, as_of: date) -> EscalationResult:
    """Art.16, run daily: over 3 months → the team lead's watch list (reported by finance);
    over 6 months → a compulsory case per customer with its filing notice. Idempotent: the
    watch list is unique per (customer, day) and a customer has at most one open case."""
    result = EscalationResult()
    over3, over6 = months_cutoff(as_of, 3), months_cutoff(as_of, 6)
    overdue = (
        select(
            Receivable.customer_id,
            func.sum(Receivable.outstanding).label("amount"),
            func.min(Receivable.due_date).label("oldest"),
        )
        .where(
            Receivable.status == ReceivableStatus.OPEN,
            Receivable.outstanding > 0,
            Receivable.due_date < over3,
        )
        .group_by(Receivable.customer_id)
    )
    leads = notify.users_with_role(session, RoleName.TEAM_LEAD)
    for row in session.execute(overdue).all():
        customer = session.get(Customer, row.customer_id)
        exists = session.scalar(
            select(WatchListEntry.id).where(
                WatchListEntry.customer_id == customer.id, WatchListEntry.as_of == as_of
            )
        )
        if not exists:
            # Art.16 (2): over 3 months, finance reports the debt to the team lead.
            session.add(
                WatchListEntry(
                    customer_id=customer.id,
                    company_id=customer.company_id,
                    sales_unit_id=customer.sales_unit_id,
                    as_of=as_of,
                    overdue_amount=row.amount,
                    oldest_due_date=row.oldest,
                )
            )
            notify.notify(
                session,
                leads,
                f"逾期超过3个月：{customer.name}",
                f"逾期余额 {row.amount}，最早到期日 {row.oldest}",
                link=f"/admin/customer/details/?id={customer.id}",
                dedup_key=f"watch:{customer.id}:{row.oldest}",
            )
            result.watch_listed.append(customer.id)
        if large_debts.team_involved(session, row.amount, row.oldest, over3, over6) and (
            open_case_of(session, customer.id) is None
        ):
            # Art.16 (3): over 6 months, the team intervenes compulsorily, per customer.
            receivables = _overdue_receivables(session, customer.id, as_of)
            case = _new_case(
                session, customer, CaseOrigin.COMPULSORY, CaseStatus.FILED, as_of, receivables
            )
            # The partial unique index (one open case per customer) stops a concurrent run
            # here with an IntegrityError; that job fails, and its retry finds the case.
            session.flush()
            _file(session, case, as_of)
            result.filed.append(case.case_no)
    session.flush()
    return result


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


def missing_documents(session: Session, case: CollectionCase) -> list[DocumentRequirement]:
    """Art.17: the checklist's documents not in yet (no live document of the type, none linked)."""
    return [req for req, have in checklist(session, case) if not have and req.document_id is None]


def start_work(
    session: Session, case: CollectionCase, override_reason: str | None = None
) -> None:
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
        audit.record(
            session,
            AuditAction.UPDATE,
            entity="collection_case",
            entity_id=case.id,
            detail=(
                "start work with documents missing (Art.17): "
                f"{', '.join(r.doc_type for r in missing)}; reason: {reason}"
            )[:2000],
        )
    notify.close_tasks(
        session, kind=TaskKind.SUBMIT_DOCUMENTS, subject_type="collection_case", subject_id=case.id
    )


def open_balance(session: Session, case: CollectionCase) -> Decimal:
    return session.scalar(
        select(func.coalesce(func.sum(Receivable.outstanding), 0))
        .join(CaseReceivable)
        .where(CaseReceivable.case_id == case.id, Receivable.status == ReceivableStatus.OPEN)
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


def override_strategy(case: CollectionCase, strategy: Strategy | str, reason: str) -> None:
    """Art.23: a person may override the suggested strategy, with a reason."""
    if not (reason or "").strip():
        raise CaseError(gettext("overriding the suggested strategy needs a reason"))
    case.strategy_override, case.override_reason = Strategy(strategy), reason.strip()


def judge_promises(session: Session, case: CollectionCase, today: date) -> None:
    """A promise is kept when the customer's payments between the promise and its due date
    cover it; broken once the due date passes without them."""
    for promise in session.scalars(
        select(PaymentPromise).where(
            PaymentPromise.case_id == case.id, PaymentPromise.status == PromiseStatus.PENDING
        )
    ):
        paid = session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.customer_id == case.customer_id,
                Payment.kind == PaymentKind.PAYMENT,
                Payment.received_on >= promise.promised_on,
                Payment.received_on <= promise.due_on,
            )
        )
        if paid >= promise.amount:
            promise.status = PromiseStatus.KEPT
        elif today > promise.due_on:
            promise.status = PromiseStatus.BROKEN


def late_instalments(session: Session, case: CollectionCase, today: date) -> list:
    plans = session.scalars(select(RepaymentPlan).where(RepaymentPlan.case_id == case.id))
    return [
        i
        for plan in plans
        for i in plan.instalments
        if i.due_on < today and i.paid_amount < i.amount
    ]


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
