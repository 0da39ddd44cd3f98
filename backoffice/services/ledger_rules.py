"""Rules for the ledger's own edit forms (receivables, customers): the changes a finance clerk
may make by hand, and the ones that would silently break a workflow's record.

The generic forms never carry the fields a service maintains (``backoffice/governance.py``);
these rules cover what is left: an edit that is allowed in general but not to this record, now.
"""

from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from backoffice.models.customer import Customer
from backoffice.models.receivable import Receivable, ReceivableStatus


class LedgerRuleError(ValueError):
    """An edit the ledger's rules refuse; the message says why, in the user's language."""


def _before(obj, attr: str):
    """The committed value of ``obj.attr`` (what the row held before this edit)."""
    history = inspect(obj).attrs[attr].history
    if history.deleted:
        return history.deleted[0]
    return getattr(obj, attr)


def check_receivable_edit(receivable: Receivable) -> None:
    """Art.18: a written-off receivable is the record of the write-off and of the recourse
    ledger; it is not edited by hand. Any receivable's amount stays at least what has been
    paid and written off on it, so its outstanding never goes below zero."""
    if _before(receivable, "status") is ReceivableStatus.WRITTEN_OFF:
        raise LedgerRuleError(
            gettext(
                "%(doc)s has been written off: it is the record of the write-off and is not "
                "edited by hand.",
                doc=receivable.doc_no,
            )
        )
    settled = (receivable.paid_amount or Decimal(0)) + (receivable.written_off_amount or 0)
    if receivable.amount is not None and receivable.amount < settled:
        raise LedgerRuleError(
            gettext(
                "The amount cannot be less than what has been paid and written off (%(sum)s).",
                sum=f"{settled:,.2f}",
            )
        )


def check_receivable_delete(receivable: Receivable) -> None:
    """Art.18: a written-off receivable stays, as the record of its write-off."""
    if receivable.status is ReceivableStatus.WRITTEN_OFF:
        raise LedgerRuleError(
            gettext(
                "%(doc)s has been written off: it is the record of the write-off and is not "
                "deleted.",
                doc=receivable.doc_no,
            )
        )


def check_customer_move(session: Session, customer: Customer) -> None:
    """Art.16, 21: a customer with an open collection case stays with the unit the case was
    filed for, so the case, its unit's collectors and its reports keep seeing the customer;
    close the case (or hand it over) before moving the customer."""
    if customer.id is None:
        return
    # A form sets the relationship; its foreign key follows only at the flush.
    unit = customer.sales_unit
    after = unit.id if unit is not None else customer.sales_unit_id
    before = _before(customer, "sales_unit")
    before = before.id if before is not None else _before(customer, "sales_unit_id")
    if before == after:
        return
    from backoffice.services.cases import open_case_of

    case = open_case_of(session, customer.id)
    if case is not None:
        raise LedgerRuleError(
            gettext(
                "%(customer)s has the open case %(case)s: close or hand it over before moving "
                "the customer to another sales unit.",
                customer=customer.name,
                case=case.case_no,
            )
        )
