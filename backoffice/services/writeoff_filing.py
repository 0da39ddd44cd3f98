"""Bad-debt write-off (呆账核销, Art.18) once approved: the filing by the president's office
and finance, which writes the receivables off, opens the recourse ledger (备查簿) and the
accountability follow-up (Art.24–26), and the recoveries booked against it.

Split from ``services.writeoff`` (the application and its approval chain), which re-exports
both functions. Functions add to the session; callers commit.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext
from sqlalchemy.orm import Session

from backoffice.models.base import to_money, utcnow
from backoffice.models.receivable import ReceivableStatus
from backoffice.models.user import RoleName, User
from backoffice.models.writeoff import RecourseEntry, Recovery, WriteOffApplication, WriteOffStatus
from backoffice.services.transitions import claim


def file(
    session: Session,
    app: WriteOffApplication,
    user: User,
    today: date,
    accounting_ref: str | None = None,
) -> bool:
    """Art.18: the president's office (credit) and finance file the approved application.
    When both have filed: the receivables are written off with the accounting reference, the
    recourse ledger keeps the right of recourse, an accountability follow-up opens, and the
    application is sealed. Returns True when this call completed the filing.
    Compare-and-set on the status and both filings: two filings at once cannot both see the
    other office missing (and leave the application approved but filed by both)."""
    claim(session, app, "status", "filed_by_finance_id", "filed_by_credit_id")
    if app.status is not WriteOffStatus.APPROVED:
        raise WriteOffError(gettext("only an approved application can be filed"))
    if user.has_role(RoleName.FINANCE) and app.filed_by_finance_id is None:
        if not (accounting_ref or "").strip():
            raise WriteOffError(
                gettext("finance files with the accounting reference (voucher no.)")
            )
        app.filed_by_finance_id, app.accounting_ref = user.id, accounting_ref.strip()
    elif user.has_role(RoleName.CREDIT) and app.filed_by_credit_id is None:
        app.filed_by_credit_id = user.id
    else:
        raise WriteOffError(gettext("you may not file this application (or have filed it already)"))
    if app.filed_by_finance_id is None or app.filed_by_credit_id is None:
        return False
    for item in app.items:
        rec = item.receivable
        rec.written_off_amount += item.amount
        rec.outstanding = rec.amount - rec.paid_amount - rec.written_off_amount
        rec.writeoff_ref = app.accounting_ref
        if rec.outstanding <= 0:
            rec.status = ReceivableStatus.WRITTEN_OFF
    session.add(
        RecourseEntry(
            application_id=app.id,
            customer_id=app.customer_id,
            company_id=app.company_id,
            sales_unit_id=app.sales_unit_id,
            written_off=app.amount,
            opened_on=today,
        )
    )
    from backoffice.services import accountability  # Art.25: the responsibility analysis

    accountability.open_for_writeoff(session, app)
    app.status, app.filed_at = WriteOffStatus.FILED, utcnow()
    app.sealed_at = utcnow()  # the write-off archive record is immutable from here
    return True


def record_recovery(
    session: Session,
    entry: RecourseEntry,
    amount: Decimal | str,
    received_on: date,
    note: str | None = None,
    payment_id: int | None = None,
) -> Recovery:
    """Art.18: money recovered on a written-off debt is booked against its recourse entry.
    Compare-and-set on the running total, so two bookings at once cannot lose one."""
    claim(session, entry, "recovered")
    amount = to_money(amount)
    if amount <= 0:
        raise WriteOffError(gettext("a recovery must be a positive amount"))
    if entry.recovered + amount > entry.written_off:
        raise WriteOffError(gettext("recoveries cannot exceed the amount written off"))
    recovery = Recovery(
        entry_id=entry.id, amount=amount, received_on=received_on, note=note, payment_id=payment_id
    )
    session.add(recovery)
    entry.recovered += amount
    from backoffice.services.holds import lift_recovered  # Art.26(1): recovered, holds lift

    lift_recovered(session, entry.customer_id)
    return recovery


# Last: ``services.writeoff`` imports this module at its end, and either may be imported first.
from backoffice.services.writeoff import WriteOffError  # noqa: E402
