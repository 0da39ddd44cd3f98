"""The monthly cycle (Art.11–15): the overdue snapshot at the previous month's close, one
report (PDF + XLSX) and one confirmation form (Annex 1, PDF) per sales unit, and one statement
of account (对账单, PDF) per customer with anything outstanding.

Every artifact is a row with a unique key (period + unit, period + customer) and is created
only if missing, after its file is stored; so running a period twice, or again after a crash,
leaves exactly one of each.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice.models.base import utcnow
from backoffice.models.customer import Customer
from backoffice.models.monthly import (
    ConfirmationForm,
    ConfirmationLine,
    FormStatus,
    MonthlyReport,
    MonthlyRun,
    Statement,
)
from backoffice.models.org import Company, SalesUnit
from backoffice.models.receivable import Contract, Receivable
from backoffice.services import charges
from backoffice.services.calendar import WorkCalendar
from backoffice.services.monthly_snapshot import (  # noqa: F401  (re-exported for callers)
    Line,
    paid_by,
    snapshot_query,
    unit_lines,
)
from backoffice.services.pdf import render_pdf
from backoffice.services.storage import get_storage

PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
ANSWER_WORKDAYS = 5  # Art.14: sales answer within 5 working days of the form
ROUTING_WORKDAYS = 3  # Art.15: finance routes within 3 working days of the answers


class PeriodError(ValueError):
    """A period that is not of the form YYYY-MM."""


def parse_period(period: str) -> tuple[int, int]:
    match = PERIOD_RE.match(period or "")
    if not match:
        raise PeriodError(f"period must look like 2026-10, got {period!r}")
    return int(match.group(1)), int(match.group(2))


def month_close(year: int, month: int) -> date:
    """The close of the month before ``year-month``: the data the report is as of (Art.12)."""
    return date(year, month, 1) - timedelta(days=1)


@dataclass(frozen=True)
class Plan:
    period: str
    as_of: date
    dispatch_date: date  # Art.12: the 3rd, moved past weekends and holidays
    form_date: date  # Art.12: the next working day after the report
    answer_due: date  # Art.14: 5 working days after the form


def plan(session: Session, period: str) -> Plan:
    """The period's dates; raises ``CalendarMissing`` for a year without calendar data."""
    year, month = parse_period(period)
    cal = WorkCalendar(session)
    dispatch = cal.dispatch_day(year, month)
    form_date = cal.next_workday(dispatch)
    return Plan(
        period,
        month_close(year, month),
        dispatch,
        form_date,
        cal.add_workdays(form_date, ANSWER_WORKDAYS),
    )


def ensure_run(session: Session, p: Plan) -> MonthlyRun:
    """The period's MonthlyRun row, created once (unique period)."""
    run = session.scalar(select(MonthlyRun).where(MonthlyRun.period == p.period))
    if run is None:
        run = MonthlyRun(
            period=p.period, as_of=p.as_of, dispatch_date=p.dispatch_date, form_date=p.form_date
        )
        session.add(run)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            run = session.scalar(select(MonthlyRun).where(MonthlyRun.period == p.period))
    return run


# ---------------------------------------------------------------------------------------------
# Artifacts


def _store(data: bytes) -> str:
    return get_storage().put(io.BytesIO(data)).key


def build_confirmation_form(session: Session, run: MonthlyRun, unit: SalesUnit, p: Plan) -> bool:
    """The unit's confirmation form (Annex 1, Art.12–13) with one line per overdue document."""
    exists = session.scalar(
        select(ConfirmationForm.id).where(
            ConfirmationForm.period == p.period, ConfirmationForm.sales_unit_id == unit.id
        )
    )
    if exists:
        return False
    lines = unit_lines(session, unit.id, p.as_of)
    if not lines:
        return False  # nothing overdue: nothing for the unit to confirm
    from backoffice.services.confirmation_pdf import issued_rows, render_form

    pdf = render_form(
        company=unit.company,
        unit=unit,
        period=p.period,
        issued_on=p.form_date,
        answer_due=p.answer_due,
        rows=issued_rows(lines),
    )
    form = ConfirmationForm(
        period=p.period,
        company_id=unit.company_id,
        sales_unit_id=unit.id,
        issued_on=p.form_date,
        answer_due=p.answer_due,
        status=FormStatus.ISSUED,
        pdf_key=_store(pdf),
    )
    form.lines = [
        ConfirmationLine(
            receivable_id=line.receivable.id,
            customer_id=line.receivable.customer_id,
            company_id=unit.company_id,
            sales_unit_id=unit.id,
            outstanding_at_close=line.outstanding,
            overdue_days=line.overdue_days,
        )
        for line in lines
    ]
    created = _insert_once(session, form)
    if created:
        from backoffice.services.notify import notify_form_issued

        notify_form_issued(session, form)
        session.commit()
    return created


def statement_customer_ids(
    session: Session,
    as_of: date,
    first: int | None = None,
    last: int | None = None,
    known_at: datetime | None = None,
) -> list[int]:
    """Customers with anything outstanding at the close (ids in [first, last]), in id order;
    with ``known_at``, counting only the documents recorded by then."""
    query = snapshot_query(as_of, overdue_only=False)
    if known_at is not None:
        query = query.where(Receivable.created_at <= known_at)
    if first is not None:
        query = query.where(Receivable.customer_id >= first)
    if last is not None:
        query = query.where(Receivable.customer_id <= last)
    snap = query.subquery()
    return list(session.scalars(select(snap.c.customer_id).distinct().order_by(snap.c.customer_id)))


def build_statements(session: Session, p: Plan, customer_ids: list[int]) -> int:
    """Statements of account for ``customer_ids`` that have none for the period yet.

    One query for the documents of the whole batch; one commit per statement, so a crash
    loses at most the statement being written. Returns how many were created.
    """
    done = set(
        session.scalars(
            select(Statement.customer_id).where(
                Statement.period == p.period, Statement.customer_id.in_(customer_ids)
            )
        )
    )
    todo = [cid for cid in customer_ids if cid not in done]
    if not todo:
        return 0
    rows = session.execute(
        snapshot_query(p.as_of, overdue_only=False)
        .where(Receivable.customer_id.in_(todo))
        .order_by(Receivable.customer_id, Receivable.due_date, Receivable.doc_no)
    ).all()
    by_customer: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_customer[row.Receivable.customer_id].append(row)
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(todo)))}
    companies = {c.id: c for c in session.scalars(select(Company))}
    contract_ids = {row.Receivable.contract_id for row in rows} - {None}
    contracts = {
        c.id: c for c in session.scalars(select(Contract).where(Contract.id.in_(contract_ids)))
    }
    included = charges.included_charges(session)
    from backoffice.services.monthly_report import ReportTotals  # it builds on this module

    created = 0
    for cid in todo:
        docs = by_customer.get(cid)
        if not docs:
            continue
        customer = customers[cid]
        lines = [
            {
                "r": d.Receivable,
                "outstanding": d.outstanding_at_close,
                "overdue_days": max(0, (p.as_of - d.Receivable.due_date).days),
                # Art.3: the charges on the document at the close, shown apart
                "charges": charges.charges_of(
                    contracts.get(d.Receivable.contract_id),
                    d.outstanding_at_close,
                    d.Receivable.due_date,
                    p.as_of,
                ),
            }
            for d in docs
        ]
        total = sum((x["outstanding"] for x in lines), Decimal(0))
        overdue = sum((x["outstanding"] for x in lines if x["overdue_days"] > 0), Decimal(0))
        totals = ReportTotals.of(overdue, [x["charges"] for x in lines], included)
        pdf = render_pdf(
            "statement.html",
            company=companies.get(customer.company_id),
            customer=customer,
            plan=p,
            lines=lines,
            total=total,
            overdue=overdue,
            totals=totals,
        )
        stored = get_storage().put(io.BytesIO(pdf))
        statement = Statement(
            period=p.period,
            customer_id=cid,
            company_id=customer.company_id,
            sales_unit_id=customer.sales_unit_id,
            as_of=p.as_of,
            total_outstanding=total,
            pdf_key=stored.key,
            pdf_sha256=stored.sha256,  # the API verifies its downloads against it (issue 14)
        )
        created += _insert_once(session, statement)
    return created


def _insert_once(session: Session, row: Any) -> bool:
    """Insert a row guarded by its unique key; a concurrent or earlier copy wins quietly."""
    session.add(row)
    try:
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
        return False


def active_units(session: Session) -> list[SalesUnit]:
    return list(
        session.scalars(select(SalesUnit).where(SalesUnit.active.is_(True)).order_by(SalesUnit.id))
    )


def finish_run(session: Session, run: MonthlyRun) -> None:
    run.finished_at = utcnow()
    session.commit()


def missing_statements(session: Session, p: Plan, known_at: datetime | None = None) -> list[int]:
    """Customers that need a statement for the period and have none yet, in id order (with
    ``known_at``, needing it for documents recorded by then)."""
    have = set(session.scalars(select(Statement.customer_id).where(Statement.period == p.period)))
    needed = statement_customer_ids(session, p.as_of, known_at=known_at)
    return [cid for cid in needed if cid not in have]


def finish_if_complete(session: Session, p: Plan) -> bool:
    """Set the run's ``finished_at`` once its last part is done (the statements come after the
    unit reports and forms, so no missing statement means nothing missing). Commits; True if
    it was set now. Safe from concurrent statement jobs: only the first one sets it.

    Complete means complete for the ledger the run started on: a document recorded after the
    run was created (an import while the statement jobs wait) is in none of their chunks, and
    once kept the run unfinished for ever. ``monthly run`` again makes its statement.
    """
    run = session.execute(
        select(MonthlyRun.finished_at, MonthlyRun.created_at).where(MonthlyRun.period == p.period)
    ).one_or_none()
    if run is None or run.finished_at is not None:
        return False  # already set: no whole-ledger snapshot for each later statement job
    if missing_statements(session, p, known_at=run.created_at):
        return False
    done = session.execute(
        update(MonthlyRun)
        .where(MonthlyRun.period == p.period, MonthlyRun.finished_at.is_(None))
        .values(finished_at=utcnow())
    )
    session.commit()
    return done.rowcount == 1


def counts(session: Session, period: str) -> dict[str, int]:
    def n(model):
        return session.scalar(
            select(func.count()).select_from(model).where(and_(model.period == period))
        )

    return {"reports": n(MonthlyReport), "forms": n(ConfirmationForm), "statements": n(Statement)}
