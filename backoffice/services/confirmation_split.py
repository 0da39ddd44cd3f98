"""Art.15 (3): a line with both internal and external reasons is verified by finance first,
then split into its internal and its external part, each routed by its own rule.

"内部原因外部原因兼有的情形：首先由财务部主导，核实逾期账款的准确性，核实无误后，再分别按照上述两种
原因，交由相应部门处理。" The line was routed to finance (``Route.FINANCE_THEN_SPLIT``);
``split_line`` takes finance's verified parts — one internal, one external, each with its own
specific reason and amount, adding up to the line's outstanding — routes each part like a line
of its class (``confirmation.propose_route``), opens each part's follow-up task with the
follow-up clerk and sales VP copied, and closes finance's task for the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.monthly import (
    ConfirmationLine,
    ConfirmationLinePart,
    FormStatus,
    OverdueReason,
    ReasonClass,
    Route,
)
from backoffice.models.notification import TaskKind
from backoffice.models.org import SalesUnit
from backoffice.models.user import RoleName
from backoffice.services import notify
from backoffice.services.confirmation import ConfirmationError, propose_route
from backoffice.services.transitions import claim

PART_CLASSES = (ReasonClass.INTERNAL, ReasonClass.EXTERNAL)


@dataclass
class PartInput:
    reason_class: ReasonClass
    sub_reason_id: int
    amount: Decimal
    note: str | None = None


def splittable(line: ConfirmationLine) -> bool:
    """A routed line of both kinds of reason that finance has not split yet."""
    return (
        line.form.status is FormStatus.ROUTED
        and line.route is Route.FINANCE_THEN_SPLIT
        and not parts_of_line(line)
    )


def parts_of_line(line: ConfirmationLine) -> list[ConfirmationLinePart]:
    from sqlalchemy.orm import object_session

    session = object_session(line)
    return list(
        session.scalars(
            select(ConfirmationLinePart)
            .where(ConfirmationLinePart.line_id == line.id)
            .order_by(ConfirmationLinePart.reason_class)
        )
    )


def split_line(
    session: Session, line: ConfirmationLine, parts: list[PartInput], user_id: int
) -> list[ConfirmationLinePart]:
    """Art.15 (3): split ``line`` into its internal and external parts and route each.

    Refused (``ConfirmationError``) unless the line was routed as "finance verifies, then
    split", is not split yet, and ``parts`` are one internal and one external part whose
    reasons belong to their class and whose amounts are positive and add up to the line's
    outstanding at the close. Compare-and-set on the line's route: two finance users
    splitting at once split it once. Adds to the session; the caller commits."""
    claim(session, line, "route")
    if line.form.status is not FormStatus.ROUTED or line.route is not Route.FINANCE_THEN_SPLIT:
        raise ConfirmationError(
            gettext("only a line routed to finance for verification and splitting can be split")
        )
    if parts_of_line(line):
        raise ConfirmationError(gettext("this line has been split already"))
    if sorted(p.reason_class.value for p in parts) != sorted(c.value for c in PART_CLASSES):
        raise ConfirmationError(gettext("give one internal and one external part"))
    total = Decimal("0")
    for part in parts:
        reason = session.get(OverdueReason, part.sub_reason_id)
        if reason is None or not reason.active or reason.reason_class is not part.reason_class:
            raise ConfirmationError(
                gettext("choose a specific reason of class %(cls)s", cls=part.reason_class.label)
            )
        if part.amount <= 0:
            raise ConfirmationError(gettext("each part needs an amount above zero"))
        total += part.amount
    if total != line.outstanding_at_close:
        raise ConfirmationError(
            gettext(
                "the parts add up to %(total)s, not the line's outstanding %(outstanding)s",
                total=f"{total:,.2f}",
                outstanding=f"{line.outstanding_at_close:,.2f}",
            )
        )
    rec = line.receivable
    unit = session.get(SalesUnit, line.sales_unit_id) if line.sales_unit_id else None
    collectors = notify.users_with_role(session, RoleName.COLLECTOR, line.sales_unit_id)
    cc = [uid for uid in (rec.follow_up_clerk_id, unit.vp_id if unit else None) if uid]
    made = []
    for part in parts:
        reason = session.get(OverdueReason, part.sub_reason_id)
        route = propose_route(part.reason_class, reason.route_hint)  # each part, its own rule
        if route is Route.FINANCE:
            assignee = user_id
        else:
            assignee = rec.collector_id or (collectors[0] if collectors else None)
        row = ConfirmationLinePart(
            line_id=line.id,
            company_id=line.company_id,
            sales_unit_id=line.sales_unit_id,
            reason_class=part.reason_class,
            sub_reason_id=reason.id,
            amount=part.amount,
            route=route,
            assignee_id=assignee,
            split_by_id=user_id,
            note=(part.note or "").strip() or None,
        )
        session.add(row)
        session.flush()
        title = (
            f"{rec.doc_no} {line.customer.name}（{part.reason_class.label}部分 "
            f"{part.amount:,.2f}）：{route.label}"
        )
        link = f"/admin/receivable/details/?id={rec.id}"
        notify.open_task(
            session,
            kind=TaskKind.FOLLOW_UP,
            title=str(title),
            subject_type="confirmation_line_part",
            subject_id=row.id,
            assignee_id=assignee,
            link=link,
            company_id=line.company_id,
            sales_unit_id=line.sales_unit_id,
            cc=cc,
        )
        notify.notify(session, [assignee, *cc], str(title), link=link, dedup_key=f"split:{row.id}")
        made.append(row)
    notify.close_tasks(
        session, kind=TaskKind.FOLLOW_UP, subject_type="confirmation_line", subject_id=line.id
    )
    return made
