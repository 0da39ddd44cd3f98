"""Requests for information (调查取证, Art.19): the team may ask any unit or person for
information and evidence, and they must cooperate without delay.

- ``issue``: the team names a unit or a person (or a person of a unit), asks its question and
  sets a deadline in working days. The addressees get a task with that due date, so the daily
  deadline reminders (``jobs/reminders.py``) remind them the day before.
- ``answer``: an addressee answers in the system; an answer after the deadline is kept and
  marked late.
- ``escalate_late``: daily (``jobs/case_rules.py``), a request still unanswered after its
  deadline escalates once: the team leads, the issuer and the unit's VP are told.

Functions add to the session; callers commit.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.base import utcnow
from backoffice.models.case import CollectionCase
from backoffice.models.case_steps import InformationRequest, RequestStatus
from backoffice.models.notification import TaskKind
from backoffice.models.org import SalesUnit
from backoffice.models.user import RoleName, User
from backoffice.services import notify
from backoffice.services.calendar import WorkCalendar
from backoffice.services.case_core import CaseError
from backoffice.services.transitions import claim

SUBJECT = "information_request"
MAX_WORKDAYS = 30


def _link(req: InformationRequest) -> str:
    return f"/admin/information_request/answer/{req.id}"


def recipients(session: Session, req: InformationRequest) -> list[int]:
    """Who may answer: the named person; for a unit without a person, its collectors and VP."""
    if req.addressee_user_id is not None:
        return [req.addressee_user_id]
    unit = session.get(SalesUnit, req.addressee_unit_id)
    ids = notify.users_with_role(session, RoleName.COLLECTOR, unit.id)
    if unit.vp_id is not None:
        ids.append(unit.vp_id)
    return sorted(set(ids))


def may_answer(session: Session, req: InformationRequest, user: User) -> bool:
    return user.has_role(RoleName.ADMIN) or user.id in recipients(session, req)


def issue(
    session: Session,
    *,
    user_id: int,
    subject: str,
    question: str,
    workdays: int,
    on: date,
    case: CollectionCase | None = None,
    unit_id: int | None = None,
    addressee_user_id: int | None = None,
) -> InformationRequest:
    """Art.19: issue a request to a named unit or person, due ``workdays`` working days after
    ``on``; opens an answer task for each addressee."""
    subject, question = (subject or "").strip(), (question or "").strip()
    if not subject or not question:
        raise CaseError(gettext("a request for information needs a subject and a question"))
    if not 1 <= (workdays or 0) <= MAX_WORKDAYS:
        raise CaseError(gettext("the deadline is 1 to %(n)s working days", n=MAX_WORKDAYS))
    unit = session.get(SalesUnit, unit_id) if unit_id else None
    person = session.get(User, addressee_user_id) if addressee_user_id else None
    if unit is None and person is None:
        raise CaseError(gettext("name the unit or the person the request goes to"))
    if person is not None and not person.active:
        raise CaseError(gettext("%(name)s is not an active user", name=person.display_name))
    if unit is None and person is not None and person.sales_units:
        unit = person.sales_units[0]
    company_id = case.company_id if case else unit.company_id if unit else person.company_id
    if company_id is None:
        raise CaseError(gettext("name the unit the request concerns"))
    req = InformationRequest(
        case_id=case.id if case else None,
        company_id=company_id,
        sales_unit_id=unit.id if unit else (case.sales_unit_id if case else None),
        addressee_unit_id=unit.id if unit else None,
        addressee_user_id=person.id if person else None,
        subject=subject[:200],
        question=question,
        issued_by_id=user_id,
        issued_on=on,
        due_on=WorkCalendar(session).add_workdays(on, workdays),
        status=RequestStatus.OPEN,
    )
    session.add(req)
    session.flush()
    for uid in recipients(session, req):
        notify.open_task(
            session,
            kind=TaskKind.ANSWER_INFORMATION,
            title=f"清欠小组调查函：{req.subject}（{req.due_on} 前答复）",
            subject_type=SUBJECT,
            subject_id=req.id,
            assignee_id=uid,
            due_on=req.due_on,
            link=_link(req),
            company_id=req.company_id,
            sales_unit_id=req.sales_unit_id,
            cc=[user_id],
        )
    return req


def answer(session: Session, req: InformationRequest, user: User, text: str, today: date) -> None:
    """Art.19: an addressee answers in the system. Once; an answer after the deadline is
    marked late. Closes the answer tasks and tells the issuer."""
    claim(session, req, "status")
    if req.status is not RequestStatus.OPEN:
        raise CaseError(gettext("this request was already answered"))
    if not may_answer(session, req, user):
        raise CaseError(gettext("only the unit or person asked may answer"))
    text = (text or "").strip()
    if not text:
        raise CaseError(gettext("write the answer"))
    req.status, req.answer = RequestStatus.ANSWERED, text
    req.answered_by_id, req.answered_at = user.id, utcnow()
    req.answered_late = today > req.due_on
    notify.close_tasks(
        session, kind=TaskKind.ANSWER_INFORMATION, subject_type=SUBJECT, subject_id=req.id
    )
    notify.notify(
        session,
        [req.issued_by_id],
        f"调查函已答复：{req.subject}" + ("（逾期）" if req.answered_late else ""),
        text[:500],
        link=_link(req),
        dedup_key=f"information-answered:{req.id}",
    )


def escalate_late(session: Session, today: date) -> list[InformationRequest]:
    """Art.19 ("不得拖延"): each request unanswered after its deadline escalates once, to the
    team leads, the issuer, the addressed unit's VP and the addressees. Idempotent
    (``escalated_on`` and a dedup key). Returns the requests escalated now."""
    late = session.scalars(
        select(InformationRequest)
        .where(
            InformationRequest.status == RequestStatus.OPEN,
            InformationRequest.due_on < today,
            InformationRequest.escalated_on.is_(None),
        )
        .order_by(InformationRequest.due_on, InformationRequest.id)
    ).all()
    leads = notify.users_with_role(session, RoleName.TEAM_LEAD)
    for req in late:
        req.escalated_on = today
        vp = req.addressee_unit.vp_id if req.addressee_unit is not None else None
        notify.notify(
            session,
            [*leads, req.issued_by_id, vp, *recipients(session, req)],
            f"调查函逾期未答复：{req.subject}",
            f"致 {req.addressee}，应于 {req.due_on} 前答复，至今未答复（第十九条：不得拖延）。",
            link=_link(req),
            dedup_key=f"information-late:{req.id}",
        )
    session.flush()
    return list(late)
