"""The RQ worker: job modules preloaded before RQ forks, our queues and serializer, and the
hooks that record a job that died outside ``job``'s wrapper (work horse killed, worker lost)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from redis import Redis
from rq import Worker
from rq.job import Job
from rq.registry import AbandonedJobError

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import utcnow
from backoffice.models.job import JobStatus
from backoffice.services import audit
from jobs.queues import QUEUES, SERIALIZER, get_queue, redis_connection
from jobs.tracking import _run_by_job_id, _will_retry

JOB_MODULES = ("jobs.archive", "jobs.escalation", "jobs.imports", "jobs.maintenance",
               "jobs.monthly", "jobs.reminders", "jobs.case_rules", "jobs.assessment",
               "jobs.dashboard", "jobs.customer_mail", "jobs.balance_confirm",
               "jobs.balance_confirm_reminders")


def preload() -> None:
    """Import the job modules and render one PDF in this process (before RQ forks)."""
    import importlib

    for name in JOB_MODULES:
        importlib.import_module(name)
    from backoffice.services.pdf import warm_up

    warm_up()


def make_worker(
    connection: Redis | None = None,
    queues: Iterable[str] = QUEUES,
    worker_class: type[Worker] = Worker,
    **kwargs: Any,
) -> Worker:
    """An RQ worker on our queues with the JSON serializer and our failure handlers.

    Loads every job module and warms the PDF renderer first: RQ forks a work horse per job,
    and each horse would otherwise import them and load the CJK font again.
    """
    preload()
    conn = connection or redis_connection()
    kwargs.setdefault(
        "maintenance_interval", current_app.config.get("JOB_MAINTENANCE_INTERVAL", 600)
    )
    return worker_class(
        [get_queue(name, conn) for name in queues],
        connection=conn,
        serializer=SERIALIZER,
        exception_handlers=[_on_abandoned],
        work_horse_killed_handler=_on_work_horse_killed,
        **kwargs,
    )


def _mark_interrupted(rq_job: Job, reason: str) -> None:
    """Record on the row a job that died outside ``job``'s wrapper (horse killed, worker lost)."""
    try:
        run = _run_by_job_id(rq_job.id)
        if run is None or run.status is JobStatus.FINISHED:
            return
        run.error = reason
        if _will_retry(rq_job):
            run.status = JobStatus.QUEUED
            run.message = f"{reason}; will retry ({rq_job.retries_left} retries left)"[:300]
        else:
            run.status, run.ended_at, run.message = JobStatus.FAILED, utcnow(), reason[:300]
        audit.record(
            db.session,
            AuditAction.JOB,
            entity="job_run",
            entity_id=rq_job.id,
            actor=audit.Actor(None, "worker"),
            detail=f"{run.name}: {run.message}",
        )
        db.session.commit()
    finally:
        db.session.remove()


def _on_work_horse_killed(rq_job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
    """Worker hook (runs in the worker, before RQ retries or fails the job)."""
    import os

    sig = os.WTERMSIG(ret_val) if ret_val and os.WIFSIGNALED(ret_val) else None
    how = f"killed by signal {sig}" if sig else f"exited with status {ret_val}"
    _mark_interrupted(rq_job, f"the work horse (pid {retpid}) was {how} mid-run")


def _on_abandoned(rq_job: Job, exc_type: type, exc_value: BaseException, tb: Any) -> bool:
    """Worker exception handler: note jobs RQ found abandoned by a dead worker."""
    if isinstance(exc_type, type) and issubclass(exc_type, AbandonedJobError):
        _mark_interrupted(rq_job, "its worker died mid-run (job abandoned)")
    return True  # let RQ's own handling go on
