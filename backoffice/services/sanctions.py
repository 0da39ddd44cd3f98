"""The measures of Art.20 against a person responsible: recommended, decided, lifted.

Art.20: the collection team may suspend wage payments, set a deadline to make good (限期补齐),
and recommend demotion, a pay cut, a notice of criticism or suspension from post. Each measure
is recommended by the team on a finding and decided by the leadership (approved or rejected,
with the decision date); a decided measure can be lifted with a reason. A decided deadline to
make good opens a task for the person with the deadline as its due date, so the daily reminder
run (``jobs.reminders``) reminds them before and after it; lifting closes it.

``AccountabilityError`` carries the message; state changes are compare-and-set; callers commit.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy.orm import Session

from backoffice.models.base import utcnow
from backoffice.models.notification import TaskKind
from backoffice.models.user import RoleName, User
from backoffice.models.writeoff import (
    AccountabilityFinding,
    Sanction,
    SanctionKind,
    SanctionStatus,
)
from backoffice.services import notify
from backoffice.services.accountability import AccountabilityError, is_team_member, link
from backoffice.services.transitions import claim

SUBJECT = "sanction"
#: Art.20: the measures the team imposes or recommends (holds and bonus flags are Art.26's).
ART20_KINDS = (
    SanctionKind.SALARY_HOLD,
    SanctionKind.MAKE_GOOD,
    SanctionKind.DEMOTION,
    SanctionKind.PAY_CUT,
    SanctionKind.NOTICE,
    SanctionKind.SUSPENSION,
)


def recommend(
    session: Session,
    finding: AccountabilityFinding,
    by: User,
    *,
    user_id: int | None,
    kind: SanctionKind | str | None,
    note: str | None,
    due_on: date | None = None,
    amount: Decimal | None = None,
    today: date,
) -> Sanction:
    """Art.20: a team member recommends a measure against a person, with the reason; a
    deadline to make good needs its date (after today). The leadership is asked to decide."""
    if not is_team_member(by):
        raise AccountabilityError(gettext("Only the collection team recommends a measure."))
    try:
        kind = SanctionKind(kind or "")
    except ValueError as exc:
        raise AccountabilityError(gettext("Choose the measure.")) from exc
    if kind not in ART20_KINDS:
        raise AccountabilityError(gettext("Choose the measure."))
    person = session.get(User, user_id) if user_id else None
    if person is None:
        raise AccountabilityError(gettext("Choose the person the measure applies to."))
    note = (note or "").strip()
    if not note:
        raise AccountabilityError(gettext("State the reason for the measure."))
    if kind is SanctionKind.MAKE_GOOD:
        if due_on is None or due_on <= today:
            raise AccountabilityError(gettext("A deadline to make good needs a date after today."))
        if amount is not None and amount <= 0:
            raise AccountabilityError(gettext("Enter a valid amount."))
    else:
        due_on, amount = None, None
    sanction = Sanction(
        finding_id=finding.id,
        user_id=person.id,
        kind=kind,
        status=SanctionStatus.RECOMMENDED,
        recommended_by_id=by.id,
        recommended_at=utcnow(),
        due_on=due_on,
        amount=amount,
        note=note,
    )
    session.add(sanction)
    session.flush()
    for uid in notify.users_with_role(session, RoleName.LEADER):
        notify.open_task(
            session,
            kind=TaskKind.DECIDE_SANCTION,
            title=f"{sanction} 待领导小组决定（第二十条）",
            subject_type=SUBJECT,
            subject_id=sanction.id,
            assignee_id=uid,
            link=link(finding),
            company_id=finding.company_id,
            sales_unit_id=finding.sales_unit_id,
        )
    return sanction


def decide(
    session: Session,
    sanction: Sanction,
    by: User,
    *,
    approve: bool,
    comment: str | None,
    on: date,
) -> None:
    """Art.20: the leadership decides a recommended measure, with the decision date. Refused
    for anyone outside the leadership, for the person it applies to, and for a measure already
    decided (compare-and-set: of two decisions at once, one wins)."""
    claim(session, sanction, "status")
    if not by.has_role(RoleName.LEADER):
        raise AccountabilityError(gettext("Only the leadership decides a measure."))
    if sanction.status is not SanctionStatus.RECOMMENDED:
        raise AccountabilityError(gettext("This measure is already decided."))
    if by.id == sanction.user_id:
        raise AccountabilityError(gettext("Nobody decides a measure against themselves."))
    comment = (comment or "").strip()
    if not approve and not comment:
        raise AccountabilityError(gettext("State why the measure is rejected."))
    sanction.status = SanctionStatus.DECIDED if approve else SanctionStatus.REJECTED
    sanction.decided_on, sanction.decided_by_id = on, by.id
    sanction.decision_comment = comment or None
    notify.close_tasks(
        session, kind=TaskKind.DECIDE_SANCTION, subject_type=SUBJECT, subject_id=sanction.id
    )
    finding = sanction.finding
    if approve:
        notify.notify(
            session,
            [sanction.user_id],
            f"管理措施：{sanction.kind.label}",
            sanction.note or "",
            link(finding) if finding is not None else None,
            dedup_key=f"sanction:{sanction.id}:decided",
        )
    if approve and sanction.kind is SanctionKind.MAKE_GOOD:
        # Art.20 限期补齐: the deadline is tracked as the person's task and reminded daily.
        notify.open_task(
            session,
            kind=TaskKind.MAKE_GOOD,
            title=f"限期补齐（截止 {sanction.due_on}）",
            subject_type=SUBJECT,
            subject_id=sanction.id,
            assignee_id=sanction.user_id,
            due_on=sanction.due_on,
            cc=notify.users_with_role(session, RoleName.TEAM_LEAD),
            link=link(finding) if finding is not None else None,
            company_id=finding.company_id if finding is not None else None,
            sales_unit_id=finding.sales_unit_id if finding is not None else None,
        )


def lift(session: Session, sanction: Sanction, by: User, reason: str | None) -> None:
    """Art.20: the leadership lifts a decided measure, with a reason; a deadline to make good
    stops being reminded. Compare-and-set; refused without a reason or when not in force."""
    claim(session, sanction, "status")
    if not by.has_role(RoleName.LEADER):
        raise AccountabilityError(gettext("Only the leadership lifts a measure."))
    if sanction.status is not SanctionStatus.DECIDED:
        raise AccountabilityError(gettext("Only a measure in force can be lifted."))
    reason = (reason or "").strip()
    if not reason:
        raise AccountabilityError(gettext("State why the measure is lifted."))
    sanction.status = SanctionStatus.LIFTED
    sanction.lifted_at, sanction.lifted_by_id, sanction.lift_reason = utcnow(), by.id, reason
    notify.close_tasks(
        session, kind=TaskKind.MAKE_GOOD, subject_type=SUBJECT, subject_id=sanction.id
    )
    notify.notify(
        session,
        [sanction.user_id],
        f"管理措施已解除：{sanction.kind.label}",
        reason,
        dedup_key=f"sanction:{sanction.id}:lifted",
    )
