"""List exports (CSV and XLSX): inert formula texts, typed amounts and dates, Chinese sheet and
file names, enum labels and 是/否, and no HTML from the list page."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal as D
from urllib.parse import quote

import openpyxl
import pytest

from backoffice.models.case import ActionKind, CollectionAction
from backoffice.models.job import JobRun, JobStatus
from backoffice.services.export import DATE_FORMAT, MONEY_FORMAT, sheet_title
from backoffice.services.formatting import SHANGHAI
from backoffice.views import REGISTRY
from tests import helpers
from tests.views.test_permission_matrix import BUILDERS, world  # noqa: F401 - the matrix rows

PAYLOADS = ['=HYPERLINK("http://evil.example/x")', "+1", "-2+3", "@SUM(A1)"]


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))


def _xlsx(response):
    assert response.status_code == 200, response.status_code
    return openpyxl.load_workbook(io.BytesIO(response.data)).active


def _column(header: list, label: str) -> int:
    return header.index(label)


@pytest.fixture()
def hostile(db):
    """One unit whose customers, receivables and collection actions carry formula texts."""
    unit = helpers.make_unit()
    customers = []
    for i, payload in enumerate(PAYLOADS):
        cust = helpers.make_customer(unit, name=payload, shipment_hold=bool(i % 2))
        customers.append(cust)
        helpers.make_receivable(
            cust,
            amount="1234.50",
            paid_amount="1484.50" if i == 0 else "0",  # overpaid: outstanding -250.00
            due=date(2026, 3, 31),
            doc_no=f"DOC-{i}",
            collector_name=payload,
        )
        case = helpers.make_case(cust)
        db.session.add(
            CollectionAction(
                case_id=case.id,
                kind=ActionKind.PHONE,
                on=date(2026, 4, 1),
                result=payload,
            )
        )
    db.session.commit()
    return unit


@pytest.mark.parametrize("resource", ["customer", "receivable", "collection_action"])
def test_csv_export_writes_formula_texts_inert(client, login_as, hostile, resource):
    """Every formula text in a CSV export is read back with a leading quote, none bare."""
    login_as("admin")
    rows = _csv(client.get(f"/admin/{resource}/export/csv/"))
    cells = [c for row in rows[1:] for c in row]
    for payload in PAYLOADS:
        assert any(c.startswith("'" + payload) for c in cells), payload
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    assert not any(c.startswith("-") and not _is_number(c) for c in cells)


def _is_number(text: str) -> bool:
    try:
        D(text)
    except ArithmeticError:
        return False
    return True


@pytest.mark.parametrize("resource", ["customer", "receivable", "collection_action"])
def test_xlsx_export_writes_formula_texts_as_strings(client, login_as, hostile, resource):
    """Every formula text in an XLSX export is a string cell with a leading quote; no cell is
    a formula."""
    login_as("admin")
    ws = _xlsx(client.get(f"/admin/{resource}/export/xlsx/"))
    cells = [c for row in ws.iter_rows(min_row=2) for c in row]
    assert not any(c.data_type == "f" for c in cells)
    texts = [c.value for c in cells if c.data_type == "s"]
    for payload in PAYLOADS:
        assert any(t.startswith("'" + payload) for t in texts), payload


def test_receivable_xlsx_has_numbers_dates_sheet_and_file_name(client, login_as, hostile):
    """Amounts are numeric cells with the money format (a negative one too), due dates date
    cells, the sheet is 应收账款 and the file 应收账款-<date>.xlsx (RFC 5987)."""
    login_as("admin")
    response = client.get("/admin/receivable/export/xlsx/")
    ws = _xlsx(response)
    assert ws.title == "应收账款"
    header = [c.value for c in ws[1]]
    due = _column(header, "到期日")
    rows = list(ws.iter_rows(min_row=2))
    for amount in (_column(header, "金额"), _column(header, "未收余额")):
        assert all(r[amount].data_type == "n" for r in rows)
        assert all(r[amount].number_format == MONEY_FORMAT for r in rows)
    outstanding = sorted(r[_column(header, "未收余额")].value for r in rows)
    assert outstanding[0] == -250 and outstanding[-1] == 1234.5
    assert all(r[due].is_date and r[due].number_format == DATE_FORMAT for r in rows)
    assert rows[0][due].value.date() == date(2026, 3, 31)
    today = datetime.now(SHANGHAI).date().isoformat()
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert f"filename*=UTF-8''{quote(f'应收账款-{today}.xlsx')}" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_csv_export_has_plain_amounts_dates_labels_and_file_name(client, login_as, hostile):
    """CSV amounts are plain numbers (the negative one unquoted), dates ISO, flags 是/否,
    enum labels not stored values; the file is named 客户-<date>.csv."""
    login_as("admin")
    response = client.get("/admin/receivable/export/csv/")
    rows = _csv(response)
    outstanding = [r[_column(rows[0], "未收余额")] for r in rows[1:]]
    assert "-250.00" in outstanding and "1234.50" in outstanding
    assert {r[_column(rows[0], "到期日")] for r in rows[1:]} == {"2026-03-31"}
    customers = client.get("/admin/customer/export/csv/")
    rows = _csv(customers)
    assert {r[_column(rows[0], "停货")] for r in rows[1:]} == {"是", "否"}
    today = datetime.now(SHANGHAI).date().isoformat()
    assert quote(f"客户-{today}.csv") in customers.headers["Content-Disposition"]
    actions = _csv(client.get("/admin/collection_action/export/csv/"))
    kinds = {r[_column(actions[0], "类型")] for r in actions[1:]}
    assert kinds == {str(ActionKind.PHONE.label)} and "phone" not in kinds


def test_jobs_csv_export_has_no_markup(client, login_as, db):
    """The jobs CSV shows status label, progress and message as plain text, without the list
    page's progress bar, spans or error details."""
    db.session.add(
        JobRun(
            rq_job_id="job-1",
            name="monthly-run",
            status=JobStatus.FAILED,
            progress=40,
            message="第 2 步",
            error="Traceback: boom",
        )
    )
    db.session.commit()
    login_as("admin")
    response = client.get("/admin/job_run/export/csv/")
    text = response.data.decode("utf-8-sig")
    assert "<" not in text and "&#" not in text
    rows = _csv(response)
    row = rows[1]
    assert str(JobStatus.FAILED.label) in row and "40%" in row
    # The job's one-line summary, as on the page; never the traceback.
    assert any(cell.startswith("失败：") for cell in row) and "Traceback" not in text


@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.endpoint)
def test_every_list_exports_plain_csv_and_typed_xlsx(world, entry):  # noqa: F811
    """Every list with a row exports a CSV without markup and an XLSX without formulas, its
    sheet named after the list in Chinese."""
    BUILDERS[entry.endpoint](world, world.users["admin"])
    client = world.clients["admin"][0]
    csv_response = client.get(f"/admin/{entry.endpoint}/export/csv/")
    assert csv_response.status_code == 200
    rows = _csv(csv_response)
    assert len(rows) >= 2 and "<" not in csv_response.data.decode("utf-8-sig")
    ws = _xlsx(client.get(f"/admin/{entry.endpoint}/export/xlsx/"))
    assert ws.title == sheet_title(str(entry.name)) != "Tablib Dataset"
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    assert [c.value for c in ws[1]] == rows[0]
    assert "文件" not in rows[0]  # the list's download buttons are no column of a file
