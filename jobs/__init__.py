"""Background jobs on RQ: queue names, one enqueue helper, the ``job`` decorator, the worker.

Jobs are plain functions that take ids and periods (never ORM objects; SPEC §4). They run inside
the worker's app context and record status, progress, timings, result and error in a ``JobRun``
row keyed by the RQ job id. A job that fails raises, so RQ records the failure too.

Rules this module enforces:

- **One JSON serializer** (``rq.serializers.JSONSerializer``) for enqueueing, fetching and the
  worker: no pickle anywhere. Arguments must be JSON values.
- **Deterministic job ids** (``make_job_id``): the same work always has the same id. RQ would
  run an id enqueued twice twice, so ``enqueue`` consults the ``JobRun`` row (unique
  ``rq_job_id``) first and enqueues an id at most once; re-running is an explicit ``rerun``.
  Jobs still make their own writes idempotent with unique keys, because RQ may run a job again
  (retries, a killed worker).
- **Explicit timeout and Retry** on every job. A job whose work horse is killed (``kill -9``,
  the OOM killer) is retried at once by its worker. If the whole worker process dies, RQ only
  notices once the job's heartbeat has expired (about a minute) *and* another worker runs its
  maintenance (every ``JOB_MAINTENANCE_INTERVAL`` seconds, RQ's default 10 minutes); the job is
  then retried if it has retries left. The ``JobRun`` row shows ``queued`` with the reason while
  a retry is pending.

The parts: ``queues`` (names, connection, ids), ``tracking`` (the ``job`` decorator, progress),
``worker`` (the worker and its failure hooks); enqueueing and re-running live here. Everything
is importable from ``jobs`` as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app
from redis import Redis
from rq import Retry
from rq.job import Job, validate_job_id
from rq.job import JobStatus as RQStatus
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import utcnow
from backoffice.models.job import JobRun, JobStatus
from backoffice.services import audit
from backoffice.services.job_text import job_said
from jobs.queues import (
    FAILURE_TTL,
    QUEUE_DEFAULT,
    QUEUE_IMPORTS,
    QUEUE_REPORTS,
    QUEUES,
    RESULT_TTL,
    RETRY_INTERVALS,
    SERIALIZER,
    JobBusy,
    QueueUnavailable,
    fetch_rq_job,
    get_queue,
    make_job_id,
    redis_connection,
    require_queue,
)
from jobs.tracking import (
    _current_run,
    _run_by_job_id,
    _will_retry,
    job,
    result_message,
    set_progress,
)
from jobs.worker import (
    JOB_MODULES,
    _mark_interrupted,
    _on_abandoned,
    _on_work_horse_killed,
    make_worker,
    preload,
)

# -- enqueueing ----------------------------------------------------------------------------


def _json_args(args: tuple) -> list:
    try:
        return json.loads(json.dumps(list(args)))
    except TypeError as exc:
        raise TypeError(f"job arguments must be JSON values (ids, periods): {exc}") from exc


def enqueue(
    func: Callable[..., Any],
    *args: Any,
    job_id: str,
    queue: str = QUEUE_DEFAULT,
    timeout: int | None = None,
    retries: int | None = None,
    user_id: int | None = None,
    connection: Redis | None = None,
    checked: bool = False,
) -> JobRun:
    """Record a ``JobRun`` and put ``func(*args)`` on ``queue`` under ``job_id``, once.

    Arguments must be JSON values. If a row for ``job_id`` exists already (queued, running,
    finished or failed) it is returned and nothing is enqueued, so a restarted scheduler or a
    double click enqueues nothing twice; use ``rerun`` to run a finished or failed job again.
    (A queued row whose RQ job is missing, e.g. Redis was down when it was enqueued, is put on
    the queue again.) Commits the session before enqueueing so the worker finds the row.
    Redis is asked whether it answers first (``require_queue``), unless ``checked``: a caller
    that enqueues a batch checks ``connection`` once and passes it with ``checked=True``.
    """
    validate_job_id(job_id)
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}; use one of {QUEUES}")
    cfg = current_app.config
    spec = {
        "func": f"{func.__module__}.{func.__name__}",
        "args": _json_args(args),
        "queue": queue,
        "timeout": int(timeout or cfg["JOB_TIMEOUT_SECONDS"]),
        "retries": int(cfg["JOB_RETRIES"] if retries is None else retries),
    }
    if not (checked and connection is not None):
        connection = require_queue(connection)
    run = _run_by_job_id(job_id)
    if run is not None:
        if run.status is JobStatus.QUEUED and fetch_rq_job(job_id, connection) is None:
            _put(run, connection)
        return run
    run = JobRun(
        rq_job_id=job_id,
        name=func.__name__,
        args=spec,
        status=JobStatus.QUEUED,
        enqueued_by_id=user_id,
        enqueued_at=utcnow(),
    )
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent scheduler or click inserted the same id first
        db.session.rollback()
        return _run_by_job_id(job_id)
    try:
        _put(run, connection)
    except Exception as exc:  # noqa: BLE001 - Redis went away between the ping and the put
        _note_unqueued(run, exc)
    return run


def _put(run: JobRun, connection: Redis | None = None) -> Job:
    spec = run.args or {}
    retries = int(spec.get("retries", 0))
    intervals = list(current_app.config.get("JOB_RETRY_INTERVALS", RETRY_INTERVALS))
    return get_queue(spec.get("queue", QUEUE_DEFAULT), connection).enqueue(
        spec["func"],
        *spec.get("args", []),
        job_id=run.rq_job_id,
        job_timeout=int(spec.get("timeout") or current_app.config["JOB_TIMEOUT_SECONDS"]),
        retry=Retry(max=retries, interval=intervals) if retries else None,
        result_ttl=RESULT_TTL,
        failure_ttl=FAILURE_TTL,
        description=f"{run.name} {run.rq_job_id}",
    )


def rerun(run_id: int, user_id: int | None = None, connection: Redis | None = None) -> JobRun:
    """Run a finished or failed job again, under the same job id (the Jobs page's re-run).

    Atomically flips the row back to queued (so two clicks re-run it once), records an audit
    entry, commits, drops the old RQ job and enqueues the job again with its original
    arguments, timeout and retries. The job's own unique keys make the repeat harmless.
    Raises ``JobBusy`` if the job is queued or running, ``LookupError`` if there is no row.
    """
    run = db.session.get(JobRun, run_id)
    if run is None:
        raise LookupError(f"no job run {run_id}")
    connection = require_queue(connection)  # before the row is flipped: nothing half-done
    sync_runs([run], connection)
    flipped = db.session.execute(
        update(JobRun)
        .where(JobRun.id == run_id, JobRun.status.in_([JobStatus.FINISHED, JobStatus.FAILED]))
        .values(
            status=JobStatus.QUEUED,
            progress=0,
            message=None,
            error=None,
            result=None,
            started_at=None,
            ended_at=None,
            enqueued_at=utcnow(),
            enqueued_by_id=user_id,
        )
    )
    if flipped.rowcount != 1:
        db.session.rollback()
        raise JobBusy(f"job {run.rq_job_id} is {run.status.value}; it can be re-run once it ends")
    audit.record(
        db.session,
        AuditAction.JOB,
        entity="job_run",
        entity_id=run.rq_job_id,
        detail=job_said("Job “%(job)s” run again on request", run.name),
    )
    db.session.commit()
    db.session.refresh(run)
    try:
        old = fetch_rq_job(run.rq_job_id, connection)
        if old is not None:
            old.delete()  # clear it from the finished/failed registries before the id is reused
        _put(run, connection)
    except Exception as exc:  # noqa: BLE001 - Redis went away after the flip: never stuck
        _note_unqueued(run, exc)
    return run


def _note_unqueued(run: JobRun, exc: Exception) -> None:
    """The row is committed as queued but its put failed (the put may have landed late, on a
    frozen Redis, or not at all): say so on the row; the reconciler puts it if RQ lacks it."""
    db.session.rollback()
    run.message = f"Redis unreachable when enqueued; the reconciler will queue it: {exc}"[:300]
    db.session.commit()


def sync_runs(runs: Iterable[JobRun], connection: Redis | None = None) -> None:
    """Bring rows that say queued or running in line with RQ (e.g. after ``rq`` moved a job that
    no worker of ours handled to its failed registry). Commits when something changed."""
    changed = False
    for run in runs:
        if run.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            continue
        job = fetch_rq_job(run.rq_job_id, connection)  # noqa: F811 - a local, not the decorator
        if job is None:
            continue  # not enqueued yet, or Redis was flushed: nothing to conclude
        status = job.get_status()
        if status in (RQStatus.FAILED, RQStatus.STOPPED, RQStatus.CANCELED):
            result = job.latest_result()
            run.status, run.ended_at = JobStatus.FAILED, run.ended_at or utcnow()
            run.error = run.error or (result.exc_string if result else None) or status.value
            run.message = run.message or f"RQ reports the job {status.value}"
            changed = True
    if changed:
        db.session.commit()
