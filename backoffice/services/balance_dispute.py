"""Balance disputes (issue 15): a debtor's disagreement, for the customer's collector to resolve.

A dispute lists the documents the debtor disputes with the amount and the reason class of each,
the difference between our balance and the debtor's, and a deadline in working days. It is
resolved through ``resolve`` only: corrected in the ERP, a credit note, the debtor accepts our
balance, or escalated to a collection case. Until then its amount is "in dispute" (争议中):
shown apart in the aging and on the dashboard, not chased as plain overdue.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditAction
from backoffice.models.balance_confirmation import (
    BalanceConfirmationFile,
    BalanceConfirmationLine,
    BalanceConfirmationRequest,
    BalanceDispute,
    BalanceDisputeLine,
    DisputeResolution,
    DisputeStatus,
)
from backoffice.models.base import local_today, utcnow
from backoffice.models.case import CollectionCase
from backoffice.models.receivable import Receivable
from backoffice.models.user import RoleName
from backoffice.permissions import Action, can, in_scope, scope_filter
from backoffice.services import audit
from backoffice.services.balance_confirm import working_days_after
from backoffice.services.ledger_cache import bump_ledger_version
from backoffice.services.notify import notify, users_with_role
from backoffice.services.transitions import StaleStateError

RESOURCE = "balance_dispute"


class DisputeError(ValueError):
    """A resolution that cannot be recorded as asked; the message is shown to the user."""


def collector_of(session: Session, receivable_ids: list[int]) -> int | None:
    """The collector who follows most of the disputed documents."""
    ids = [
        cid
        for cid in session.scalars(
            select(Receivable.collector_id).where(Receivable.id.in_(receivable_ids))
        )
        if cid is not None
    ]
    return Counter(ids).most_common(1)[0][0] if ids else None


def open_dispute(
    session: Session,
    req: BalanceConfirmationRequest,
    items: list[tuple[BalanceConfirmationLine, Any, BalanceConfirmationFile | None]],
) -> BalanceDispute:
    """Record the debtor's dispute and tell its collector (inbox and e-mail). Called by the
    answer service inside the answer's transaction; one dispute per request (unique key)."""
    receivable_ids = [line.receivable_id for line, _item, _f in items]
    disputed = sum((item.disputed_amount for _l, item, _f in items), Decimal("0.00"))
    by_reason: Counter = Counter()
    for _line, item, _f in items:
        by_reason[item.reason] += item.disputed_amount
    days = int(current_app.config.get("BALANCE_DISPUTE_DAYS", 5))
    dispute = BalanceDispute(
        request_id=req.id,
        customer_id=req.customer_id,
        company_id=req.company_id,
        sales_unit_id=req.sales_unit_id,
        collector_id=collector_of(session, receivable_ids),
        our_balance=req.balance,
        debtor_balance=req.debtor_balance,
        difference=req.balance - req.debtor_balance,
        disputed_amount=disputed,
        reason=by_reason.most_common(1)[0][0],
        deadline=working_days_after(session, local_today(), days),
        status=DisputeStatus.OPEN,
    )
    session.add(dispute)
    session.flush()
    for line, item, file in items:
        session.add(
            BalanceDisputeLine(
                dispute_id=dispute.id,
                receivable_id=line.receivable_id,
                doc_no=line.doc_no,
                outstanding=line.outstanding,
                disputed_amount=item.disputed_amount,
                reason=item.reason,
                note=(item.note or "").strip() or None,
                file_id=file.id if file is not None else None,
            )
        )
    session.flush()
    to = (
        [dispute.collector_id]
        if dispute.collector_id
        else users_with_role(session, RoleName.TEAM_LEAD)
    )
    notify(
        session,
        to,
        _("Balance disputed by %(customer)s (%(number)s)")
        % {"customer": req.customer.name, "number": req.number},
        _("Disputed amount %(amount)s; resolve by %(deadline)s.")
        % {"amount": f"{disputed:,.2f}", "deadline": dispute.deadline.isoformat()},
        link=f"/admin/balance-confirm/dispute/{dispute.id}",
        dedup_key=f"balance-dispute:{dispute.id}",
    )
    return dispute


def resolve(
    session: Session,
    dispute: BalanceDispute,
    *,
    resolution: DisputeResolution | str,
    note: str,
    user: Any,
    case_id: int | None = None,
) -> BalanceDispute:
    """Record how a dispute ended (the one door for it). Needs ``close`` on disputes and the
    dispute in the user's scope; a resolved dispute is not resolved again (``StaleStateError``
    for a second request racing the first). Escalation names the customer's case, or takes
    its open one, or opens one (Art.16 (4), ``_case_to_escalate_to``)."""
    if not can(user, RESOURCE, Action.CLOSE):
        raise PermissionError(_("You may not resolve disputes."))
    if not in_scope(dispute, user):
        raise LookupError(f"dispute {dispute.id} not found")
    try:
        resolution = DisputeResolution(resolution)
    except ValueError as exc:
        raise DisputeError(_("Choose how the dispute was resolved.")) from exc
    note = (note or "").strip()
    if not note:
        raise DisputeError(_("Say what was done (a note is required)."))
    if case_id is not None:
        case = session.get(CollectionCase, case_id)
        if case is None or getattr(case, "customer_id", None) != dispute.customer_id:
            raise DisputeError(_("That case is not one of this customer's."))
    elif resolution is DisputeResolution.ESCALATED:
        case_id = _case_to_escalate_to(session, dispute, note, user).id
    done = session.execute(
        update(BalanceDispute)
        .where(BalanceDispute.id == dispute.id, BalanceDispute.status == DisputeStatus.OPEN)
        .values(
            status=DisputeStatus.RESOLVED,
            resolution=resolution,
            resolution_note=note,
            resolved_at=utcnow(),
            resolved_by_id=user.id,
            case_id=case_id,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        session.rollback()
        raise StaleStateError(_("This dispute was already resolved."))
    session.refresh(dispute)
    # The conditional UPDATE bypasses the flush hook too: the dashboard's 争议中 figure moved.
    bump_ledger_version(session)
    # The conditional UPDATE bypasses the ORM hooks: write the audit entry ourselves.
    audit.record(
        session,
        AuditAction.UPDATE,
        entity=RESOURCE,
        entity_id=dispute.id,
        before={"status": DisputeStatus.OPEN.value},
        after={"status": DisputeStatus.RESOLVED.value, "resolution": resolution.value},
        detail=note,
    )
    return dispute


def _case_to_escalate_to(
    session: Session, dispute: BalanceDispute, note: str, user: Any
) -> CollectionCase:
    """The customer's open case, else a new one: the collector's written application for the
    team's help with the disputed debt (Art.16 (4)), through the case service's one door
    (``cases.apply``: the team lead is tasked to accept or refuse it). Runs before the
    dispute's conditional UPDATE, so a losing concurrent resolution rolls the case back."""
    from backoffice.services import cases

    case = cases.open_case_of(session, dispute.customer_id)
    if case is not None:
        return case
    reason = _("Balance dispute %(number)s escalated: %(note)s") % {
        "number": dispute.request.number,
        "note": note,
    }
    try:
        # Art.16 (4): a collector may apply in writing for the team's help before 6 months.
        return cases.apply(session, dispute.customer_id, user.id, reason, local_today())
    except cases.CaseError as exc:
        # A concurrent escalation opened the customer's case meanwhile: take it (this
        # resolution then loses the dispute's conditional UPDATE if it raced the same one).
        case = cases.open_case_of(session, dispute.customer_id)
        if case is not None:
            return case
        raise DisputeError(
            _("No collection case could be opened: %(why)s") % {"why": str(exc)}
        ) from exc


# ---------------------------------------------------------------------------------------------
# "In dispute" (争议中) figures for the aging and the dashboard


def open_disputed_by_receivable(session: Session, user: Any = None) -> dict[int, Decimal]:
    """Receivable id → its amount under an open dispute (within ``user``'s scope if given)."""
    query = (
        select(BalanceDisputeLine.receivable_id, func.sum(BalanceDisputeLine.disputed_amount))
        .join(BalanceDispute, BalanceDispute.id == BalanceDisputeLine.dispute_id)
        .where(BalanceDispute.status == DisputeStatus.OPEN)
        .group_by(BalanceDisputeLine.receivable_id)
    )
    if user is not None:
        query = query.where(scope_filter(BalanceDispute, user))
    return {rid: Decimal(str(amount)) for rid, amount in session.execute(query)}


def open_disputed_total(session: Session, user: Any = None) -> Decimal:
    """The amount in dispute (争议中) in ``user``'s scope; capped by each document's balance."""
    disputed = open_disputed_by_receivable(session, user)
    if not disputed:
        return Decimal("0.00")
    left = dict(
        session.execute(
            select(Receivable.id, Receivable.outstanding).where(Receivable.id.in_(disputed))
        ).all()
    )
    return sum(
        (min(amount, left.get(rid, Decimal("0"))) for rid, amount in disputed.items()),
        Decimal("0.00"),
    )


def in_dispute_expr():
    """SQL: the amount of a receivable under an open dispute (0 when none), for list queries
    (the receivables' aging shows it apart: such an amount is not chased as plain overdue)."""
    return (
        select(func.coalesce(func.sum(BalanceDisputeLine.disputed_amount), 0))
        .join(BalanceDispute, BalanceDispute.id == BalanceDisputeLine.dispute_id)
        .where(
            BalanceDisputeLine.receivable_id == Receivable.id,
            BalanceDispute.status == DisputeStatus.OPEN,
        )
        .correlate(Receivable)
        .scalar_subquery()
        .label("in_dispute")
    )


# ---------------------------------------------------------------------------------------------
# Art.14: the debtor's own answer feeds the monthly confirmation form
