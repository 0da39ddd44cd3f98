"""The ERP import as an RQ job: upload → queued batch → worker → applied, with progress."""

from __future__ import annotations

import io
from decimal import Decimal

from rq.worker import SimpleWorker
from sqlalchemy import func, select

import jobs
from backoffice.models import JobRun, Receivable
from backoffice.models.job import JobStatus
from backoffice.models.receivable import ImportBatch, ImportStatus
from jobs.imports import job_id_for
from tests import helpers
from tests.conftest import csrf_from
from tests.data import erp_files as erp


class InProcessWorker(SimpleWorker):
    """SimpleWorker without the pub/sub listener (its thread slows every burst down)."""

    def subscribe(self):
        pass

    def unsubscribe(self):
        pass


def work(conn) -> None:
    jobs.make_worker(conn, worker_class=InProcessWorker).work(burst=True)


def test_upload_enqueues_and_worker_applies(app, db, redis_conn, tmp_path):
    """With Redis the upload is queued; an RQ worker (JSON serializer) imports it."""
    company = helpers.make_company(code="HQ", name="总公司")
    helpers.make_unit(company, code="EAST", name="华东事业部")
    user = helpers.make_user("finance")
    client = helpers.fresh_client(app)
    helpers.login(client, user.username)
    path = erp.write_csv(
        tmp_path / "应收.csv", erp.RECEIVABLE_HEADERS, erp.receivable_rows("HQ", "EAST")
    )
    token = csrf_from(client.get("/admin/import/").get_data(as_text=True))
    response = client.post(
        "/admin/import/",
        data={
            "csrf_token": token,
            "kind": "receivables",
            "file": (io.BytesIO(path.read_bytes()), "应收.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    batch = db.session.scalar(select(ImportBatch))
    assert batch.status == ImportStatus.PENDING
    progress_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="progress-bar' in progress_page and "status.json" in progress_page
    state = client.get(f"/admin/import/{batch.id}/status.json").get_json()
    assert state["done"] is False and state["status"] == "pending"
    assert db.session.scalar(select(func.count()).select_from(Receivable)) == 0

    work(redis_conn)

    db.session.expire_all()
    batch = db.session.get(ImportBatch, batch.id)
    assert batch.status == ImportStatus.APPLIED and batch.rows_created == 4
    run = db.session.scalar(select(JobRun).where(JobRun.rq_job_id == job_id_for(batch.id)))
    assert run.status == JobStatus.FINISHED and run.progress == 100
    assert run.result["status"] == "applied"
    amount = db.session.scalar(select(Receivable.amount).where(Receivable.doc_no == "INV-001"))
    assert amount == Decimal("1234.50")
    state = client.get(f"/admin/import/{batch.id}/status.json").get_json()
    assert state["done"] is True and state["progress"] == 100
    result = client.get(state["result_url"]).get_data(as_text=True)
    assert 'class="created">4<' in result


def test_hostile_upload_finishes_with_a_message(app, db, redis_conn, tmp_path):
    """A zip bomb ends as a FAILED batch with its reason; the job itself does not crash."""
    user = helpers.make_user("finance")
    client = helpers.fresh_client(app)
    helpers.login(client, user.username)
    path = erp.hostile_zip_bomb(tmp_path / "bomb.xlsx")
    token = csrf_from(client.get("/admin/import/").get_data(as_text=True))
    client.post(
        "/admin/import/",
        data={
            "csrf_token": token,
            "kind": "receivables",
            "file": (io.BytesIO(path.read_bytes()), "b.xlsx"),
        },
        content_type="multipart/form-data",
    )
    work(redis_conn)
    db.session.expire_all()
    batch = db.session.scalar(select(ImportBatch))
    assert batch.status == ImportStatus.FAILED and "zip bomb" in batch.report["fatal"]
    html = client.get(f"/admin/import/{batch.id}/result/").get_data(as_text=True)
    assert "zip bomb" in html
