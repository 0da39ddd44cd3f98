"""Spreadsheet writers: formula leads made inert, numbers and dates typed, names valid."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal as D

import openpyxl
import pytest

from backoffice.models.case import ActionKind
from backoffice.services.export import (
    DATE_FORMAT,
    MONEY_FORMAT,
    cell_value,
    export_filename,
    inert,
    sheet_title,
    write_csv,
    write_xlsx,
)

PAYLOADS = ['=HYPERLINK("http://evil.example/x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


@pytest.mark.parametrize("text", PAYLOADS)
def test_formula_leads_get_a_quote(text):
    """A text starting with = + - @ tab or CR is prefixed with a single quote."""
    assert inert(text) == "'" + text


@pytest.mark.parametrize("text", ["上海宏达机械有限公司", "INV-1", "a=b", "", "'=x"])
def test_other_text_is_unchanged(text):
    """Text without a formula lead is written as it is."""
    assert inert(text) == text


def test_cell_values_keep_numbers_dates_and_labels(db):
    """Amounts (negative too) stay numbers, dates dates, timestamps Shanghai time; enums are
    labels, flags 是/否, None empty."""
    assert cell_value(D("-12.50")) == D("-12.50")
    assert cell_value(-3) == -3
    assert cell_value(date(2026, 11, 30)) == date(2026, 11, 30)
    assert cell_value(datetime(2026, 11, 30, 16, 0, tzinfo=UTC)) == datetime(2026, 12, 1, 0, 0)
    assert cell_value(ActionKind.PHONE) == str(ActionKind.PHONE.label) != "phone"
    assert (cell_value(True), cell_value(False), cell_value(None)) == ("是", "否", "")
    assert cell_value([ActionKind.PHONE, "=x"]) == f"{ActionKind.PHONE.label}、=x"
    assert cell_value(["=x", "y"]) == "'=x、y"


def test_csv_cells_are_inert_and_amounts_plain(db):
    """Read back with the csv module: formula texts carry the quote, amounts do not."""
    out = io.BytesIO()
    write_csv(out, ["名称", "金额", "日期"], [[p, D("-5.00"), date(2026, 1, 2)] for p in PAYLOADS])
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"), newline="")))
    assert rows[0] == ["名称", "金额", "日期"]
    assert [r[0] for r in rows[1:]] == ["'" + p for p in PAYLOADS]
    assert {r[1] for r in rows[1:]} == {"-5.00"}
    assert {r[2] for r in rows[1:]} == {"2026-01-02"}


def test_xlsx_cells_are_strings_numbers_and_dates(db):
    """Read back with openpyxl: texts are string cells (never formulas) with the quote,
    amounts numbers with the money format, dates date cells; the sheet has the given name."""
    out = io.BytesIO()
    rows = [[p, D("-5.00"), date(2026, 1, 2)] for p in PAYLOADS]
    write_xlsx(out, "应收账款", ["名称", "金额", "日期"], rows, title="=1+1", footer=["合计", D(1)])
    ws = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    assert ws.title == "应收账款"
    assert (ws["A1"].value, ws["A1"].data_type) == ("'=1+1", "s")
    body = list(ws.iter_rows(min_row=3, max_row=2 + len(PAYLOADS)))
    for payload, (name, amount, day) in zip(PAYLOADS, body, strict=True):
        assert (name.value, name.data_type) == ("'" + payload, "s")
        assert (amount.value, amount.data_type, amount.number_format) == (-5, "n", MONEY_FORMAT)
        assert day.is_date and day.number_format == DATE_FORMAT
        assert day.value.date() == date(2026, 1, 2)
    assert [c.value for c in ws[ws.max_row]][:2] == ["合计", 1]
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_sheet_and_file_names():
    """Sheet names drop the characters Excel forbids and keep 31; files are name-date.ext."""
    assert sheet_title("应收/账款[1]") == "应收 账款 1"
    assert len(sheet_title("长" * 40)) == 31
    assert export_filename("应收账款", "xlsx", date(2026, 11, 30)) == "应收账款-2026-11-30.xlsx"
    assert export_filename('a/b:"c"', "csv", date(2026, 1, 1)) == "a_b__c_-2026-01-01.csv"


def test_a_json_value_exports_in_words(db):
    """A JSON column (an audit entry's before/after) exports as labelled fields, 是/否 and
    Shanghai time, never a Python dict: the one formatter of every export."""
    text = cell_value({"active": True, "last_login_at": "2026-11-30T16:05:00+00:00"})
    assert "{" not in text and "'" not in text and "True" not in text
    assert "是" in text and "2026-12-01 00:05" in text and "启用" in text
