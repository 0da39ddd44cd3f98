"""Browser smoke test (issue 2 item 10): the real app under gunicorn, driven by headless Chromium.

It migrates a throwaway SQLite database with ``flask db upgrade``, creates a finance user with
``flask --app app users create``, serves the app on a free localhost port, logs in through the
login form, opens the receivables list and checks that it speaks Chinese. A screenshot is saved
to QQ_SCREENSHOT_DIR (or a temporary folder) for a person to look at.

Skipped when /usr/bin/chromium or /usr/bin/chromedriver is missing, unless REQUIRE_BROWSER=1
(as in CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.support import (
    ROOT,
    _flask,
    _need_browser,
    app_env,
    gunicorn,
)

pytestmark = pytest.mark.browser

USERNAME, PASSWORD = "finance1", "Browser-smoke-2026"
DOC_NO = "INV-BROWSER-0001"
CUSTOMER = "浏览器测试客户有限公司"

# Run in the server's environment: one customer with one receivable, so the list has a row.
SEED_ROW = f"""
from datetime import date
from app import app
from backoffice.services import audit
from tests import helpers

with app.app_context(), audit.acting_as(audit.Actor(None, "test:browser")):
    unit = helpers.make_unit(code="EAST", name="华东事业部")
    customer = helpers.make_customer(unit, name="{CUSTOMER}")
    helpers.make_receivable(customer, amount="123456.78", due=date(2026, 3, 31), doc_no="{DOC_NO}")
"""


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The app under gunicorn on a free port, with a migrated SQLite database and a finance user."""
    _need_browser()
    var = tmp_path_factory.mktemp("browser-var")
    env = app_env(var, "browser-smoke-secret")
    _flask(env, "db", "upgrade")
    out = _flask(env, "users", "create", USERNAME, "--role", "finance", "--password-stdin",
                 stdin=PASSWORD + "\n")  # fmt: skip
    assert f"created user {USERNAME}" in out
    subprocess.run(
        [sys.executable, "-c", SEED_ROW], cwd=ROOT, env=env, check=True, timeout=120
    )  # fmt: skip

    with gunicorn(env, var) as base:
        yield base


def test_finance_logs_in_and_sees_receivables_in_chinese(live_server, browser, tmp_path):
    """Finance logs in through the form and sees the receivables list with Chinese labels."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20)
    browser.get(f"{live_server}/admin/receivable/")
    wait.until(ec.url_contains("/login"))  # anonymous: sent to the login form first

    browser.find_element(By.NAME, "username").send_keys(USERNAME)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(lambda d: "/login" not in d.current_url)

    browser.get(f"{live_server}/admin/receivable/")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table")))

    shots = Path(os.environ.get("QQ_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / "receivables-finance.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {shot}")

    assert "/admin/receivable/" in browser.current_url
    navbar = browser.find_element(By.CSS_SELECTOR, "nav").get_attribute("textContent")
    page = browser.find_element(By.TAG_NAME, "body").text
    assert DOC_NO in page and CUSTOMER in page  # the row is listed
    assert "列表" in page  # Flask-Admin's own zh_Hans_CN catalog (the "List" tab)
    assert "应收账款" in browser.title, browser.title  # the page title names the view
    assert "应收账款" in navbar  # and so does the menu
