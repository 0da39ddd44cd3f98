"""A real ``flask worker`` process on a real Redis: the fork path, kill -9 and the re-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

import jobs
from backoffice.config import BASE_DIR
from backoffice.models import AuditLog, JobRun, Setting
from backoffice.models.job import JobStatus
from backoffice.services import audit_key
from tests.jobs import sample_jobs

STEPS = 8
DELAY = 0.25


@pytest.fixture()
def worker_env(app, db, redis_conn, redis_url, tmp_path, monkeypatch):
    """Environment for a worker subprocess sharing the test database and Redis."""
    monkeypatch.setitem(app.config, "JOB_RETRY_INTERVALS", [0])
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=redis_url,
        SECRET_KEY="worker-test",
        QQ_VAR_DIR=str(tmp_path / "var"),
        AUDIT_KEY_FILE=str(audit_key.key_file(app.config)),  # one key ring, as in production
        PYTHONPATH=os.pathsep.join([str(BASE_DIR), env.get("PYTHONPATH", "")]),
    )
    env.pop("QQ_ENV", None)
    return env


def start_worker(env, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "worker", *extra],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the worker and RQ's scheduler child
    )


def finish(proc: subprocess.Popen, timeout: float = 25) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def row(db, job_id: str) -> JobRun:
    db.session.expire_all()
    return db.session.scalar(select(JobRun).where(JobRun.rq_job_id == job_id))


def wait_for_pid_mid_run(conn, job_id: str, min_progress: int = 25) -> int:
    """Wait until the job has done some of its steps; return its work horse's pid."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            job = Job.fetch(job_id, connection=conn, serializer=JSONSerializer)
        except Exception:  # noqa: BLE001 - not stored yet
            job = None
        if job and job.meta.get("pid") and job.meta.get("progress", 0) >= min_progress:
            return job.meta["pid"]
        time.sleep(0.05)
    raise AssertionError("the job did not start in time")


def sleepy_rows(db, tag: str) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Setting.key).where(Setting.key.like(f"sleepy-{tag}-%"))))


def test_worker_process_runs_jobs_and_records_failures(worker_env, db, redis_conn):
    """A forked worker finishes one job (100 %) and fails another with its error, over JSON."""
    jobs.enqueue(sample_jobs.add, 40, 2, job_id="proc-add")
    jobs.enqueue(sample_jobs.boom, "对账单生成失败", job_id="proc-boom", retries=0)
    finish(start_worker(worker_env, "--burst"))
    ok = row(db, "proc-add")
    assert ok.status is JobStatus.FINISHED and ok.progress == 100 and ok.result == {"sum": 42}
    failed = row(db, "proc-boom")
    assert failed.status is JobStatus.FAILED and "RuntimeError: 对账单生成失败" in failed.error
    job = Job.fetch("proc-boom", connection=redis_conn, serializer=JSONSerializer)
    assert job.get_status() == "failed" and "对账单生成失败" in job.latest_result().exc_string


def test_killed_work_horse_is_retried_and_nothing_is_doubled(worker_env, db, redis_conn):
    """kill -9 of the work horse mid-run: the job is retried and ends with each row once."""
    jobs.enqueue(sample_jobs.sleepy, "horse", STEPS, DELAY, job_id="proc-horse", retries=2)
    proc = start_worker(worker_env, "--burst")
    try:
        horse = wait_for_pid_mid_run(redis_conn, "proc-horse")
        assert horse != proc.pid  # the job runs in a forked work horse
        written_before = len(sleepy_rows(db, "horse"))
        os.kill(horse, signal.SIGKILL)
        finish(proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert 0 < written_before < STEPS
    keys = sleepy_rows(db, "horse")
    assert sorted(keys) == sorted(f"sleepy-horse-{i}" for i in range(STEPS))  # 0 lost, 0 doubled
    run = row(db, "proc-horse")
    assert run.status is JobStatus.FINISHED and run.progress == 100 and run.attempts == 2
    assert run.result["written"] < STEPS  # the retry skipped the rows written before the kill
    assert run.message.startswith("finished: ")  # its result, not "killed … will retry"
    assert "will retry" not in run.message and run.error is None
    killed = db.session.scalar(
        select(AuditLog.detail).where(
            AuditLog.entity_id == "proc-horse", AuditLog.detail.like("%killed by signal 9%")
        )
    )
    assert killed and "will retry" in killed  # the row said "queued, will retry" meanwhile


def test_killed_worker_job_is_rerun_after_maintenance(worker_env, db, redis_conn):
    """kill -9 of worker and horse: after RQ's maintenance finds it abandoned, a new worker
    re-runs it to the end with nothing doubled."""
    jobs.enqueue(sample_jobs.sleepy, "worker", STEPS, DELAY, job_id="proc-dead", retries=2)
    proc = start_worker(worker_env)  # not burst: it would wait for more work
    try:
        horse = wait_for_pid_mid_run(redis_conn, "proc-dead")
        os.killpg(proc.pid, signal.SIGKILL)  # the worker (and its scheduler child)
        os.kill(horse, signal.SIGKILL)  # the horse runs in a process group of its own
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert row(db, "proc-dead").status is JobStatus.RUNNING  # nobody is left to say otherwise
    # RQ calls a job abandoned once its heartbeat (about a minute) has expired and a worker runs
    # maintenance (every 10 minutes). Expire the heartbeat instead of waiting for it.
    registry = StartedJobRegistry(jobs.QUEUE_DEFAULT, connection=redis_conn)
    entries = redis_conn.zrange(registry.key, 0, -1)
    assert entries, "the killed job should still be registered as started"
    redis_conn.zadd(registry.key, {entry: 1 for entry in entries})
    finish(start_worker(worker_env, "--burst"))  # a new worker runs maintenance on start
    keys = sleepy_rows(db, "worker")
    assert sorted(keys) == sorted(f"sleepy-worker-{i}" for i in range(STEPS))
    run = row(db, "proc-dead")
    assert run.status is JobStatus.FINISHED and run.progress == 100 and run.attempts == 2
    abandoned = db.session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.entity_id == "proc-dead", AuditLog.detail.like("%worker died%retry%"))
    )
    assert abandoned == 1
