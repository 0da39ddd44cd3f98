"""An undecodable upload is a refused batch with its reason, not a crashed and retried job."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from backoffice.models import JobRun
from backoffice.models.job import JobStatus
from backoffice.models.receivable import ImportBatch, ImportStatus
from jobs.imports import job_id_for
from tests import helpers
from tests.conftest import csrf_from
from tests.jobs.test_import_job import work


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("单据编号,客户名称,应收金额\nINV-1,华东,5\n".encode("utf-16-le"), "UTF-16"),
        (b"\x80\xff" * 500, "GBK/GB18030"),
    ],
)
def test_undecodable_upload_is_refused_once_with_a_reason(app, db, redis_conn, content, reason):
    """UTF-16 or random bytes: the batch fails with a Chinese reason, the job is not retried."""
    helpers.make_company(code="HQ", name="总公司")
    user = helpers.make_user("finance")
    client = helpers.fresh_client(app)
    helpers.login(client, user.username)
    token = csrf_from(client.get("/admin/import/").get_data(as_text=True))
    client.post(
        "/admin/import/",
        data={"csrf_token": token, "kind": "receivables", "file": (io.BytesIO(content), "a.csv")},
        content_type="multipart/form-data",
    )
    work(redis_conn)
    db.session.expire_all()
    batch = db.session.scalar(select(ImportBatch))
    assert batch.status == ImportStatus.FAILED
    run = db.session.scalar(select(JobRun).where(JobRun.rq_job_id == job_id_for(batch.id)))
    assert run.status == JobStatus.FINISHED and run.attempts == 1  # finished: RQ retries nothing
    html = client.get(f"/admin/import/{batch.id}/result/").get_data(as_text=True)
    assert reason in html and "第 1 行" in html
