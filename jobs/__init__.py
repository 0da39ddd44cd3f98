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
"""

from __future__ import annotations

import functools
import json
import re
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app
from redis import Redis
from rq import Queue, Retry, Worker, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, validate_job_id
from rq.job import JobStatus as RQStatus
from rq.registry import AbandonedJobError
from rq.serializers import JSONSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import utcnow
from backoffice.models.job import JobRun, JobStatus
from backoffice.services import audit

QUEUE_DEFAULT = "default"
QUEUE_IMPORTS = "imports"
QUEUE_REPORTS = "reports"
QUEUES = (QUEUE_IMPORTS, QUEUE_REPORTS, QUEUE_DEFAULT)  # in priority order

SERIALIZER = JSONSerializer
RETRY_INTERVALS = (10, 60, 300)  # seconds before the 1st, 2nd, 3rd… retry
RESULT_TTL = 7 * 24 * 3600
FAILURE_TTL = 30 * 24 * 3600

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class JobBusy(Exception):
    """A re-run was asked for a job that is queued or running."""


class QueueUnavailable(RuntimeError):
    """Redis cannot be reached (or REDIS_URL is unset): nothing was enqueued or recorded."""


def make_job_id(name: str, *parts: Any) -> str:
    """The deterministic RQ job id for ``name`` over ``parts``: ``monthly-run_2026-10``.

    RQ allows only letters, digits, ``_`` and ``-``; anything else becomes ``-``.
    """
    return "_".join(_ID_UNSAFE.sub("-", str(p)).strip("-") for p in (name, *parts))


def redis_connection() -> Redis:
    """A connection with short timeouts: a request or command must not hang on a frozen Redis.

    (RQ's worker raises ``socket_timeout`` on its own connection above its blocking dequeue.)
    """
    url = current_app.config.get("REDIS_URL")
    if not url:
        raise QueueUnavailable("REDIS_URL is not set")
    cfg = current_app.config
    return Redis.from_url(
        url,
        socket_connect_timeout=cfg.get("REDIS_CONNECT_TIMEOUT", 2),
        socket_timeout=cfg.get("REDIS_SOCKET_TIMEOUT", 5),
    )


def require_queue(connection: Redis | None = None) -> Redis:
    """A connection to a Redis that answers now; raises ``QueueUnavailable`` otherwise.

    Callers check before they create anything that only makes sense with a job behind it.
    """
    from redis.exceptions import RedisError

    conn = connection or redis_connection()
    try:
        conn.ping()
    except (RedisError, OSError) as exc:
        raise QueueUnavailable(f"Redis does not answer ({exc})") from exc
    return conn


def get_queue(name: str = QUEUE_DEFAULT, connection: Redis | None = None) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}; use one of {QUEUES}")
    return Queue(name, connection=connection or redis_connection(), serializer=SERIALIZER)


def fetch_rq_job(job_id: str, connection: Redis | None = None) -> Job | None:
    """The RQ job with this id, read with the JSON serializer, or None if Redis lost it."""
    try:
        return Job.fetch(job_id, connection=connection or redis_connection(), serializer=SERIALIZER)
    except NoSuchJobError:
        return None


JOB_MODULES = (
    "jobs.archive",
    "jobs.assessment",
    "jobs.escalation",
    "jobs.imports",
    "jobs.maintenance",
    "jobs.monthly",
    "jobs.reminders",
)


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


# -- enqueueing ----------------------------------------------------------------------------


def _run_by_job_id(job_id: str) -> JobRun | None:
    return db.session.scalar(select(JobRun).where(JobRun.rq_job_id == job_id))


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
) -> JobRun:
    """Record a ``JobRun`` and put ``func(*args)`` on ``queue`` under ``job_id``, once.

    Arguments must be JSON values. If a row for ``job_id`` exists already (queued, running,
    finished or failed) it is returned and nothing is enqueued, so a restarted scheduler or a
    double click enqueues nothing twice; use ``rerun`` to run a finished or failed job again.
    (A queued row whose RQ job is missing, e.g. Redis was down when it was enqueued, is put on
    the queue again.) Commits the session before enqueueing so the worker finds the row.
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
        detail=f"{run.name} re-run requested",
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
        job = fetch_rq_job(run.rq_job_id, connection)
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


# -- inside the worker ---------------------------------------------------------------------


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
                detail=f"{func.__name__} failed{' (will retry)' if retrying else ''}: {exc}",
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
            detail=f"{func.__name__} finished",
        )
        db.session.commit()
        return result

    return wrapper


def result_message(result: dict) -> str:
    """A finished job's message: its result, compactly (``created=5, period=2026-10``)."""
    return ("finished: " + ", ".join(f"{k}={v}" for k, v in result.items()))[:300]


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
