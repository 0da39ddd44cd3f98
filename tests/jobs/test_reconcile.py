"""The reconciler (jobs/reconcile.py) against a real Redis and the test database: job runs whose
RQ job Redis lost are queued again once; a started job whose worker died is queued again, or
failed with the reason when it is stale; RQ's own verdicts are copied onto the rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq.job import JobStatus as RQStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import select, update

import jobs
from backoffice.extensions import db as _db
from backoffice.models import AuditLog, JobRun
from backoffice.models.base import utcnow
from backoffice.models.job import JobStatus
from jobs.reconcile import reconcile
from tests.jobs import sample_jobs
from tests.jobs.test_machinery import queues, run_row, work  # noqa: F401


def age(job_id: str, seconds: int) -> None:
    """Make the row look enqueued (and started) ``seconds`` ago."""
    then = utcnow() - timedelta(seconds=seconds)
    _db.session.execute(
        update(JobRun).where(JobRun.rq_job_id == job_id).values(enqueued_at=then, started_at=then)
    )
    _db.session.commit()


def test_a_job_redis_lost_is_re_enqueued_once_and_runs_once(queues, db):  # noqa: F811
    """A queued row whose RQ job is gone (Redis flushed) is put back once, however many passes
    run, and the worker then runs it to the end."""
    jobs.enqueue(sample_jobs.add, 2, 3, job_id="lost-add")
    queues.flushdb()  # Redis lost everything
    age("lost-add", 120)
    first = reconcile(queues)
    assert first.requeued == ["lost-add"]
    assert reconcile(queues).requeued == []  # the job is on the queue now: nothing to do
    queue = jobs.get_queue(jobs.QUEUE_DEFAULT, queues)
    assert queue.job_ids == ["lost-add"]  # on the queue once, not twice
    work(queues)
    row = run_row(db, "lost-add")
    assert row.status is JobStatus.FINISHED and row.result == {"sum": 5}
    assert row.attempts == 1
    assert row.message == "finished: sum=5"
    audited = db.session.scalar(
        select(AuditLog.detail).where(
            AuditLog.entity_id == "lost-add", AuditLog.detail.like("%Redis had lost%")
        )
    )
    assert audited


def test_a_job_queued_by_status_but_on_no_queue_is_re_enqueued(queues, db):  # noqa: F811
    """After Redis restarts from its append-only file, a job can be "queued" by its status yet
    on no queue (the worker's pop was written, the rest lost): it is put back and runs once."""
    jobs.enqueue(sample_jobs.add, 4, 5, job_id="popped-add")
    queues.lrem(f"rq:queue:{jobs.QUEUE_DEFAULT}", 0, "popped-add")
    age("popped-add", 120)
    assert reconcile(queues).requeued == ["popped-add"]
    assert reconcile(queues).requeued == []
    assert jobs.get_queue(jobs.QUEUE_DEFAULT, queues).job_ids == ["popped-add"]
    work(queues)
    row = run_row(db, "popped-add")
    assert row.status is JobStatus.FINISHED and row.result == {"sum": 9}


def test_two_reconcilers_claim_a_lost_job_once(queues, db):  # noqa: F811
    """Two passes that read the same stale row: only the first compare-and-set wins."""
    from jobs import reconcile as module

    jobs.enqueue(sample_jobs.add, 1, 1, job_id="raced")
    queues.flushdb()
    age("raced", 120)
    row = run_row(db, "raced")
    # The second reconciler read the row before the first claimed it (its own copy).
    other = JobRun(id=row.id, rq_job_id=row.rq_job_id, name=row.name, enqueued_at=row.enqueued_at)
    assert module._claim(row, "first") is True
    assert module._claim(other, "second") is False
    assert run_row(db, "raced").message == "first"


def test_a_just_enqueued_row_is_left_alone_within_the_grace(queues, db):  # noqa: F811
    """A row recorded a moment ago whose put is on its way is not queued a second time."""
    jobs.enqueue(sample_jobs.add, 1, 2, job_id="fresh")
    queues.flushdb()
    assert reconcile(queues, grace=60).requeued == []


def _started_by_dead_worker(conn, job_id: str) -> None:
    """Make the RQ job look taken by a worker on this host whose process is gone."""
    job = jobs.fetch_rq_job(job_id, conn)
    job.worker_name = "dead-worker"
    job.save()
    job.set_status(RQStatus.STARTED)
    registry = StartedJobRegistry(job.origin, connection=conn, serializer=jobs.SERIALIZER)
    conn.zadd(registry.key, {f"{job_id}:exec1": 9999999999})
    conn.lpop(f"rq:queue:{job.origin}")
    import socket

    conn.hset(
        "rq:worker:dead-worker", mapping={"hostname": socket.gethostname(), "pid": "999999999"}
    )
    _db.session.execute(
        update(JobRun)
        .where(JobRun.rq_job_id == job_id)
        .values(status=JobStatus.RUNNING, attempts=1)
    )
    _db.session.commit()


def test_a_job_whose_worker_died_is_re_enqueued(queues, db):  # noqa: F811
    """RQ says started but the worker's process is gone: the job is queued again and finishes."""
    jobs.enqueue(sample_jobs.add, 20, 22, job_id="orphan")
    _started_by_dead_worker(queues, "orphan")
    done = reconcile(queues)
    assert done.requeued == ["orphan"]
    work(queues)
    row = run_row(db, "orphan")
    assert row.status is JobStatus.FINISHED and row.result == {"sum": 42}


def test_a_stale_job_is_failed_with_the_reason(queues, db):  # noqa: F811
    """A started job whose worker died and which has run past its timeout is failed with the
    reason (not queued again, not left running forever)."""
    jobs.enqueue(sample_jobs.add, 1, 1, job_id="stale", timeout=60)
    _started_by_dead_worker(queues, "stale")
    age("stale", 3600)
    done = reconcile(queues)
    assert done.failed == ["stale"] and done.requeued == []
    row = run_row(db, "stale")
    assert row.status is JobStatus.FAILED and row.ended_at is not None
    assert "stale" in row.message and "timeout (60 s)" in row.message and "re-run" in row.message
    assert jobs.fetch_rq_job("stale", queues).get_status() == RQStatus.FAILED


def test_a_job_out_of_attempts_is_failed_not_requeued(queues, db):  # noqa: F811
    """A worker death on the last allowed attempt fails the row with the reason."""
    jobs.enqueue(sample_jobs.add, 1, 1, job_id="spent", retries=0)
    _started_by_dead_worker(queues, "spent")
    done = reconcile(queues)
    assert done.failed == ["spent"]
    assert "attempt 1 of 1" in run_row(db, "spent").message


def test_a_job_rq_finished_is_recorded_finished(queues, db):  # noqa: F811
    """A row still saying running for a job RQ finished gets the result as its message."""
    jobs.enqueue(sample_jobs.add, 4, 4, job_id="quiet")
    work(queues)
    _db.session.execute(
        update(JobRun).where(JobRun.rq_job_id == "quiet").values(status=JobStatus.RUNNING)
    )
    _db.session.commit()
    assert reconcile(queues).finished == ["quiet"]
    row = run_row(db, "quiet")
    assert row.status is JobStatus.FINISHED and row.message == "finished: sum=8"


def test_a_live_job_is_left_alone(queues, db):  # noqa: F811
    """A queued job still on its queue is not touched."""
    jobs.enqueue(sample_jobs.add, 1, 1, job_id="waiting")
    age("waiting", 3600)
    assert not reconcile(queues, grace=0)
    assert jobs.get_queue(jobs.QUEUE_DEFAULT, queues).job_ids == ["waiting"]


def test_reconcile_without_redis_raises_queue_unavailable(app, db, monkeypatch):
    """With Redis unreachable the reconciler concludes nothing and says why."""
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    with pytest.raises(jobs.QueueUnavailable, match="Redis does not answer"):
        reconcile()


def test_a_rerun_whose_put_fails_is_queued_by_the_reconciler(queues, db, monkeypatch):  # noqa: F811
    """Redis freezes during a re-run's put: the row says so (no exception, not stuck in queued);
    the reconciler puts it on the queue and it runs once more."""
    jobs.enqueue(sample_jobs.add, 3, 4, job_id="rerun-frozen")
    work(queues)
    from redis.exceptions import TimeoutError as RedisTimeout

    def frozen(*args, **kwargs):
        raise RedisTimeout("Timeout reading from socket")

    monkeypatch.setattr(jobs, "_put", frozen)
    run = jobs.rerun(run_row(db, "rerun-frozen").id)
    assert run.status is JobStatus.QUEUED and "reconciler will queue it" in run.message
    monkeypatch.undo()
    assert reconcile(queues, grace=0).requeued == ["rerun-frozen"]
    work(queues)
    row = run_row(db, "rerun-frozen")
    assert row.status is JobStatus.FINISHED and row.attempts == 2
