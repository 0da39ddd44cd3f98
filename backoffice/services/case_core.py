"""The case lifecycle's core (Art.16–17, 23): its states and legal moves, the error it raises,
and how a case is numbered, found and created. ``cases.py`` re-exports all of it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.case import (
    CaseOrigin,
    CaseReceivable,
    CaseStatus,
    CollectionCase,
    Strategy,
)
from backoffice.models.customer import Customer, FinancialStatus
from backoffice.models.evidence import DocumentType
from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.services.numbering import next_number
from backoffice.services.transitions import claim

DOCUMENT_WORKDAYS = 5  # Art.17: evidence, reasons and measures due in 5 working days
#: Art.17: the checklist the team sends when it takes a case.
CHECKLIST = (
    DocumentType.CONTRACT,
    DocumentType.DELIVERY_NOTE,
    DocumentType.RECONCILIATION,
    DocumentType.INVOICE,
    DocumentType.CORRESPONDENCE,
)
OPEN = (
    CaseStatus.APPLIED,
    CaseStatus.FILED,
    CaseStatus.DOCUMENTS_REQUESTED,
    CaseStatus.IN_PROGRESS,
)

TRANSITIONS: dict[CaseStatus, set[CaseStatus]] = {
    CaseStatus.APPLIED: {CaseStatus.FILED, CaseStatus.REFUSED},
    CaseStatus.REFUSED: set(),
    CaseStatus.FILED: {CaseStatus.DOCUMENTS_REQUESTED},
    CaseStatus.DOCUMENTS_REQUESTED: {CaseStatus.IN_PROGRESS},
    CaseStatus.IN_PROGRESS: {CaseStatus.CLOSED},
    CaseStatus.CLOSED: set(),
}

# Art.23 (2): the strategy the debtor's financial status suggests.
STRATEGY_FOR = {
    FinancialStatus.GOOD_FUNDS: Strategy.PRESS_FOR_CASH,
    FinancialStatus.POOR_FUNDS_GOOD_PROSPECTS: Strategy.COLLATERAL,
    FinancialStatus.POOR_FUNDS_POORLY_RUN: Strategy.PAYMENT_IN_KIND,
    FinancialStatus.MALICIOUS: Strategy.LITIGATION,
}


class CaseError(ValueError):
    """A case operation the rules refuse; the message says why.

    Messages are translated when raised (``gettext``): the user's language inside a request,
    ``BABEL_DEFAULT_LOCALE`` (Chinese) in CLI commands and jobs.
    """


def suggest_strategy(status: FinancialStatus | None) -> Strategy | None:
    return STRATEGY_FOR.get(status) if status else None


def move(case: CollectionCase, to: CaseStatus) -> None:
    """Change status if the lifecycle allows it, else raise ``CaseError``. Callers ``claim``
    the case first (``_claim``), so the status checked is the committed one."""
    if to not in TRANSITIONS[case.status]:
        raise CaseError(
            gettext(
                "a case that is %(now)s cannot become %(to)s",
                now=case.status.label,
                to=to.label,
            )
        )
    case.status = to


def _case_no(session: Session, year: int) -> str:
    return next_number(session, CollectionCase.case_no, "QQ", year)


def open_case_of(session: Session, customer_id: int) -> CollectionCase | None:
    return session.scalar(
        select(CollectionCase).where(
            CollectionCase.customer_id == customer_id, CollectionCase.status.in_(OPEN)
        )
    )


def _overdue_receivables(session: Session, customer_id: int, as_of: date) -> list[Receivable]:
    return list(
        session.scalars(
            select(Receivable)
            .where(
                Receivable.customer_id == customer_id,
                Receivable.status == ReceivableStatus.OPEN,
                Receivable.outstanding > 0,
                Receivable.due_date < as_of,
            )
            .order_by(Receivable.due_date)
        )
    )


def _new_case(
    session: Session,
    customer: Customer,
    origin: CaseOrigin,
    status: CaseStatus,
    as_of: date,
    receivables: list[Receivable],
) -> CollectionCase:
    case = CollectionCase(
        case_no=_case_no(session, as_of.year),
        customer_id=customer.id,
        company_id=customer.company_id,
        sales_unit_id=customer.sales_unit_id,
        origin=origin,
        status=status,
        amount_at_filing=sum((r.outstanding for r in receivables), Decimal(0)),
        suggested_strategy=suggest_strategy(customer.financial_status),
    )
    case.receivables = [CaseReceivable(receivable_id=r.id) for r in receivables]
    session.add(case)
    return case


def _claim(session: Session, case: CollectionCase) -> None:
    """Compare-and-set on the case's status: a concurrent change of stage makes this request
    lose (``StaleStateError``, a 409) before it writes anything."""
    claim(session, case, "status")
