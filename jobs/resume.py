"""Resuming work whose parts are not all done: the monthly run and the year-end transfer.

``enqueue`` starts a job id at most once, so asking again for a period whose job row says
``finished`` used to do nothing even when statements were missing (Redis had lost their jobs).
Here the record of the *work* decides, not the job row: a period with statements missing, or a
year with closed cases not archived, is queued again (the jobs skip what exists: unique keys).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.job import JobRun, JobStatus
from jobs import QUEUE_DEFAULT, enqueue, rerun

ENDED = (JobStatus.FINISHED, JobStatus.FAILED)


def ensure_enqueued(
    func: Callable[..., Any],
    *args: Any,
    job_id: str,
    queue: str = QUEUE_DEFAULT,
    user_id: int | None = None,
    connection: Redis | None = None,
) -> JobRun:
    """``enqueue``, and if the id's row has already ended, run it again (``rerun``).

    For work known to be unfinished: the caller checked that something is missing. A row that
    is queued or running is left to its worker (or to the reconciler if Redis lost it).
    A ``connection`` is one the caller checked once for its batch (``require_queue``).
    """
    run = enqueue(
        func,
        *args,
        job_id=job_id,
        queue=queue,
        user_id=user_id,
        connection=connection,
        checked=connection is not None,
    )
    if run.status in ENDED:
        run = rerun(run.id, user_id=user_id, connection=connection)
    return run


@dataclass
class Resumed:
    """What ``resume_*`` did, for the CLI to print in one line."""

    run: JobRun | None
    line: str


def _status(job_id: str) -> JobStatus | None:
    return db.session.scalar(select(JobRun.status).where(JobRun.rq_job_id == job_id))


def resume_monthly(period: str, user_id: int | None = None) -> Resumed:
    """Art.12: start the period's monthly run, or resume it if parts are missing.

    Complete (the run has ``finished_at`` and no statement is missing): nothing is queued.
    Otherwise the ``monthly-run`` job is queued, or queued again if its row ended; it
    re-queues only the statement chunks with missing statements. Commits.
    """
    from backoffice.models.monthly import MonthlyRun
    from backoffice.services import monthly
    from jobs import QUEUE_REPORTS, make_job_id
    from jobs.monthly import monthly_run

    p = monthly.plan(db.session, period)
    job_id = make_job_id("monthly-run", period)
    row = db.session.scalar(select(MonthlyRun).where(MonthlyRun.period == period))
    missing = monthly.missing_statements(db.session, p)
    if row is not None and not missing:
        monthly.finish_if_complete(db.session, p)
        c = monthly.counts(db.session, period)
        return Resumed(
            None,
            f"{period} is complete ({c['reports']} reports, {c['forms']} forms, "
            f"{c['statements']} statements); nothing to do",
        )
    before = _status(job_id)
    run = ensure_enqueued(monthly_run, period, job_id=job_id, queue=QUEUE_REPORTS, user_id=user_id)
    if before is None:
        verb = "enqueued"
    elif before in ENDED:
        verb = f"resuming ({len(missing)} statements missing): re-enqueued"
    else:
        verb = f"in progress ({len(missing)} statements to go):"
    return Resumed(run, f"{verb} {run.rq_job_id} (status {run.status.value}); see the Jobs page")


def resume_year_end(year: int, user_id: int | None = None) -> Resumed:
    """Art.22: start the year's archive transfer, or resume it while closed cases remain."""
    from backoffice.services import archive
    from jobs import make_job_id
    from jobs.archive import year_end_archive

    job_id = make_job_id("year-end-archive", year)
    before = _status(job_id)
    todo = archive.cases_to_archive(db.session, year)
    if before in ENDED and not todo:
        return Resumed(None, f"{year}: every closed case is archived; nothing to do")
    run = ensure_enqueued(year_end_archive, year, job_id=job_id, user_id=user_id)
    if before is None:
        verb = "enqueued"
    elif before in ENDED:
        verb = f"resuming ({len(todo)} case(s) to archive): re-enqueued"
    else:
        verb = "in progress:"
    return Resumed(run, f"{verb} {run.rq_job_id} (status {run.status.value}); see the Jobs page")
