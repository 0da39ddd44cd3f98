"""The jobs machinery with a real Redis and an in-process RQ worker (SimpleWorker)."""

from __future__ import annotations

import json
import zlib
from datetime import date

import pytest
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker import SimpleWorker
from sqlalchemy import func, select

import jobs
import jobs.maintenance
from backoffice.models import AuditLog, CalendarYear, JobRun
from backoffice.models.job import JobStatus
from jobs import schedule
from tests import helpers
from tests.jobs import sample_jobs


@pytest.fixture()
def queues(app, db, redis_conn, monkeypatch):
    """Redis for the test, with retries re-queued at once instead of after 10 s."""
    monkeypatch.setitem(app.config, "JOB_RETRY_INTERVALS", [0])
    return redis_conn


class InProcessWorker(SimpleWorker):
    """SimpleWorker without the pub/sub listener for remote stop commands, whose thread takes a
    second to join at the end of every burst."""

    def subscribe(self):
        pass

    def unsubscribe(self):
        pass


def work(conn) -> None:
    """Run every queued job in this process, as a worker would, then return."""
    jobs.make_worker(conn, worker_class=InProcessWorker).work(burst=True)


def run_row(db, job_id: str) -> JobRun:
    db.session.expire_all()
    return db.session.scalar(select(JobRun).where(JobRun.rq_job_id == job_id))


def test_make_job_id_is_deterministic_and_valid_for_rq():
    """The same parts give the same id, and characters RQ refuses become dashes."""
    assert jobs.make_job_id("monthly-run", "2026-10") == "monthly-run_2026-10"
    assert jobs.make_job_id("x", "a:b/c") == jobs.make_job_id("x", "a:b/c") == "x_a-b-c"
    from rq.job import validate_job_id

    validate_job_id(jobs.make_job_id("audit-verify", date(2026, 1, 4).isoformat()))


def test_enqueue_records_the_run_and_stores_json_not_pickle(queues, db):
    """The job is stored with the JSON serializer, its timeout and retries set explicitly."""
    run = jobs.enqueue(sample_jobs.add, 2, 3, job_id="add-json", timeout=120, retries=2)
    assert run.status is JobStatus.QUEUED and run.name == "add"
    assert run.args["func"] == "tests.jobs.sample_jobs.add" and run.args["args"] == [2, 3]
    raw = queues.hget("rq:job:add-json", "data")
    payload = json.loads(zlib.decompress(raw))  # would fail for a pickle
    assert payload[0] == "tests.jobs.sample_jobs.add" and payload[2] == [2, 3]
    job = Job.fetch("add-json", connection=queues, serializer=JSONSerializer)
    assert job.timeout == 120 and job.retries_left == 2 and job.retry_intervals == [0]
    assert jobs.get_queue(jobs.QUEUE_DEFAULT, queues).count == 1


def test_same_job_id_is_enqueued_once(queues, db):
    """Enqueuing an id twice returns the same row and puts one job on the queue."""
    first = jobs.enqueue(sample_jobs.add, 1, 1, job_id="add-once")
    second = jobs.enqueue(sample_jobs.add, 1, 1, job_id="add-once")
    assert first.id == second.id
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1
    assert jobs.get_queue(jobs.QUEUE_DEFAULT, queues).count == 1
    work(queues)
    jobs.enqueue(sample_jobs.add, 1, 1, job_id="add-once")  # finished: still not again
    assert jobs.get_queue(jobs.QUEUE_DEFAULT, queues).count == 0
    assert run_row(db, "add-once").attempts == 1


def test_non_json_arguments_are_refused_before_anything_is_written(queues, db):
    """A date or an ORM object as an argument raises TypeError and records nothing."""
    with pytest.raises(TypeError, match="JSON"):
        jobs.enqueue(sample_jobs.add, date(2026, 1, 1), 1, job_id="bad-args")
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 0
    with pytest.raises(ValueError, match="unknown queue"):
        jobs.enqueue(sample_jobs.add, 1, 1, job_id="bad-queue", queue="nope")


def test_finished_job_shows_finished_with_progress_result_and_timings(queues, db):
    """A job run by a worker ends finished, 100 %, with its result, timings and one attempt."""
    jobs.enqueue(sample_jobs.add, 20, 22, job_id="add-ok")
    work(queues)
    run = run_row(db, "add-ok")
    assert run.status is JobStatus.FINISHED
    assert run.progress == 100 and run.attempts == 1 and run.error is None
    assert run.result == {"sum": 42}
    assert run.started_at is not None and run.ended_at >= run.started_at
    job = Job.fetch("add-ok", connection=queues, serializer=JSONSerializer)
    assert job.get_status() == "finished" and job.return_value() == {"sum": 42}
    assert job.meta["progress"] == 50  # set_progress reached RQ's meta as well


def test_failed_job_raises_and_shows_its_error(queues, db):
    """A failing job is failed in RQ and in its row, with the message and traceback."""
    jobs.enqueue(sample_jobs.boom, "账款数据缺失", job_id="boom-once", retries=0)
    work(queues)
    run = run_row(db, "boom-once")
    assert run.status is JobStatus.FAILED
    assert run.message == "账款数据缺失"
    assert "RuntimeError: 账款数据缺失" in run.error and "Traceback" in run.error
    job = Job.fetch("boom-once", connection=queues, serializer=JSONSerializer)
    assert job.get_status() == "failed"
    assert "RuntimeError" in job.latest_result().exc_string
    detail = db.session.scalar(
        select(AuditLog.detail).where(AuditLog.entity_id == "boom-once", AuditLog.action == "job")
    )
    assert detail == "后台任务“boom”失败：账款数据缺失"  # in words; the traceback stays on the row


def test_failed_job_is_retried_and_the_row_counts_attempts(queues, db):
    """With one retry a failing job runs twice; the row says retry after the first failure."""
    jobs.enqueue(sample_jobs.boom, "still broken", job_id="boom-retry", retries=1)
    work(queues)
    run = run_row(db, "boom-retry")
    assert run.status is JobStatus.FAILED and run.attempts == 2
    details = list(
        db.session.scalars(
            select(AuditLog.detail)
            .where(AuditLog.entity_id == "boom-retry", AuditLog.action == "job")
            .order_by(AuditLog.seq)
        )
    )
    # An English error is not shown to the auditor; the Jobs page's plain reason stands for it.
    generic = "任务出错停止，管理员可在日志中查看详情。"
    assert details == [f"后台任务“boom”失败，将重试：{generic}", f"后台任务“boom”失败：{generic}"]


def test_rerun_runs_an_ended_job_again_and_refuses_a_queued_one(queues, db):
    """Re-run puts a finished job back under the same id; a queued job cannot be re-run."""
    user_id = helpers.make_user("finance").id
    run_id = jobs.enqueue(sample_jobs.add, 1, 2, job_id="add-rerun").id
    with pytest.raises(jobs.JobBusy):
        jobs.rerun(run_id, user_id=user_id)
    work(queues)
    again = jobs.rerun(run_id, user_id=user_id)
    assert again.id == run_id and again.status is JobStatus.QUEUED
    assert again.enqueued_by_id == user_id and again.result is None
    with pytest.raises(jobs.JobBusy):  # a second click while it is queued does nothing
        jobs.rerun(run_id, user_id=user_id)
    assert jobs.get_queue(jobs.QUEUE_DEFAULT, queues).count == 1
    work(queues)
    final = run_row(db, "add-rerun")
    assert final.status is JobStatus.FINISHED and final.attempts == 2 and final.result == {"sum": 3}
    with pytest.raises(LookupError):
        jobs.rerun(999_999)


def test_sync_marks_a_job_failed_that_rq_failed_behind_our_back(queues, db):
    """A row still 'running' whose RQ job failed elsewhere is shown failed with RQ's error."""
    run = jobs.enqueue(sample_jobs.add, 1, 2, job_id="add-lost", retries=0)
    run.status = JobStatus.RUNNING
    db.session.commit()
    job = Job.fetch("add-lost", connection=queues, serializer=JSONSerializer)
    with queues.pipeline() as pipe:
        job.set_status("failed", pipeline=pipe)
        job._handle_failure("worker vanished", pipe, worker_name="")
        pipe.execute()
    jobs.sync_runs([run])
    row = run_row(db, "add-lost")
    assert row.status is JobStatus.FAILED and "worker vanished" in row.error


def test_scheduler_tick_enqueues_each_job_once(queues, db, monkeypatch):
    """Ticking twice on a day (a restarted scheduler) enqueues nothing the second time."""
    monkeypatch.setattr(
        schedule, "SCHEDULE", [schedule.daily_audit_check, schedule.daily_calendar_check]
    )
    day = date(2026, 10, 8)
    first = schedule.enqueue_due(day)
    assert first.enqueued == ["audit-verify_2026-10-08", "calendar-check_2026-10-08"]
    assert first.errors == []
    second = schedule.enqueue_due(day)
    assert second.enqueued == [] and second.existing == first.enqueued
    assert jobs.get_queue(jobs.QUEUE_DEFAULT, queues).count == 2
    work(queues)
    assert schedule.enqueue_due(day).enqueued == []  # finished jobs are not started again
    assert jobs.get_queue(jobs.QUEUE_DEFAULT, queues).count == 0
    assert run_row(db, "audit-verify_2026-10-08").status is JobStatus.FINISHED
    calendar_check = run_row(db, "calendar-check_2026-10-08")
    assert calendar_check.status is JobStatus.FINISHED
    assert db.session.get(CalendarYear, 2026) is not None  # the check loaded published years
    assert schedule.enqueue_due(date(2026, 10, 9)).enqueued == [
        "audit-verify_2026-10-09",
        "calendar-check_2026-10-09",
    ]


def test_a_broken_schedule_entry_does_not_stop_the_others(queues, db, monkeypatch):
    """An entry that raises is reported; the other entries are still enqueued."""

    def broken(today):
        raise RuntimeError("cannot decide")

    monkeypatch.setattr(schedule, "SCHEDULE", [broken, schedule.daily_audit_check])
    tick = schedule.enqueue_due(date(2026, 10, 8))
    assert tick.enqueued == ["audit-verify_2026-10-08"]
    assert tick.errors == ["broken: cannot decide"]


def test_calendar_check_asks_admins_for_next_year_and_does_not_fail(queues, db):
    """From 1 October a missing next year is a message to the administrators (inbox and
    e-mail, once a week), not a failed job."""
    from backoffice.models import Notification

    admin_id = helpers.make_user("admin").id
    helpers.make_user("finance")
    for job_id, day in (("cal-oct", "2026-10-08"), ("cal-oct-again", "2026-10-09")):
        jobs.enqueue(jobs.maintenance.check_calendar_coverage, day, job_id=job_id, retries=0)
        work(queues)
        run = run_row(db, job_id)
        assert run.status is JobStatus.FINISHED, run.message
    notes = db.session.scalars(select(Notification)).all()
    assert [n.user_id for n in notes] == [admin_id]  # once that week, to the admin only
    assert "2027" in notes[0].title and "节假日" in notes[0].title


def test_calendar_check_fails_while_this_year_is_missing(queues, db):
    """Without this year's calendar nothing can be dated: the check fails, naming the year."""
    jobs.enqueue(
        jobs.maintenance.check_calendar_coverage, "2031-03-02", job_id="cal-now", retries=0
    )
    work(queues)
    run = run_row(db, "cal-now")
    assert run.status is JobStatus.FAILED and "2031" in run.message


def test_scheduler_command_once(app, queues, db, monkeypatch):
    """`flask scheduler --once --date D` enqueues D's jobs; run again it enqueues nothing."""
    monkeypatch.setattr(
        schedule, "SCHEDULE", [schedule.daily_audit_check, schedule.daily_calendar_check]
    )
    runner = app.test_cli_runner()
    out = runner.invoke(args=["scheduler", "--once", "--date", "2026-05-06"])
    assert out.exit_code == 0, out.output
    assert "enqueued: audit-verify_2026-05-06, calendar-check_2026-05-06" in out.output
    again = runner.invoke(args=["scheduler", "--once", "--date", "2026-05-06"])
    assert again.exit_code == 0, again.output
    assert "enqueued: nothing" in again.output
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 2


def test_worker_uses_json_serializer_and_our_hooks(app, queues):
    """The worker reads jobs with the JSON serializer on every queue, in priority order."""
    worker = jobs.make_worker(queues)
    assert worker.serializer is JSONSerializer
    assert [q.name for q in worker.queues] == list(jobs.QUEUES)
    assert all(q.serializer is JSONSerializer for q in worker.queues)
    assert worker._work_horse_killed_handler is jobs._on_work_horse_killed


def test_jobs_page_shows_progress_a_plain_reason_and_rerun_button(queues, client, login_as, db):
    """Finance sees bars, a failed job's one-line Chinese reason (never the traceback) and a
    re-run button; a finished job shows its result with labels; the JSON gives progress."""
    jobs.enqueue(sample_jobs.boom, "模板缺失", job_id="page-boom", retries=0)
    jobs.enqueue(jobs.maintenance.verify_audit_chain, job_id="page-audit", retries=0)
    work(queues)
    login_as("finance")
    html = client.get("/admin/job_run/").get_data(as_text=True)
    failed_id = run_row(db, "page-boom").id
    assert 'class="progress"' in html and f'data-job-status="{failed_id}"' in html
    assert "失败：" in html and "Traceback" not in html and "RuntimeError" not in html
    assert "审计" in html  # the audit check is named in Chinese, not verify_audit_chain
    assert "verify_audit_chain" not in html
    assert f'action="/admin/job_run/{failed_id}/rerun"' in html
    data = client.get(f"/admin/job_run/progress.json?id={failed_id}").get_json()
    assert data["runs"][0]["status"] == "failed" and data["runs"][0]["rerunnable"] is True
    assert "Traceback" not in str(data)


def test_rerun_post_needs_csrf_and_permission(queues, app, db):
    """Re-run is a CSRF-checked POST for finance; an auditor may look but not re-run."""
    jobs.enqueue(sample_jobs.add, 1, 1, job_id="page-add")
    work(queues)
    run_id = run_row(db, "page-add").id
    url = f"/admin/job_run/{run_id}/rerun"

    auditor = helpers.fresh_client(app)
    helpers.login(auditor, helpers.make_user("auditor").username)
    page = auditor.get("/admin/job_run/").get_data(as_text=True)
    assert f'data-job-status="{run_id}"' in page and "/rerun" not in page
    token = helpers.csrf_token(auditor, "/admin/job_run/")
    assert auditor.post(url, data={"csrf_token": token}).status_code == 403

    collector = helpers.fresh_client(app)
    helpers.login(collector, helpers.make_user("collector").username)
    assert collector.get("/admin/job_run/").status_code == 403

    finance = helpers.fresh_client(app)
    helpers.login(finance, helpers.make_user("finance").username)
    assert finance.post(url).status_code == 400  # no CSRF token
    assert run_row(db, "page-add").status is JobStatus.FINISHED
    token = helpers.csrf_token(finance, "/admin/job_run/")
    response = finance.post(url, data={"csrf_token": token})
    assert response.status_code == 302
    assert run_row(db, "page-add").status is JobStatus.QUEUED
    assert jobs.get_queue(jobs.QUEUE_DEFAULT, queues).count == 1
    again = finance.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert again.status_code == 200  # still queued: refused with a message, nothing enqueued
    assert jobs.get_queue(jobs.QUEUE_DEFAULT, queues).count == 1
