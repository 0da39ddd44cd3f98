"""The ERP import pages: upload (permission, CSRF, size), inline run, progress JSON, result."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from backoffice.models import Receivable
from backoffice.models.receivable import ImportBatch, ImportStatus
from tests import helpers
from tests.conftest import csrf_from
from tests.data import erp_files as erp


def _org():
    company = helpers.make_company(code="HQ", name="总公司")
    helpers.make_unit(company, code="EAST", name="华东事业部")


@pytest.fixture()
def as_role(app, db, monkeypatch):
    """A fresh client (its own app context per request) logged in with the given role.

    Redis is switched off, so uploads import inline (the job path: tests/jobs)."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)

    def make(role: str):
        user = helpers.make_user(role)
        client = helpers.fresh_client(app)
        helpers.login(client, user.username)
        return client, user

    return make


def _upload(client, path, kind="receivables", **flags):
    token = csrf_from(client.get("/admin/import/").get_data(as_text=True))
    data = {"csrf_token": token, "kind": kind, "file": (io.BytesIO(path.read_bytes()), path.name)}
    data.update({k: "1" for k, v in flags.items() if v})
    return client.post("/admin/import/", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize(("role", "status"), [("collector", 403), ("auditor", 403), ("legal", 403),
                                              ("finance", 200), ("admin", 200)])  # fmt: skip
def test_only_import_roles_may_upload(as_role, role, status):
    """Only roles with the import permission (finance, admin) reach the upload page."""
    client, _user = as_role(role)
    assert client.get("/admin/import/").status_code == status


def test_anonymous_is_sent_to_login(client, db):
    """Strangers are redirected to the login page."""
    response = client.get("/admin/import/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_upload_runs_inline_and_shows_result(as_role, db, tmp_path):
    """Without Redis, an upload imports at once; the result page lists counts and bad rows."""
    _org()
    client, user = as_role("finance")
    page = client.get("/admin/import/").get_data(as_text=True)
    assert 'type="file"' in page and 'name="dry_run"' in page and 'name="valid_only"' in page
    rows = erp.receivable_rows("HQ", "EAST")
    rows[2][9] = "不存在的事业部"
    path = erp.write_xlsx(tmp_path / "应收账款.xlsx", erp.RECEIVABLE_HEADERS, rows)
    response = _upload(client, path)
    assert response.status_code == 302
    batch = db.session.scalar(select(ImportBatch))
    assert batch.status == ImportStatus.REJECTED and batch.user_id == user.id
    assert batch.filename == "应收账款.xlsx" and batch.storage_key.endswith(".xlsx")
    assert "应收账款" not in batch.storage_key
    result = client.get(response.headers["Location"], follow_redirects=True)
    html = result.get_data(as_text=True)
    assert result.status_code == 200
    assert "不存在的事业部" in html and "事业部" in html
    assert db.session.scalar(select(func.count()).select_from(Receivable)) == 0
    status = client.get(f"/admin/import/{batch.id}/status.json").get_json()
    assert status["done"] and status["status"] == "rejected" and status["progress"] == 100
    response = _upload(client, path, valid_only=True)
    html = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert 'class="created">3<' in html and "K001" in html
    assert db.session.scalar(select(func.count()).select_from(Receivable)) == 3


def test_result_page_lists_every_problem_of_a_row(as_role, db, tmp_path):
    """The result page shows each of a row's problems: missing company, date, unit, duplicate."""
    _org()
    helpers.make_company(code="SUB", name="子公司")  # two companies: no default company
    client, _user = as_role("finance")
    rows = erp.receivable_rows("", "EAST")[:2]
    rows[0][8], rows[0][9] = "2026-02-30", "火星事业部"
    rows[1][3] = rows[0][3]
    path = erp.write_csv(tmp_path / "ar.csv", erp.RECEIVABLE_HEADERS, rows)
    response = _upload(client, path)
    html = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    table = html[html.index('id="import-errors"') :]
    table = table[: table.index("</table>")]
    line2 = [r for r in table.split("<tr>") if r.startswith("<td>2</td>")]
    assert len(line2) == 4, table
    for cell in ("<td>公司</td>", "<td>2026-02-30</td>", "<td>火星事业部</td>", "<td>INV-001</td>"):
        assert any(cell in r for r in line2), cell


def test_upload_refuses_wrong_type_and_oversize(app, as_role, db, tmp_path):
    """A non-spreadsheet or a file over IMPORT_MAX_BYTES is refused with a message."""
    client, _user = as_role("finance")
    token = csrf_from(client.get("/admin/import/").get_data(as_text=True))
    bad = client.post(
        "/admin/import/",
        data={"csrf_token": token, "kind": "receivables", "file": (io.BytesIO(b"x"), "a.exe")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and "alert-danger" in bad.get_data(as_text=True)
    app.config["IMPORT_MAX_BYTES"], old = 2000, app.config["IMPORT_MAX_BYTES"]
    try:
        big = client.post(
            "/admin/import/",
            data={
                "csrf_token": token,
                "kind": "receivables",
                "file": (io.BytesIO(b"a,b\n" * 1000), "big.csv"),
            },
            content_type="multipart/form-data",
        )
    finally:
        app.config["IMPORT_MAX_BYTES"] = old
    assert big.status_code == 400
    assert "alert-danger" in big.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_upload_needs_csrf(as_role, db, tmp_path):
    """A post without the CSRF token is refused and imports nothing."""
    _org()
    client, _user = as_role("finance")
    path = erp.write_csv(
        tmp_path / "a.csv", erp.RECEIVABLE_HEADERS, erp.receivable_rows("HQ", "EAST")
    )
    response = client.post(
        "/admin/import/",
        data={"kind": "receivables", "file": (io.BytesIO(path.read_bytes()), "a.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_other_users_batch_needs_import_batch_permission(as_role, db, tmp_path):
    """A batch's pages are for its uploader and for those who may view import batches."""
    _org()
    owner = helpers.make_user("finance", username="fin-owner")
    batch = ImportBatch(kind="receivables", filename="x.csv", sha256="0" * 64, user_id=owner.id)
    db.session.add(batch)
    db.session.commit()
    client, _user = as_role("collector")
    assert client.get(f"/admin/import/{batch.id}/result/").status_code == 403
    assert client.get(f"/admin/import/{batch.id}/status.json").status_code == 403


def _two_companies():
    hq = helpers.make_company(code="HQ", name="总公司")
    helpers.make_unit(hq, code="EAST", name="华东事业部")
    sub = helpers.make_company(code="SUB", name="子公司")
    helpers.make_unit(sub, code="WEST", name="西部事业部")


def _without_company_column(tmp_path, suffix: str):
    headers = erp.RECEIVABLE_HEADERS[1:]
    rows = [row[1:] for row in erp.receivable_rows("HQ", "EAST")]
    if suffix == "csv":
        return erp.write_csv(tmp_path / "金蝶导出.csv", headers, rows, encoding="gbk")
    return erp.write_xlsx(tmp_path / "金蝶导出.xlsx", headers, rows, title="应收单列表")


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_browser_import_without_company_column_uses_the_chosen_company(
    as_role, db, tmp_path, suffix
):
    """With two companies, a Kingdee-style export without a company column imports into the
    company chosen on the page, as the CLI's --company does (xlsx and GBK CSV)."""
    _two_companies()
    client, _user = as_role("finance")
    page = client.get("/admin/import/").get_data(as_text=True)
    assert 'name="company"' in page and "子公司" in page
    path = _without_company_column(tmp_path, suffix)
    token = csrf_from(page)
    data = {"csrf_token": token, "kind": "receivables", "company": "HQ",
            "file": (io.BytesIO(path.read_bytes()), path.name)}  # fmt: skip
    response = client.post("/admin/import/", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    batch = db.session.scalar(select(ImportBatch))
    assert batch.status == ImportStatus.APPLIED, batch.report
    receivables = db.session.scalars(select(Receivable)).all()
    assert len(receivables) == 4
    assert {r.company.code for r in receivables} == {"HQ"}


def test_browser_import_refuses_a_company_outside_the_list(as_role, db, tmp_path):
    """A company code that is not offered is refused with a message; nothing is imported."""
    _two_companies()
    client, _user = as_role("finance")
    token = csrf_from(client.get("/admin/import/").get_data(as_text=True))
    path = _without_company_column(tmp_path, "xlsx")
    data = {"csrf_token": token, "kind": "receivables", "company": "NOPE",
            "file": (io.BytesIO(path.read_bytes()), path.name)}  # fmt: skip
    response = client.post("/admin/import/", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_single_company_is_preselected(as_role, db):
    """With one company, the page pre-selects it."""
    _org()
    client, _user = as_role("finance")
    page = client.get("/admin/import/").get_data(as_text=True)
    assert '<option value="HQ" selected>' in page
