"""Litigation (诉讼) on a case: Art.10 (4) puts lawsuits through the legal department's
approval procedure (诉讼审批程序) before anything is filed in court.

proposed → approved (or rejected) by a legal specialist who did not propose it → filed, with
the court's case number. Each step claims the row (compare-and-set on ``status``), so of two
decisions at once one wins and the other gets ``StaleStateError``. Functions add to the
session; callers commit.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from sqlalchemy.orm import Session

from backoffice.models.base import SHANGHAI, utcnow
from backoffice.models.case import CollectionCase, Litigation, LitigationStatus
from backoffice.models.notification import TaskKind
from backoffice.models.user import RoleName
from backoffice.services import notify
from backoffice.services.case_core import OPEN, CaseError
from backoffice.services.transitions import claim

SUBJECT = "litigation"


def _link(lit: Litigation) -> str:
    return f"/admin/collection_case/file/{lit.case_id}#case-litigation"


def propose(
    session: Session, case: CollectionCase, user_id: int, court: str, claim_text: str, on: date
) -> Litigation:
    """Art.10 (4): a lawsuit starts as a proposal, with the court and what is claimed and why;
    each legal specialist gets the approval task."""
    if case.status not in OPEN:
        raise CaseError(gettext("a case that is %(now)s cannot change", now=case.status.label))
    court, claim_text = (court or "").strip(), (claim_text or "").strip()
    if not court or not claim_text:
        raise CaseError(gettext("a lawsuit needs the court and what is claimed"))
    lit = Litigation(
        case_id=case.id,
        court=court[:200],
        claim=claim_text,
        status=LitigationStatus.PROPOSED,
        proposed_by_id=user_id,
        proposed_on=on,
    )
    session.add(lit)
    session.flush()
    for uid in notify.users_with_role(session, RoleName.LEGAL):
        notify.open_task(
            session,
            kind=TaskKind.APPROVE_LITIGATION,
            title=f"诉讼审批：案件 {case.case_no}（{court}）",
            subject_type=SUBJECT,
            subject_id=lit.id,
            assignee_id=uid,
            link=_link(lit),
            company_id=case.company_id,
            sales_unit_id=case.sales_unit_id,
        )
    return lit


def decide(session: Session, lit: Litigation, user_id: int, approve: bool, note: str) -> None:
    """Art.10 (4): the legal department approves or rejects a proposed lawsuit. Not by the
    person who proposed it; a rejection says why. Closes the approval tasks and tells the
    proposer."""
    claim(session, lit, "status")
    if lit.status is not LitigationStatus.PROPOSED:
        raise CaseError(gettext("this lawsuit was already decided (%(now)s)", now=lit.status.label))
    if lit.proposed_by_id == user_id:
        raise CaseError(gettext("the person who proposed a lawsuit cannot approve it"))
    note = (note or "").strip()
    if not approve and not note:
        raise CaseError(gettext("say why the lawsuit is rejected"))
    lit.status = LitigationStatus.APPROVED if approve else LitigationStatus.REJECTED
    lit.decided_by_id, lit.decided_at, lit.decision_note = user_id, utcnow(), note or None
    notify.close_tasks(
        session, kind=TaskKind.APPROVE_LITIGATION, subject_type=SUBJECT, subject_id=lit.id
    )
    notify.notify(
        session,
        [lit.proposed_by_id],
        f"诉讼审批{'通过' if approve else '未通过'}：{lit.court}",
        note,
        link=_link(lit),
        dedup_key=f"litigation-decided:{lit.id}",
    )


def record_filed(session: Session, lit: Litigation, court_case_no: str, filed_on: date) -> None:
    """Art.10 (4): a lawsuit is recorded as filed only once the legal department approved it,
    with the court's case number, on or after the approval."""
    claim(session, lit, "status")
    if lit.status is not LitigationStatus.APPROVED:
        raise CaseError(
            gettext(
                "a lawsuit is recorded as filed only after the legal department approved it "
                "(Art.10 (4)); it is %(now)s",
                now=lit.status.label,
            )
        )
    number = (court_case_no or "").strip()
    if not number:
        raise CaseError(gettext("enter the court's case number"))
    if lit.decided_at is not None and filed_on < lit.decided_at.astimezone(SHANGHAI).date():
        raise CaseError(gettext("a lawsuit cannot be filed before it was approved"))
    lit.status, lit.court_case_no, lit.filed_on = LitigationStatus.FILED, number[:100], filed_on
