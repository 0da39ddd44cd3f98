"""Health endpoints for a load balancer, without login (issue 14 §3).

- ``/healthz`` (liveness): the process answers. Touches nothing else, so a slow database
  never gets a healthy process killed.
- ``/readyz`` (readiness): the database answers a query, Redis answers a ping, and the evidence
  storage is reachable (local folder writable, or the S3 bucket answers). 200 when all three
  are ready, else 503; the body says which check failed, never a secret or a URL.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, g
from flask_login import AnonymousUserMixin
from redis import Redis
from sqlalchemy import text

from backoffice.api.blueprint import json_response
from backoffice.extensions import db
from backoffice.services.storage import LocalStorage, S3Storage, get_storage

bp = Blueprint("health", __name__)


@bp.before_request
def _no_session() -> None:
    g._login_user = AnonymousUserMixin()  # a probe never loads a user from a cookie
    g.no_store = True


@bp.get("/healthz")
def healthz():
    """Liveness: the web process is up."""
    return json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


def check_database() -> None:
    db.session.execute(text("SELECT 1")).scalar_one()
    db.session.rollback()


def check_redis() -> None:
    cfg = current_app.config
    url = cfg.get("REDIS_URL")
    if not url:
        raise RuntimeError("REDIS_URL is not set")
    conn = Redis.from_url(
        url,
        socket_connect_timeout=cfg.get("REDIS_CONNECT_TIMEOUT", 2),
        socket_timeout=cfg.get("REDIS_SOCKET_TIMEOUT", 5),
    )
    try:
        if not conn.ping():
            raise RuntimeError("Redis did not answer PING")
    finally:
        conn.close()


def check_storage() -> None:
    storage = get_storage()
    if isinstance(storage, LocalStorage):
        folder: Path = storage.root
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent  # created on the first upload: its parent must be writable
        if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
            raise RuntimeError("the storage folder is not writable")
    elif isinstance(storage, S3Storage):
        storage.client.head_bucket(Bucket=storage.bucket)


CHECKS = {"database": check_database, "redis": check_redis, "storage": check_storage}


@bp.get("/readyz")
def readyz():
    """Readiness: database, Redis and storage all answer (200), or which one does not (503)."""
    results: dict[str, Any] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
            current_app.logger.warning("readyz: %s not ready: %s", name, exc)
            results[name] = "failed"
            if name == "database":
                db.session.rollback()
    ready = all(v == "ok" for v in results.values())
    return json_response(
        {"status": "ready" if ready else "not_ready", "checks": results},
        200 if ready else 503,
        {"Cache-Control": "no-store"},
    )
