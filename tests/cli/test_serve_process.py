"""The run command (``flask serve``) as a real process tree (issue 10): ``kill -9`` of the RQ
worker, of the embedded Redis and of the scheduler in the middle of a monthly run; the
supervisor restarts each, the reconciler re-enqueues what was lost, and every statement of the
period exists exactly once with no manual step. Ctrl-C then stops every process."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backoffice import create_app
from backoffice.config import BASE_DIR, TestConfig
from backoffice.extensions import db
from backoffice.models import Customer, JobRun, MonthlyRun, Receivable, Statement
from backoffice.models.job import JobStatus
from tests import helpers

PERIOD = "2026-10"
CUSTOMERS = 12  # ~0.3 s of PDF rendering each: the kills land while statements are made
CHUNK = 4  # three statement jobs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def site(tmp_path):
    """A var folder and SQLite database of its own, migrated, with one unit and 12 customers
    that each had an overdue document at the September close. Yields an app on it."""
    var = tmp_path / "var"
    var.mkdir()
    url = f"sqlite:///{var / 'qingqian.db'}"

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        VAR_DIR = var
        STORAGE_DIR = str(var / "storage")
        MAIL_OUTBOX_DIR = str(var / "outbox")

    app = create_app(Config)
    with app.app_context():
        from flask_migrate import upgrade

        from backoffice.services.calendar import load_year

        upgrade()
        load_year(db.session, 2026)
        unit = helpers.make_unit(name="华东事业部")
        for i in range(CUSTOMERS):
            customer = Customer(
                company_id=unit.company_id,
                sales_unit_id=unit.id,
                erp_code=f"K{i:03d}",
                name=f"客户{i:03d}有限公司",
            )
            db.session.add(customer)
            db.session.flush()
            db.session.add(
                Receivable(
                    company_id=unit.company_id,
                    sales_unit_id=unit.id,
                    customer_id=customer.id,
                    doc_no=f"INV-{i:03d}",
                    amount=Decimal("1000.00"),
                    outstanding=Decimal("1000.00"),
                    due_date=date(2026, 8, 31),
                )
            )
        db.session.commit()
        db.session.remove()
    yield app, var, url
    with app.app_context():
        db.engine.dispose()


class Serve:
    """``flask serve`` in a session of its own, its log in a file."""

    def __init__(self, var: Path, db_url: str):
        self.log_path = var / "serve.log"
        self.port = _free_port()
        dropped = ("TEST_DATABASE_URL", "QQ_ENV", "REDIS_URL", "STORAGE_BACKEND", "STORAGE_DIR")
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        env.update(
            QQ_VAR_DIR=str(var),
            DATABASE_URL=db_url,
            SECRET_KEY="serve-test",
            PYTHONPATH=str(BASE_DIR),
            JOB_RECONCILE_INTERVAL="1",
            JOB_RECONCILE_GRACE="2",
            SCHEDULER_AT_HOUR="24",  # no daily tick: only this test's work runs
            # The restarted scheduler waits for the killed one's lock to expire (jobs/leader.py).
            SCHEDULER_LOCK_TTL="3",
            SCHEDULER_POLL_INTERVAL="1",
            MONTHLY_STATEMENT_CHUNK=str(CHUNK),
        )
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603 - our own app
            [sys.executable, "-m", "flask", "--app", "app", "serve", "--port", str(self.port),
             "--web-workers", "1"],
            cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text())
            if found:
                return found
            assert self.proc.poll() is None, f"serve exited:\n{self.text()}"
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not in the log:\n{self.text()}")

    def pids(self) -> dict[str, int]:
        """The current pid of each child, from the supervisor's log."""
        return {m[0]: int(m[1]) for m in re.findall(r"\] (\S+) started \(pid (\d+)", self.text())}

    def kill(self, name: str, with_children: bool = False) -> int:
        pid = self.pids()[name]
        doomed = [pid, *(descendants(pid) if with_children else [])]
        for p in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        return pid

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        for pid in self.pids().values():  # never leave a child behind, even on failure
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.log.close()


def descendants(pid: int) -> list[int]:
    """Pids of every live process below ``pid`` (RQ's work horse and scheduler child)."""
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


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def statements() -> list[int]:
    db.session.expire_all()
    return list(db.session.scalars(select(Statement.customer_id).order_by(Statement.customer_id)))


def wait_until(check, timeout: float, what: str, serve: Serve):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen in {timeout} s:\n{serve.text()[-6000:]}")


def test_embedded_redis_keeps_queued_jobs_across_kill_9(tmp_path):
    """The embedded Redis writes an append-only file: a job queued before ``kill -9`` of Redis
    is still queued after it comes back on the same port and folder."""
    from redis import Redis
    from rq import Queue

    from backoffice.cli.processes import redis_server_command, start_embedded_redis

    proc, url = start_embedded_redis(tmp_path / "redis")
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    try:
        assert Redis.from_url(url).config_get("appendonly") == {"appendonly": "yes"}
        Queue("reports", connection=Redis.from_url(url)).enqueue(
            "jobs.monthly.monthly_run", "2026-10", job_id="kept"
        )
        # appendfsync everysec: a write reaches the file within about a second, and a kill -9
        # before that loses it (the reconciler then re-queues from the job row). Wait for it.
        aof = tmp_path / "redis" / "appendonly.aof"
        deadline = time.monotonic() + 5
        while b"kept" not in (aof.read_bytes() if aof.exists() else b""):
            assert time.monotonic() < deadline, "the queued job never reached the append-only file"
            time.sleep(0.1)
        proc.kill()
        proc.wait()
        proc = subprocess.Popen(
            redis_server_command(tmp_path / "redis", port),  # noqa: S603
            stdout=subprocess.DEVNULL,
        )
        from backoffice.cli.processes import redis_answers

        assert redis_answers(url)
        assert Queue("reports", connection=Redis.from_url(url)).job_ids == ["kept"]
    finally:
        proc.kill()
        proc.wait()


def test_run_command_heals_kill_9_of_worker_redis_and_scheduler(site):
    """kill -9 of the worker (with its work horse), of Redis and of the scheduler mid-run: each
    is restarted and logged, and the period ends with one statement per customer, every job
    finished and the run's finished_at set; Ctrl-C then stops every process."""
    app, var, db_url = site
    serve = Serve(var, db_url)
    try:
        redis_url = serve.wait_for(r"Redis: (redis://\S+)")[1]
        with app.app_context():
            app.config["REDIS_URL"] = redis_url
            from jobs.resume import resume_monthly

            assert resume_monthly(PERIOD).line.startswith("enqueued monthly-run_2026-10")
            db.session.remove()

            wait_until(lambda: len(statements()) >= 2, 60, "the first statements", serve)
            serve.kill("worker-1", with_children=True)  # the worker and the horse mid-chunk
            serve.wait_for(r"worker-1 \(pid \d+\) killed by SIGKILL; restarting in 1 s")
            serve.wait_for(r"worker-1 restarted")
            made = len(statements())
            wait_until(lambda: len(statements()) > made, 60, "statements after the restart", serve)

            serve.kill("redis")
            serve.wait_for(r"redis \(pid \d+\) killed by SIGKILL; restarting in 1 s")
            serve.wait_for(r"redis restarted \(restart 1\)")
            serve.kill("scheduler")
            serve.wait_for(r"scheduler \(pid \d+\) killed by SIGKILL; restarting")
            serve.wait_for(r"scheduler restarted")

            def done() -> bool:
                db.session.expire_all()
                busy = db.session.scalar(
                    select(func.count())
                    .select_from(JobRun)
                    .where(JobRun.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
                )
                run = db.session.scalar(select(MonthlyRun).where(MonthlyRun.period == PERIOD))
                return busy == 0 and run is not None and run.finished_at is not None

            wait_until(done, 180, "the period's end", serve)  # slow on a loaded 2-core CI
            customers = sorted(db.session.scalars(select(Customer.id)))
            assert statements() == customers  # each exactly once: 0 lost, 0 doubled
            runs = db.session.execute(select(JobRun.rq_job_id, JobRun.status, JobRun.message))
            for job_id, status, message in runs:
                assert status is JobStatus.FINISHED, (job_id, message)
                assert message.startswith("finished"), (job_id, message)  # not "will retry"
            assert list((var / "redis").rglob("*.aof")), "no append-only file"
            db.session.remove()

        children = serve.pids()
        horses = [p for pid in children.values() for p in descendants(pid)]
        serve.proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert serve.proc.wait(timeout=40) == 0
        assert "stopping every process" in serve.text()
        for pid in [*children.values(), *horses]:
            wait_until(lambda pid=pid: not alive(pid), 10, f"the end of pid {pid}", serve)
    finally:
        serve.close()
