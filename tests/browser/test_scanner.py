"""The raw-value scanner the role journeys run over every page (no browser needed)."""

from __future__ import annotations

from tests.browser.scanner import scan

CLEAN = """<html><head><title>应收账款 - 清欠</title>
<style>.True { color: red }</style><script>var ok = true; var s = "Save";</script></head>
<body><a href="/admin/case/#None" title="Delete">删除</a>
<div id="filter-groups-data" style="display:none">{"状态": [["OPEN", "未结清"]]}</div>
<table><tr><td>INV-EAST-0001</td><td>HRZG</td><td>是</td><td>2026-03-01 10:30</td>
<td>已导入 CSV · SHA-256 9cf5e3</td><td>¥1,234.50</td><td>AAA</td><td>ID 12</td></tr></table>
</body></html>"""


def _page(cell: str) -> str:
    return CLEAN.replace("<td>是</td>", f"<td>{cell}</td>")


def test_clean_page_passes():
    """A Chinese page with codes, dates to the minute and English only in scripts passes."""
    assert scan(CLEAN, {"HRZG"}) == []


def test_bare_boolean_cell_is_flagged():
    """A cell showing True (or false) is a raw value."""
    assert any("bare value" in f for f in scan(_page("True"), {"HRZG"}))
    assert any("bare value" in f for f in scan(_page(" false "), {"HRZG"}))


def test_iso_timestamps_are_flagged():
    """A timestamp with seconds, a T or a time zone is flagged; one to the minute is not."""
    for raw in ("2026-11-30T15:05:51.529676+00:00", "2026-11-30 15:05:51", "2026-11-30 15:05Z"):
        assert any("ISO timestamp" in f for f in scan(_page(raw), {"HRZG"})), raw
    assert scan(_page("2026-11-30 23:05"), {"HRZG"}) == []


def test_reprs_enum_names_and_english_words_are_flagged():
    """Python reprs, upper-case enum names and English UI words are flagged."""
    for raw, kind in [
        ("<Role 3>", "raw value"),
        ("#None", "raw value"),
        ("<SalesUnit EAST>", "raw value"),
        ("AccountabilityFinding #1", "record named by table and id"),
        ("ConfirmationForm #5", "record named by table and id"),
        ("PRODUCT", "upper-case name"),
        ("IN_PROGRESS", "upper-case name"),
        ("Save", "English word"),
        ("Not Found", "English word"),
        ("记录 Details", "English word"),
    ]:
        page = _page(raw.replace("<", "&lt;").replace(">", "&gt;"))
        assert any(kind in f for f in scan(page, {"HRZG"})), raw


def test_unknown_codes_need_to_be_allowed():
    """A company code passes only when the data set declares it."""
    assert any("HRZG" in f for f in scan(CLEAN))


def test_a_native_file_input_is_flagged_and_ours_passes():
    """A bare file input (the browser's "Choose File / No file chosen") is flagged; the labelled
    control of templates/admin/_file_input.html passes."""
    bare = CLEAN.replace("</body>", '<input type="file" name="file" id="file"></body>')
    assert any("native file input 'file'" in f for f in scan(bare, {"HRZG"}))
    ours = CLEAN.replace(
        "</body>",
        '<div class="qq-file"><input type="file" class="qq-file-input" id="file" name="file">'
        '<label for="file">选择文件…</label><span class="qq-file-name">未选择文件</span></div>'
        "</body>",
    )
    assert scan(ours, {"HRZG"}) == []
