"""Inside the worker: the ``job`` decorator that records status, attempts, timings, result and
error on the job's ``JobRun`` row, and progress reports."""

from __future__ import annotations

import functools
import json
import traceback
from collections.abc import Callable
from typing import Any

from rq import get_current_job
from rq.job import Job
from sqlalchemy import select, update

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import utcnow
from backoffice.models.job import JobRun, JobStatus
from backoffice.services import audit
from backoffice.services.job_text import job_said


def _run_by_job_id(job_id: str) -> JobRun | None:
    return db.session.scalar(select(JobRun).where(JobRun.rq_job_id == job_id))


def _current_run() -> JobRun | None:
    job = get_current_job()
    return None if job is None else _run_by_job_id(job.id)


def set_progress(percent: int, message: str | None = None) -> None:
    """Record progress (0–100) and an optional message for the Jobs page.

    Commits the session (call it between units of work, never in the middle of one). Progress
    ticks are not audited: they change nothing but the bar. No-op outside a job.
    """
    job = get_current_job()
    if job is None:
        return
    percent = max(0, min(100, int(percent)))
    job.meta["progress"] = percent
    job.save_meta()
    values: dict[str, Any] = {"progress": percent}
    if message:
        values["message"] = message[:300]
    db.session.execute(update(JobRun).where(JobRun.rq_job_id == job.id).values(**values))
    db.session.commit()


def _will_retry(rq_job: Job | None) -> bool:
    return rq_job is not None and bool(rq_job.retries_left) and rq_job.retries_left > 0


def job(func: Callable[..., Any]) -> Callable[..., Any]:
    """Make a plain function a tracked job: status, attempts, timings, result, error, audit.

    On failure the row says ``failed`` with the traceback (or ``queued`` with the error while
    RQ will retry it) and the exception is re-raised so RQ records it. The result must be JSON.
    Called directly (not by a worker) it simply runs the function under a job audit actor.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        rq_job = get_current_job()
        if rq_job is not None:
            # A fresh session; pooled connections a forked work horse inherited from its
            # worker are discarded on checkout (backoffice/__init__.py, _pool_owned_by_pid).
            db.session.remove()
        actor = audit.Actor(None, f"job:{func.__name__}")
        run = _current_run()
        if run is not None:
            run.status, run.started_at, run.ended_at = JobStatus.RUNNING, utcnow(), None
            run.attempts = (run.attempts or 0) + 1
            db.session.commit()
        try:
            with audit.acting_as(actor):
                result = func(*args, **kwargs)
            json.dumps(result)  # RQ stores results as JSON: fail here, visibly, if it is not
        except Exception as exc:
            db.session.rollback()
            retrying = _will_retry(rq_job)
            run = _current_run()
            if run is not None:
                run.error = "".join(traceback.format_exception(exc))[-4000:]
                if retrying:
                    run.status = JobStatus.QUEUED
                    run.message = f"attempt {run.attempts} failed, will retry: {exc}"[:300]
                else:
                    run.status, run.ended_at = JobStatus.FAILED, utcnow()
                    run.message = str(exc)[:300]
            audit.record(
                db.session,
                AuditAction.JOB,
                entity="job_run",
                entity_id=rq_job.id if rq_job else None,
                actor=actor,
                detail=job_said(
                    "Job “%(job)s” failed, will retry: %(reason)s"
                    if retrying
                    else "Job “%(job)s” failed: %(reason)s",
                    func.__name__,
                    run,
                    error=str(exc),
                ),
            )
            db.session.commit()
            raise
        run = _current_run()
        if run is not None:
            run.status, run.ended_at, run.progress = JobStatus.FINISHED, utcnow(), 100
            run.error = None
            run.result = result if isinstance(result, dict) else {"result": result}
            run.message = result_message(run.result)  # not a stale "killed … will retry"
        audit.record(
            db.session,
            AuditAction.JOB,
            entity="job_run",
            entity_id=rq_job.id if rq_job else None,
            actor=actor,
            detail=job_said("Job “%(job)s” finished", func.__name__),
        )
        db.session.commit()
        return result

    return wrapper


def result_message(result: dict) -> str:
    """A finished job's message: its result, compactly (``created=5, period=2026-10``)."""
    return ("finished: " + ", ".join(f"{k}={v}" for k, v in result.items()))[:300]
