"""/healthz and /readyz for a load balancer: no login, no cookie, and readiness names the
dependency (database, Redis, storage) that is not ready."""

from __future__ import annotations

import pytest


def test_liveness_answers_without_login(client):
    """/healthz is 200 for anyone and sets no cookie."""
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert "Set-Cookie" not in response.headers


def test_ready_when_database_redis_and_storage_answer(client, redis_conn):
    """/readyz is 200 with every check ok."""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "storage": "ok"},
    }


def test_not_ready_without_redis(client, app, monkeypatch):
    """A Redis that does not answer (or none configured) makes /readyz 503, naming it."""
    for url in ("redis://127.0.0.1:1/0", None):
        monkeypatch.setitem(app.config, "REDIS_URL", url)
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["checks"] == {
            "database": "ok",
            "redis": "failed",
            "storage": "ok",
        }


def test_not_ready_when_the_storage_folder_is_unusable(
    client, app, redis_conn, tmp_path, monkeypatch
):
    """A storage folder that cannot exist (a file is in its way) makes /readyz 503."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setitem(app.config, "STORAGE_DIR", str(blocker / "storage"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["storage"] == "failed"


def test_s3_storage_is_ready_only_when_its_bucket_answers(client, app, redis_conn, monkeypatch):
    """With STORAGE_BACKEND=s3 the check asks the bucket (moto's S3 here)."""
    boto3 = pytest.importorskip("boto3")
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    for key, value in {
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": "qq-evidence",
        "S3_REGION": "us-east-1",
        "S3_ENDPOINT_URL": None,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    with mock_aws():
        assert client.get("/readyz").get_json()["checks"]["storage"] == "failed"
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="qq-evidence")
        response = client.get("/readyz")
        assert (response.status_code, response.get_json()["checks"]["storage"]) == (200, "ok")
