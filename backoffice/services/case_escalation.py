"""Art.16 escalation, run daily: the team lead's watch list at 3 months, a compulsory case at 6."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.models.case import CaseOrigin, CaseStatus, WatchListEntry
from backoffice.models.customer import Customer
from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.models.user import RoleName
from backoffice.services import large_debts, notify
from backoffice.services.aging import months_cutoff
from backoffice.services.case_core import _new_case, _overdue_receivables, open_case_of
from backoffice.services.case_filing import _file


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
