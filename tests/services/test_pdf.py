"""PDF rendering: embedded CJK font, extractable Chinese, repeated headers, strict resources."""

import shutil
import subprocess

import pytest
from flask import render_template, render_template_string
from reportlab.pdfbase import pdfmetrics

from backoffice.models.base import utcnow
from backoffice.services import pdf
from backoffice.services.pdf import PdfError, render_html_to_pdf

TABLE = """{% extends 'pdf/base.html' %}{% block content %}<h1>对账单</h1>
<table class="grid" repeat="1"><thead><tr><th>单据编号</th><th>客户名称</th>
<th class="num">金额</th></tr></thead><tbody>
{% for i in range(rows) %}<tr><td>INV{{ '%06d' % i }}</td><td>华锐重工股份有限公司</td>
<td class="num">{{ '{:,.2f}'.format(1000 + i) }}</td></tr>{% endfor %}
</tbody></table>{% endblock %}"""


def _pdf(app, source, **ctx) -> bytes:
    with app.test_request_context():
        html = render_template_string(source, company=None, generated_at=utcnow(), **ctx)
        return render_html_to_pdf(html)


def _run(tool, pdf_bytes, tmp_path, *args):
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf_bytes)
    return subprocess.run([tool, *args, str(path), "-"] if tool == "pdftotext"
                          else [tool, *args, str(path)],
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(subprocess.run(["which", "pdftotext"], capture_output=True).returncode,
                    reason="poppler-utils not installed")
def test_chinese_text_embedded_font_and_repeated_header(app, tmp_path):
    """A long table renders with an embedded CJK TrueType font, Chinese text and numbers
    extract exactly, and the header row repeats on the second page."""
    data = _pdf(app, TABLE, rows=120)
    fonts = _run("pdffonts", data, tmp_path)
    cjk = [line for line in fonts.splitlines() if "WenQuanYi" in line]
    assert cjk and " yes yes " in cjk[0]  # embedded, subset
    text = _run("pdftotext", data, tmp_path, "-layout")
    assert "华锐重工股份有限公司" in text and "INV000119" in text and "1,119.00" in text
    page2 = _run("pdftotext", data, tmp_path, "-f", "2", "-l", "2", "-layout")
    assert "单据编号" in page2 and "客户名称" in page2
    assert "第 2 页" in page2


def test_remote_resources_are_refused(app):
    """A template that tries to load a remote image fails instead of fetching it."""
    with pytest.raises(PdfError, match="refused"):
        _pdf(app, '<html><body><img src="http://example.invalid/x.png">文字</body></html>')


def test_files_outside_static_are_refused(app):
    """A template cannot read files outside our own static folder."""
    with pytest.raises(PdfError, match="refused"):
        _pdf(app, '<html><body><img src="../../../../etc/passwd">文字</body></html>')


LONG = ("该客户因下游项目停工导致资金周转困难，多次承诺付款均未兑现，经催收专员电话、上门及发函"
        "催收后仍拖欠货款，清欠小组评估后认为短期内难以全额收回。") * 5


@pytest.mark.parametrize("markup", ["{t}", "原因：<b>{t}</b><br>意见：{t}"])
def test_chinese_paragraph_split_at_any_page_position(app, markup):
    """A wrapped Chinese paragraph (one run, or several with <b>/<br>) that a page break cuts
    at any line renders (xhtml2pdf raised "Splitting error" or TypeError here)."""
    for lines_before in range(30, 62):
        source = ("{% extends 'pdf/base.html' %}{% block content %}"
                  + "<p>前文</p>" * lines_before + "<p>" + markup.format(t=LONG) + "</p>"
                  + "{% endblock %}")
        assert _pdf(app, source).startswith(b"%PDF")


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils not installed")
def test_statement_embeds_the_font_registered_once_per_process(app, tmp_path, monkeypatch):
    """A statement names the CJK font registered with ReportLab (no @font-face, so the 5 MB
    file is not read or hashed again per render), still embeds it, and has no page total
    (no second layout pass)."""
    from xhtml2pdf import context as xhtml2pdf_context

    from tests.services.test_pdf_bounds import statement

    hashed = []
    monkeypatch.setattr(xhtml2pdf_context, "_file_digest", lambda name: hashed.append(name))
    with app.test_request_context():
        html = render_template("pdf/statement.html", **_statement_context())
        data = statement()
    assert "@font-face" not in html and "pdf:pagecount" not in html
    assert hashed == []  # the font file was not read or hashed by this render
    assert "QQCJK" in pdfmetrics.getRegisteredFontNames()
    fonts = _run("pdffonts", data, tmp_path)
    cjk = [line for line in fonts.splitlines() if "WenQuanYi" in line]
    assert cjk and " yes yes " in cjk[0]  # embedded, subset


def _statement_context() -> dict:
    from tests.services.test_pdf_bounds import PLAN, _company, _customer

    return {"company": _company(), "customer": _customer(), "plan": PLAN, "lines": [],
            "total": 0, "overdue": 0, "generated_at": utcnow()}


def test_worker_preload_registers_the_font(app):
    """The workers' preload (before RQ forks) registers the CJK font and renders once, so
    forked job processes inherit it."""
    import jobs

    pdf.register_font.cache_clear()
    with app.app_context():
        jobs.preload()
    assert pdf.register_font.cache_info().currsize == 1
    assert "QQCJK" in pdfmetrics.getRegisteredFontNames()


def test_no_line_starts_with_a_closing_mark(app, tmp_path):
    """A wrapped Chinese line never starts with a comma or other closing mark: the mark hangs
    at the end of the line before (行末标点悬挂)."""
    text = "甲乙丙丁戊己庚辛壬癸，子丑寅卯辰巳午未申酉；" * 40
    source = ("{% extends 'pdf/base.html' %}{% block content %}"
              + "".join(f"<p>{'一' * n}{text}</p>" for n in range(12)) + "{% endblock %}")
    out = _run("pdftotext", _pdf(app, source), tmp_path, "-raw")
    starts = [line[0] for line in out.splitlines() if line.strip()]
    assert not [c for c in starts if c in "，；。、"]
