"""Background jobs on RQ: queue names, one enqueue helper, and the ``job`` decorator.

Jobs are plain functions that take ids and periods (never ORM objects). They run inside the
worker's app context, record their progress in a ``JobRun`` row keyed by the RQ job id, and
raise on failure so RQ marks them failed. RQ may run a job id twice; idempotency comes from
unique keys in the database, not from RQ.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from typing import Any

from flask import current_app
from redis import Redis
from rq import Queue, Retry, get_current_job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import utcnow
from backoffice.models.job import JobRun, JobStatus
from backoffice.services import audit

QUEUE_DEFAULT = "default"
QUEUE_IMPORTS = "imports"
QUEUE_REPORTS = "reports"
QUEUES = (QUEUE_IMPORTS, QUEUE_REPORTS, QUEUE_DEFAULT)  # in priority order


def redis_connection() -> Redis:
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("REDIS_URL is not set: start Redis or use the run command")
    return Redis.from_url(url)


def get_queue(name: str = QUEUE_DEFAULT, connection: Redis | None = None) -> Queue:
    return Queue(name, connection=connection or redis_connection(), serializer=JSONSerializer)


def enqueue(
    func: Callable[..., Any],
    *args: Any,
    job_id: str,
    queue: str = QUEUE_DEFAULT,
    timeout: int | None = None,
    retries: int | None = None,
    user_id: int | None = None,
) -> JobRun:
    """Record a JobRun and put the job on its queue. Arguments must be JSON (ids, periods).

    Enqueuing a job id that is queued or running already returns its row and enqueues nothing.
    """
    cfg = current_app.config
    run = db.session.scalar(select(JobRun).where(JobRun.rq_job_id == job_id))
    if run is not None and run.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        return run
    if run is None:
        run = JobRun(
            rq_job_id=job_id, name=func.__name__, args={"args": list(args)}, enqueued_by_id=user_id
        )
        db.session.add(run)
    else:  # a re-run of a finished or failed job
        run.status, run.progress, run.error, run.message = JobStatus.QUEUED, 0, None, None
        run.enqueued_at, run.enqueued_by_id = utcnow(), user_id
    db.session.commit()
    retries = cfg["JOB_RETRIES"] if retries is None else retries
    get_queue(queue).enqueue(
        f"{func.__module__}.{func.__name__}",
        *args,
        job_id=job_id,
        job_timeout=timeout or cfg["JOB_TIMEOUT_SECONDS"],
        retry=Retry(max=retries, interval=[10, 60, 300]) if retries else None,
        result_ttl=7 * 24 * 3600,
        failure_ttl=30 * 24 * 3600,
    )
    return run


def _run_row() -> JobRun | None:
    job = get_current_job()
    if job is None:
        return None
    return db.session.scalar(select(JobRun).where(JobRun.rq_job_id == job.id))


def set_progress(percent: int, message: str | None = None) -> None:
    """Record progress (0–100) for the Jobs page; commits on its own."""
    job = get_current_job()
    if job is None:
        return
    job.meta["progress"] = percent
    job.save_meta()
    run = _run_row()
    if run is not None:
        run.progress = max(0, min(100, int(percent)))
        if message:
            run.message = message[:300]
        db.session.commit()


def job(func: Callable[..., Any]) -> Callable[..., Any]:
    """Make a plain function a tracked job: status, timings, result, error, audit entry."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        db.session.remove()
        db.engine.dispose(close=False)  # never share a forked parent's connections
        rq_job = get_current_job()
        actor = audit.Actor(None, f"job:{func.__name__}")
        run = _run_row()
        if run is not None:
            run.status, run.started_at = JobStatus.RUNNING, utcnow()
            run.attempts = (run.attempts or 0) + 1
            db.session.commit()
        try:
            with audit.acting_as(actor):
                result = func(*args, **kwargs)
        except Exception as exc:
            db.session.rollback()
            run = _run_row()
            if run is not None:
                run.status, run.ended_at = JobStatus.FAILED, utcnow()
                run.error = "".join(traceback.format_exception(exc))[-4000:]
                run.message = str(exc)[:300]
            audit.record(
                db.session,
                AuditAction.JOB,
                entity="job_run",
                entity_id=rq_job.id if rq_job else None,
                actor=actor,
                detail=f"{func.__name__} failed: {exc}",
            )
            db.session.commit()
            raise
        run = _run_row()
        if run is not None:
            run.status, run.ended_at, run.progress = JobStatus.FINISHED, utcnow(), 100
            run.result = result if isinstance(result, dict) else {"result": result}
        audit.record(
            db.session,
            AuditAction.JOB,
            entity="job_run",
            entity_id=rq_job.id if rq_job else None,
            actor=actor,
            detail=f"{func.__name__} finished",
        )
        db.session.commit()
        return result

    return wrapper
