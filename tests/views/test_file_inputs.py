"""Upload fields read Chinese whatever the browser's language (issue 11): every file input is
our labelled control, never the browser's own "Choose File / No file chosen"."""

from __future__ import annotations

from tests import helpers
from tests.browser.scanner import scan, text_nodes


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _assert_chinese_chooser(html: str, field: str, button: str) -> None:
    assert not [f for f in scan(html) if "native file input" in f]
    assert f'class="qq-file-input" id="{field}"' in html
    nodes = text_nodes(html)
    assert button in nodes and "未选择文件" in nodes
    assert "/static/js/qq.js" in html and "/static/css/qq.css" in html


def test_import_page_has_a_chinese_file_chooser(client, db, login_as):
    """The ERP import form's file field is labelled 选择文件… / 未选择文件, and it is still
    a required file input named ``file`` (the upload posts the same field)."""
    login_as("finance")
    html = _page(client, "/admin/import/")
    _assert_chinese_chooser(html, "file", "选择文件…")
    assert 'name="file" accept=".xlsx,.csv" required' in html


def test_evidence_page_has_a_chinese_multi_file_chooser(client, db, login_as):
    """The evidence upload takes several files through the same Chinese control."""
    unit = helpers.make_unit()
    case = helpers.make_case(helpers.make_customer(unit))
    login_as("legal")
    html = _page(client, f"/admin/evidence/case/{case.id}/")
    _assert_chinese_chooser(html, "files", "选择文件…")
    assert 'name="files"' in html and " multiple required" in html


def test_the_chooser_script_and_style_are_served(client, db):
    """The script that names the chosen files and the style that hides the native control are
    served as static files (no inline script, nothing fetched from elsewhere)."""
    script = client.get("/static/js/qq.js")
    style = client.get("/static/css/qq.css")
    assert script.status_code == 200 and b"qq-file-input" in script.data
    assert style.status_code == 200 and b".qq-file-input" in style.data
