"""Every demo user's main journeys in headless Chromium, each page scanned for raw values.

The demo data set (``flask seed-demo``: cases at every stage with evidence, write-offs at every
approval step, a sealed archive, confirmation forms in several states) is built once for the
module in a throwaway SQLite database, and the app runs under gunicorn as in
``test_browser_smoke.py``. Each role logs in through the form and walks its journeys; on every
page the scanner (``scanner.py``) must find no Python repr, bare boolean, ISO timestamp,
upper-case enum name or English UI word. A screenshot of each page is saved under
``$SCREENSHOT_DIR`` (or ``$QQ_SCREENSHOT_DIR``; default ``var/screenshots/journeys``, ignored
by git).

Skipped when /usr/bin/chromium or /usr/bin/chromedriver is missing, unless REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.browser.scanner import scan
from tests.browser.support import DEMO_PASSWORD, SHOTS, _set
from tests.data.erp_files import RECEIVABLE_HEADERS, write_csv, write_xlsx

pytestmark = pytest.mark.browser

# Company and unit codes of the demo data: legitimate upper-case words.
CODES = {"HRZG", "HRZN", "EAST", "NORTH", "SOUTH", "WEST", "EXPORT"}
#: demo user → the to-do item the demo story gives them work in (issue 11: home page to-do).
BUSY_TODO = {
    "leader": "approvals",
    "cfo": "approvals",
    "vp": "approvals",
    "teamlead": "approvals",
    "finance": "writeoffs_to_file",
    "credit": "writeoffs_to_file",
    "legal": "documents_due",
    "collector": "forms_to_answer",
    "auditor": "archives",
}


def _one(db: Path, sql: str, *args):
    with sqlite3.connect(db) as conn:
        row = conn.execute(sql, args).fetchone()
    assert row is not None, sql
    return row[0]


class Tour:
    """One user's walk: log in, open pages, scan each and keep a screenshot."""

    def __init__(self, driver, base: str, username: str):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.base, self.user, self.By = driver, base, username, By
        self.wait = WebDriverWait(driver, 30)
        self.count = 0
        driver.set_window_size(1366, 900)
        driver.delete_all_cookies()
        driver.get(f"{base}/login")
        self.check("login")
        driver.find_element(By.NAME, "username").send_keys(username)
        driver.find_element(By.NAME, "password").send_keys(DEMO_PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        self.wait.until(lambda d: "/login" not in d.current_url)
        self.home_starts_with_todo()

    def home_starts_with_todo(self) -> None:
        """The first page after login starts with the user's own to-do (issue 11): the first
        heading, card or table of the page is the to-do, at the top of the screen, and each
        item is a Chinese title with a count and a link."""
        import re

        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        self.check("home")
        first_in_todo, top = self.driver.execute_script(
            "const blocks = [...document.querySelectorAll('h1, h2, .card, table')]"
            "  .filter(e => !e.closest('nav') && e.offsetParent !== null);"
            "const todo = document.getElementById('todo');"
            "return [blocks.length > 0 && todo !== null && todo.contains(blocks[0]) || "
            "        blocks[0] === todo, todo ? todo.getBoundingClientRect().top : -1];"
        )
        assert first_in_todo and 0 <= top < 200, f"{self.user}: the to-do is not first ({top})"
        items = {
            e.get_attribute("data-todo"): e.text
            for e in self.driver.find_elements(self.By.CSS_SELECTOR, "#todo [data-todo]")
        }
        assert {"tasks", "inbox"} <= set(items), items
        for key, text in items.items():
            assert re.match(r"^[\u4e00-\u9fff].*\s\d+", text), f"{key}: {text!r}"
        busy = BUSY_TODO.get(self.user)
        if busy:
            count = re.search(r"\s(\d+)", items[busy]).group(1)
            assert int(count) > 0, f"{self.user}: {busy} is empty on the demo"

    def check(self, name: str) -> str:
        """Scan the page shown now and save its screenshot; returns the page's text."""
        self.count += 1
        shot = SHOTS / f"{self.user}-{self.count:02d}-{name}.png"
        assert self.driver.save_screenshot(str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        html = self.driver.page_source
        findings = scan(html, CODES)
        assert not findings, f"{self.driver.current_url}:\n" + "\n".join(findings)
        body = self.driver.find_element(self.By.TAG_NAME, "body").text
        assert "500" not in self.driver.title and "404" not in self.driver.title, body[:300]
        return body

    def visit(self, path: str, name: str) -> str:
        self.driver.get(self.base + path)
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        return self.check(name)

    def first_details(self, list_path: str, name: str) -> str:
        """Open a list, then the first row's details page (when the list has rows)."""
        self.visit(list_path, name + "-list")
        links = self.driver.find_elements(self.By.CSS_SELECTOR, "a[href*='/details/?id=']")
        if not links:
            return ""
        self.driver.get(links[0].get_attribute("href"))
        return self.check(name + "-details")

    def click(self, css: str, name: str) -> str:
        self.driver.find_element(self.By.CSS_SELECTOR, css).click()
        self.wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
        return self.check(name)

    def session(self):
        """A requests session carrying the browser's cookies (for downloads)."""
        import requests

        s = requests.Session()
        # Flask-Login's session protection ties the session to the browser's user agent.
        s.headers["User-Agent"] = self.driver.execute_script("return navigator.userAgent")
        for c in self.driver.get_cookies():
            s.cookies.set(c["name"], c["value"])
        return s

    def csrf(self) -> str:
        return self.driver.find_element(self.By.NAME, "csrf_token").get_attribute("value")


def _erp_rows(unit: str) -> list[list]:
    """Receivable rows without the company column (the upload page's company choice applies)."""
    return [
        ["K9001", "浏览器导入客户有限公司", "INV-BR-001", "货款", "12,345.60", "人民币",
         "2026-01-05", "2026-03-01", unit, "张伟"],
        ["K9001", "浏览器导入客户有限公司", "INV-BR-002", "工程款", "8000", "",
         "2026/1/6", "2026/3/1", unit, ""],
    ]  # fmt: skip


def test_admin_walks_system_pages(demo, browser):
    """Admin: dashboard, users, audit log, jobs, settings read in Chinese."""
    base, _db = demo
    t = Tour(browser, base, "admin")
    t.visit("/admin/", "dashboard")
    t.first_details("/admin/user/", "users")
    t.first_details("/admin/audit_log/", "audit-log")
    t.visit("/admin/job_run/", "jobs")
    t.visit("/admin/setting/", "settings")
    t.visit("/admin/data/", "all-records")


def test_finance_imports_xlsx_and_gbk_csv(demo, browser, tmp_path):
    """Finance imports an xlsx and a GBK CSV without a company column and sees each report."""
    from selenium.webdriver.support.ui import Select

    base, _db = demo
    t = Tour(browser, base, "finance")
    t.visit("/admin/", "dashboard")
    headers = [h for h in RECEIVABLE_HEADERS if h != "公司"]
    xlsx = write_xlsx(tmp_path / "应收账款导出.xlsx", headers, _erp_rows("华东事业部"),
                      title="应收账款明细表")  # fmt: skip
    rows = _erp_rows("华东事业部")
    for row in rows:
        row[2] = row[2].replace("BR", "BC")
    gbk = write_csv(tmp_path / "应收账款导出.csv", headers, rows, encoding="gbk")
    for n, path in enumerate((xlsx, gbk), 1):
        t.visit("/admin/import/", f"upload-{n}")
        Select(browser.find_element(t.By.ID, "kind")).select_by_value("receivables")
        Select(browser.find_element(t.By.ID, "company")).select_by_value("HRZG")
        chooser = browser.find_element(t.By.CSS_SELECTOR, "#import-form .qq-file")
        assert chooser.text == "选择文件…\n未选择文件" or chooser.text == "选择文件… 未选择文件"
        browser.find_element(t.By.ID, "file").send_keys(str(path))
        name = browser.find_element(t.By.CSS_SELECTOR, "#import-form .qq-file-name")
        assert name.text == path.name  # the chosen file, named in our words, not the browser's
        t.check(f"upload-{n}-chosen")
        browser.find_element(t.By.CSS_SELECTOR, "#import-form button[type=submit]").click()
        t.wait.until(lambda d: "/result/" in d.current_url)
        t.wait.until(lambda d: d.find_elements(t.By.ID, "import-counts"))
        page = t.check(f"import-report-{n}")
        assert "行数 2" in page and "错误行 0" in page, page[:800]
    t.first_details("/admin/receivable/", "receivables")
    t.visit("/admin/confirmation_form/", "confirmation-forms")
    t.visit("/admin/monthly_run/", "monthly-runs")


def test_collector_answers_confirmation_lines(demo, browser):
    """The collector answers an issued confirmation form's lines with the bulk answer."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, _db = demo
    t = Tour(browser, base, "collector")
    t.visit("/admin/", "dashboard")
    t.visit("/admin/confirmation_form/", "forms")
    links = browser.find_elements(By.CSS_SELECTOR, "a[href*='/confirmation_form/answer/']")
    assert links, "no confirmation form to answer"
    browser.get(links[0].get_attribute("href"))
    t.wait.until(lambda d: d.find_elements(By.ID, "confirmation-lines"))
    t.check("answer")
    browser.find_element(By.ID, "select-all").click()
    Select(browser.find_element(By.ID, "bulk.reason_class")).select_by_value("external")
    reasons = Select(browser.find_element(By.ID, "bulk.sub_reason_id"))
    reasons.select_by_index(1)
    # The amount is left blank: each line keeps its own (its outstanding), as collectors do.
    expected = (date.today() + timedelta(days=30)).isoformat()
    _set(browser, browser.find_element(By.ID, "bulk.expected_date"), expected)
    browser.find_element(By.CSS_SELECTOR, "button[value=apply]").click()
    t.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".alert-success, .alert-danger"))
    t.check("answered")
    assert browser.find_elements(By.CSS_SELECTOR, ".alert-success")
    t.first_details("/admin/collection_case/", "cases")
    t.visit("/admin/task/", "tasks")


def test_legal_uploads_downloads_and_generates_a_letter(demo, browser, tmp_path):
    """Legal opens a case file, uploads evidence, downloads it and generates a demand letter."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, db = demo
    case_id = _one(db, "select min(id) from collection_case where status = 'in_progress'")
    t = Tour(browser, base, "legal")
    t.visit("/admin/", "dashboard")
    t.visit("/admin/collection_case/", "cases")
    t.visit(f"/admin/collection_case/file/{case_id}", "case-file")
    t.visit(f"/admin/evidence/case/{case_id}/", "evidence")
    source = tmp_path / "催款函签收回执.pdf"
    source.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    form = browser.find_element(By.ID, "evidence-upload")
    Select(form.find_element(By.ID, "doc_type")).select_by_value("correspondence")
    assert "未选择文件" in form.find_element(By.CSS_SELECTOR, ".qq-file").text
    form.find_element(By.ID, "files").send_keys(str(source))
    assert form.find_element(By.CSS_SELECTOR, ".qq-file-name").text == source.name
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    t.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".alert-success"))
    page = t.check("evidence-uploaded")
    assert "45 B" in page and " KB" in page  # sizes read as sizes, not a count of bytes
    link = browser.find_element(By.CSS_SELECTOR, "#evidence-documents a[href$='/download']")
    got = t.session().get(link.get_attribute("href"), timeout=30)
    assert got.status_code == 200 and got.content.startswith(b"%PDF"), got.status_code
    t.visit(f"/admin/collection_case/file/{case_id}", "case-file-again")
    form = browser.find_element(By.ID, "letter-demand")
    deadline = form.find_element(By.NAME, "deadline").get_attribute("value")  # the default
    assert date.fromisoformat(deadline) > date.today()
    letter = t.session().post(
        form.get_attribute("action"),
        data={"csrf_token": t.csrf(), "deadline": deadline},
        timeout=60,
    )
    assert letter.status_code == 200, letter.text[:500]
    assert letter.content.startswith(b"%PDF"), letter.headers.get("Content-Type")
    t.visit("/admin/evidence_document/", "evidence-documents")
    t.visit("/admin/litigation/", "litigation")


@pytest.mark.parametrize(
    "username, step",
    [("teamlead", "team_review"), ("vp", "division_vp"), ("cfo", "cfo"), ("leader", "president")],
)
def test_approver_acts_on_a_writeoff(demo, browser, username, step):
    """Each approver opens the write-off waiting at their step and approves it with a comment."""
    from selenium.webdriver.common.by import By

    base, db = demo
    app_id = _one(db, "select min(id) from writeoff_application where current_step = ?", step)
    t = Tour(browser, base, username)
    t.visit("/admin/", "dashboard")
    t.visit("/admin/writeoff_application/", "writeoffs")
    t.visit(f"/admin/writeoff_application/app/{app_id}/", "writeoff")
    browser.find_element(By.ID, "comment").send_keys("材料齐全，同意核销。")
    browser.find_element(By.ID, "writeoff-approve").click()
    t.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".alert-success, .alert-danger"))
    page = t.check("decided")
    assert browser.find_elements(By.CSS_SELECTOR, ".alert-success"), page[:500]
    assert _one(db, "select current_step from writeoff_application where id = ?", app_id) != step
    if username == "teamlead":
        t.first_details("/admin/collection_case/", "cases")
    else:
        t.visit("/admin/leadership/", "leadership")


def test_credit_walks_customers_and_credit_history(demo, browser):
    """Credit control: customers, a customer's details, credit history, watch list."""
    base, _db = demo
    t = Tour(browser, base, "credit")
    t.visit("/admin/", "dashboard")
    t.first_details("/admin/customer/", "customers")
    t.visit("/admin/credit_event/", "credit-history")
    t.visit("/admin/watch_list_entry/", "watch-list")


def test_auditor_opens_verifies_and_downloads_an_archive(demo, browser):
    """The auditor opens the sealed archive, verifies it and downloads its package."""
    from selenium.webdriver.common.by import By

    base, db = demo
    archive_id = _one(db, "select min(id) from archive_record")
    t = Tour(browser, base, "auditor")
    t.visit("/admin/", "dashboard")
    t.visit("/admin/archive_record/", "archives")
    t.visit(f"/admin/archive_record/file/{archive_id}/", "archive")
    t.click("#archive-verify button[type=submit]", "verified")
    assert browser.find_elements(By.CSS_SELECTOR, ".alert-success"), "verification not shown"
    s = t.session()
    package = s.get(f"{base}/admin/archive_record/file/{archive_id}/package.zip", timeout=60)
    assert package.status_code == 200 and package.content[:2] == b"PK"
    summary = s.get(f"{base}/admin/archive_record/file/{archive_id}/summary.pdf", timeout=60)
    assert summary.status_code == 200 and summary.content.startswith(b"%PDF")
    t.first_details("/admin/audit_log/", "audit-log")
    t.visit("/admin/sanction/", "sanctions")
    t.visit("/admin/accountability_finding/", "findings")
