"""Commands that queue a job (``monthly run``, ``archive year-end``) without a reachable Redis:
one line that says what to do, no traceback, and no job row left behind (issue 10)."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import func, select

from backoffice.models import JobRun
from backoffice.services.calendar import load_year

COMMANDS = [["monthly", "run", "--period", "2026-10"], ["archive", "year-end", "--year", "2026"]]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args", COMMANDS, ids=["monthly", "year-end"])
@pytest.mark.parametrize("where", ["unset", "closed-port"])
def test_command_without_redis_prints_one_line_and_records_nothing(
    app, db, monkeypatch, args, where
):
    """REDIS_URL unset or pointing at a closed port: exit 1 with one line naming the problem and
    the ways out (run command, REDIS_URL, --inline); no queued row is left behind."""
    load_year(db.session, 2026)
    db.session.commit()
    url = None if where == "unset" else f"redis://127.0.0.1:{_closed_port()}/0"
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: cannot queue the job: ")
    assert ("REDIS_URL is not set" if where == "unset" else "Redis does not answer") in lines[0]
    assert "bash scripts/run.sh" in lines[0] and "--inline" in lines[0]
    assert "Traceback" not in result.output
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 0


def test_reconcile_command_requeues_a_lost_job_and_says_so(app, db, redis_conn):
    """``flask reconcile --grace 0`` puts back a queued job Redis lost and prints its id."""
    import jobs
    from tests.jobs import sample_jobs

    jobs.enqueue(sample_jobs.add, 1, 2, job_id="cli-lost")
    redis_conn.flushdb()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reconcile", "--grace", "0"])
    assert result.exit_code == 0 and result.output.strip() == "re-enqueued: cli-lost"
    again = runner.invoke(args=["reconcile", "--grace", "0"])
    assert again.output.strip() == "nothing to do"
