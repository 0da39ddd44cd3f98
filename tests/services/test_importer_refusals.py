"""Issue 10 item 13: the ERP import reads amounts exactly and refuses bad input cleanly.

Each reproduced attack has its test; then a fuzz feeds generated amounts and malformed files to
the importer: no exception, and nothing stored that a reference reader would read otherwise.
"""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backoffice.models import Customer, Payment, Receivable, SalesUnit
from backoffice.models.receivable import ImportBatch, ImportKind, ImportStatus
from backoffice.services.importer import import_file
from tests import helpers
from tests.data import erp_files as erp
from tests.services.test_amounts import invalid_form, random_form, reference, valid_form

HEADERS = ["单据编号", "客户编码", "客户名称", "应收金额", "约定付款日", "事业部"]
EN_HEADERS = ["document no", "customer code", "customer name", "amount", "due date", "unit"]


@pytest.fixture()
def org(db):
    company = helpers.make_company(code="HQ", name="总公司")
    helpers.make_unit(company, code="EAST", name="华东事业部")
    return company


def row(doc_no, amount, name="华东机械有限公司", code="K001"):
    return [doc_no, code, name, amount, "2026-03-01", "EAST"]


def write(path: Path, rows: list[list], encoding: str = "utf-8", headers=HEADERS) -> Path:
    return erp.write_csv(path, headers, rows, encoding=encoding)


def errors(batch: ImportBatch) -> list[tuple]:
    return [(e["line"], e["column"], e["code"]) for e in batch.report["errors"]]


def receivables(db) -> dict[str, Decimal]:
    return dict(db.session.execute(select(Receivable.doc_no, Receivable.amount)).all())


def import_receivables(db, path: Path, **kw) -> ImportBatch:
    return import_file(db.session, path, ImportKind.RECEIVABLES, **kw)


# -- the reproduced attacks -------------------------------------------------------------------


def test_european_amount_is_refused_not_multiplied(db, org, tmp_path):
    """``1 000,00`` was stored as 100,000.00; now the row is refused with a reason."""
    batch = import_receivables(db, write(tmp_path / "a.csv", [row("INV-1", "1 000,00")]))
    assert batch.status == ImportStatus.REJECTED
    assert errors(batch) == [(2, "应收金额", "amount_european")]
    assert receivables(db) == {}


def test_misplaced_thousands_groups_are_refused(db, org, tmp_path):
    """``1,2,3`` became 123.00; now it is refused, naming line and column."""
    rows = [row("INV-1", "1,2,3"), row("INV-2", "12,34"), row("INV-3", "1,234.56")]
    batch = import_receivables(db, write(tmp_path / "a.csv", rows), valid_only=True)
    assert errors(batch) == [(2, "应收金额", "amount_grouping"), (3, "应收金额", "amount_european")]
    assert receivables(db) == {"INV-3": Decimal("1234.56")}


def test_zero_negative_zero_and_foreign_digits_are_refused_on_receivables(db, org, tmp_path):
    """``0``, ``-0`` and Arabic-Indic digits were accepted as receivables; now refused."""
    rows = [row("INV-1", "0"), row("INV-2", "-0"), row("INV-3", "١٢٣"), row("INV-4", "-5")]
    batch = import_receivables(db, write(tmp_path / "a.csv", rows))
    assert errors(batch) == [
        (2, "应收金额", "not_positive"),
        (3, "应收金额", "not_positive"),
        (4, "应收金额", "amount_digits"),
        (5, "应收金额", "negative_amount"),
    ]
    assert receivables(db) == {}


def test_huge_amount_is_refused_not_overflowing(db, org, tmp_path):
    """``99999999999999999999.99`` crashed with OverflowError; now a reasoned refusal."""
    rows = [row("INV-1", "99999999999999999999.99"), row("INV-2", "999,999,999,999.99")]
    batch = import_receivables(db, write(tmp_path / "a.csv", rows), valid_only=True)
    assert errors(batch) == [(2, "应收金额", "amount_too_large")]
    assert "999,999,999,999.99" in batch.report["errors"][0]["message"]
    assert receivables(db) == {"INV-2": Decimal("999999999999.99")}


def test_huge_spreadsheet_numbers_are_refused(db, org, tmp_path):
    """Numeric xlsx cells too large for the column (1e20, 1e300) are refused, not crashed on."""
    rows = [row("INV-1", 1e20), row("INV-2", 10**25), row("INV-3", 1e300), row("INV-4", 12.5)]
    path = erp.write_xlsx(tmp_path / "a.xlsx", HEADERS, rows)
    batch = import_receivables(db, path, valid_only=True)
    assert [e[2] for e in errors(batch)] == ["amount_too_large"] * 3
    assert receivables(db) == {"INV-4": Decimal("12.50")}


@pytest.mark.parametrize(
    ("content", "code", "line"),
    [
        ("单据编号,客户名称\nINV-1,华东\n".encode("utf-16-le"), "file_binary", 1),
        ("单据编号,客户名称\nINV-1,华东\n".encode("utf-16-be"), "file_binary", 1),
        (b"doc no,amount\nINV-1,5\nINV-2,\x006\n", "file_binary", 3),
        (bytes(random.Random(7).choices(range(128, 256), k=3000)), "file_encoding", 1),
        (b"doc no,amount\nINV-1,5\n\xff\xfe\xfd\n", "file_encoding", 3),
    ],
)
def test_undecodable_csv_is_refused_with_its_line(db, org, tmp_path, content, code, line):
    """UTF-16 without BOM and random bytes crashed (UnicodeDecodeError); now FAILED, reasoned."""
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    batch = import_receivables(db, path)
    assert batch.status == ImportStatus.FAILED
    assert batch.report["errors"][0]["code"] == code
    assert batch.report["errors"][0]["params"] == {"line": str(line)}
    assert f"line {line}" in batch.report["fatal"]


def test_utf16_with_bom_is_read(db, org, tmp_path):
    """Excel's "Unicode text" (UTF-16 with BOM, tab-separated) is decoded properly."""
    text = "\t".join(HEADERS) + "\n" + "\t".join(row("INV-1", "¥1,234.56")) + "\n"
    path = tmp_path / "u.txt"
    path.write_bytes(text.encode("utf-16"))
    batch = import_receivables(db, path)
    assert batch.status == ImportStatus.APPLIED, batch.report
    assert receivables(db) == {"INV-1": Decimal("1234.56")}
    assert db.session.scalar(select(Customer.name)) == "华东机械有限公司"


def test_shift_jis_is_refused_not_garbled(db, org, tmp_path):
    """A Shift-JIS file was decoded as GB18030 into a garbled name; now it is refused."""
    rows = [row("INV-1", "100", name="株式会社テスト商事")]
    path = write(tmp_path / "j.csv", rows, "shift_jis", headers=EN_HEADERS)
    batch = import_receivables(db, path)
    assert batch.status == ImportStatus.FAILED
    assert batch.report["errors"][0]["code"] == "file_japanese"
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 0


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_too_long_text_is_refused_on_every_database(db, org, tmp_path, suffix):
    """A name or number longer than its String(n) column is refused per cell, also on SQLite."""
    rows = [
        row("INV-1", "100", name="长" * 201),
        row("D" * 65, "100"),
        row("INV-3", "100", code="K" * 65),
        row("INV-4", "100", name="长" * 200),
    ]
    if suffix == "csv":
        path = write(tmp_path / "t.csv", rows)
    else:
        path = erp.write_xlsx(tmp_path / "t.xlsx", HEADERS, rows)
    batch = import_receivables(db, path, valid_only=True)
    assert errors(batch) == [
        (2, "客户名称", "too_long"),
        (3, "单据编号", "too_long"),
        (4, "客户编码", "too_long"),
    ]
    assert batch.report["errors"][0]["params"] == {"length": "201", "max": "200"}
    assert receivables(db) == {"INV-4": Decimal("100.00")}


# -- fuzz -----------------------------------------------------------------------------------------


def test_fuzz_generated_amounts_through_the_importer(db, org, tmp_path):
    """1,200 generated amounts in a CSV and an xlsx: each stored exactly or refused on its line."""
    rng = random.Random(1013)
    raws: list = []
    for _ in range(150):
        raws += [valid_form(rng)[0], invalid_form(rng), random_form(rng), valid_form(rng)[0]]
    numbers = [
        rng.choice([rng.randrange(-(10**6), 10**15), rng.uniform(-1e13, 1e13)]) for _ in range(300)
    ]
    numbers += [round(rng.uniform(0, 1e6), 2) for _ in range(300)]
    for suffix, values in (("csv", raws), ("xlsx", numbers)):
        rows = [row(f"F-{i}", v) for i, v in enumerate(values)]
        if suffix == "csv":
            path = write(tmp_path / "f.csv", rows)
        else:
            path = erp.write_xlsx(tmp_path / "f.xlsx", HEADERS, rows)
        batch = import_receivables(db, path, valid_only=True)
        assert batch.status == ImportStatus.APPLIED
        stored = receivables(db)
        bad_lines = {line for line, _col, _code in errors(batch)}
        for i, value in enumerate(values):
            expected = reference(value) if isinstance(value, str) else _number_reference(value)
            if expected is not None and expected > 0:
                assert stored.get(f"F-{i}") == expected, value
                assert i + 2 not in bad_lines
            else:
                assert f"F-{i}" not in stored, value
                assert (i + 2, "应收金额") in {(line, col) for line, col, _ in errors(batch)}
        db.session.execute(Receivable.__table__.delete())
        db.session.commit()
    assert len(raws) + len(numbers) >= 1200


def _number_reference(value: float | int) -> Decimal | None:
    """Spreadsheet numbers: exact to the cent (binary noise aside) and within the maximum."""
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    cents = exact.quantize(Decimal("0.01"))
    if abs(exact - cents) > Decimal("0.000001") or abs(cents) > Decimal("999999999999.99"):
        return None
    return cents


def _good_rows() -> list[list]:
    return [row("G-1", "¥1,234.56"), row("G-2", "（２,０００.００）元"), row("G-3", "5")]


def malformed_files(tmp_path: Path) -> list[tuple[str, bytes]]:
    """At least fifty hostile or broken uploads, seeded, as (file name, bytes)."""
    rng = random.Random(4242)
    csv_text = "\n".join(",".join(map(str, r)) for r in [HEADERS, *_good_rows()]) + "\n"
    xlsx = erp.write_xlsx(tmp_path / "base.xlsx", HEADERS, _good_rows()).read_bytes()
    files: list[tuple[str, bytes]] = []
    for encoding in ("utf-16-le", "utf-16-be", "utf-32", "big5", "cp1252"):
        files.append((f"{encoding}.csv", csv_text.encode(encoding, "replace")))
    jp = "\n".join(",".join(r) for r in [EN_HEADERS, row("J-1", "100", "テスト株式会社")])
    files.append(("sjis.csv", jp.encode("shift_jis")))
    files.append(("eucjp-ascii.csv", jp.encode("euc_jp")))
    for i in range(5):
        files.append((f"random{i}.csv", rng.randbytes(rng.randrange(1, 3000))))
    for i in range(5):  # no NUL: the decoders and the plausibility rule must refuse them
        files.append((f"random-nonul{i}.csv", bytes(rng.choices(range(1, 256), k=2000))))
    for i in range(5):  # high bytes only: mostly valid GBK pairs
        files.append((f"random-high{i}.csv", bytes(rng.choices(range(0x81, 0xFF), k=2000))))
    for i in range(3):
        files.append((f"bom-random{i}.csv", b"\xef\xbb\xbf" + rng.randbytes(200)))
        files.append((f"utf16bom-random{i}.csv", b"\xff\xfe" + rng.randbytes(201)))
    for i in range(5):
        files.append((f"random{i}.xlsx", rng.randbytes(rng.randrange(1, 3000))))
    for cut in (0.1, 0.3, 0.5, 0.7, 0.9, 0.97, 0.99):
        files.append((f"cut{cut}.xlsx", xlsx[: int(len(xlsx) * cut)]))
    for i in range(5):
        flipped = bytearray(xlsx)
        at = rng.randrange(len(flipped))
        flipped[at] ^= 0xFF
        files.append((f"flip{i}.xlsx", bytes(flipped)))
    files.append(("xlsx-as.csv", xlsx))
    files.append(("csv-as.xlsx", csv_text.encode()))
    files.append(("wrong-columns.csv", "甲,乙,丙\n1,2,3\n".encode()))
    files.append(("only-header.csv", (",".join(HEADERS) + "\n").encode("gbk")))
    files.append(("empty.csv", b""))
    files.append(("only-bom.csv", b"\xef\xbb\xbf"))
    files.append(("nul.csv", csv_text.encode().replace(b"G-2", b"G\x00-2")))
    files.append(("ctrl.csv", csv_text.encode().replace(b"G-2", b"G\x01-2")))
    files.append(("long-line.csv", csv_text.encode() + b"x" * 70_000 + b"\n"))
    huge = [row("H-1", "9" * 400), row("H-2", "1" + "0" * 40 + ".00"), row("H-3", "1e308")]
    files.append(("huge.csv", "\n".join(",".join(r) for r in [HEADERS, *huge]).encode()))
    files.append(("quote.csv", (csv_text + '"G-9,unterminated\n').encode()))
    files.append(("no-ext", csv_text.encode()))
    return files


def test_fuzz_malformed_files(db, org, tmp_path):
    """Fifty-odd broken files: no exception, a reasoned refusal, and never a misread row."""
    seen: dict[str, str] = {}
    files = malformed_files(tmp_path)
    assert len(files) >= 50
    good = {"G-1": Decimal("1234.56"), "G-3": Decimal("5.00")}
    for name, content in files:
        path = tmp_path / "upload"
        path.write_bytes(content)
        batch = import_file(db.session, path, ImportKind.RECEIVABLES, filename=name)
        if batch.status == ImportStatus.APPLIED:  # a header and nothing else is no attack
            assert name == "only-header.csv" and batch.rows_total == 0
        else:
            assert batch.status in (ImportStatus.FAILED, ImportStatus.REJECTED), name
            assert batch.report["errors"], name
        for issue in batch.report["errors"]:
            assert issue["message"] and issue["code"], name
        seen[name] = batch.report["errors"][0]["code"] if batch.report["errors"] else ""
        stored = receivables(db)
        assert set(stored) <= set(good) and all(good[k] == v for k, v in stored.items()), name
        names = db.session.scalars(select(Customer.name)).all()
        assert set(names) <= {"华东机械有限公司"}, (name, names)
    assert seen["utf-16-le.csv"] == seen["utf-16-be.csv"] == "file_binary"
    assert seen["sjis.csv"] == seen["eucjp-ascii.csv"] == "file_japanese"
    assert seen["nul.csv"] == "file_binary" and seen["ctrl.csv"] == "file_control_chars"
    assert seen["utf-32.csv"] == "file_utf32" and seen["big5.csv"] == "file_implausible"
    assert seen["huge.csv"] == "amount_too_large"


def test_payment_amounts_follow_the_same_grammar(db, org, tmp_path):
    """Payments: credit notes may be written negative; zero, ambiguous or long values refused."""
    helpers.make_customer(
        db.session.scalar(select(SalesUnit)), erp_code="K001", name="华东机械有限公司"
    )
    rows = [
        ["HQ", "P-1", "K001", "(500.00)", "2026-03-02", "", "红字"],
        ["HQ", "P-2", "K001", "-0", "2026-03-02", "", "红字"],
        ["HQ", "P-3", "K001", "1.234,56", "2026-03-02", "", "回款"],
        ["HQ", "P-4", "K001", "-5", "2026-03-02", "", "回款"],
        ["HQ", "P" * 65, "K001", "5", "2026-03-02", "", "回款"],
        ["HQ", "P-6", "K001", "１，０００.５０元", "2026-03-02", "", "回款"],
    ]
    path = erp.write_csv(tmp_path / "p.csv", erp.PAYMENT_HEADERS, rows)
    batch = import_file(db.session, path, ImportKind.PAYMENTS, valid_only=True)
    assert errors(batch) == [
        (3, "收款金额", "not_positive"),
        (4, "收款金额", "amount_european"),
        (5, "收款金额", "not_positive"),
        (6, "收款单号", "too_long"),
    ]
    amounts = dict(db.session.execute(select(Payment.payment_no, Payment.amount)).all())
    assert amounts == {"P-1": Decimal("500.00"), "P-6": Decimal("1000.50")}
