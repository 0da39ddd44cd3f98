"""The reconciler: job runs whose RQ job is gone or stale are queued again, or failed with a reason.

The ``job_run`` table is the record of what must happen; Redis only carries it out. After
Redis lost data (killed without persistence, flushed), after a worker was killed mid-job, or
after an enqueue whose put never reached Redis, a row can say ``queued`` or ``running`` while
nothing will ever run it. ``reconcile`` looks at every such row:

- **gone** (RQ has no job with that id, and the row is older than ``grace`` seconds): the row
  is put on its queue again under the same job id;
- **abandoned** (RQ says started, but the worker that took it is dead: its record is gone, or
  it ran on this host and its pid no longer exists): put on the queue again, while the row has
  attempts left (its ``retries`` + 1);
- **stale** (abandoned after its attempts are spent, or running past its own timeout): the row
  is marked failed with the reason, to be re-run by hand from the Jobs page;
- RQ's own verdict (finished, failed, stopped, canceled) is copied onto the row.

Idempotent and safe to run from several processes: a row is claimed by a compare-and-set
update of its ``enqueued_at`` before it is put again, so two reconcilers put it once; and every
job makes its own writes idempotent with unique keys, so a job that was in fact still running
somewhere (an orphaned work horse) and is run again creates nothing twice. The scheduler runs it
at start and every ``JOB_RECONCILE_INTERVAL`` seconds.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from redis import Redis
from rq.job import Job
from rq.job import JobStatus as RQStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import select, update

from backoffice.extensions import db
from backoffice.models.audit import AuditAction
from backoffice.models.base import utcnow
from backoffice.models.job import JobRun, JobStatus
from backoffice.services import audit
from jobs import (
    QUEUE_DEFAULT,
    SERIALIZER,
    _put,
    fetch_rq_job,
    require_queue,
    result_message,
)

ACTOR = audit.Actor(None, "reconciler")


@dataclass
class Reconciled:
    """What one pass did, by job id."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.requeued or self.failed or self.finished)

    def __str__(self) -> str:
        parts = [
            f"{label}: {', '.join(ids)}"
            for label, ids in (
                ("re-enqueued", self.requeued),
                ("failed", self.failed),
                ("finished", self.finished),
            )
            if ids
        ]
        return "; ".join(parts) or "nothing to do"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def worker_dead(conn: Redis, worker_name: str | None) -> bool:
    """True when the worker named on a started job is certainly gone."""
    if not worker_name:
        return False  # not taken yet
    data = conn.hgetall(f"rq:worker:{worker_name}")
    if not data:
        return True  # its record expired or was removed: it is not heartbeating
    fields = {k.decode(): v.decode() for k, v in data.items()}
    if fields.get("death"):
        return True
    pid = fields.get("pid")
    if fields.get("hostname") == socket.gethostname() and pid and pid.isdigit():
        return not _pid_alive(int(pid))
    return False  # another machine: trust its heartbeat (RQ's own maintenance expires it)


def _claim(run: JobRun, message: str) -> bool:
    """Compare-and-set: True if this process re-queues ``run`` (no one else did meanwhile)."""
    claimed = db.session.execute(
        update(JobRun)
        .where(
            JobRun.id == run.id,
            JobRun.enqueued_at == run.enqueued_at,
            JobRun.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
        )
        .values(
            status=JobStatus.QUEUED,
            enqueued_at=utcnow(),
            started_at=None,
            message=message[:300],
        )
    )
    if claimed.rowcount != 1:
        db.session.rollback()
        return False
    _audit(run, message)
    db.session.commit()
    db.session.refresh(run)
    return True


def _fail(run: JobRun, reason: str) -> None:
    run.status, run.ended_at = JobStatus.FAILED, utcnow()
    run.message = reason[:300]
    run.error = (run.error + "\n" if run.error else "") + reason
    _audit(run, reason)
    db.session.commit()


def _audit(run: JobRun, detail: str) -> None:
    audit.record(
        db.session,
        AuditAction.JOB,
        entity="job_run",
        entity_id=run.rq_job_id,
        actor=ACTOR,
        detail=f"{run.name}: {detail}"[:500],
    )


def _drop_started_entry(conn: Redis, job: Job) -> None:
    """Remove a dead execution from the started registry so RQ's maintenance leaves it be."""
    queue = job.origin or QUEUE_DEFAULT
    registry = StartedJobRegistry(queue, connection=conn, serializer=SERIALIZER)
    for entry in conn.zrange(registry.key, 0, -1):
        if entry.decode().split(":")[0] == job.id:
            conn.zrem(registry.key, entry)


def _on_its_queue(conn: Redis, job: Job) -> bool:
    key = f"rq:queue:{job.origin or QUEUE_DEFAULT}"
    return conn.lpos(key, job.id) is not None


def _requeue(conn: Redis, run: JobRun, message: str, result: Reconciled) -> None:
    if _claim(run, message):
        _put(run, conn)
        result.requeued.append(run.rq_job_id)


def _age(moment: datetime | None, now: datetime) -> float:
    return (now - moment).total_seconds() if moment else 0.0


def reconcile(connection: Redis | None = None, grace: float | None = None) -> Reconciled:
    """One pass over the queued and running rows (see the module docstring). Commits.

    Raises ``QueueUnavailable`` when Redis does not answer (nothing is concluded then).
    """
    conn = require_queue(connection)
    if grace is None:
        grace = float(current_app.config.get("JOB_RECONCILE_GRACE", 60))
    result = Reconciled()
    runs = db.session.scalars(
        select(JobRun)
        .where(JobRun.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
        .order_by(JobRun.id)
    ).all()
    for run in runs:
        now = utcnow()
        spec = run.args or {}
        job = fetch_rq_job(run.rq_job_id, conn)
        if job is None:
            if _age(run.enqueued_at, now) < grace:
                continue  # just recorded; its put may be on its way
            _requeue(conn, run, "re-enqueued: Redis had lost the job", result)
            continue
        status = job.get_status()
        if status == RQStatus.QUEUED and not _on_its_queue(conn, job):
            # Redis came back from its append-only file with the worker's pop of the job but not
            # what followed (everysec): queued by its status, on no queue, run by no one.
            if _age(run.enqueued_at, now) >= grace:
                _requeue(conn, run, "re-enqueued: Redis had lost the job from its queue", result)
            continue
        if status == RQStatus.FINISHED:
            value = job.return_value()
            run.status, run.progress = JobStatus.FINISHED, 100
            run.ended_at = run.ended_at or now
            run.result = value if isinstance(value, dict) else {"result": value}
            run.error, run.message = None, result_message(run.result)
            db.session.commit()
            result.finished.append(run.rq_job_id)
        elif status in (RQStatus.FAILED, RQStatus.STOPPED, RQStatus.CANCELED):
            latest = job.latest_result()
            run.error = run.error or (latest.exc_string if latest else None)
            _fail(run, f"RQ reports the job {status.value}")
            result.failed.append(run.rq_job_id)
        elif status == RQStatus.STARTED and worker_dead(conn, job.worker_name):
            timeout = int(spec.get("timeout") or current_app.config["JOB_TIMEOUT_SECONDS"])
            attempts_allowed = int(spec.get("retries", 0)) + 1
            _drop_started_entry(conn, job)
            if _age(run.started_at or run.enqueued_at, now) > timeout:
                reason = (
                    f"stale: its worker died and it has been running longer than its "
                    f"timeout ({timeout} s); re-run it from the Jobs page"
                )
            elif (run.attempts or 0) >= attempts_allowed:
                reason = (
                    f"stale: its worker died on attempt {run.attempts} of {attempts_allowed}; "
                    "re-run it from the Jobs page"
                )
            else:
                _requeue(conn, run, f"re-enqueued: worker {job.worker_name} died mid-run", result)
                continue
            job.set_status(RQStatus.FAILED)
            _fail(run, reason)
            result.failed.append(run.rq_job_id)
    return result


def reconcile_quietly(log) -> Reconciled | None:
    """``reconcile`` for loops (the scheduler): a failure is logged, never raised."""
    try:
        done = reconcile()
    except Exception as exc:  # noqa: BLE001 - Redis or the database down: next time
        db.session.rollback()
        log(f"reconcile failed, will try again: {exc}")
        return None
    finally:
        db.session.remove()
    if done:
        log(f"reconciled job runs: {done}")
    return done
