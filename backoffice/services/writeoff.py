"""Bad-debt write-off (呆账核销, Art.18): the application (Annex 3), its materials (Annex 6),
the approval chain team review → division VP → CFO → president, filing by the president's
office and finance, the recourse ledger (备查簿) and the accountability follow-up (Art.24–26).

Every rule is enforced here, on the server; ``WriteOffError`` carries a message for the user.
Functions add to the session; callers commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from backoffice.models.base import to_money, utcnow
from backoffice.models.evidence import DocumentType, EvidenceDocument
from backoffice.models.notification import TaskKind
from backoffice.models.org import SalesUnit
from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.models.user import LeaderTitle, RoleName, User
from backoffice.models.writeoff import (
    ApprovalDecision,
    ApprovalStep,
    Decision,
    MaterialRequirement,
    WriteOffApplication,
    WriteOffGround,
    WriteOffItem,
    WriteOffStatus,
)
from backoffice.services import notify
from backoffice.services.numbering import next_number
from backoffice.services.transitions import claim

#: Art.18: the chain, in order; no step may be skipped.
CHAIN = (
    ApprovalStep.TEAM_REVIEW,
    ApprovalStep.DIVISION_VP,
    ApprovalStep.CFO,
    ApprovalStep.PRESIDENT,
)
EDITABLE = (WriteOffStatus.DRAFT, WriteOffStatus.RETURNED)


class WriteOffError(ValueError):
    """A write-off operation the rules refuse; the message says why.

    Messages are translated when raised (``gettext``): the user's language inside a request,
    ``BABEL_DEFAULT_LOCALE`` (Chinese) in CLI commands and jobs.
    """


def _app_no(session: Session, on: date) -> str:
    return next_number(session, WriteOffApplication.app_no, "HX", on.year)


def create(
    session: Session,
    *,
    applicant: User,
    customer_id: int,
    ground: WriteOffGround | str,
    items: Iterable[tuple[int, Decimal | str]],
    facts: str,
    case_id: int | None = None,
    on: date | None = None,
) -> WriteOffApplication:
    """Draft an application for amounts of the customer's open receivables (Art.18)."""
    on = on or date.today()
    if not (facts or "").strip():
        raise WriteOffError(gettext("state the facts and the responsibility (Art.18)"))
    lines = [(rid, to_money(amount)) for rid, amount in items]
    if not lines:
        raise WriteOffError(gettext("choose the receivables to write off"))
    receivables = {
        r.id: r
        for r in session.scalars(
            select(Receivable).where(Receivable.id.in_([rid for rid, _ in lines]))
        )
    }
    for rid, amount in lines:
        r = receivables.get(rid)
        if r is None or r.customer_id != customer_id:
            raise WriteOffError(gettext("a receivable does not belong to this customer"))
        if r.status is not ReceivableStatus.OPEN or amount <= 0 or amount > r.outstanding:
            raise WriteOffError(
                gettext(
                    "%(doc)s: the amount must be between 0 and the outstanding %(max)s",
                    doc=r.doc_no,
                    max=r.outstanding,
                )
            )
    first = next(iter(receivables.values()))
    app = WriteOffApplication(
        app_no=_app_no(session, on),
        customer_id=customer_id,
        case_id=case_id,
        applicant_id=applicant.id,
        ground=WriteOffGround(ground),
        facts=facts.strip(),
        amount=sum((a for _, a in lines), Decimal(0)),
        status=WriteOffStatus.DRAFT,
        company_id=first.company_id,
        sales_unit_id=first.sales_unit_id,
    )
    app.items = [WriteOffItem(receivable_id=rid, amount=amount) for rid, amount in lines]
    session.add(app)
    return app


def required_materials(session: Session, ground: WriteOffGround) -> list[str]:
    """Annex 6: the document types the ground requires (admin-editable)."""
    return list(
        session.scalars(
            select(MaterialRequirement.doc_type)
            .where(MaterialRequirement.ground == ground, MaterialRequirement.required.is_(True))
            .order_by(MaterialRequirement.id)
        )
    )


def _doc_type_label(code: str) -> str:
    """The (translated) label of a document type code; unknown codes as they are."""
    try:
        return str(DocumentType(code).label)
    except ValueError:
        return code


def missing_materials(session: Session, app: WriteOffApplication) -> list[str]:
    """Required document types with no live document on the application (or its case)."""
    where = EvidenceDocument.writeoff_id == app.id
    if app.case_id:
        where = where | (EvidenceDocument.case_id == app.case_id)
    have = {
        d.value if hasattr(d, "value") else d
        for d in session.scalars(
            select(EvidenceDocument.doc_type).where(where, EvidenceDocument.deleted_at.is_(None))
        )
    }
    return [t for t in required_materials(session, app.ground) if t not in have]


def give_finance_opinion(app: WriteOffApplication, user: User, opinion: str) -> None:
    """Art.18: with materials missing, finance's opinion is needed before it goes on."""
    session = object_session(app)
    if session is not None:
        claim(session, app, "status")
    if not user.has_role(RoleName.FINANCE):
        raise WriteOffError(gettext("only finance gives finance's opinion"))
    if not (opinion or "").strip():
        raise WriteOffError(gettext("write the opinion"))
    app.finance_opinion, app.finance_opinion_by_id = opinion.strip(), user.id


def submit(session: Session, app: WriteOffApplication, user: User, today: date) -> None:
    """The applicant sends the draft (or the amended returned one) into the chain."""
    claim(session, app, "status", "round")
    if app.status not in EDITABLE:
        raise WriteOffError(gettext("only a draft or a returned application can be submitted"))
    if user.id != app.applicant_id:
        raise WriteOffError(gettext("only the applicant submits the application"))
    missing = missing_materials(session, app)
    if missing:
        # Art.18: a fact-of-bad-debt may go on with materials missing, if it says why, commits
        # to a date for the rest and finance has given its opinion.
        if not (app.materials_missing_reason or "").strip():
            raise WriteOffError(
                gettext(
                    "materials are missing: say why (%(missing)s)",
                    missing=", ".join(_doc_type_label(t) for t in missing),
                )
            )
        if app.materials_due_on is None or app.materials_due_on <= today:
            raise WriteOffError(gettext("commit to a future date for the missing materials"))
        if not app.finance_opinion:
            raise WriteOffError(gettext("materials are missing: finance's opinion is needed first"))
        notify.open_task(
            session,
            kind=TaskKind.COMPLETE_MATERIALS,
            title=f"{app.app_no} 补齐核销材料（承诺 {app.materials_due_on}）",
            subject_type="writeoff_application",
            subject_id=app.id,
            assignee_id=app.applicant_id,
            due_on=app.materials_due_on,
            company_id=app.company_id,
            sales_unit_id=app.sales_unit_id,
        )
    if app.status is WriteOffStatus.RETURNED:
        app.round += 1
    app.status, app.current_step = WriteOffStatus.IN_APPROVAL, CHAIN[0]
    _ask_next_approver(session, app)


def may_approve(
    session: Session, app: WriteOffApplication, user: User, step: ApprovalStep | None = None
) -> bool:
    """Whether ``user`` may decide ``step`` of ``app``: the role of the step, within the
    scope they lead, and never their own application."""
    step = step or app.current_step
    if step is None or user.id == app.applicant_id or not user.is_active:
        return False
    if user.company_id is not None and user.company_id != app.company_id:
        return False
    if step is ApprovalStep.TEAM_REVIEW:
        return user.has_role(RoleName.TEAM_LEAD)
    if not user.has_role(RoleName.LEADER):
        return False
    if step is ApprovalStep.DIVISION_VP:
        unit = session.get(SalesUnit, app.sales_unit_id)
        return (
            user.leader_title is LeaderTitle.DIVISION_VP
            and unit is not None
            and unit.vp_id == user.id
        )
    if step is ApprovalStep.CFO:
        return user.leader_title is LeaderTitle.CFO
    return user.leader_title is LeaderTitle.PRESIDENT


def approvers(session: Session, app: WriteOffApplication) -> list[int]:
    users = session.scalars(select(User).where(User.active.is_(True)))
    return [u.id for u in users if may_approve(session, app, u)]


def _ask_next_approver(session: Session, app: WriteOffApplication) -> None:
    ids = approvers(session, app)
    title = f"呆账核销申请 {app.app_no} 待审批：{app.current_step.label}"
    link = f"/admin/writeoff_application/details/?id={app.id}"
    for uid in ids:
        notify.open_task(
            session,
            kind=TaskKind.APPROVE_WRITEOFF,
            title=str(title),
            subject_type=f"writeoff:{app.round}:{app.current_step.value}",
            subject_id=app.id,
            assignee_id=uid,
            link=link,
            company_id=app.company_id,
            sales_unit_id=app.sales_unit_id,
        )
    notify.notify(
        session,
        ids,
        str(title),
        link=link,
        dedup_key=f"writeoff:{app.id}:{app.round}:{app.current_step.value}",
    )


def decide(
    session: Session,
    app: WriteOffApplication,
    user: User,
    step: ApprovalStep | str,
    decision: Decision | str,
    comment: str,
) -> ApprovalDecision:
    """One step approves or rejects, with a comment (Art.18). ``step`` is the step the user
    believes they are deciding: a mismatch (a skipped or already-decided step) is refused.
    Compare-and-set: of two decisions at once, the second gets ``StaleStateError``."""
    claim(session, app, "status", "current_step", "round")
    step, decision = ApprovalStep(step), Decision(decision)
    if app.status is not WriteOffStatus.IN_APPROVAL:
        raise WriteOffError(gettext("this application is not awaiting approval"))
    if step is not app.current_step:
        raise WriteOffError(
            gettext(
                "this application is at step “%(step)s”; no step can be skipped or decided twice",
                step=app.current_step.label,
            )
        )
    if user.id == app.applicant_id:
        raise WriteOffError(gettext("nobody approves their own application"))
    already = session.scalar(
        select(ApprovalDecision.id).where(
            ApprovalDecision.application_id == app.id,
            ApprovalDecision.round == app.round,
            ApprovalDecision.user_id == user.id,
        )
    )
    if already:
        raise WriteOffError(gettext("you have already decided a step of this application"))
    if not may_approve(session, app, user, step):
        raise WriteOffError(gettext("you may not decide this step of this application"))
    if not (comment or "").strip():
        raise WriteOffError(gettext("a decision needs a comment"))
    row = ApprovalDecision(
        application_id=app.id,
        round=app.round,
        step=step,
        decision=decision,
        comment=comment.strip(),
        user_id=user.id,
        decided_at=utcnow(),
    )
    session.add(row)
    notify.close_tasks(
        session,
        kind=TaskKind.APPROVE_WRITEOFF,
        subject_type=f"writeoff:{app.round}:{step.value}",
        subject_id=app.id,
    )
    if decision is Decision.REJECTED:
        # A rejection returns the application to the applicant, who may amend and resubmit.
        app.status, app.current_step = WriteOffStatus.RETURNED, None
        notify.notify(
            session,
            [app.applicant_id],
            f"呆账核销申请 {app.app_no} 被退回",
            comment.strip(),
            dedup_key=f"writeoff-returned:{app.id}:{app.round}",
        )
        return row
    index = CHAIN.index(step)
    if index + 1 < len(CHAIN):
        app.current_step = CHAIN[index + 1]
        _ask_next_approver(session, app)
    else:
        app.status, app.current_step = WriteOffStatus.APPROVED, None
        filers = [
            *notify.users_with_role(session, RoleName.CREDIT),
            *notify.users_with_role(session, RoleName.FINANCE),
        ]
        notify.notify(
            session,
            filers,
            f"呆账核销申请 {app.app_no} 已批准，请归档备案",
            dedup_key=f"writeoff-approved:{app.id}",
        )
    return row


# Art.18 filing and the recourse ledger: in ``writeoff_filing``, importable from here as ever.
from backoffice.services.writeoff_filing import file, record_recovery  # noqa: E402, F401
