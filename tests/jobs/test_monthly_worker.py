"""The monthly run through a real ``flask worker`` process on a real Redis and the test
database (issue 4, "Done when"): killing the worker with ``kill -9`` in the middle of the
statement jobs, or running the same period twice, leaves exactly one report and one form per
unit and one statement per customer with anything outstanding: 0 lost, 0 doubled."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import func, select

import jobs
from backoffice.models import (
    ConfirmationForm,
    ConfirmationLine,
    Customer,
    JobRun,
    MonthlyReport,
    Receivable,
    Statement,
)
from backoffice.models.job import JobStatus
from backoffice.services import monthly
from backoffice.services.calendar import load_year
from jobs.monthly import STATEMENT_CHUNK, monthly_run, run_period
from tests import helpers
from tests.jobs.test_worker_process import finish, start_worker, worker_env  # noqa: F401

PERIOD = "2026-10"
UNITS = 3
# Customers with something outstanding at the September close. A statement takes about 0.3 s
# to render (xhtml2pdf), so 40 keep the statement job busy for ~15 s: time to kill it mid-run.
CUSTOMERS = 40
QUIET = 6  # customers whose only document was issued after the close: no statement


@pytest.fixture()
def big_ledger(db):
    """3 units; 40 customers each with an overdue and a not-yet-due document at the close,
    and 4 customers with nothing outstanding then. Returns the expected counts."""
    load_year(db.session, 2026)
    db.session.commit()
    first = helpers.make_unit(name="华东事业部")
    units = [first] + [
        helpers.make_unit(company=first.company, name=n) for n in ("华北事业部", "华南事业部")
    ]
    for unit in units:
        helpers.make_user("collector", units=[unit])
    overdue_by_unit = {u.id: 0 for u in units}
    for i in range(CUSTOMERS + QUIET):
        unit = units[i % UNITS]
        customer = Customer(
            company_id=unit.company_id,
            sales_unit_id=unit.id,
            erp_code=f"K{i:05d}",
            name=f"{unit.name}客户{i:04d}有限公司",
        )
        db.session.add(customer)
        db.session.flush()
        docs = (
            [("OD", date(2026, 8, 31), None), ("ND", date(2026, 12, 31), None)]
            if i < CUSTOMERS
            else [("LATE", date(2026, 12, 31), date(2026, 10, 15))]
        )
        for tag, due, issued in docs:
            amount = Decimal("1000.00") + i
            db.session.add(
                Receivable(
                    company_id=unit.company_id,
                    sales_unit_id=unit.id,
                    customer_id=customer.id,
                    doc_no=f"INV-{tag}-{i:05d}",
                    amount=amount,
                    outstanding=amount,
                    due_date=due,
                    issue_date=issued,
                )
            )
        if i < CUSTOMERS:
            overdue_by_unit[unit.id] += 1
    db.session.commit()
    return {"units": [u.id for u in units], "overdue_by_unit": overdue_by_unit}


def artifacts(db) -> dict:
    """Every artifact of the period, as lists of their keys (duplicates would show)."""
    db.session.expire_all()

    def rows(*cols):
        return sorted(db.session.execute(select(*cols)).all())

    lines = db.session.execute(
        select(ConfirmationForm.sales_unit_id, func.count(ConfirmationLine.id))
        .join(ConfirmationLine, ConfirmationLine.form_id == ConfirmationForm.id)
        .group_by(ConfirmationForm.sales_unit_id)
    ).all()
    return {
        "reports": rows(MonthlyReport.id, MonthlyReport.period, MonthlyReport.sales_unit_id),
        "forms": rows(ConfirmationForm.id, ConfirmationForm.period, ConfirmationForm.sales_unit_id),
        "statements": rows(Statement.id, Statement.period, Statement.customer_id),
        "lines": dict(lines),
    }


def assert_exactly_one_of_each(db, ledger) -> dict:
    got = artifacts(db)
    assert sorted(r.sales_unit_id for r in got["reports"]) == ledger["units"]
    assert sorted(f.sales_unit_id for f in got["forms"]) == ledger["units"]
    assert got["lines"] == ledger["overdue_by_unit"]
    expected_customers = sorted(
        db.session.scalars(
            select(Customer.id).where(Customer.erp_code < f"K{CUSTOMERS:05d}").order_by(Customer.id)
        )
    )
    statement_customers = sorted(s.customer_id for s in got["statements"])
    assert len(statement_customers) == CUSTOMERS  # 0 lost, 0 doubled
    assert statement_customers == expected_customers
    assert {r.period for r in got["reports"] + got["forms"] + got["statements"]} == {PERIOD}
    return got


def job_runs(db) -> dict[str, JobStatus]:
    db.session.expire_all()
    return dict(db.session.execute(select(JobRun.rq_job_id, JobRun.status)).all())


def descendants(pid: int) -> list[int]:
    """Pids of every live process below ``pid`` (the work horse, RQ's scheduler child)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def statement_count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Statement))


def enqueue_period() -> JobRun:
    return jobs.enqueue(
        monthly_run,
        PERIOD,
        job_id=jobs.make_job_id("monthly-run", PERIOD),
        queue=jobs.QUEUE_REPORTS,
    )


def test_killing_the_worker_mid_statements_loses_and_doubles_nothing(
    worker_env,  # noqa: F811
    big_ledger,
    db,
    redis_conn,
):
    """kill -9 of the worker and its work horse in the middle of the statement jobs; a new
    worker finishes (after RQ finds the job abandoned): exactly one report and one form per
    unit and one statement per customer with anything outstanding; a re-run changes nothing."""
    enqueue_period()
    proc = start_worker(worker_env)  # a long-running worker, as in production
    try:
        deadline = time.monotonic() + 60
        while statement_count(db) < 8:  # well into the statement job
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "the statement jobs did not start in time"
            time.sleep(0.05)
        doomed = descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGKILL)  # the worker (and RQ's scheduler child)
        for pid in doomed:  # the work horse runs in a process group of its own
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    written_at_kill = statement_count(db)
    assert 8 <= written_at_kill < CUSTOMERS, "the kill did not land mid-run"
    runs = job_runs(db)
    chunk_ids = sorted(i for i in runs if i.startswith("monthly-statements_"))
    assert len(chunk_ids) == -(-CUSTOMERS // STATEMENT_CHUNK)
    assert runs[jobs.make_job_id("monthly-run", PERIOD)] is JobStatus.FINISHED
    assert JobStatus.RUNNING in {runs[i] for i in chunk_ids}  # nobody is left to say otherwise

    # RQ calls a job abandoned once its heartbeat (about a minute) has expired and a worker runs
    # maintenance; the dead worker's scheduler lock also lasts a minute. Age both instead of
    # waiting: the next worker's maintenance then retries the job (after RQ's retry interval).
    started = StartedJobRegistry(jobs.QUEUE_REPORTS, connection=redis_conn)
    entries = redis_conn.zrange(started.key, 0, -1)
    assert entries, "the killed statement job should still be registered as started"
    redis_conn.zadd(started.key, {entry: 1 for entry in entries})
    for key in redis_conn.scan_iter("rq:scheduler-lock:*"):
        redis_conn.delete(key)
    finish(start_worker(worker_env, "--burst"), timeout=60)
    scheduled = ScheduledJobRegistry(jobs.QUEUE_REPORTS, connection=redis_conn)
    # The retry waits for its interval (10 s) in the scheduled registry: make it due now.
    redis_conn.zadd(scheduled.key, {e: 1 for e in redis_conn.zrange(scheduled.key, 0, -1)})
    finish(start_worker(worker_env, "--burst"), timeout=60)

    runs = job_runs(db)
    assert {runs[i] for i in chunk_ids} == {JobStatus.FINISHED}
    before = assert_exactly_one_of_each(db, big_ledger)
    # Running the same period again, through the worker and in-process, changes nothing.
    db.session.expire_all()
    run_row = db.session.scalar(select(JobRun).where(JobRun.rq_job_id == chunk_ids[0]))
    jobs.rerun(run_row.id)
    jobs.rerun(db.session.scalar(select(JobRun.id).where(JobRun.name == "monthly_run")))
    finish(start_worker(worker_env, "--burst"), timeout=60)
    assert job_runs(db)[chunk_ids[0]] is JobStatus.FINISHED
    run_period(PERIOD, inline=True)
    assert artifacts(db) == before


def test_running_the_same_period_twice_through_the_worker_changes_nothing(
    worker_env,  # noqa: F811
    big_ledger,
    db,
    redis_conn,
):
    """The period run to the end by a worker, then re-run (every job) by another worker:
    the second run creates nothing; one report, form and statement each."""
    enqueue_period()
    finish(start_worker(worker_env, "--burst"), timeout=60)
    first = assert_exactly_one_of_each(db, big_ledger)
    assert monthly.counts(db.session, PERIOD) == {
        "reports": UNITS,
        "forms": UNITS,
        "statements": CUSTOMERS,
    }
    db.session.expire_all()
    for run in db.session.scalars(select(JobRun)).all():
        jobs.rerun(run.id)
    finish(start_worker(worker_env, "--burst"), timeout=60)
    db.session.expire_all()
    reruns = db.session.scalars(select(JobRun).where(JobRun.name == "monthly_statements")).all()
    assert reruns and all(r.status is JobStatus.FINISHED for r in reruns)
    assert all(r.result["created"] == 0 and r.attempts == 2 for r in reruns)
    assert artifacts(db) == first
