"""The monthly run as RQ jobs (Art.12–15). Both jobs are idempotent: every artifact has a
unique key in the database and is created only when missing, so re-running a period, or
running again after a worker was killed, leaves exactly one of each."""

from __future__ import annotations

from flask import current_app

from backoffice.extensions import db
from backoffice.services import (
    balance_confirm,
    dashboard_cache,
    dunning,
    monthly,
    monthly_report,
    notify,
)
from jobs import QUEUE_REPORTS, job, make_job_id, require_queue, set_progress
from jobs.resume import ensure_enqueued

STATEMENT_CHUNK = 50  # customers per statement job: small enough that workers share evenly


def run_period(period: str, *, inline: bool = False) -> dict:
    """Reports and forms for every unit, then statements (chunked; inline or as jobs)."""
    p = monthly.plan(db.session, period)
    run = monthly.ensure_run(db.session, p)
    units = monthly.active_units(db.session)
    for i, unit in enumerate(units, 1):
        monthly_report.build_unit_report(db.session, run, unit, p)
        monthly.build_confirmation_form(db.session, run, unit, p)
        set_progress(int(40 * i / max(1, len(units))), f"{unit.name}: report and form")
    # Art.9: the month just closed can now be reported to the leadership group.
    notify.notify_leadership_report(db.session, f"{p.as_of.year:04d}-{p.as_of.month:02d}")
    db.session.commit()
    customer_ids = monthly.statement_customer_ids(db.session, p.as_of)
    size = int(current_app.config.get("MONTHLY_STATEMENT_CHUNK", STATEMENT_CHUNK))
    chunks = [customer_ids[i : i + size] for i in range(0, len(customer_ids), size)]
    missing = set(monthly.missing_statements(db.session, p))
    # Redis is asked once for the whole batch of chunks, not once per chunk (issue 13).
    connection = None if inline or not missing else require_queue()
    queued = 0
    for n, chunk in enumerate(chunks, 1):
        if inline:
            monthly.build_statements(db.session, p, chunk)
            dunning.mail_statements(db.session, period, chunk)  # issue 14 §2
            balance_confirm.reconcile_statements(db.session, p.period, chunk)  # issue 15
        elif missing.intersection(chunk):
            # Resume: a chunk whose statements all exist is skipped; one with any missing is
            # queued, or queued again if its job row already ended (the job skips done ones).
            ensure_enqueued(
                monthly_statements,
                period,
                chunk[0],
                chunk[-1],
                job_id=make_job_id("monthly-statements", period, chunk[0], chunk[-1]),
                queue=QUEUE_REPORTS,
                connection=connection,
            )
            queued += 1
        else:
            # Statements all there: e-mail any a killed job built but did not send (once each).
            dunning.mail_statements(db.session, period, chunk)
            balance_confirm.reconcile_statements(db.session, p.period, chunk)
        set_progress(40 + int(60 * n / max(1, len(chunks))), f"statements {n}/{len(chunks)}")
    if inline:
        monthly.finish_run(db.session, run)
    else:
        monthly.finish_if_complete(db.session, p)  # nothing was missing: done now
    return {
        "period": period,
        "units": len(units),
        "statement_jobs": queued,
        **monthly.counts(db.session, period),
    }


@job
def monthly_run(period: str) -> dict:
    """Art.12: the period's reports and confirmation forms; enqueues the statement jobs."""
    result = run_period(period)
    dashboard_cache.refresh_all()  # issue 13: every scope's figures, in the background
    return result


@job
def monthly_statements(period: str, first_customer_id: int, last_customer_id: int) -> dict:
    """Statements for the customers with ids in [first, last] that need one and lack it."""
    p = monthly.plan(db.session, period)
    ids = monthly.statement_customer_ids(db.session, p.as_of, first_customer_id, last_customer_id)
    created = monthly.build_statements(db.session, p, ids)
    # Issue 14 §2: each statement to the customer's billing contacts, once per contact.
    dunning.mail_statements(db.session, period, ids)
    # Art.12–13 (issue 15): the customers with billing contacts get their 对账确认 by e-mail.
    balance_confirm.reconcile_statements(db.session, p.period, ids)
    monthly.finish_if_complete(db.session, p)  # the last chunk to end finishes the run
    return {"period": period, "customers": len(ids), "created": created}
