"""The year-end archive job (Art.22) on a real worker process and a real Redis: killed with
``kill -9`` half-way, finished by a new worker, every case closed that year is archived exactly
once and nothing else changed; running it again changes nothing."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

import jobs
from backoffice.config import BASE_DIR
from backoffice.models import (
    CollectionAction,
    CollectionCase,
    EvidenceDocument,
    Receivable,
    WriteOffApplication,
    WriteOffItem,
)
from backoffice.models.archive import ArchiveItem, ArchiveRecord
from backoffice.models.case import ActionKind, CaseOrigin, CaseReceivable, CaseStatus
from backoffice.models.evidence import DocumentType
from backoffice.models.job import JobStatus
from backoffice.models.writeoff import WriteOffGround
from backoffice.services import archive, audit_key
from backoffice.services import writeoff as wo
from backoffice.services.storage import get_storage
from jobs.archive import year_end_archive
from tests import helpers
from tests.jobs.test_worker_process import finish, row, start_worker

CASES_2026 = 48  # enough that the worker is still archiving when it is killed


@pytest.fixture()
def worker_env(app, db, redis_conn, redis_url, tmp_path, monkeypatch):
    """Environment for a worker subprocess sharing the test database, storage and Redis."""
    monkeypatch.setitem(app.config, "JOB_RETRY_INTERVALS", [0])
    env = dict(os.environ)
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=redis_url,
        SECRET_KEY="worker-test",
        QQ_VAR_DIR=str(tmp_path / "var"),
        AUDIT_KEY_FILE=str(audit_key.key_file(app.config)),  # one key ring, as in production
        STORAGE_DIR=str(app.config["STORAGE_DIR"]),  # summaries land where verify reads
        PYTHONPATH=os.pathsep.join([str(BASE_DIR), env.get("PYTHONPATH", "")]),
    )
    env.pop("QQ_ENV", None)
    return env


@pytest.fixture()
def closed_cases(db):
    """48 cases closed in 2026 (each with receivables and a stored document, every third with
    a write-off), plus one closed in 2025 and one still open: neither is for this run."""
    unit = helpers.make_unit(name="华南事业部")
    applicant = helpers.make_user("collector", units=[unit])
    storage = get_storage()
    ids = []
    for n in range(CASES_2026 + 2):
        customer = helpers.make_customer(unit, name=f"广州客户{n:02d}有限公司")
        receivables = [
            helpers.make_receivable(customer, amount=f"{1000 + n}.{n:02d}", due=date(2025, 6, 30)),
            helpers.make_receivable(customer, amount="250.50", due=date(2025, 8, 31)),
        ]
        if n % 3 == 0:
            wo.create(
                db.session,
                applicant=applicant,
                customer_id=customer.id,
                ground=WriteOffGround.HOPELESS,
                items=[(receivables[1].id, "250.50")],
                facts="多次催收无果",
            )
        closed_on = date(2026, 1 + n % 12, 10) if n < CASES_2026 else None
        if n == CASES_2026:
            closed_on = date(2025, 12, 30)
        case = CollectionCase(
            company_id=customer.company_id,
            sales_unit_id=unit.id,
            customer_id=customer.id,
            case_no=f"AJ2026-{n:04d}",
            origin=CaseOrigin.APPLICATION,
            status=CaseStatus.CLOSED if closed_on else CaseStatus.IN_PROGRESS,
            closed_on=closed_on,
        )
        db.session.add(case)
        db.session.flush()
        for r in receivables:
            db.session.add(CaseReceivable(case_id=case.id, receivable_id=r.id))
        if n % 3 == 0:
            application = db.session.scalar(
                select(WriteOffApplication).where(WriteOffApplication.customer_id == customer.id)
            )
            application.case_id = case.id
        db.session.add(
            CollectionAction(case_id=case.id, kind=ActionKind.PHONE, on=date(2026, 1, 5))
        )
        stored = storage.put(io.BytesIO(f"%PDF-1.4 催收函 {n}".encode()))
        db.session.add(
            EvidenceDocument(
                case_id=case.id,
                company_id=case.company_id,
                sales_unit_id=unit.id,
                doc_type=DocumentType.OTHER,
                original_name=f"催收函{n:02d}.pdf",
                storage_key=stored.key,
                size=stored.size,
                content_type="application/pdf",
                sha256=stored.sha256,
            )
        )
        db.session.commit()
        if n < CASES_2026:
            ids.append(case.id)
    return ids


def wait_mid_run(conn, job_id: str, min_progress: int) -> None:
    """Wait until the job has archived some of its cases (its progress in the RQ meta)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            job = Job.fetch(job_id, connection=conn, serializer=JSONSerializer)
        except Exception:  # noqa: BLE001 - not stored yet
            job = None
        if job and job.meta.get("progress", 0) >= min_progress:
            return
        time.sleep(0.02)
    raise AssertionError("the job did not get going in time")


def children_of(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def ledger_state(db) -> dict:
    """Row counts and amount sums of everything the archive job must not change."""
    db.session.expire_all()
    count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    return {
        "receivables": count(Receivable),
        "receivable_amount": db.session.scalar(select(func.sum(Receivable.amount))),
        "receivable_outstanding": db.session.scalar(select(func.sum(Receivable.outstanding))),
        "cases": count(CollectionCase),
        "closed": db.session.scalar(
            select(func.count()).where(CollectionCase.status == CaseStatus.CLOSED)
        ),
        "documents": count(EvidenceDocument),
        "actions": count(CollectionAction),
        "writeoffs": count(WriteOffApplication),
        "writeoff_amount": db.session.scalar(select(func.sum(WriteOffApplication.amount))),
        "writeoff_items": db.session.scalar(select(func.sum(WriteOffItem.amount))),
    }


def archive_state(db) -> dict:
    db.session.expire_all()
    return {
        "records": db.session.scalar(select(func.count()).select_from(ArchiveRecord)),
        "items": db.session.scalar(select(func.count()).select_from(ArchiveItem)),
        "amount": db.session.scalar(select(func.sum(ArchiveRecord.amount))),
        "numbers": sorted(db.session.scalars(select(ArchiveRecord.archive_no))),
    }


def test_killed_year_end_archive_finishes_each_case_exactly_once(
    worker_env, db, redis_conn, closed_cases
):
    """kill -9 of worker and work horse mid-run; a new worker finishes: each 2026 case is
    archived once with consecutive numbers, counts and sums are unchanged, a re-run is a no-op."""
    before = ledger_state(db)
    job_id = jobs.make_job_id("year-end-archive", 2026)
    jobs.enqueue(year_end_archive, 2026, job_id=job_id, retries=2)
    proc = start_worker(worker_env)  # not burst: killed while it works
    try:
        wait_mid_run(redis_conn, job_id, min_progress=10)
        children = children_of(proc.pid)  # the work horse and RQ's scheduler
        assert children
        os.killpg(proc.pid, signal.SIGKILL)
        for pid in children:  # the horse runs in a process group of its own
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    done_at_kill = archive_state(db)["records"]
    assert 0 < done_at_kill < CASES_2026, "the kill should land mid-run"
    assert row(db, job_id).status is JobStatus.RUNNING
    # Age the heartbeat instead of waiting for RQ to call the job abandoned.
    registry = StartedJobRegistry(jobs.QUEUE_DEFAULT, connection=redis_conn)
    entries = redis_conn.zrange(registry.key, 0, -1)
    assert entries
    redis_conn.zadd(registry.key, {entry: 1 for entry in entries})
    finish(start_worker(worker_env, "--burst"), timeout=180)

    run = row(db, job_id)
    assert run.status is JobStatus.FINISHED and run.progress == 100
    assert run.result["archived"] == CASES_2026 - done_at_kill
    archived_cases = list(db.session.scalars(select(ArchiveRecord.case_id)))
    assert sorted(archived_cases) == sorted(closed_cases)  # every one, each exactly once
    after = archive_state(db)
    assert after["numbers"] == [f"DA2026-{i:05d}" for i in range(1, CASES_2026 + 1)]
    expected_amount = db.session.scalar(
        select(func.sum(Receivable.amount))
        .join(CaseReceivable, CaseReceivable.receivable_id == Receivable.id)
        .where(CaseReceivable.case_id.in_(closed_cases))
    )
    assert after["amount"] == expected_amount and isinstance(after["amount"], Decimal)
    assert ledger_state(db) == before
    sealed = db.session.scalar(select(func.count()).where(CollectionCase.sealed_at.is_not(None)))
    assert sealed == CASES_2026
    for record in db.session.scalars(select(ArchiveRecord)):
        assert archive.verify(db.session, record) == []

    # Running it again changes nothing.
    again = jobs.rerun(run.id)
    finish(start_worker(worker_env, "--burst"), timeout=60)
    assert row(db, again.rq_job_id).result == {
        "year": 2026, "archived": 0, "skipped": 0, "replies": [],
    }  # fmt: skip
    assert archive_state(db) == after
    assert ledger_state(db) == before


@pytest.mark.parametrize(
    ("today", "year"),
    [
        (date(2026, 12, 31), 2026),
        (date(2027, 1, 1), 2026),
        (date(2027, 1, 7), 2026),
        (date(2027, 1, 8), None),
        (date(2026, 12, 30), None),
        (date(2026, 6, 30), None),
    ],
)
def test_schedule_starts_the_transfer_on_31_december_and_catches_up_in_january(today, year):
    """The year-end transfer is due on 31 Dec for that year and on 1–7 Jan for the previous
    one, always under the same job id; on other days it is not due."""
    from jobs.schedule import year_end_archive_transfer

    due = year_end_archive_transfer(today)
    if year is None:
        assert due == []
    else:
        assert [(d.func, d.args, d.job_id) for d in due] == [
            (year_end_archive, (year,), jobs.make_job_id("year-end-archive", year))
        ]
