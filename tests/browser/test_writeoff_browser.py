"""Browser round-trip of a bad-debt write-off (issue 6, Art.18), in headless Chromium.

The app runs under gunicorn as in ``test_browser_smoke.py`` (whose server helpers and
``browser`` fixture are reused). A collector drafts an application through the form, gives the
missing-materials reason and date; finance gives its opinion; the collector submits; team lead,
division VP, CFO and president each approve with a comment. A screenshot of the application
page is saved to QQ_SCREENSHOT_DIR (or a temporary folder) for a person to look at.

Skipped when /usr/bin/chromium or /usr/bin/chromedriver is missing, unless REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta

import pytest

from tests.browser.support import (
    ROOT,
    _flask,
    _login,
    _need_browser,
    _set,
    _shot,
    app_env,
    gunicorn,
)

pytestmark = pytest.mark.browser

# Run in the server's environment: a unit with its VP, the chain, finance, a customer.
SEED = """
import json
from datetime import date
from app import app
from backoffice.extensions import db
from backoffice.models.user import LeaderTitle
from backoffice.services import audit
from backoffice.services.calendar import load_year
from backoffice.services.reference import ensure_reference_data
from tests import helpers

with app.app_context(), audit.acting_as(audit.Actor(None, "test:browser")):
    load_year(db.session, 2026)
    ensure_reference_data(db.session)
    db.session.commit()
    east = helpers.make_unit(code="EAST", name="华东事业部")
    helpers.make_user("collector", units=[east], username="wo-collector", display_name="张三")
    helpers.make_user("team_lead", username="wo-lead", display_name="清欠组长王五")
    vp = helpers.make_user("leader", username="wo-vp", display_name="事业部副总赵六",
                           leader_title=LeaderTitle.DIVISION_VP)
    helpers.make_user("leader", username="wo-cfo", display_name="财务总监钱七",
                      leader_title=LeaderTitle.CFO)
    helpers.make_user("leader", username="wo-president", display_name="总裁孙八",
                      leader_title=LeaderTitle.PRESIDENT)
    helpers.make_user("finance", username="wo-finance", display_name="李会计")
    east.vp_id = vp.id
    customer = helpers.make_customer(east, name="常州永泰建材有限公司")
    r1 = helpers.make_receivable(customer, amount="30000", due=date(2025, 3, 31), doc_no="HX-1")
    r2 = helpers.make_receivable(customer, amount="12000.50", due=date(2025, 5, 31),
                                 doc_no="HX-2")
    db.session.commit()
    print(json.dumps({"customer": customer.id, "r1": r1.id, "r2": r2.id}))
"""


@pytest.fixture(scope="module")
def writeoff_server(tmp_path_factory):
    """The app under gunicorn with the approval chain's users; yields (base URL, ids)."""
    _need_browser()

    var = tmp_path_factory.mktemp("writeoff-browser")
    env = app_env(var, "writeoff-browser-secret")
    _flask(env, "db", "upgrade")
    seeded = subprocess.run(
        [sys.executable, "-c", SEED], cwd=ROOT, env=env, check=True, timeout=300,
        capture_output=True, text=True,
    )  # fmt: skip
    ids = json.loads(seeded.stdout.strip().splitlines()[-1])
    with gunicorn(env, var) as base:
        yield base, ids


def test_application_is_approved_through_the_chain(writeoff_server, browser, tmp_path):  # noqa: F811
    """In the browser: the collector drafts and (after finance's opinion) submits; the four
    approvers each approve with a comment; the page shows the application approved, every
    decision, and the checklist with the missing materials."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, ids = writeoff_server
    wait = WebDriverWait(browser, 20)

    # The collector drafts the application through the list's button and the form.
    _login(browser, base, "wo-collector")
    browser.get(f"{base}/admin/writeoff_application/")
    browser.find_element(By.ID, "writeoff-apply-link").click()
    wait.until(ec.presence_of_element_located((By.ID, "writeoff-customers")))
    browser.find_element(By.CSS_SELECTOR, f"a[data-customer='{ids['customer']}']").click()
    wait.until(ec.presence_of_element_located((By.ID, "writeoff-apply-form")))
    for rid in (ids["r1"], ids["r2"]):
        browser.find_element(By.ID, f"rec-{rid}").click()
    browser.find_element(By.CSS_SELECTOR, "#ground option[value='hopeless']").click()
    browser.find_element(By.ID, "facts").send_keys("客户已注销，经多次催收无果")
    browser.find_element(By.CSS_SELECTOR, "#writeoff-apply-form button[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.ID, "writeoff-checklist")))
    page_url = browser.current_url
    assert "/admin/writeoff_application/app/" in page_url
    assert browser.find_element(By.ID, "writeoff-total").text == "42,000.50"

    # Materials are missing: the reason and a committed date.
    browser.find_element(By.ID, "materials_missing_reason").send_keys("合同原件由法院留存")
    due = (date.today() + timedelta(days=45)).isoformat()
    _set(browser, browser.find_element(By.ID, "materials_due_on"), due)
    browser.find_element(By.CSS_SELECTOR, "#writeoff-amend-form button[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.ID, "writeoff-missing")))

    # Finance gives its opinion.
    _login(browser, base, "wo-finance")
    browser.get(page_url)
    browser.find_element(By.ID, "opinion").send_keys("同意先行核销，材料后补")
    browser.find_element(By.CSS_SELECTOR, "#writeoff-opinion-form button").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "writeoff-opinion"), "同意先行核销"))

    # The collector submits.
    _login(browser, base, "wo-collector")
    browser.get(page_url)
    browser.find_element(By.ID, "writeoff-submit").click()
    wait.until(ec.presence_of_element_located((By.ID, "writeoff-step")))

    # Each step of the chain approves with a comment, in order (Art.18).
    for username, comment in (
        ("wo-lead", "清欠小组审核：情况属实"),
        ("wo-vp", "事业部同意"),
        ("wo-cfo", "财务总监同意"),
        ("wo-president", "总裁批准核销"),
    ):
        _login(browser, base, username)
        browser.get(page_url)
        browser.find_element(By.ID, "comment").send_keys(comment)
        browser.find_element(By.ID, "writeoff-approve").click()
        wait.until(
            ec.text_to_be_present_in_element((By.ID, "writeoff-decisions"), comment)
        )  # fmt: skip
        assert not browser.find_elements(By.ID, "writeoff-decide-form")  # decided: form gone

    shot = _shot(browser, tmp_path, "writeoff-application-approved.png")
    assert shot.stat().st_size > 10_000
    status = browser.find_element(By.ID, "writeoff-status").text
    assert status in ("已批准", "Approved"), status
    rows = browser.find_elements(By.CSS_SELECTOR, "#writeoff-decisions tbody tr")
    assert len(rows) == 4
    checklist = browser.find_element(By.ID, "writeoff-checklist").text
    assert checklist.strip()
