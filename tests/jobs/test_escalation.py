"""The daily escalation job (Art.16): scheduled every day with a deterministic id, files a
compulsory case over 6 months once, and run again (directly or by a worker) files nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from backoffice.models import CollectionCase, WatchListEntry
from backoffice.models.case import CaseOrigin
from backoffice.models.job import JobRun, JobStatus
from backoffice.services.calendar import load_year
from jobs import enqueue, make_job_id
from jobs.escalation import daily_escalation
from jobs.schedule import due_on
from tests import helpers
from tests.jobs.test_machinery import work


@pytest.fixture()
def overdue(db):
    """A customer with one receivable due 31 January 2026 and a team lead."""
    load_year(db.session, 2026)
    db.session.commit()
    unit = helpers.make_unit(name="华南事业部")
    helpers.make_user("team_lead")
    customer = helpers.make_customer(unit, name="广州万通贸易有限公司")
    helpers.make_receivable(customer, amount="80000", due=date(2026, 1, 31))
    return customer


def count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_scheduler_starts_escalation_daily_with_a_deterministic_id(db):
    """Every day's due list holds one escalation job keyed by the day."""
    load_year(db.session, 2026)
    db.session.commit()
    for day in (date(2026, 8, 1), date(2026, 8, 2)):
        dues = [d for d in due_on(day) if d.func.__name__ == "daily_escalation"]
        assert [(d.args, d.job_id) for d in dues] == [
            ((day.isoformat(),), make_job_id("escalate", day.isoformat()))
        ]
    assert make_job_id("escalate", "2026-08-01") == "escalate_2026-08-01"


def test_job_files_once_and_a_second_run_files_nothing(db, overdue):
    """Called directly: over 3 months a watch-list entry; over 6 months one compulsory case;
    the same job again files nothing twice."""
    first = daily_escalation("2026-05-04")
    assert first == {"as_of": "2026-05-04", "watch_listed": [overdue.id], "filed": []}
    assert count(db, WatchListEntry) == 1 and count(db, CollectionCase) == 0

    filed = daily_escalation("2026-08-03")
    assert len(filed["filed"]) == 1
    case = db.session.scalar(select(CollectionCase))
    assert case.case_no == filed["filed"][0] and case.origin is CaseOrigin.COMPULSORY
    assert case.filing_notice_key

    again = daily_escalation("2026-08-03")
    assert again["filed"] == [] and again["watch_listed"] == []
    assert count(db, CollectionCase) == 1 and count(db, WatchListEntry) == 2


def test_worker_runs_the_scheduled_job_and_records_its_result(db, overdue, redis_conn):
    """Enqueued under its daily id and run by a worker: the run finishes with the case filed."""
    job_id = make_job_id("escalate", "2026-08-03")
    enqueue(daily_escalation, "2026-08-03", job_id=job_id)
    work(redis_conn)
    run = db.session.scalar(select(JobRun).where(JobRun.rq_job_id == job_id))
    db.session.refresh(run)
    assert run.status is JobStatus.FINISHED, run.error
    assert len(run.result["filed"]) == 1
    assert count(db, CollectionCase) == 1
    enqueue(daily_escalation, "2026-08-03", job_id=job_id)  # the same day again: not re-run
    work(redis_conn)
    assert count(db, CollectionCase) == 1
    assert count(db, JobRun) == 1
