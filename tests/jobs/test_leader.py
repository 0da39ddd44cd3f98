"""The scheduler's leader lock (jobs/leader.py) on a real Redis: one holder, renewed by it
alone, taken over when it expires or is released; the scheduler process acts only while it
holds the lock, and says and audits every change of holder."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from backoffice.models import AuditLog, JobRun
from backoffice.models.base import utcnow
from backoffice.models.job import JobStatus
from jobs.leader import LOCK_KEY, LeaderLock, Leadership, new_identity


def test_one_holder_with_an_expiry(redis_conn):
    """The first to ask holds it, with the TTL as expiry; a second identity cannot take it."""
    a, b = LeaderLock(redis_conn, 5, "host:1:aa"), LeaderLock(redis_conn, 5, "host:2:bb")
    assert a.acquire() and not b.acquire()
    assert a.holder() == b.holder() == "host:1:aa"
    assert 0 < redis_conn.pttl(LOCK_KEY) <= 5000
    assert a.acquire()  # asking again while holding it is not a failure


def test_only_the_holder_renews_and_releases(redis_conn):
    a, b = LeaderLock(redis_conn, 5, "host:1:aa"), LeaderLock(redis_conn, 5, "host:2:bb")
    assert a.acquire()
    redis_conn.pexpire(LOCK_KEY, 1000)
    assert not b.renew() and redis_conn.pttl(LOCK_KEY) <= 1000  # b cannot extend a's lock
    assert a.renew() and redis_conn.pttl(LOCK_KEY) > 1000  # a pushes the expiry back
    assert not b.release() and a.holder() == "host:1:aa"
    assert a.release() and a.holder() is None
    assert b.acquire()  # released: taken over at once


def test_an_expired_lock_is_taken_over_and_the_old_holder_learns_it(redis_conn):
    """A holder that stops renewing (killed, frozen) loses the lock when it expires; if it
    wakes up, it can neither renew nor delete the new holder's lock."""
    a = LeaderLock(redis_conn, 0.3, "host:1:aa")
    b = LeaderLock(redis_conn, 0.3, "host:2:bb")
    assert a.acquire() and not b.hold()
    deadline = time.monotonic() + 5
    while not b.hold():
        assert time.monotonic() < deadline, "the lock never expired"
        time.sleep(0.05)
    assert b.holder() == "host:2:bb"
    assert not a.renew() and not a.release() and not a.hold()
    assert b.holder() == "host:2:bb"


def test_identities_name_the_process_and_differ():
    first, second = new_identity(), new_identity()
    assert first != second and first.split(":")[1] == second.split(":")[1]
    with pytest.raises(ValueError):
        LeaderLock(None, 0)


def audited(db) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditLog.detail)
            .where(AuditLog.entity == "scheduler_lock")
            .order_by(AuditLog.seq)
        )
    )


def test_leadership_says_and_audits_each_change(app, db, redis_conn):
    """Two schedulers: one takes the lock (audited), the other stands by (logged once); when
    the holder is gone the standby takes over, naming the one before; the old holder, back,
    learns it lost; a clean stop releases."""
    cfg = {"SCHEDULER_LOCK_TTL": 30, "SCHEDULER_POLL_INTERVAL": 60}
    said: dict[str, list[str]] = {"a": [], "b": []}
    a, b = Leadership(cfg, said["a"].append), Leadership(cfg, said["b"].append)
    assert a.poll == 10  # renewed at least three times per expiry, whatever the setting says
    ida, idb = a.lock.identity, b.lock.identity
    assert a.check() and not b.check() and not b.check() and a.check()
    assert said["b"][1:] == [f"standing by: the scheduler lock is held by {ida}"]  # once
    assert audited(db) == [f"scheduler lock taken by {ida}"]

    redis_conn.delete(LOCK_KEY)  # a's lock expired (it froze, or died)
    assert b.check() and not a.check()
    assert said["a"][-1] == f"scheduler lock lost by {ida} to {idb}; standing by"
    b.release()
    a.release()  # not the holder: nothing to release, nothing audited
    assert audited(db) == [
        f"scheduler lock taken by {ida}",
        f"scheduler lock taken by {idb} (after {ida})",
        f"scheduler lock lost by {ida} to {idb}; standing by",
        f"scheduler lock released by {idb}",
    ]
    assert redis_conn.get(LOCK_KEY) is None


class _Stop(Exception):
    pass


def _run_scheduler_one_loop(app, monkeypatch):
    """``flask scheduler`` for one pass of its loop (its sleep ends the command)."""
    import backoffice.cli.processes as processes

    def stop(_seconds):
        raise _Stop

    monkeypatch.setattr(processes.time, "sleep", stop)
    result = app.test_cli_runner().invoke(args=["scheduler", "--at", "24"])
    assert isinstance(result.exception, _Stop), result.output
    return result.output


def test_the_scheduler_acts_only_while_it_holds_the_lock(app, db, redis_conn, monkeypatch):
    """With the lock held by another scheduler, a scheduler stands by and reconciles nothing;
    once the lock is free it takes it, reconciles, and releases it when it stops."""
    monkeypatch.setitem(app.config, "JOB_RECONCILE_GRACE", 1)
    db.session.add(
        JobRun(
            rq_job_id="leader-lost",
            name="add",
            args={"func": "tests.jobs.sample_jobs.add", "args": [1, 2], "queue": "default"},
            status=JobStatus.QUEUED,
            enqueued_at=utcnow() - timedelta(minutes=5),
        )
    )
    db.session.commit()
    redis_conn.set(LOCK_KEY, "elsewhere:7:abcd", px=30_000)
    out = _run_scheduler_one_loop(app, monkeypatch)
    assert "standing by: the scheduler lock is held by elsewhere:7:abcd" in out
    assert "reconciled" not in out and not redis_conn.exists("rq:job:leader-lost")
    assert redis_conn.get(LOCK_KEY) == b"elsewhere:7:abcd"  # a standby never touches it

    redis_conn.delete(LOCK_KEY)  # the other scheduler is gone
    out = _run_scheduler_one_loop(app, monkeypatch)
    assert "scheduler lock taken by" in out and "(after elsewhere:7:abcd)" not in out
    assert "reconciled job runs: re-enqueued: leader-lost" in out
    assert redis_conn.exists("rq:job:leader-lost")
    assert "scheduler lock released by" in out and redis_conn.get(LOCK_KEY) is None


def test_default_settings_take_over_within_a_minute():
    """A standby takes over at most TTL + poll seconds after the holder's last renewal."""
    from backoffice.config import Config

    assert Config.SCHEDULER_LOCK_TTL + Config.SCHEDULER_POLL_INTERVAL <= 60


def test_without_redis_the_scheduler_says_so(app, db, monkeypatch):
    """No REDIS_URL: one line saying the scheduler needs Redis, not a traceback."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    result = app.test_cli_runner().invoke(args=["scheduler"])
    assert result.exit_code == 1
    assert "the scheduler needs Redis for its leader lock: REDIS_URL is not set" in result.output


def test_the_audit_log_names_the_lock_in_words(app, db, redis_conn, client, login_as):
    """The audit trail names the lock's entries in words (调度主控锁), not by a table name."""
    said: list[str] = []
    Leadership({"SCHEDULER_LOCK_TTL": 30}, said.append).check()
    login_as("auditor")
    page = client.get("/admin/audit_log/").get_data(as_text=True)
    assert "调度主控锁" in page and "scheduler_lock<" not in page
