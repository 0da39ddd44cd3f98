"""Configuration. This is the only module that reads the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_bool(name: str) -> bool | None:
    value = _env(name)
    return None if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


class Config:
    """Embedded default: SQLite and a local evidence folder under ``var/``."""

    VAR_DIR = Path(_env("QQ_VAR_DIR", str(BASE_DIR / "var")))
    SECRET_KEY = _env("SECRET_KEY") or _env("QQ_SECRET_KEY")
    # The audit trail's HMAC keys (issue 10), never stored in the database: AUDIT_KEYS as
    # "id:hex,id:hex" (the last one signs), else a key ring file, one "id:hex" a line (the
    # last one signs; default var/audit_keys, generated outside production).
    AUDIT_KEYS = _env("AUDIT_KEYS")
    AUDIT_KEY_FILE = _env("AUDIT_KEY_FILE")
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'qingqian.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL = _env("REDIS_URL")

    # Evidence storage (SPEC §3.4): "local" (a folder) or "s3" (S3-compatible object storage).
    STORAGE_BACKEND = _env("STORAGE_BACKEND", "local")
    STORAGE_DIR = _env("STORAGE_DIR", str(VAR_DIR / "storage"))
    S3_BUCKET = _env("S3_BUCKET")
    S3_ENDPOINT_URL = _env("S3_ENDPOINT_URL")
    S3_REGION = _env("S3_REGION")
    UPLOAD_MAX_BYTES = _env_int("UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
    IMPORT_MAX_BYTES = _env_int("IMPORT_MAX_BYTES", 200 * 1024 * 1024)
    # No request body may exceed the largest file limit (plus room for the form's other fields):
    # past it Werkzeug stops reading and the user gets the 413 page.
    MAX_CONTENT_LENGTH = max(UPLOAD_MAX_BYTES, IMPORT_MAX_BYTES) + 1024 * 1024

    # Mail: SMTP when MAIL_SERVER is set, otherwise messages go to a local outbox folder.
    # MAIL_USE_SSL: implicit TLS (port 465); MAIL_USE_TLS: STARTTLS (port 587; unset: on
    # whenever MAIL_USERNAME is set, so a password never crosses in clear). MAIL_TLS_CA_FILE:
    # a private CA to verify the server with (default: the system's).
    MAIL_SERVER = _env("MAIL_SERVER")
    MAIL_USE_SSL = bool(_env_bool("MAIL_USE_SSL"))
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS")
    MAIL_PORT = _env_int("MAIL_PORT", 465 if MAIL_USE_SSL else 25)
    MAIL_TLS_CA_FILE = _env("MAIL_TLS_CA_FILE")
    MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 30)
    MAIL_USERNAME = _env("MAIL_USERNAME")
    MAIL_PASSWORD = _env("MAIL_PASSWORD")
    MAIL_SENDER = _env("MAIL_SENDER", "qingqian@localhost")
    MAIL_OUTBOX_DIR = _env("MAIL_OUTBOX_DIR", str(VAR_DIR / "outbox"))
    # Customer e-mail (statements, dunning): retries after a failed send, with RQ's back-off
    # (JOB_RETRY_INTERVALS, default 10 s, 1 min, 5 min), before it is logged as failed.
    MAIL_RETRIES = _env_int("MAIL_RETRIES", 3)

    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = {"zh_Hans_CN": "简体中文", "en": "English"}
    TIMEZONE = "Asia/Shanghai"

    # Sessions and cookies (issue 2: strong session protection, HttpOnly, SameSite).
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = timedelta(days=7)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead

    # Login throttling: per account and per client address.
    LOGIN_MAX_FAILURES_ACCOUNT = _env_int("LOGIN_MAX_FAILURES_ACCOUNT", 5)
    LOGIN_MAX_FAILURES_ADDRESS = _env_int("LOGIN_MAX_FAILURES_ADDRESS", 20)
    LOGIN_LOCK_MINUTES = _env_int("LOGIN_LOCK_MINUTES", 15)

    # Jobs
    JOB_TIMEOUT_SECONDS = _env_int("JOB_TIMEOUT_SECONDS", 3600)
    JOB_RETRIES = _env_int("JOB_RETRIES", 3)
    # The reconciler (jobs/reconcile.py), run by the scheduler: how often, and how old a queued
    # row must be before a missing RQ job counts as lost rather than on its way.
    JOB_RECONCILE_INTERVAL = _env_int("JOB_RECONCILE_INTERVAL", 60)
    JOB_RECONCILE_GRACE = _env_int("JOB_RECONCILE_GRACE", 60)
    SCHEDULER_AT_HOUR = _env_int("SCHEDULER_AT_HOUR", 6)  # Asia/Shanghai; 24: never tick
    # Several schedulers may run; only the holder of a lock in Redis acts (jobs/leader.py). It
    # renews the lock every poll; a standby takes over at most TTL + poll seconds after it dies.
    SCHEDULER_LOCK_TTL = _env_int("SCHEDULER_LOCK_TTL", 30)
    SCHEDULER_POLL_INTERVAL = _env_int("SCHEDULER_POLL_INTERVAL", 10)
    MONTHLY_STATEMENT_CHUNK = _env_int("MONTHLY_STATEMENT_CHUNK", 50)  # customers per job
    # Seconds a request or command waits for Redis before it says the queue is unreachable.
    REDIS_CONNECT_TIMEOUT = _env_int("REDIS_CONNECT_TIMEOUT", 2)
    REDIS_SOCKET_TIMEOUT = _env_int("REDIS_SOCKET_TIMEOUT", 5)

    # The ERP integration API (issue 14): request body limit, items per pushed batch, requests
    # per token per window (counted in Redis, so shared by every web process), page sizes.
    API_MAX_BYTES = _env_int("API_MAX_BYTES", 16 * 1024 * 1024)
    API_MAX_ITEMS = _env_int("API_MAX_ITEMS", 10_000)
    API_RATE_LIMIT = _env_int("API_RATE_LIMIT", 600)
    API_RATE_WINDOW = _env_int("API_RATE_WINDOW", 60)  # seconds
    API_PAGE_SIZE = _env_int("API_PAGE_SIZE", 100)
    API_MAX_PAGE_SIZE = _env_int("API_MAX_PAGE_SIZE", 500)

    # The debtor's balance confirmation (issue 15): link lifetime, reply periods in working
    # days, the public page's limit per IP address (counted in Redis), the page's base address.
    BALANCE_CONFIRM_LINK_DAYS = _env_int("BALANCE_CONFIRM_LINK_DAYS", 30)
    BALANCE_CONFIRM_RECONCILIATION_DAYS = _env_int("BALANCE_CONFIRM_RECONCILIATION_DAYS", 5)
    BALANCE_CONFIRM_POSITIVE_DAYS = _env_int("BALANCE_CONFIRM_POSITIVE_DAYS", 10)
    BALANCE_CONFIRM_NEGATIVE_DAYS = _env_int("BALANCE_CONFIRM_NEGATIVE_DAYS", 10)
    # Art.12–13: each monthly statement to a customer with billing contacts gets a 对账确认.
    BALANCE_CONFIRM_WITH_STATEMENTS = _env("BALANCE_CONFIRM_WITH_STATEMENTS", "1") != "0"
    BALANCE_CONFIRM_MAX_REMINDERS = _env_int("BALANCE_CONFIRM_MAX_REMINDERS", 3)
    BALANCE_DISPUTE_DAYS = _env_int("BALANCE_DISPUTE_DAYS", 5)
    BALANCE_CONFIRM_RATE_LIMIT = _env_int("BALANCE_CONFIRM_RATE_LIMIT", 30)
    BALANCE_CONFIRM_RATE_WINDOW = _env_int("BALANCE_CONFIRM_RATE_WINDOW", 60)  # seconds
    PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL")

    ADMIN_PAGE_SIZE = 20
    TESTING = False


class TestConfig(Config):
    """Tests: a throwaway database (TEST_DATABASE_URL, else SQLite) and storage folder."""

    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105 - test only
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "sqlite://")
    REDIS_URL = _env("REDIS_URL")
    WTF_CSRF_ENABLED = True
    LOGIN_MAX_FAILURES_ACCOUNT = 5
    LOGIN_MAX_FAILURES_ADDRESS = 20
    # Every test client calls from 127.0.0.1, and a shared Redis (the PostgreSQL run) keeps the
    # count across tests: the debtor page's limit is lowered by the test that checks it.
    BALANCE_CONFIRM_RATE_LIMIT = 100_000


class ProductionConfig(Config):
    """Production: PostgreSQL, Redis and secure cookies are required."""

    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"


def config_from_env() -> type[Config]:
    """Pick the configuration class named by ``QQ_ENV`` (development by default)."""
    return {"production": ProductionConfig, "test": TestConfig}.get(
        _env("QQ_ENV", "development") or "development", Config
    )
