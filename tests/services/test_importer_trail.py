"""Issue 13: the one-pass importer's audit trail (one entry per chunk, complete and verifiable),
the file read once, and the records-level core an API pushes items through."""

from __future__ import annotations

import builtins
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update

from backoffice.models import AuditLog, Customer, Receivable
from backoffice.models.receivable import ImportBatch, ImportStatus
from backoffice.services import audit, importer
from backoffice.services.importer import import_file, import_records, verify_batch
from tests import helpers
from tests.data import erp_files as erp


@pytest.fixture()
def org(db):
    company = helpers.make_company(code="HQ", name="总公司")
    unit = helpers.make_unit(company, code="EAST", name="华东事业部")
    return company, unit


def many_rows(n: int, customers: int = 7) -> list[list]:
    return [
        ["HQ", f"K{i % customers:03d}", f"客户{i % customers:03d}有限公司", f"D-{i:05d}", "货款",
         f"{100 + i}.50", "人民币", "2026-01-05", "2026-03-01", "华东事业部", ""]
        for i in range(n)
    ]  # fmt: skip


def chunk_entries(db, batch_id: int) -> list[AuditLog]:
    return db.session.scalars(
        select(AuditLog).where(AuditLog.detail == f"import batch {batch_id}").order_by(AuditLog.seq)
    ).all()


def test_each_chunk_has_one_entry_listing_every_row_it_created(db, org, tmp_path, monkeypatch):
    """250 rows in chunks of 100: three receivable entries and one customer entry hold every
    new row (id and values) and its hash; the chain and the batch verify."""
    monkeypatch.setattr(importer, "CHUNK_SIZE", 100)
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, many_rows(250))
    batch = import_file(db.session, path, "receivables")
    assert batch.status == ImportStatus.APPLIED and batch.rows_created == 250
    entries = chunk_entries(db, batch.id)
    assert [e.entity for e in entries] == ["customer", "receivable", "receivable", "receivable"]
    listed = [row for e in entries if e.entity == "receivable" for row in e.after["rows"]]
    ids = set(db.session.scalars(select(Receivable.id)))
    assert len(listed) == 250 and {row[0] for row in listed} == ids
    first = entries[1].after
    doc = dict(zip(first["columns"], first["rows"][0], strict=True))
    stored = db.session.get(Receivable, doc["id"])
    assert doc["doc_no"] == stored.doc_no and doc["amount"] == str(stored.amount)
    assert first["same"]["import_batch_id"] == batch.id and first["same"]["status"] == "open"
    customers = {row[0] for row in entries[0].after["rows"]}
    assert customers == set(db.session.scalars(select(Customer.id)))
    assert all(e.action == "create" and e.key_id for e in entries)
    assert audit.verify_chain(db.session) == []
    assert verify_batch(db.session, batch.id) == []


def listed_rows_match(db, batch_id: int) -> int:
    """Check every row the batch's chunk entries list against the stored row with that id (its
    number, amount and customer; a customer's code and name); returns how many were checked."""
    checked = 0
    for entry in chunk_entries(db, batch_id):
        columns = entry.after["columns"]
        for values in entry.after["rows"]:
            listed = dict(zip(columns, values, strict=True))
            if entry.entity == "receivable":
                stored = db.session.get(Receivable, listed["id"])
                assert stored.doc_no == listed["doc_no"]
                assert (stored.amount, stored.customer_id) == (
                    Decimal(listed["amount"]),
                    listed["customer_id"],
                )
            else:
                stored = db.session.get(Customer, listed["id"])
                assert (stored.erp_code, stored.name) == (listed["erp_code"], listed["name"])
            checked += 1
    return checked


def test_every_listed_id_is_the_row_with_those_values_after_gaps_in_the_ids(
    db, org, tmp_path, monkeypatch
):
    """The new ids of a chunk are numbered by position on SQLite and returned by the insert on
    PostgreSQL. With the ledger's highest ids deleted before the run (SQLite gives them out
    again, PostgreSQL's sequence does not), every id an entry lists is the stored row with the
    values listed beside it, for receivables and for customers."""
    monkeypatch.setattr(importer, "CHUNK_SIZE", 100)
    first = erp.write_csv(tmp_path / "a.csv", erp.RECEIVABLE_HEADERS, many_rows(20))
    assert import_file(db.session, first, "receivables").rows_created == 20
    top = db.session.scalars(select(Receivable.id).order_by(Receivable.id.desc()).limit(3)).all()
    db.session.execute(Receivable.__table__.delete().where(Receivable.id.in_(top)))
    db.session.commit()
    rows = [[*r[:1], f"N{r[1]}", f"新{r[2]}", f"E-{i:05d}", *r[4:]]
            for i, r in enumerate(many_rows(250, customers=30))]  # fmt: skip
    path = erp.write_csv(tmp_path / "b.csv", erp.RECEIVABLE_HEADERS, rows)
    batch = import_file(db.session, path, "receivables")
    assert batch.status == ImportStatus.APPLIED and batch.rows_created == 250
    assert listed_rows_match(db, batch.id) == 250 + 30
    assert verify_batch(db.session, batch.id) == []


def test_a_row_written_behind_the_import_is_not_taken_for_one_of_its_own(db, org, tmp_path):
    """Another writer's receivable lands between a chunk's id look-up and its insert (here:
    written on the same connection just before the chunk's INSERT). On SQLite the ids above
    the old largest are then not exactly the chunk's, so they are read back by number and
    batch; on PostgreSQL the insert returns its own ids. Either way every id listed in the
    audit is the stored row with those values, and the other row is listed nowhere."""
    first = erp.write_csv(tmp_path / "a.csv", erp.RECEIVABLE_HEADERS, many_rows(5))
    assert import_file(db.session, first, "receivables").rows_created == 5
    cols = ("company_id, customer_id, doc_type, amount, currency, issue_date, due_date, "
            "paid_amount, written_off_amount, outstanding, status, sales_unit_id, "
            "import_batch_id, created_at, updated_at")  # fmt: skip
    behind = (f"INSERT INTO receivable (doc_no, {cols}) SELECT 'BEHIND-1', {cols} "  # noqa: S608
              "FROM receivable WHERE id = (SELECT min(id) FROM receivable)")  # fmt: skip
    done = []

    def write_behind(conn, cursor, statement, parameters, context, executemany):
        if not done and statement.startswith("INSERT INTO receivable ("):
            done.append(statement)
            cursor.connection.execute(behind)

    event.listen(db.engine, "before_cursor_execute", write_behind)
    try:
        rows = [[*r[:3], f"F-{i:05d}", *r[4:]] for i, r in enumerate(many_rows(40))]
        path = erp.write_csv(tmp_path / "b.csv", erp.RECEIVABLE_HEADERS, rows)
        batch = import_file(db.session, path, "receivables")
    finally:
        event.remove(db.engine, "before_cursor_execute", write_behind)
    assert done and batch.status == ImportStatus.APPLIED and batch.rows_created == 40
    other = db.session.scalar(select(Receivable.id).where(Receivable.doc_no == "BEHIND-1"))
    assert other is not None
    assert listed_rows_match(db, batch.id) == 40 + 2  # and the two customers the first file lacked
    entries = chunk_entries(db, batch.id)
    listed = {r[0] for e in entries if e.entity == "receivable" for r in e.after["rows"]}
    assert other not in listed
    assert verify_batch(db.session, batch.id) == []


def test_verify_batch_finds_an_altered_chunk_and_a_receivable_left_out(db, org, tmp_path):
    """A chunk whose rows no longer match its hash, or a receivable of the batch that no entry
    lists, is reported; the chain check sees the altered entry too."""
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, many_rows(30))
    batch = import_file(db.session, path, "receivables")
    (entry,) = [e for e in chunk_entries(db, batch.id) if e.entity == "receivable"]
    after = dict(entry.after)
    dropped = after["rows"][0][0]
    after["rows"] = after["rows"][1:]
    after["count"] -= 1
    db.session.execute(update(AuditLog).where(AuditLog.id == entry.id).values(after=after))
    db.session.commit()
    db.session.expire_all()
    problems = verify_batch(db.session, batch.id)
    assert f"entry {entry.seq}: its rows do not match their hash" in problems
    assert f"receivable {dropped} has no audit entry" in problems
    assert any(p.seq == entry.seq for p in audit.verify_chain(db.session))


def test_rejected_and_dry_runs_leave_no_chunk_entry(db, org, tmp_path):
    """All or nothing: a file with one bad row and a dry run write no row and no entry."""
    rows = many_rows(40)
    rows[35][5] = "abc"
    path = erp.write_csv(tmp_path / "bad.csv", erp.RECEIVABLE_HEADERS, rows)
    seq = db.session.scalar(select(func.max(AuditLog.seq))) or 0
    rejected = import_file(db.session, path, "receivables")
    assert rejected.status == ImportStatus.REJECTED and rejected.rows_error == 1
    good = erp.write_csv(tmp_path / "good.csv", erp.RECEIVABLE_HEADERS, many_rows(40))
    dry = import_file(db.session, good, "receivables", dry_run=True)
    assert dry.status == ImportStatus.CHECKED and dry.rows_created == 40
    assert db.session.scalar(select(func.count()).select_from(Receivable)) == 0
    entities = set(db.session.scalars(select(AuditLog.entity).where(AuditLog.seq > seq)))
    assert entities == {"import_batch"}


def test_valid_only_with_a_late_duplicate_writes_neither_line(db, org, tmp_path, monkeypatch):
    """A duplicate found after its first line was written: the run starts again without the
    lines in error, so neither is stored and the counts and trail are those of the rest."""
    monkeypatch.setattr(importer, "CHUNK_SIZE", 10)
    rows = many_rows(30)
    rows[25][3] = rows[2][3]  # line 27 repeats line 4's document, two chunks later
    path = erp.write_csv(tmp_path / "dup.csv", erp.RECEIVABLE_HEADERS, rows)
    batch = import_file(db.session, path, "receivables", valid_only=True)
    assert batch.status == ImportStatus.APPLIED
    assert batch.rows_created == 28 and batch.rows_error == 2
    assert {e["line"] for e in batch.report["errors"]} == {4, 27}
    docs = set(db.session.scalars(select(Receivable.doc_no)))
    assert len(docs) == 28 and rows[2][3] not in docs
    assert verify_batch(db.session, batch.id) == []
    assert audit.verify_chain(db.session) == []


def test_a_csv_is_opened_once_and_its_hash_recorded(db, org, tmp_path, monkeypatch):
    """The import opens the CSV once (hash, encoding and rows in one read) and still records
    the file's SHA-256."""
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, many_rows(50))
    opened: list[str] = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):
        if Path(str(file)) == path:
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    batch = import_file(db.session, path, "receivables")
    monkeypatch.undo()
    assert batch.status == ImportStatus.APPLIED and batch.rows_created == 50
    assert len(opened) == 1
    assert batch.sha256 == importer.file_sha256(path)


def test_records_go_through_the_same_rules_as_a_file(db, org):
    """Items already parsed (an API's JSON) are checked, reported and written like file rows:
    all or nothing, the same reasons, one audit entry, idempotent."""
    items = [
        {"customer_code": "K1", "customer_name": "客户一", "doc_no": "A-1", "amount": "10.50",
         "due_date": "2026-03-01", "sales_unit": "EAST"},
        {"customer_code": "K1", "doc_no": "A-2", "amount": "12元3", "due_date": "2026-13-01"},
    ]  # fmt: skip
    bad = import_records(db.session, "receivables", items, source="api")
    assert bad.status == ImportStatus.REJECTED and bad.filename == "api"
    assert {(e["line"], e["field"], e["code"]) for e in bad.report["errors"]} == {
        (2, "amount", "amount_not_number"),
        (2, "due_date", "bad_date"),
    }
    items[1].update(amount="20", due_date="2026-04-01", extra="x")
    good = import_records(db.session, "receivables", items)
    assert good.status == ImportStatus.APPLIED and good.rows_created == 2
    assert good.report["ignored_columns"] == ["extra"]
    assert db.session.scalars(select(Customer.name)).all() == ["客户一"]
    assert verify_batch(db.session, good.id) == []
    again = import_records(db.session, "receivables", items)
    assert (again.rows_created, again.rows_unchanged) == (0, 2)


def test_flask_import_verify_says_complete_then_names_the_hole(app, db, org, tmp_path):
    """``flask import verify`` passes on a fresh import and fails, naming the receivable, once
    a chunk entry no longer lists it."""
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, many_rows(5))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["import", "receivables", str(path)]).exit_code == 0
    batch_id = db.session.scalar(select(func.max(ImportBatch.id)))
    ok = runner.invoke(args=["import", "verify", str(batch_id)])
    assert ok.exit_code == 0 and "audit trail complete" in ok.output
    (entry,) = [e for e in chunk_entries(db, batch_id) if e.entity == "receivable"]
    dropped = entry.after["rows"][0][0]
    after = dict(entry.after, rows=entry.after["rows"][1:], count=4)
    after["sha256"] = importer.trail.rows_sha256(after["columns"], after["rows"], after["same"])
    db.session.execute(update(AuditLog).where(AuditLog.id == entry.id).values(after=after))
    db.session.commit()
    bad = runner.invoke(args=["import", "verify", str(batch_id)])
    assert bad.exit_code == 1
    assert f"receivable {dropped} has no audit entry" in bad.output


def test_a_gbk_file_whose_first_block_is_ascii_is_read_again_as_gbk(db, org, tmp_path, monkeypatch):
    """The encoding is chosen from the first block; GBK bytes after an ASCII-only first block
    make the import start again with the full check's encoding, and the names come out right."""
    from backoffice.services import textfile

    monkeypatch.setattr(textfile, "BLOCK", 512)
    ascii_rows = [["HQ", f"E{i:03d}", f"Customer {i:03d}", f"A-{i:03d}", "", "10.00", "", "",
                   "2026-03-01", "EAST", ""] for i in range(20)]  # fmt: skip
    headers = ["company", "customer code", "customer name", "document no", "type", "amount",
               "currency", "issue date", "due date", "unit", "salesperson"]  # fmt: skip
    path = erp.write_csv(tmp_path / "late.csv", headers, ascii_rows + many_rows(3))
    batch = import_file(db.session, path, "receivables")
    assert batch.status == ImportStatus.APPLIED and batch.rows_created == 23
    names = set(db.session.scalars(select(Customer.name)))
    assert "客户000有限公司" in names and "Customer 000" in names


def test_an_upload_is_hashed_as_it_is_stored(app, db, org, tmp_path, monkeypatch):
    """The upload page records the file's SHA-256 while storing it, so the import itself
    reads the stored file once."""
    import io

    from tests.conftest import csrf_from

    monkeypatch.setitem(app.config, "REDIS_URL", None)
    user = helpers.make_user("finance")
    client = helpers.fresh_client(app)
    helpers.login(client, user.username)
    path = erp.write_csv(tmp_path / "up.csv", erp.RECEIVABLE_HEADERS, many_rows(12))
    token = csrf_from(client.get("/admin/import/").get_data(as_text=True))
    data = {"csrf_token": token, "kind": "receivables",
            "file": (io.BytesIO(path.read_bytes()), path.name)}  # fmt: skip
    client.post("/admin/import/", data=data, content_type="multipart/form-data")
    batch = db.session.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()))
    assert batch.status == ImportStatus.APPLIED and batch.rows_created == 12
    assert batch.sha256 == importer.file_sha256(path)
