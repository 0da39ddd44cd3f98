"""Repayment plans (还款计划, Art.23): instalments that add up to the plan, due after the
agreement, paid from real payments, and a broken promise when one is late.

- ``create_plan`` checks the plan before anything is stored: the instalments add up to the
  total, each falls due after the agreement date, in order.
- ``refresh_case`` derives each instalment's ``paid_amount`` from the payments allocated to
  the case's receivables since the agreement (``payments.allocated_to``); nobody types it.
- ``check_late`` (the daily job ``jobs/case_rules.py``) marks a plan whose instalment is late
  as a broken promise and tells the collectors and the team, once per instalment.

Functions add to the session; callers commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.case import (
    CaseReceivable,
    CollectionCase,
    Instalment,
    PromiseStatus,
    RepaymentPlan,
)
from backoffice.models.user import RoleName
from backoffice.services import notify
from backoffice.services.case_core import OPEN, CaseError
from backoffice.services.formatting import format_money
from backoffice.services.payments import allocated_to
from backoffice.services.transitions import claim

ZERO = Decimal("0.00")


def create_plan(
    session: Session,
    case: CollectionCase,
    agreed_on: date,
    total: Decimal,
    instalments: Iterable[tuple[date, Decimal]],
    note: str | None,
    today: date,
) -> RepaymentPlan:
    """Art.23: record a repayment agreement. Refused (``CaseError``) unless the case is open,
    the agreement is not in the future, the total is positive, every instalment is positive
    and due after the agreement, in date order, and the instalments add up to the total."""
    rows = list(instalments)
    if case.status not in OPEN:
        raise CaseError(gettext("a case that is %(now)s cannot change", now=case.status.label))
    if agreed_on > today:
        raise CaseError(gettext("the agreement date cannot be in the future"))
    if total is None or total <= 0:
        raise CaseError(gettext("a plan needs a total above zero"))
    if not rows:
        raise CaseError(gettext("a plan needs at least one instalment"))
    previous = agreed_on
    for n, (due_on, amount) in enumerate(rows, start=1):
        if amount is None or amount <= 0:
            raise CaseError(gettext("instalment %(n)s needs an amount above zero", n=n))
        if due_on <= agreed_on:
            raise CaseError(gettext("instalment %(n)s must fall due after the agreement date", n=n))
        if due_on < previous:
            raise CaseError(gettext("instalments must be in order of their due dates"))
        previous = due_on
    added = sum((amount for _, amount in rows), ZERO)
    if added != total:
        raise CaseError(
            gettext(
                "the instalments add up to %(sum)s, not the plan's %(total)s",
                sum=format_money(added),
                total=format_money(total),
            )
        )
    plan = RepaymentPlan(
        case_id=case.id, agreed_on=agreed_on, total=total, note=(note or "").strip() or None
    )
    plan.instalments = [
        Instalment(seq=n, due_on=due_on, amount=amount, paid_amount=ZERO)
        for n, (due_on, amount) in enumerate(rows, start=1)
    ]
    session.add(plan)
    session.flush()
    refresh_case(session, case)
    return plan


def _plans(session: Session, case_id: int) -> list[RepaymentPlan]:
    return list(
        session.scalars(
            select(RepaymentPlan)
            .where(RepaymentPlan.case_id == case_id)
            .order_by(RepaymentPlan.agreed_on, RepaymentPlan.id)
        )
    )


def refresh_case(session: Session, case: CollectionCase) -> list[RepaymentPlan]:
    """Each instalment's paid amount, from the payments allocated to the case's receivables
    since the earliest agreement, applied to the instalments in order (earliest plan first).
    A plan whose instalments are all paid is kept. Idempotent."""
    plans = _plans(session, case.id)
    if not plans:
        return plans
    receivable_ids = session.scalars(
        select(CaseReceivable.receivable_id).where(CaseReceivable.case_id == case.id)
    ).all()
    pool = allocated_to(session, receivable_ids, since=plans[0].agreed_on)
    for plan in plans:
        for inst in plan.instalments:
            paid = min(pool, inst.amount)
            if inst.paid_amount != paid:
                inst.paid_amount = paid
            pool -= paid
        if plan.status is PromiseStatus.PENDING and all(
            i.paid_amount >= i.amount for i in plan.instalments
        ):
            plan.status = PromiseStatus.KEPT
    return plans


def late_instalments(session: Session, case: CollectionCase, today: date) -> list[Instalment]:
    """Instalments past their due date and not fully paid."""
    return [
        i
        for plan in _plans(session, case.id)
        for i in plan.instalments
        if i.due_on < today and i.paid_amount < i.amount
    ]


def check_late(session: Session, today: date) -> list[Instalment]:
    """Daily: refresh the plans of open cases; a late instalment marks its plan's promise
    broken and tells the unit's collectors, the case lead and the team leads, once (the
    instalment's ``late_notified_on`` and a dedup key). Returns the instalments newly late."""
    newly: list[Instalment] = []
    cases = session.scalars(
        select(CollectionCase)
        .where(CollectionCase.status.in_(OPEN))
        .where(CollectionCase.id.in_(select(RepaymentPlan.case_id)))
        .order_by(CollectionCase.id)
    ).all()
    leads = notify.users_with_role(session, RoleName.TEAM_LEAD)
    for case in cases:
        refresh_case(session, case)
        for inst in late_instalments(session, case, today):
            if inst.late_notified_on is not None:
                continue
            plan = inst.plan
            claim(session, plan, "status")
            inst.late_notified_on = today
            if plan.status is not PromiseStatus.BROKEN:
                plan.status, plan.broken_on = PromiseStatus.BROKEN, today
            people = notify.users_with_role(session, RoleName.COLLECTOR, case.sales_unit_id)
            notify.notify(
                session,
                [*people, case.lead_id, *leads],
                f"还款计划逾期：案件 {case.case_no} 第 {inst.seq} 期",
                f"客户 {case.customer.name} 第 {inst.seq} 期应于 {inst.due_on} 还款 "
                f"{format_money(inst.amount)}，已还 {format_money(inst.paid_amount)}；"
                "还款承诺已记为违约。",
                link=f"/admin/collection_case/file/{case.id}",
                dedup_key=f"instalment-late:{inst.id}",
            )
            newly.append(inst)
    session.flush()
    return newly
