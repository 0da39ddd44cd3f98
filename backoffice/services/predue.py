"""The practice texts' warning before the due date (到期前预警, "对即将到期的欠款进行提前预警，
及时联系客户催促其还款"): a configurable number of days before a receivable falls due its
collector is reminded, and a reminder letter (到期付款提醒函) can be printed for the customer.

``falling_due`` finds the documents; ``remind_collectors`` (run daily by
``jobs/reminders.py``) tells each collector once per document and due date; ``letter_pdf``
renders the letter from ``templates/pdf/predue_letter.html``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.models.user import RoleName
from backoffice.services import ledger_cache, notify
from backoffice.services.pdf import render_pdf

WARNING_SETTING = "predue_warning_days"
DEFAULT_WARNING_DAYS = 7
MAX_WARNING_DAYS = 90


def warning_days(session: Session) -> int:
    """Days before the due date the warning goes out (Setting ``predue_warning_days``)."""
    stored = ledger_cache.setting(session, WARNING_SETTING)
    try:
        days = int(stored) if stored not in (None, "") else DEFAULT_WARNING_DAYS
    except (TypeError, ValueError):
        return DEFAULT_WARNING_DAYS
    return days if 1 <= days <= MAX_WARNING_DAYS else DEFAULT_WARNING_DAYS


def falling_due(
    session: Session, today: date, days: int | None = None, scope: Any = None
) -> list[Receivable]:
    """Open receivables with something outstanding that fall due after ``today`` and at most
    ``days`` days later (default: the setting), within ``scope`` (a criterion on Receivable),
    soonest first. Read-only."""
    days = warning_days(session) if days is None else days
    return list(
        session.scalars(
            select(Receivable)
            .where(
                Receivable.status == ReceivableStatus.OPEN,
                Receivable.outstanding > 0,
                Receivable.due_date > today,
                Receivable.due_date <= today + timedelta(days=days),
                true() if scope is None else scope,
            )
            .order_by(Receivable.due_date, Receivable.customer_id, Receivable.id)
        )
    )


def remind_collectors(session: Session, today: date) -> int:
    """Warn each document's collector (the unit's collectors when it has none) that it falls
    due within the warning days: inbox and e-mail, once per document and due date (dedup
    ``predue:<id>:<due>``; a moved due date warns again). Adds rows; the caller commits.
    Returns the notifications sent."""
    by_user: dict[int, list[Receivable]] = defaultdict(list)
    unit_collectors: dict[int | None, list[int]] = {}
    for rec in falling_due(session, today):
        if rec.collector_id:
            people = [rec.collector_id]
        else:
            if rec.sales_unit_id not in unit_collectors:
                unit_collectors[rec.sales_unit_id] = notify.users_with_role(
                    session, RoleName.COLLECTOR, rec.sales_unit_id
                )
            people = unit_collectors[rec.sales_unit_id]
        for uid in people:
            by_user[uid].append(rec)
    sent = 0
    for uid, recs in by_user.items():
        for rec in recs:
            sent += len(
                notify.notify(
                    session,
                    [uid],
                    f"到期前预警：{rec.doc_no} {rec.customer.name} 将于 {rec.due_date} 到期",
                    f"未收余额 {rec.outstanding}。请提前联系客户，提醒按期付款；"
                    "可在“即将到期”页面打印到期付款提醒函。",
                    "/admin/predue/",
                    dedup_key=f"predue:{rec.id}:{rec.due_date}",
                )
            )
    return sent


def letter_pdf(customer: Any, receivables: list[Receivable], issued_on: date) -> bytes:
    """The reminder letter (到期付款提醒函) to ``customer`` for ``receivables``. Raises
    ``PdfError`` when it cannot be rendered."""
    return render_pdf(
        "predue_letter.html",
        company=customer.company,
        customer=customer,
        receivables=receivables,
        total=sum((r.outstanding for r in receivables), Decimal(0)),
        issued_on=issued_on,
    )
