"""Resuming unfinished work (jobs/resume.py): ``flask monthly run`` and ``flask archive
year-end`` queue again a period or year whose parts are not all done, instead of reporting the
finished job row; ``monthly_run.finished_at`` is set when the last part ends."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

import jobs
from backoffice.models import JobRun, MonthlyRun, Statement
from backoffice.models.archive import ArchiveRecord
from backoffice.models.job import JobStatus
from backoffice.services.calendar import load_year
from tests import helpers
from tests.jobs.test_machinery import InProcessWorker, queues, run_row, work  # noqa: F401
from tests.services.conftest import chain  # noqa: F401
from tests.services.test_archive import closed  # noqa: F401

PERIOD = "2026-10"


@pytest.fixture()
def ledger(db):
    """Three customers with an overdue document at the September close."""
    load_year(db.session, 2026)
    db.session.commit()
    unit = helpers.make_unit(name="华东事业部")
    for _ in range(3):
        helpers.make_receivable(helpers.make_customer(unit), due=date(2026, 8, 31))
    return unit


def statements(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Statement))


def finished_at(db):
    db.session.expire_all()
    return db.session.scalar(select(MonthlyRun.finished_at).where(MonthlyRun.period == PERIOD))


def test_monthly_run_resumes_a_period_whose_statement_jobs_redis_lost(
    queues,  # noqa: F811
    ledger,
    db,
    app,
):
    """The monthly-run job finished and enqueued the statements; Redis then lost them. Running
    ``monthly run`` again resumes the period (it used to print "finished" and do nothing), and
    the last statement job sets ``finished_at``; a third call says the period is complete."""
    runner = app.test_cli_runner()
    first = runner.invoke(args=["monthly", "run", "--period", PERIOD])
    assert first.exit_code == 0 and first.output.startswith("enqueued monthly-run_2026-10")
    jobs.make_worker(queues, worker_class=InProcessWorker).work(burst=True, max_jobs=1)
    assert run_row(db, "monthly-run_2026-10").status is JobStatus.FINISHED
    queues.flushdb()  # the statement job is lost
    assert statements(db) == 0 and finished_at(db) is None

    again = runner.invoke(args=["monthly", "run", "--period", PERIOD])
    assert again.exit_code == 0, again.output
    assert "resuming (3 statements missing)" in again.output
    work(queues)
    assert statements(db) == 3
    assert finished_at(db) is not None  # set by the statement job, the last part
    db.session.expire_all()
    for run in db.session.scalars(select(JobRun)):
        assert run.status is JobStatus.FINISHED, run.rq_job_id
    third = runner.invoke(args=["monthly", "run", "--period", PERIOD])
    assert "2026-10 is complete (1 reports, 1 forms, 3 statements); nothing to do" in third.output
    assert statements(db) == 3


def test_enqueued_monthly_run_sets_finished_at(queues, ledger, db, app):  # noqa: F811
    """A monthly run carried out by workers records when it finished (it never did)."""
    assert app.test_cli_runner().invoke(args=["monthly", "run", "--period", PERIOD]).exit_code == 0
    work(queues)
    assert statements(db) == 3 and finished_at(db) is not None


def test_a_document_imported_during_the_run_does_not_keep_it_unfinished(
    queues,  # noqa: F811
    ledger,
    db,
    app,
):
    """A customer whose document (dated before the close) is imported while the statement jobs
    wait is not in any of their chunks. The run still records 完成时间 when its last job ends:
    it is complete for the ledger it was started on (it stayed blank for ever)."""
    from backoffice.models import SalesUnit

    unit_id, runner = ledger.id, app.test_cli_runner()
    assert runner.invoke(args=["monthly", "run", "--period", PERIOD]).exit_code == 0
    jobs.make_worker(queues, worker_class=InProcessWorker).work(burst=True, max_jobs=1)
    unit = db.session.get(SalesUnit, unit_id)
    late = helpers.make_customer(unit, name="运行中导入客户有限公司")
    helpers.make_receivable(late, due=date(2026, 8, 31))  # imported now, owed at the close
    work(queues)
    db.session.expire_all()
    assert all(r.status is JobStatus.FINISHED for r in db.session.scalars(select(JobRun)))
    assert statements(db) == 3 and finished_at(db) is not None
    # Asked again, the run takes in the late document: its statement is made.
    again = runner.invoke(args=["monthly", "run", "--period", PERIOD])
    assert "resuming (1 statements missing)" in again.output, again.output
    work(queues)
    assert statements(db) == 4


def test_year_end_resumes_while_closed_cases_remain(queues, closed, db, app):  # noqa: F811
    """A finished year-end job with a closed case still unarchived (its job was lost, or the
    case closed later) is queued again by ``archive year-end``; once all are archived, nothing."""
    runner = app.test_cli_runner()
    job_id = jobs.make_job_id("year-end-archive", 2026)
    db.session.add(
        JobRun(rq_job_id=job_id, name="year_end_archive", status=JobStatus.FINISHED,
               args={"func": "jobs.archive.year_end_archive", "args": [2026],
                     "queue": "default", "timeout": 600, "retries": 0})
    )  # fmt: skip
    db.session.commit()
    result = runner.invoke(args=["archive", "year-end", "--year", "2026"])
    assert result.exit_code == 0, result.output
    assert "resuming (1 case(s) to archive): re-enqueued year-end-archive_2026" in result.output
    work(queues)
    assert db.session.scalar(select(func.count()).select_from(ArchiveRecord)) == 1
    assert run_row(db, job_id).status is JobStatus.FINISHED
    done = runner.invoke(args=["archive", "year-end", "--year", "2026"])
    assert "2026: every closed case is archived; nothing to do" in done.output
