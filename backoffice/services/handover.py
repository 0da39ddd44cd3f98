"""Art.7: a leaver's receivables, cases and tasks pass to a successor in one audited action.

第七条: the sales unit and the salesperson handling a debt are responsible for collecting it;
when the salesperson leaves, the salesperson taking over is; with nobody taking over, the
division VP, the general manager or the president designates someone.

``hand_over`` moves, in one transaction: the open receivables the leaver collects or follows
up, the open cases they lead or work on, and their open tasks; the successor joins the
leaver's sales units so they see what they took over. It writes one ``HandOver`` row (and the
flush audits every moved row). ``deactivation_blockers`` lists what keeps a user from being
deactivated: open items not handed over and holds in force (Art.26(1), (4)); every door that
deactivates a user asks it.
"""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditAction
from backoffice.models.base import utcnow
from backoffice.models.case import CaseMember, CaseStatus, CollectionCase
from backoffice.models.notification import Task
from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.models.user import HandOver, LeaderTitle, RoleName, User
from backoffice.services import audit, holds, notify
from backoffice.services.transitions import claim

CLOSED_CASE = (CaseStatus.CLOSED, CaseStatus.REFUSED)
#: Art.7: who designates a successor when nobody takes over.
DESIGNATING_TITLES = (LeaderTitle.DIVISION_VP, LeaderTitle.GENERAL_MANAGER, LeaderTitle.PRESIDENT)


class HandOverError(ValueError):
    """A refused hand-over or deactivation; the message is for the user."""


def _receivables(user_id: int):
    return select(Receivable).where(
        Receivable.status == ReceivableStatus.OPEN,
        or_(Receivable.collector_id == user_id, Receivable.follow_up_clerk_id == user_id),
    )


def _cases(user_id: int):
    member = select(CaseMember.case_id).where(CaseMember.user_id == user_id)
    return select(CollectionCase).where(
        CollectionCase.status.not_in(CLOSED_CASE),
        or_(CollectionCase.lead_id == user_id, CollectionCase.id.in_(member)),
    )


def _tasks(user_id: int):
    return select(Task).where(Task.assignee_id == user_id, Task.done_at.is_(None))


def open_items(session: Session, user_id: int) -> dict[str, int]:
    """How many open receivables, cases and tasks ``user_id`` still holds (read only)."""

    def count(query) -> int:
        return session.scalar(select(func.count()).select_from(query.subquery())) or 0

    return {
        "receivables": count(_receivables(user_id)),
        "cases": count(_cases(user_id)),
        "tasks": count(_tasks(user_id)),
    }


def deactivation_blockers(session: Session, user: User) -> list[str]:
    """Art.7, 26: why ``user`` cannot be deactivated yet (empty: they can)."""
    reasons = []
    items = open_items(session, user.id)
    if any(items.values()):
        reasons.append(
            gettext(
                "%(name)s still holds %(r)d open receivables, %(c)d open cases and %(t)d open "
                "tasks: hand them over to a successor first (Art.7).",
                name=str(user),
                r=items["receivables"],
                c=items["cases"],
                t=items["tasks"],
            )
        )
    for hold in holds.active_holds(session, user.id):
        reasons.append(
            gettext(
                "%(name)s is under a hold until the loss is recovered: %(hold)s (Art.26).",
                name=str(user),
                hold=str(hold.kind.label),
            )
        )
    return reasons


def may_designate(by: User, leaver: User) -> bool:
    """Art.7: the division VP of one of the leaver's units, the general manager or the
    president (or an administrator acting for them) designates a successor."""
    if by.has_role(RoleName.ADMIN):
        return True
    if not by.has_role(RoleName.LEADER) or by.leader_title not in DESIGNATING_TITLES:
        return False
    if by.leader_title is LeaderTitle.DIVISION_VP:
        return any(unit.vp_id == by.id for unit in leaver.sales_units)
    return True


def hand_over(
    session: Session,
    leaver: User,
    successor: User | None,
    by: User,
    *,
    designated: bool,
    note: str | None = None,
) -> HandOver:
    """Art.7: move the leaver's open receivables, cases and tasks to ``successor`` at once.

    ``designated``: nobody takes over, so the successor is designated by a VP of the leaver's
    unit, the general manager or the president (``may_designate``). Compare-and-set on the
    leaver: of two hand-overs at once one wins, the other finds nothing left and is refused.
    Adds the ``HandOver`` row, notifies the successor; the caller commits.
    """
    claim(session, leaver, "active")
    if successor is None:
        raise HandOverError(gettext("Choose the successor."))
    if successor.id == leaver.id or not successor.active:
        raise HandOverError(gettext("The successor must be another active user."))
    if designated and not may_designate(by, leaver):
        raise HandOverError(
            gettext(
                "With no successor taking over, the division VP, the general manager or the "
                "president designates one (Art.7)."
            )
        )
    moved = {"receivables": 0, "cases": 0, "tasks": 0}
    for receivable in session.scalars(_receivables(leaver.id)):
        if receivable.collector_id == leaver.id:
            receivable.collector_id = successor.id
        if receivable.follow_up_clerk_id == leaver.id:
            receivable.follow_up_clerk_id = successor.id
        moved["receivables"] += 1
    for case in session.scalars(_cases(leaver.id)):
        if case.lead_id == leaver.id:
            case.lead_id = successor.id
        members = {m.user_id: m for m in case.members}
        if leaver.id in members:
            if successor.id in members:
                session.delete(members[leaver.id])
            else:
                members[leaver.id].user_id = successor.id
        moved["cases"] += 1
    for task in session.scalars(_tasks(leaver.id)):
        twin = session.scalar(
            select(Task.id).where(
                Task.kind == task.kind,
                Task.subject_type == task.subject_type,
                Task.subject_id == task.subject_id,
                Task.assignee_id == successor.id,
            )
        )
        if twin is None:
            task.assignee_id = successor.id
        else:  # the successor already has this task: the leaver's copy is not needed
            task.done_at = utcnow()
        moved["tasks"] += 1
    if not any(moved.values()):
        raise HandOverError(gettext("%(name)s has nothing open to hand over.", name=str(leaver)))
    for unit in leaver.sales_units:
        if unit not in successor.sales_units:
            successor.sales_units.append(unit)
    record = HandOver(
        leaver_id=leaver.id,
        successor_id=successor.id,
        by_id=by.id,
        designated=designated,
        note=(note or "").strip() or None,
        **moved,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        AuditAction.UPDATE,
        entity="hand_over",
        entity_id=record.id,
        after={"leaver": leaver.id, "successor": successor.id, **moved},
        detail=f"第七条 交接：{leaver} → {successor}",
    )
    notify.notify(
        session,
        [successor.id],
        f"交接：您已接管 {leaver} 的应收账款、案件与待办",
        f"应收账款 {moved['receivables']} 笔，案件 {moved['cases']} 件，待办 {moved['tasks']} 项。",
        dedup_key=f"hand-over:{record.id}",
    )
    return record


def deactivate(session: Session, user: User, by: User) -> None:
    """Deactivate ``user`` unless something blocks it (``deactivation_blockers``)."""
    claim(session, user, "active")
    reasons = deactivation_blockers(session, user)
    if reasons:
        raise HandOverError(" ".join(reasons))
    user.active = False
    user.session_version = (user.session_version or 1) + 1
