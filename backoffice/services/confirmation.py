"""The confirmation round-trip (Art.13–15): sales answer each overdue line, submit; finance
returns or routes; routed lines become tasks for the responsible people, with copies.

All functions enforce the rules on the server (the UI only mirrors them) and raise
``ConfirmationError`` with a message fit for the user. They add to the session; callers commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.base import utcnow
from backoffice.models.monthly import (
    ConfirmationForm,
    ConfirmationLine,
    FormStatus,
    OverdueReason,
    ReasonClass,
    Route,
    RouteHint,
)
from backoffice.models.notification import TaskKind
from backoffice.models.org import SalesUnit
from backoffice.models.user import RoleName
from backoffice.services import notify
from backoffice.services.amounts import read_amount
from backoffice.services.calendar import WorkCalendar
from backoffice.services.monthly import ROUTING_WORKDAYS, parse_period
from backoffice.services.transitions import claim

ANSWERABLE = (FormStatus.ISSUED, FormStatus.RETURNED)


class ConfirmationError(ValueError):
    """A request the confirmation rules refuse; the message says why.

    Messages are translated when raised (``gettext``): the user's language inside a request,
    ``BABEL_DEFAULT_LOCALE`` (Chinese) in CLI commands and jobs.
    """


@dataclass
class Answer:
    reason_class: ReasonClass
    sub_reason_id: int
    estimated_recoverable: Decimal
    expected_date: date
    comment: str | None = None


def parse_answer(data: dict[str, Any]) -> Answer:
    """Turn submitted form values into an ``Answer``, or raise with what is wrong."""
    try:
        reason_class = ReasonClass(data.get("reason_class") or "")
    except ValueError as exc:
        raise ConfirmationError(
            gettext("choose a reason class: internal, external or both")
        ) from exc
    try:
        sub_reason_id = int(data.get("sub_reason_id") or "")
    except ValueError as exc:
        raise ConfirmationError(gettext("choose a specific reason")) from exc
    raw = str(data.get("estimated_recoverable") or "").strip()
    try:  # the import's amount grammar: "1,2,3" or "1E30" is refused, not read as a number
        estimated = read_amount(raw, allow_zero=True)
    except ValueError as exc:
        raise ConfirmationError(
            gettext("estimated recoverable amount: %(reason)s", reason=str(exc))
        ) from exc
    if estimated is None:
        raise ConfirmationError(
            gettext("estimated recoverable amount is not a number: %(raw)s", raw=repr(raw))
        )
    try:
        expected = date.fromisoformat(str(data.get("expected_date") or ""))
    except ValueError as exc:
        raise ConfirmationError(
            gettext("expected collection date must be a date (YYYY-MM-DD)")
        ) from exc
    return Answer(
        reason_class,
        sub_reason_id,
        estimated,
        expected,
        (data.get("comment") or "").strip() or None,
    )


def answer_line(session: Session, line: ConfirmationLine, answer: Answer) -> None:
    """Art.13–14: record the unit's answer for one overdue line (compare-and-set on the
    form's status: an answer racing finance's routing or return loses with a 409)."""
    form = line.form
    claim(session, form, "status")
    if form.status not in ANSWERABLE:
        raise ConfirmationError(
            gettext("this form is submitted; finance must return it before changes")
        )
    reason = session.get(OverdueReason, answer.sub_reason_id)
    if reason is None or not reason.active:
        raise ConfirmationError(gettext("unknown specific reason"))
    if (
        answer.reason_class is not ReasonClass.BOTH
        and reason.reason_class is not answer.reason_class
    ):
        raise ConfirmationError(
            gettext(
                "“%(reason)s” is not a reason of class %(cls)s",
                reason=reason.label,
                cls=answer.reason_class.label,
            )
        )
    if answer.estimated_recoverable < 0 or answer.estimated_recoverable > line.outstanding_at_close:
        raise ConfirmationError(
            gettext(
                "estimated recoverable amount must be between 0 and the outstanding %(max)s",
                max=line.outstanding_at_close,
            )
        )
    if answer.expected_date < form.issued_on:
        raise ConfirmationError(
            gettext("expected collection date cannot be before the form was issued")
        )
    line.reason_class = answer.reason_class
    line.sub_reason_id = reason.id
    line.estimated_recoverable = answer.estimated_recoverable
    line.expected_date = answer.expected_date
    line.comment = answer.comment
    line.proposed_route = propose_route(answer.reason_class, reason.route_hint)


def previous_period(period: str) -> str:
    year, month = parse_period(period)
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def previous_answers(session: Session, form: ConfirmationForm) -> dict[int, ConfirmationLine]:
    """Art.13: last month's answers for the same documents, keyed by receivable id."""
    rows = session.scalars(
        select(ConfirmationLine)
        .join(ConfirmationForm)
        .where(
            ConfirmationForm.period == previous_period(form.period),
            ConfirmationForm.sales_unit_id == form.sales_unit_id,
            ConfirmationLine.reason_class.is_not(None),
        )
    )
    return {line.receivable_id: line for line in rows}


def changed_fields(line: ConfirmationLine, before: ConfirmationLine | None) -> set[str]:
    """Which answer fields differ from last month's (shown highlighted)."""
    if before is None:
        return set()
    fields = ("reason_class", "sub_reason_id", "estimated_recoverable", "expected_date")
    return {f for f in fields if getattr(line, f) != getattr(before, f)}


def submit(session: Session, form: ConfirmationForm, user_id: int, today: date) -> None:
    """The unit submits: every line answered; finance must route within 3 working days."""
    claim(session, form, "status")
    if form.status not in ANSWERABLE:
        raise ConfirmationError(gettext("this form has been submitted already"))
    missing = [line for line in form.lines if line.reason_class is None]
    if missing:
        raise ConfirmationError(gettext("%(n)s line(s) are not answered yet", n=len(missing)))
    form.status = FormStatus.SUBMITTED
    form.submitted_at, form.submitted_by_id = utcnow(), user_id
    form.routing_due = WorkCalendar(session).add_workdays(today, ROUTING_WORKDAYS)  # Art.15
    notify.close_tasks(
        session, kind=TaskKind.ANSWER_FORM, subject_type="confirmation_form", subject_id=form.id
    )
    finance = notify.users_with_role(session, RoleName.FINANCE)
    title = (
        f"逾期账款确认表 {form.period} {form.sales_unit.name} 已提交，"
        f"待分派（截止 {form.routing_due}）"
    )
    for uid in finance:
        notify.open_task(
            session,
            kind=TaskKind.ROUTE_FORM,
            title=title,
            subject_type="confirmation_form",
            subject_id=form.id,
            assignee_id=uid,
            due_on=form.routing_due,
            link=f"/admin/confirmation_form/route/{form.id}",
            company_id=form.company_id,
            sales_unit_id=form.sales_unit_id,
        )
    notify.notify(
        session,
        finance,
        title,
        link=f"/admin/confirmation_form/route/{form.id}",
        dedup_key=f"form-submitted:{form.id}:{form.submitted_at.isoformat()}",
    )


def return_form(session: Session, form: ConfirmationForm, reason: str) -> None:
    """Finance returns a submitted form for correction; it unlocks for the unit."""
    claim(session, form, "status")
    if form.status is not FormStatus.SUBMITTED:
        raise ConfirmationError(gettext("only a submitted form can be returned"))
    if not (reason or "").strip():
        raise ConfirmationError(gettext("say why the form is returned"))
    form.status, form.return_reason = FormStatus.RETURNED, reason.strip()
    notify.close_tasks(
        session, kind=TaskKind.ROUTE_FORM, subject_type="confirmation_form", subject_id=form.id
    )
    collectors = notify.users_with_role(session, RoleName.COLLECTOR, form.sales_unit_id)
    for task_owner in collectors:
        task = notify.open_task(
            session,
            kind=TaskKind.ANSWER_FORM,
            title=f"逾期账款确认表 {form.period} 被退回：{reason.strip()[:80]}",
            subject_type="confirmation_form",
            subject_id=form.id,
            assignee_id=task_owner,
            due_on=form.answer_due,
            link=f"/admin/confirmation_form/answer/{form.id}",
            company_id=form.company_id,
            sales_unit_id=form.sales_unit_id,
        )
        task.done_at = None
    notify.notify(
        session,
        collectors,
        f"逾期账款确认表 {form.period} 被财务退回",
        reason.strip(),
        link=f"/admin/confirmation_form/answer/{form.id}",
        dedup_key=f"form-returned:{form.id}:{utcnow().isoformat()}",
    )


def propose_route(reason_class: ReasonClass, hint: RouteHint) -> Route:
    """Art.15: the route a line's reason implies."""
    if reason_class is ReasonClass.BOTH:
        return Route.FINANCE_THEN_SPLIT  # Art.15 (3): finance verifies, then splits
    if reason_class is ReasonClass.INTERNAL:
        # Art.15 (1): bookkeeping differences to finance; other internal causes to the collector
        return Route.FINANCE if hint is RouteHint.BOOKKEEPING else Route.COLLECTOR
    # Art.15 (2): commercial-terms differences via the division; unjustified delay: collect
    return Route.DIVISION_COLLECTOR if hint is RouteHint.COMMERCIAL else Route.COLLECT


def route_form(
    session: Session,
    form: ConfirmationForm,
    router_id: int,
    overrides: dict[int, Route] | None = None,
) -> int:
    """Art.15: finance confirms (or changes) each line's route; assignees get a follow-up task
    with the follow-up clerk and the sales VP copied. Returns the number of tasks opened.
    Compare-and-set on the form's status: two routings at once open the tasks once."""
    claim(session, form, "status")
    if form.status is not FormStatus.SUBMITTED:
        raise ConfirmationError(gettext("only a submitted form can be routed"))
    overrides = overrides or {}
    unit = session.get(SalesUnit, form.sales_unit_id)
    unit_collectors = notify.users_with_role(session, RoleName.COLLECTOR, form.sales_unit_id)
    opened = 0
    for line in form.lines:
        line.route = overrides.get(line.id) or line.proposed_route
        rec = line.receivable
        if line.route in (Route.FINANCE, Route.FINANCE_THEN_SPLIT):
            assignee = router_id
        else:
            assignee = rec.collector_id or (unit_collectors[0] if unit_collectors else None)
        line.assignee_id, line.routed_by_id = assignee, router_id
        cc = [uid for uid in (rec.follow_up_clerk_id, unit.vp_id if unit else None) if uid]
        title = f"{rec.doc_no} {line.customer.name}：{line.route.label}"
        notify.open_task(
            session,
            kind=TaskKind.FOLLOW_UP,
            title=str(title),
            subject_type="confirmation_line",
            subject_id=line.id,
            assignee_id=assignee,
            link=f"/admin/receivable/details/?id={rec.id}",
            company_id=form.company_id,
            sales_unit_id=form.sales_unit_id,
            cc=cc,
        )
        notify.notify(
            session,
            [assignee, *cc],
            str(title),
            link=f"/admin/receivable/details/?id={rec.id}",
            dedup_key=f"routed:{line.id}",
        )
        opened += 1
    form.status, form.routed_at = FormStatus.ROUTED, utcnow()
    notify.close_tasks(
        session, kind=TaskKind.ROUTE_FORM, subject_type="confirmation_form", subject_id=form.id
    )
    return opened
