"""A database made by wave 1 (Alembic head ``1a091b68d998``), with its data, upgrades to the
current head: nothing is lost, the audit chain and the sealed archive still verify, and the
upgraded database takes new work.

The wave-1 database was written by wave 1's own services (``tests/data/wave1/make_wave1_db.py``
says how). On PostgreSQL the same rows are copied into a database migrated to wave 1's head,
through the models' column types, so both dialects are upgraded from real wave-1 data.
"""

from __future__ import annotations

import lzma
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import Column, MetaData, Table, create_engine, func, select, text
from sqlalchemy.engine import make_url

from backoffice import create_app
from backoffice.config import TestConfig
from backoffice.extensions import db as _db
from backoffice.models import ArchiveRecord, AuditLog
from backoffice.models.base import Base
from backoffice.services import archive, audit

DATA = Path(__file__).parent / "data" / "wave1"
ROOT = Path(__file__).resolve().parent.parent
WAVE1_HEAD = "1a091b68d998"
# Rows in the wave-1 fixture that must all survive the upgrade.
KEPT_TABLES = (
    "audit_log",
    "archive_record",
    "archive_item",
    "writeoff_application",
    "recourse_entry",
    "evidence_document",
    "collection_case",
    "receivable",
    "customer",
    "user",
)


def _head() -> str:
    config = AlembicConfig(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the migrations must have one head, not {heads}"
    return heads[0]


def _wave1_sqlite(folder: Path) -> Path:
    path = folder / "wave1.db"
    path.write_bytes(lzma.decompress((DATA / "wave1.db.xz").read_bytes()))
    with tarfile.open(DATA / "wave1-storage.tar.xz") as tar:
        tar.extractall(folder, filter="data")
    return path


def _counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in KEPT_TABLES
        }


def _copy_rows(source_url: str, target_url: str) -> None:
    """Copy every wave-1 row from SQLite into a database at wave 1's head, converting values
    through the models' column types (SQLite keeps money as integer cents)."""
    source = create_engine(source_url)
    target = create_engine(target_url)
    reflected = MetaData()
    reflected.reflect(source)
    models = Base.metadata.tables
    with source.connect() as src, target.begin() as dst:
        for table in reflected.sorted_tables:
            if table.name == "alembic_version":
                continue
            model = models.get(table.name)
            # Read and write through the models' column types (SQLite keeps money as cents),
            # but only the columns wave 1 had: the target is at wave 1's head.
            typed = [
                Column(c.name, model.c[c.name].type if model is not None and c.name in model.c
                       else c.type, primary_key=c.primary_key)
                for c in table.columns
            ]  # fmt: skip
            wave1_table = Table(table.name, MetaData(), *typed)
            rows = [dict(r._mapping) for r in src.execute(select(*wave1_table.c))]
            if rows:
                dst.execute(wave1_table.insert(), rows)  # executemany
            if "id" in table.c and rows:
                dst.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                        f'(SELECT max(id) FROM "{table.name}"))'
                    )
                )
    source.dispose()
    target.dispose()


def _postgres_database(base_url: str) -> str:
    """An empty PostgreSQL database of this test's own, next to the suite's."""
    base = make_url(base_url)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = f"{base.database}_upgrade{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture()
def wave1(tmp_path):
    """An app over a copy of the wave-1 database (SQLite, or PostgreSQL when the suite runs
    there), still at wave 1's head, with wave 1's evidence folder."""
    sqlite_path = _wave1_sqlite(tmp_path)
    sqlite_url = f"sqlite:///{sqlite_path}"
    pg = os.environ.get("TEST_DATABASE_URL")
    url = _postgres_database(pg) if pg else sqlite_url

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        VAR_DIR = tmp_path
        STORAGE_DIR = str(tmp_path / "storage")
        MAIL_OUTBOX_DIR = str(tmp_path / "outbox")

    app = create_app(Config)
    with app.app_context():
        try:
            if pg:
                from flask_migrate import upgrade

                upgrade(revision=WAVE1_HEAD)
                _copy_rows(sqlite_url, url)
            yield app, sqlite_url
        finally:
            _db.session.remove()
            _db.engine.dispose()
    if pg:
        admin = create_engine(make_url(pg), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}"'))
        admin.dispose()
    shutil.rmtree(tmp_path / "storage", ignore_errors=True)


def test_wave1_database_upgrades_to_head_and_still_verifies(wave1):
    """A wave-1 database with data upgrades to the current head with every row kept; its
    audit chain and its sealed 2026 archive verify; new audited work appends and verifies."""
    app, sqlite_url = wave1
    from flask_migrate import upgrade

    before = _counts(create_engine(sqlite_url))
    with _db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == WAVE1_HEAD

    upgrade()

    with _db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == _head()
    assert _counts(_db.engine) == before
    assert before["archive_record"] == 1 and before["audit_log"] > 100

    assert audit.verify_chain(_db.session) == []
    record = _db.session.scalar(select(ArchiveRecord))
    assert archive.verify(_db.session, record) == []

    # The upgraded database takes new audited work, and the chain still verifies across it.
    audit.record_now("login", entity="user", detail="after the upgrade")
    assert _db.session.scalar(select(func.count()).select_from(AuditLog)) == (
        before["audit_log"] + 1
    )
    assert audit.verify_chain(_db.session) == []

    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    assert runner.invoke(args=["archive", "verify", "--all"]).exit_code == 0


def test_migrations_build_exactly_the_models_schema(app, db):
    """The schema the migrations build is the one the models declare: no table, column, index
    or constraint of a model is missing from a migration, and none is left over."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from backoffice.services import substring_search

    with _db.engine.connect() as conn:
        # The trigram search's FTS tables and GIN indexes are the migrations' own (w4perf0001).
        opts = {"compare_type": False, "include_name": substring_search.include_name}
        context = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], diff
