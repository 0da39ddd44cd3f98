"""ERP import of receivables and payments (SPEC §3.1, issue 3 items 1–2)."""

from __future__ import annotations

import tracemalloc
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from backoffice.models import AuditLog, Customer, Payment, Receivable, User
from backoffice.models.receivable import (
    ColumnMapping,
    ImportBatch,
    ImportKind,
    ImportStatus,
    PaymentKind,
    ReceivableStatus,
    ReceivableType,
)
from backoffice.services import importer
from backoffice.services.importer import import_file, parse_amount, parse_date
from backoffice.services.spreadsheet import SpreadsheetError, detect_encoding, open_table
from tests import helpers
from tests.data import erp_files as erp


@pytest.fixture()
def org(db):
    company = helpers.make_company(code="HQ", name="总公司")
    unit = helpers.make_unit(company, code="EAST", name="华东事业部")
    return company, unit


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def rec(db, doc_no) -> Receivable:
    return db.session.scalar(select(Receivable).where(Receivable.doc_no == doc_no))


def errors_by_line(batch) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for e in batch.report["errors"]:
        out.setdefault(e["line"], set()).add(e["code"])
    return out


# -- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.50", "1234.50"),
        ("¥1,234.50", "1234.50"),
        ("￥1,234.50", "1234.50"),
        ("1234.5元", "1234.50"),
        ("(1,234.50)", "-1234.50"),
        ("（1,234.50）", "-1234.50"),
        ("-1,234.5", "-1234.50"),
        ("１２３４．５０", "1234.50"),
        (1234.5, "1234.50"),
        (0.1 + 0.2, "0.30"),
        (1000, "1000.00"),
        ("RMB 88", "88.00"),
    ],
)
def test_parse_amount_formats(raw, expected):
    """Amounts in every ERP format parse to exact Decimals; (x) is negative."""
    assert parse_amount(raw) == Decimal(expected)


@pytest.mark.parametrize(
    "raw", ["abc", "1.234", "12元3", "", "1.2.3", 1.234, True, "¥", "-￥(1,234.50)元"]
)
def test_parse_amount_refuses_garbage(raw):
    """Text that is not an amount, more than two decimals or a double negative is refused."""
    with pytest.raises(ValueError):
        parse_amount(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (46082, date(2026, 3, 1)),
        (46082.75, date(2026, 3, 1)),
        (datetime(2026, 3, 1, 10, 30), date(2026, 3, 1)),
        (date(2026, 3, 1), date(2026, 3, 1)),
        ("2026-03-01", date(2026, 3, 1)),
        ("2026/3/1", date(2026, 3, 1)),
        ("2026年3月1日", date(2026, 3, 1)),
        ("20260301", date(2026, 3, 1)),
        (20260301, date(2026, 3, 1)),
        ("2026-03-01 00:00:00", date(2026, 3, 1)),
        ("２０２６年３月１日", date(2026, 3, 1)),
    ],
)
def test_parse_date_formats(raw, expected):
    """Excel serials, date cells and the usual Chinese text formats parse to dates."""
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["2026-02-30", "next week", "2026-13-01", "99999999", -5])
def test_parse_date_refuses_garbage(raw):
    """Impossible or unreadable dates are refused."""
    with pytest.raises(ValueError):
        parse_date(raw)


def test_encoding_detection(tmp_path):
    """UTF-8 with/without BOM is read as UTF-8; GBK bytes fall back to GB18030."""
    text = "客户名称,单据编号\n华东,INV-1\n"
    (tmp_path / "a.csv").write_bytes(text.encode("utf-8"))
    (tmp_path / "b.csv").write_bytes(text.encode("utf-8-sig"))
    (tmp_path / "c.csv").write_bytes(text.encode("gbk"))
    assert detect_encoding(tmp_path / "a.csv") == "utf-8-sig"
    assert detect_encoding(tmp_path / "b.csv") == "utf-8-sig"
    assert detect_encoding(tmp_path / "c.csv") == "gb18030"
    for name in ("a.csv", "b.csv", "c.csv"):
        table = open_table(tmp_path / name, name, 10_000)
        assert [cells for _line, cells in table.rows()][0] == ["客户名称", "单据编号"]


# -- receivables --------------------------------------------------------------------------------


def test_xlsx_import_creates_receivables_and_customers(db, org, tmp_path):
    """A clean xlsx (title line, Chinese headers, mixed formats) creates rows and customers."""
    company, unit = org
    zhang_id = helpers.make_user("collector", display_name="张三", units=[unit]).id
    unit_id = unit.id
    helpers.make_user("collector", display_name="王五", employee_code="E005")
    rows = erp.receivable_rows("HQ", "华东事业部")
    rows[3][10] = "E005"  # matched by employee code
    path = erp.write_xlsx(tmp_path / "ar.xlsx", erp.RECEIVABLE_HEADERS, rows, title="应收明细表")
    batch = import_file(db.session, path, ImportKind.RECEIVABLES)
    assert batch.status == ImportStatus.APPLIED, batch.report
    assert (batch.rows_total, batch.rows_created, batch.rows_error) == (4, 4, 0)
    assert batch.report["header_line"] == 2
    assert {c["code"] for c in batch.report["new_customers"]} == {"K001", "K002"}
    r1 = rec(db, "INV-001")
    assert r1.amount == Decimal("1234.50") and r1.outstanding == Decimal("1234.50")
    assert r1.due_date == date(2026, 3, 1) and r1.issue_date == date(2026, 1, 5)
    assert r1.collector_id == zhang_id and r1.sales_unit_id == unit_id
    assert r1.import_batch_id == batch.id
    assert rec(db, "INV-002").doc_type == ReceivableType.PROJECT
    assert rec(db, "INV-003").doc_type == ReceivableType.FREIGHT
    assert rec(db, "INV-004").amount == Decimal("1234.50")
    assert rec(db, "INV-004").collector.display_name == "王五"
    # 李四 matches no user: kept as a name and flagged; INV-003 has no salesperson at all.
    r2 = rec(db, "INV-002")
    assert r2.collector_id is None and r2.collector_name == "李四"
    warned = {(w["line"], w["code"]) for w in batch.report["warnings"]}
    assert {(4, "unassigned"), (5, "no_salesperson")} <= warned
    k1 = db.session.scalar(select(Customer).where(Customer.erp_code == "K001"))
    assert k1.name == "华东机械有限公司" and k1.from_import and k1.sales_unit_id == unit_id
    assert batch.sha256 and len(batch.sha256) == 64 and batch.filename == "ar.xlsx"


def broken_rows(company="HQ", unit="华东事业部"):
    good = erp.receivable_rows(company, unit)
    return (
        good[:2]
        + [
            [
                company,
                "K003",
                "坏账户",
                "BAD-AMT",
                "货款",
                "12元3",
                "",
                "2026-01-01",
                "2026-03-01",
                unit,
                "",
            ],
            [
                company,
                "K003",
                "坏账户",
                "BAD-DATE",
                "货款",
                "100",
                "",
                "2026-01-01",
                "2026-02-30",
                unit,
                "",
            ],
            [
                company,
                "K003",
                "坏账户",
                "BAD-UNIT",
                "货款",
                "100",
                "",
                "2026-01-01",
                "2026-03-01",
                "火星事业部",
                "",
            ],
            [company, "", "", "NO-CUST", "货款", "100", "", "2026-01-01", "2026-03-01", unit, ""],
            [
                company,
                "K003",
                "坏账户",
                "INV-001",
                "货款",
                "100",
                "",
                "2026-01-01",
                "2026-03-01",
                unit,
                "",
            ],
            [
                company,
                "K003",
                "坏账户",
                "NEG",
                "货款",
                "(50.00)",
                "",
                "2026-01-01",
                "2026-03-01",
                unit,
                "",
            ],
            [
                "NOPE",
                "K003",
                "坏账户",
                "BAD-CO",
                "货款",
                "100",
                "",
                "2026-01-01",
                "2026-03-01",
                unit,
                "",
            ],
        ]
        + good[2:]
        + [["合计", None, None, None, None, "9,999.00", None, None, None, None, None]]
    )


EXPECTED_ERRORS = {
    2: {"duplicate"},
    4: {"amount_not_number"},
    5: {"bad_date"},
    6: {"unknown_unit"},
    7: {"missing_customer"},
    8: {"duplicate"},
    9: {"negative_amount"},
    10: {"unknown_company"},
}


def test_gbk_csv_with_broken_rows_is_rejected_whole(db, org, tmp_path):
    """A GBK CSV with bad rows names every one (line, column, reason) and changes nothing."""
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, broken_rows())
    seq_before = db.session.scalar(select(func.max(AuditLog.seq))) or 0
    batch = import_file(db.session, path, "receivables")
    assert batch.status == ImportStatus.REJECTED
    assert errors_by_line(batch) == EXPECTED_ERRORS
    by_line = {e["line"]: e for e in batch.report["errors"]}
    assert by_line[4]["column"] == "应收金额(元)" and by_line[4]["value"] == "12元3"
    assert by_line[5]["column"] == "约定付款日"
    assert by_line[6]["column"] == "事业部" and by_line[6]["value"] == "火星事业部"
    assert "line 8" in by_line[2]["message"] and "line 2" in by_line[8]["message"]
    assert batch.report["skipped_total_rows"] == [13]
    assert batch.rows_error == 8 and batch.rows_total == 11
    assert count(db, Receivable) == 0 and count(db, Customer) == 0
    touched = set(db.session.scalars(select(AuditLog.entity).where(AuditLog.seq > seq_before)))
    assert touched == {"import_batch"}  # nothing but the batch row itself


def test_valid_only_applies_only_the_valid_rows(db, org, tmp_path):
    """With valid_only the valid rows are applied and the bad ones reported."""
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, broken_rows())
    batch = import_file(db.session, path, "receivables", valid_only=True)
    assert batch.status == ImportStatus.APPLIED
    docs = set(db.session.scalars(select(Receivable.doc_no)))
    assert docs == {"INV-002", "INV-003", "INV-004"}  # INV-001 is a duplicate: neither applied
    assert batch.rows_created == 3 and batch.rows_error == 8
    assert errors_by_line(batch) == EXPECTED_ERRORS
    assert count(db, Customer) == 2  # K003 only appeared on bad rows


def test_dry_run_changes_nothing_and_reports(db, org, tmp_path):
    """A dry run reports what would happen and leaves the ledger untouched."""
    path = erp.write_xlsx(
        tmp_path / "ar.xlsx", erp.RECEIVABLE_HEADERS, erp.receivable_rows("HQ", "EAST")
    )
    batch = import_file(db.session, path, "receivables", dry_run=True)
    assert batch.status == ImportStatus.CHECKED and batch.dry_run
    assert batch.rows_created == 4
    assert len(batch.report["new_customers"]) == 2
    assert count(db, Receivable) == 0 and count(db, Customer) == 0
    assert count(db, ImportBatch) == 1


def test_second_import_is_a_no_op_and_changed_amount_is_audited(db, org, tmp_path):
    """The same file twice changes nothing; a changed amount updates, adjusts and is audited."""
    rows = erp.receivable_rows("HQ", "EAST")
    path = erp.write_xlsx(tmp_path / "ar.xlsx", erp.RECEIVABLE_HEADERS, rows)
    import_file(db.session, path, "receivables")
    paid = erp.write_csv(
        tmp_path / "p.csv",
        erp.PAYMENT_HEADERS,
        [["HQ", "P-1", "K001", "200", "2026-03-02", "INV-001", "回款"]],
    )
    assert import_file(db.session, paid, "payments").status == ImportStatus.APPLIED
    assert rec(db, "INV-001").outstanding == Decimal("1034.50")
    seq_before = db.session.scalar(select(func.max(AuditLog.seq)))
    again = import_file(db.session, path, "receivables")
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 0, 4)
    touched = set(db.session.scalars(select(AuditLog.entity).where(AuditLog.seq > seq_before)))
    assert touched == {"import_batch"}  # only the batch's own row
    rows[0][5] = "1,500.00"
    path2 = erp.write_xlsx(tmp_path / "ar2.xlsx", erp.RECEIVABLE_HEADERS, rows)
    changed = import_file(db.session, path2, "receivables")
    assert (changed.rows_created, changed.rows_updated, changed.rows_unchanged) == (0, 1, 3)
    db.session.expire_all()
    r1 = rec(db, "INV-001")
    assert r1.amount == Decimal("1500.00") and r1.outstanding == Decimal("1300.00")
    updates = db.session.scalars(
        select(AuditLog)
        .where(AuditLog.entity == "receivable", AuditLog.entity_id == str(r1.id))
        .where(AuditLog.action == "update")
    ).all()
    amount_changes = [
        (u.before["amount"], u.after["amount"]) for u in updates if "amount" in u.after
    ]
    assert amount_changes == [("1234.50", "1500.00")]


def test_saved_column_mapping_extends_synonyms(db, org, tmp_path):
    """A saved ColumnMapping lets an unusual ERP header map to our field."""
    db.session.add(ColumnMapping(kind=ImportKind.RECEIVABLES, header="欠款额", field="amount"))
    db.session.commit()
    headers = ["客户编码", "客户名称", "单据编号", "欠款额", "到期日", "事业部"]
    path = erp.write_csv(
        tmp_path / "m.csv",
        headers,
        [["K9", "客户九", "M-1", "88.80", "2026-05-01", "EAST"]],
        encoding="utf-8-sig",
    )
    batch = import_file(db.session, path, "receivables")
    assert batch.status == ImportStatus.APPLIED, batch.report
    assert rec(db, "M-1").amount == Decimal("88.80")
    assert batch.report["columns"]["amount"] == "欠款额"


def test_missing_required_column_rejects_the_file(db, org, tmp_path):
    """A file without a due-date column is refused with the missing column named."""
    path = erp.write_csv(
        tmp_path / "x.csv", ["客户名称", "单据编号", "金额"], [["甲", "D1", "1"]], "utf-8"
    )
    batch = import_file(db.session, path, "receivables")
    assert batch.status == ImportStatus.REJECTED
    assert "到期日" in batch.report["fatal"]
    assert count(db, Receivable) == 0


def test_existing_customer_by_name_and_unassigned_user(db, org, tmp_path):
    """A row without a code uses the one customer with that name and its sales unit."""
    company, unit = org
    customer = helpers.make_customer(unit, name="老客户有限公司", erp_code="OLD1")
    path = erp.write_csv(
        tmp_path / "n.csv",
        ["客户名称", "发票号", "金额", "到期日"],
        [["老客户有限公司", "N-1", "10", "2026-04-01"]],
        "gbk",
    )
    batch = import_file(db.session, path, "receivables")
    assert batch.status == ImportStatus.APPLIED, batch.report
    r = rec(db, "N-1")
    assert r.customer_id == customer.id and r.sales_unit_id == unit.id
    assert count(db, User) == 0 or r.collector_id is None


def test_second_company_requires_company_column_or_option(db, org, tmp_path):
    """With several companies a row needs a company; --company supplies the default."""
    other = helpers.make_company(code="SUB", name="子公司")
    helpers.make_unit(other, code="SUB-U", name="子公司事业部")
    path = erp.write_csv(
        tmp_path / "c.csv",
        ["客户编码", "客户名称", "单据编号", "金额", "到期日", "销售部门"],
        [["S1", "子客户", "S-1", "10", "2026-04-01", "子公司事业部"]],
        "gbk",
    )
    refused = import_file(db.session, path, "receivables")
    assert errors_by_line(refused) == {2: {"missing_company"}}
    batch = import_file(db.session, path, "receivables", company_code="SUB")
    assert batch.status == ImportStatus.APPLIED
    assert rec(db, "S-1").company_id == other.id
    with pytest.raises(SpreadsheetError):
        open_table(path, "c.pdf", 10_000)


# -- payments -----------------------------------------------------------------------------------


def test_payments_import_allocates_and_validates(db, org, tmp_path):
    """Payments allocate by document; unknown documents and customers are bad rows."""
    company, unit = org
    customer = helpers.make_customer(unit, erp_code="K001")
    helpers.make_receivable(customer, amount="1000.00", doc_no="INV-1", due=date(2026, 1, 31))
    helpers.make_receivable(customer, amount="500.00", doc_no="INV-2", due=date(2026, 2, 28))
    rows = [
        ["HQ", "P-1", "K001", "300.00", "2026/3/5", "INV-2", "回款"],
        ["HQ", "P-2", "K001", "(100.00)", "2026年3月6日", "INV-1", "红字"],
        ["HQ", "P-3", "K001", "1,200.00", 46090, "", "收款"],
    ]
    path = erp.write_xlsx(tmp_path / "p.xlsx", erp.PAYMENT_HEADERS, rows)
    batch = import_file(db.session, path, "payments")
    assert batch.status == ImportStatus.APPLIED, batch.report
    db.session.expire_all()
    inv1, inv2 = rec(db, "INV-1"), rec(db, "INV-2")
    # P-1 300 → INV-2; credit note 100 → INV-1; P-3 1200 → INV-1 900, INV-2 200, 100 left over.
    assert inv2.outstanding == Decimal("0.00") and inv2.status == ReceivableStatus.SETTLED
    assert inv1.outstanding == Decimal("0.00")
    p3 = db.session.scalar(select(Payment).where(Payment.payment_no == "P-3"))
    assert p3.unallocated == Decimal("100.00") and p3.received_on == date(2026, 3, 9)
    p2 = db.session.scalar(select(Payment).where(Payment.payment_no == "P-2"))
    assert p2.kind == PaymentKind.CREDIT_NOTE and p2.amount == Decimal("100.00")
    again = import_file(db.session, path, "payments")
    assert (again.rows_created, again.rows_unchanged) == (0, 3)
    assert count(db, Payment) == 3
    bad = [
        ["HQ", "P-9", "K001", "50", "2026-03-09", "NO-SUCH-DOC", "回款"],
        ["HQ", "P-10", "K404", "50", "2026-03-09", "", "回款"],
        ["HQ", "P-11", "K001", "abc", "2026-03-09", "", "回款"],
        ["HQ", "P-1", "K001", "999.00", "2026/3/5", "INV-2", "回款"],
        ["HQ", "P-12", "K001", "50", "2026-03-09", "", "回款"],
    ]
    path = erp.write_csv(tmp_path / "p.csv", erp.PAYMENT_HEADERS, bad)
    rejected = import_file(db.session, path, "payments")
    assert rejected.status == ImportStatus.REJECTED
    assert errors_by_line(rejected) == {
        2: {"unknown_document"},
        3: {"unknown_customer"},
        4: {"amount_not_number"},
        5: {"payment_changed"},
    }
    assert count(db, Payment) == 3  # P-12 is valid but the file had errors


def test_money_received_before_its_receivable_is_applied_on_import(db, org, tmp_path):
    """A receivable imported after an unallocated payment picks that money up."""
    company, unit = org
    customer = helpers.make_customer(unit, erp_code="K7", name="预付客户")
    path = erp.write_csv(
        tmp_path / "p.csv", erp.PAYMENT_HEADERS, [["HQ", "PP-1", "K7", "80", "2026-01-02", "", ""]]
    )
    assert import_file(db.session, path, "payments").status == ImportStatus.APPLIED
    path = erp.write_csv(
        tmp_path / "r.csv",
        ["客户编码", "客户名称", "单据编号", "金额", "到期日"],
        [["K7", "预付客户", "R-7", "100", "2026-02-01"]],
    )
    assert import_file(db.session, path, "receivables").status == ImportStatus.APPLIED
    db.session.expire_all()
    assert rec(db, "R-7").outstanding == Decimal("20.00")
    assert customer.id == rec(db, "R-7").customer_id


# -- hostile and large files --------------------------------------------------------------------


def test_oversize_file_is_refused(app, db, org, tmp_path):
    """A file over IMPORT_MAX_BYTES is refused before it is read."""
    path = erp.write_csv(
        tmp_path / "big.csv", erp.RECEIVABLE_HEADERS, erp.receivable_rows("HQ", "EAST") * 50
    )
    old = app.config["IMPORT_MAX_BYTES"]
    app.config["IMPORT_MAX_BYTES"] = 1000
    try:
        batch = import_file(db.session, path, "receivables")
    finally:
        app.config["IMPORT_MAX_BYTES"] = old
    assert batch.status == ImportStatus.FAILED
    assert "too large" in batch.report["fatal"]
    assert count(db, Receivable) == 0


def test_zip_bomb_is_refused_quickly_in_bounded_memory(db, org, tmp_path):
    """An xlsx whose sheet inflates ~1000:1 is refused without inflating it."""
    path = erp.hostile_zip_bomb(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 2_000_000
    tracemalloc.start()
    batch = import_file(db.session, path, "receivables")
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert batch.status == ImportStatus.FAILED
    assert "zip bomb" in batch.report["fatal"]
    assert peak < 20_000_000


def test_billion_laughs_is_refused(db, org, tmp_path):
    """An xlsx whose sheet XML declares nested entities fails with a message."""
    path = erp.hostile_billion_laughs(tmp_path / "lol.xlsx")
    tracemalloc.start()
    batch = import_file(db.session, path, "receivables")
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert batch.status == ImportStatus.FAILED
    assert "entities" in batch.report["fatal"].lower() or "dtd" in batch.report["fatal"].lower()
    assert peak < 50_000_000
    assert count(db, Receivable) == 0


def test_chunks_keep_the_session_empty(db, org, tmp_path, monkeypatch):
    """Across chunks the session holds no ORM objects; all rows land in one transaction."""
    monkeypatch.setattr(importer, "CHUNK_SIZE", 50)
    sizes = []
    real_flush = db.session.flush

    rows = [
        ["HQ", f"K{i % 30}", f"客户{i % 30}", f"D-{i:05d}", "", f"{i}.50", "", "", "2026-06-30",
         "EAST", ""]
        for i in range(1, 251)
    ]  # fmt: skip
    path = erp.write_csv(tmp_path / "many.csv", erp.RECEIVABLE_HEADERS, rows)

    def spy():
        sizes.append(len(db.session.identity_map))
        real_flush()

    monkeypatch.setattr(db.session, "flush", spy)
    batch = import_file(db.session, path, "receivables")
    assert batch.rows_created == 250
    assert count(db, Receivable) == 250 and count(db, Customer) == 30
    assert max(sizes) <= 120  # one chunk's objects at most, never the whole file
    wb = openpyxl.Workbook()  # keep openpyxl imported for the type of test data above
    assert wb.active is not None


def test_a_warning_repeated_on_many_rows_is_listed_once_per_line_then_counted(db, org, tmp_path):
    """The same warning on many rows lists its first lines and counts the rest, so a large
    file's report does not grow with it (flat memory at 100k rows)."""
    from backoffice.services.importer import WARNING_LINES_LISTED

    rows = [["HQ", f"K{i:03d}", f"客户{i:03d}有限公司", f"W-{i:04d}", "货款", "100.00", "CNY",
             "2026-01-05", "2026-03-01", "华东事业部", "无此人"] for i in range(35)]
    path = erp.write_csv(tmp_path / "many.csv", erp.RECEIVABLE_HEADERS, rows)
    batch = import_file(db.session, path, ImportKind.RECEIVABLES)
    assert batch.status == ImportStatus.APPLIED and batch.rows_created == 35
    listed = [w for w in batch.report["warnings"] if w["value"] == "无此人"]
    assert len(listed) == WARNING_LINES_LISTED
    (repeated,) = batch.report["repeated_warnings"]
    assert repeated["value"] == "无此人" and repeated["more"] == 35 - WARNING_LINES_LISTED
