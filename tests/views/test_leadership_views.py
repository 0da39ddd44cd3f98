"""The leadership report page and PDF: who may open them, what they show, the PDF's text."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sqlalchemy import select

from backoffice.models import AuditLog
from tests.services.test_leadership import ledger  # noqa: F401  (the hand-checked fixture)
from tests.services.test_leadership_charges import charged  # noqa: F401  (Art.3 terms on it)

URL = "/admin/leadership/"


@pytest.mark.usefixtures("ledger")
@pytest.mark.parametrize("role", ["leader", "team_lead", "finance", "admin", "auditor"])
def test_readers_see_the_month_by_unit_with_kpis(client, login_as, role):
    login_as(role)
    response = client.get(URL, query_string={"period": "2026-10"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for expected in ("华东事业部", "华南事业部", "¥1,100.00", "133.3%", "30.8%", "123.8"):
        assert expected in html, expected
    assert 'href="/admin/leadership/2026-10.pdf"' in html
    assert 'href="/admin/leadership/"' in client.get("/admin/").get_data(as_text=True)  # menu


@pytest.mark.parametrize("role", ["collector", "legal", "credit"])
def test_other_roles_are_refused_and_not_shown_the_menu(client, login_as, db, role):
    login_as(role)
    assert client.get(URL, query_string={"period": "2026-10"}).status_code == 403
    assert client.get(f"{URL}2026-10.pdf").status_code == 403
    assert 'href="/admin/leadership/"' not in client.get("/admin/").get_data(as_text=True)


def test_without_a_month_it_shows_the_last_closed_one(client, login_as, db):
    login_as("leader")
    html = client.get(URL).get_data(as_text=True)
    assert 'type="month"' in html and 'id="table-leadership-units"' in html


@pytest.mark.parametrize("period", ["2026-13", "十月", "2999-01"])
def test_a_bad_month_gets_a_clear_message(client, login_as, db, period):
    login_as("leader")
    response = client.get(URL, query_string={"period": period})
    assert response.status_code == 400
    assert 'id="table-leadership-units"' not in response.get_data(as_text=True)
    assert client.get(f"{URL}{period}.pdf").status_code in (400, 404)


@pytest.mark.usefixtures("ledger")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pdf_gives_back_units_amounts_and_rates_with_an_embedded_font(
    client, login_as, db, tmp_path
):
    login_as("leader")
    response = client.get(f"{URL}2026-10.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    path = tmp_path / "report.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "清欠工作月报",
        "2026-10-01",
        "2026-10-31",
        "华东事业部",
        "华南事业部",
        "1,100.00",
        "3,100.00",
        "133.3%",
        "123.8",
        "账龄迁移",
        "第 1 页",
    ):
        assert expected in text, expected
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    assert any("WenQuanYi" in line and " yes yes " in line for line in fonts.splitlines())
    entry = db.session.scalar(select(AuditLog).where(AuditLog.entity == "leadership_report"))
    assert entry.action == "download" and "2026-10" in entry.detail


def test_a_new_target_or_payment_shows_at_once(client, login_as, db):
    """The page is cached per ledger version: a base set or a payment recorded after a first
    view changes the next view."""
    from datetime import date

    from tests import helpers
    from tests.services.test_leadership import pay, target

    unit = helpers.make_unit(name="华东事业部")
    receivable = helpers.make_receivable(
        helpers.make_customer(unit), "1000", date(2026, 8, 31), issue_date=date(2026, 8, 1)
    )
    login_as("leader")
    html = client.get(URL, query_string={"period": "2026-10"}).get_data(as_text=True)
    assert "¥250.00" not in html
    target(db, unit, "2026-10", "500")
    html = client.get(URL, query_string={"period": "2026-10"}).get_data(as_text=True)
    assert "¥500.00" in html and "¥250.00" not in html
    pay(db, receivable, "250", date(2026, 10, 9))
    html = client.get(URL, query_string={"period": "2026-10"}).get_data(as_text=True)
    assert "¥500.00" in html and "¥250.00" in html and "50.0%" in html


@pytest.mark.usefixtures("charged")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_charges_show_apart_on_the_page_and_the_pdf_saying_what_the_total_counts(
    client, login_as, db, tmp_path
):
    """Art.3: the page and the PDF give each unit's interest, penalty interest and damages
    beside its overdue principal, and say which of them the overdue total counts."""
    from backoffice.models import Setting
    from backoffice.services import charges

    db.session.add(Setting(key=charges.CHARGES_SETTING, value={"interest": True, "damages": True}))
    db.session.commit()
    login_as("leader")
    html = client.get(URL, query_string={"period": "2026-10"}).get_data(as_text=True)
    table = html[html.index('id="table-leadership-charges"') :]
    table = table[: table.index("</table>")]
    for expected in (
        "利息",
        "罚息",
        "违约金",
        "¥610.00",  # 华南's interest
        "¥100.00",  # 华南's penalty interest
        "¥2,660.00",  # 华南: 2,000 + 610 + 50
        "¥643.12",  # interest of both units
        "¥3,848.12",  # 3,100 + 643.12 + 105.00
        "本金 + 利息 + 违约金",
    ):
        assert expected in table, expected
    assert table.count('data-counted="yes"') == 2 and table.count('data-counted="no"') == 1
    assert "计入逾期合计" in table and "未计入逾期合计" in table

    path = tmp_path / "report.pdf"
    path.write_bytes(client.get(f"{URL}2026-10.pdf").data)
    text = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    for expected in (
        "逾期本金与利息、罚息、违约金（第三条）",
        "逾期合计（本金＋利息＋违约金）",
        "华南事业部2,000.002,000.00610.00100.0050.002,660.00",
        "643.12110.00105.003,848.12",
        "利息、违约金计入逾期合计",
        "（未计入）",
    ):
        assert expected in flat, expected
