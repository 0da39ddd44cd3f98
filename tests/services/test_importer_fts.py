"""SQLite: an import fills the trigram search index once per chunk (``importer.fts_bulk``).

The insert trigger is lifted for the chunk only, inside the import's transaction: afterwards it
is back as it was, the search index is consistent (FTS5's own integrity check), imported and
later documents are found by any part of their number, and a rejected import leaves the
trigger and the index as they were.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from backoffice.models.receivable import ImportStatus
from backoffice.services import importer
from backoffice.services.importer import import_file
from tests import helpers
from tests.data import erp_files as erp
from tests.services.test_importer_trail import many_rows
from tests.services.test_importer_trail import org as org  # noqa: F401  (fixture)

TRIGGER = "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'fts_receivable_ai'"


@pytest.fixture(autouse=True)
def _sqlite_with_search(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the FTS5 search index is SQLite's (PostgreSQL uses pg_trgm indexes)")
    if db.session.execute(text(TRIGGER)).first() is None:
        pytest.skip("this SQLite has no trigram tokenizer")


def _statements(db, run):
    seen: list[str] = []

    def keep(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        return run(), seen
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)


def _found(db, term: str) -> set[str]:
    rows = db.session.execute(
        text(
            "SELECT r.doc_no FROM fts_receivable f JOIN receivable r ON r.id = f.rowid "
            "WHERE fts_receivable MATCH :q"
        ),
        {"q": f'"{term}"'},
    )
    return {r[0] for r in rows}


def _integrity(db) -> None:
    check = "INSERT INTO fts_receivable(fts_receivable) VALUES ('integrity-check')"
    db.session.execute(text(check))


def test_an_import_fills_the_index_per_chunk_and_puts_the_trigger_back(
    db, org, tmp_path, monkeypatch  # noqa: F811
):
    trigger = db.session.execute(text(TRIGGER)).scalar()
    monkeypatch.setattr(importer, "CHUNK_SIZE", 100)
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, many_rows(250))
    batch, seen = _statements(db, lambda: import_file(db.session, path, "receivables"))
    assert batch.status == ImportStatus.APPLIED and batch.rows_created == 250
    assert sum(s.startswith("DROP TRIGGER fts_receivable_ai") for s in seen) >= 2  # per chunk
    assert any(s.startswith("INSERT INTO fts_receivable (rowid, doc_no)") for s in seen)
    assert db.session.execute(text(TRIGGER)).scalar() == trigger
    _integrity(db)
    assert _found(db, "-0012") == {f"D-0012{i}" for i in range(10)}
    assert _found(db, "00249") == {"D-00249"}  # the last chunk's last row
    # The trigger works again for a document written by the application afterwards.
    customer = helpers.make_customer(org[1], name="后来客户有限公司")
    helpers.make_receivable(customer, doc_no="LATER-77123")
    _integrity(db)
    assert _found(db, "77123") == {"LATER-77123"}


def test_a_rejected_import_leaves_trigger_and_index_as_they_were(
    db, org, tmp_path, monkeypatch  # noqa: F811
):
    monkeypatch.setattr(importer, "CHUNK_SIZE", 100)
    rows = many_rows(250)
    rows[230][8] = "not a date"  # an error in the last chunk: the first two were written
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, rows)
    trigger = db.session.execute(text(TRIGGER)).scalar()
    batch = import_file(db.session, path, "receivables")
    assert batch.status == ImportStatus.REJECTED
    assert db.session.execute(text(TRIGGER)).scalar() == trigger
    _integrity(db)
    assert _found(db, "D-000") == set()


def test_the_import_connection_keeps_a_larger_page_cache_only_while_it_runs(db, org, tmp_path):
    """Inserts into the ledger's indexes are 2 × faster with 64 MB of cached pages; the import's
    connection has them during the run (seen from its own progress callback) and gives them
    back when it returns to the pool, so other requests keep SQLite's default."""
    default = db.session.execute(text("PRAGMA cache_size")).scalar()
    db.session.commit()
    during: list[int] = []

    def progress(_percent, _message, inside):
        if inside:
            during.append(db.session.execute(text("PRAGMA cache_size")).scalar())

    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, many_rows(30))
    batch = import_file(db.session, path, "receivables", progress=progress)
    assert batch.status == ImportStatus.APPLIED
    assert during and set(during) == {-importer.core.IMPORT_CACHE_KIB}
    for _ in range(3):  # whichever pooled connection answers
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == default
    assert db.session.execute(text("PRAGMA cache_size")).scalar() == default
