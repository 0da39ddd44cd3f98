"""Browser round-trip of the confirmation form (issue 4, Art.13–15), in headless Chromium.

The app runs under gunicorn as in ``test_browser_smoke.py`` (whose server helpers and
``browser`` fixture are reused). A collector answers many lines at once and submits; finance
returns the form with a reason; the collector re-answers one line and resubmits; finance
overrides one route and confirms. Screenshots of the answer and routing pages are saved to
QQ_SCREENSHOT_DIR (or a temporary folder) for a person to look at.

Skipped when /usr/bin/chromium or /usr/bin/chromedriver is missing, unless REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import json
import subprocess
import sys

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

# Run in the server's environment: two units, overdue receivables, the 2026-10 run, users.
SEED = """
import json
from datetime import date
from app import app
from backoffice.extensions import db
from backoffice.models import ConfirmationForm
from backoffice.services import audit
from backoffice.services.calendar import load_year
from backoffice.services.reference import ensure_reference_data
from jobs.monthly import run_period
from tests import helpers

with app.app_context(), audit.acting_as(audit.Actor(None, "test:browser")):
    load_year(db.session, 2026)
    ensure_reference_data(db.session)
    db.session.commit()
    east = helpers.make_unit(code="EAST", name="华东事业部")
    north = helpers.make_unit(company=east.company, code="NORTH", name="华北事业部")
    acme = helpers.make_customer(east, name="上海宏达机械有限公司")
    gamma = helpers.make_customer(east, name="苏州精工电子有限公司")
    beta = helpers.make_customer(north, name="北京恒信建材有限公司")
    helpers.make_receivable(acme, amount="120000.00", due=date(2026, 7, 31), doc_no="INV-A1")
    helpers.make_receivable(acme, amount="30000.00", due=date(2026, 8, 31), doc_no="INV-A3")
    helpers.make_receivable(gamma, amount="45800.00", due=date(2026, 6, 30), doc_no="INV-G1")
    helpers.make_receivable(beta, amount="88000.50", due=date(2026, 9, 15), doc_no="INV-B1")
    run_period("2026-10", inline=True)
    db.session.commit()
    helpers.make_user("collector", units=[east], username="collector-east",
                      display_name="张三（华东收款）")
    helpers.make_user("finance", username="finance-b", display_name="李会计")
    form = db.session.scalar(
        db.select(ConfirmationForm).where(ConfirmationForm.sales_unit_id == east.id))
    print(json.dumps({"form": form.id, "lines": [line.id for line in form.lines]}))
"""


@pytest.fixture(scope="module")
def cycle_server(tmp_path_factory):
    """The app under gunicorn with a finished 2026-10 monthly run; yields (base URL, ids)."""
    _need_browser()
    var = tmp_path_factory.mktemp("confirmation-browser")
    env = app_env(var, "confirmation-browser-secret")
    _flask(env, "db", "upgrade")
    seeded = subprocess.run(
        [sys.executable, "-c", SEED], cwd=ROOT, env=env, check=True, timeout=300,
        capture_output=True, text=True,
    )  # fmt: skip
    ids = json.loads(seeded.stdout.strip().splitlines()[-1])
    with gunicorn(env, var) as base:
        yield base, ids


def _status(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, "form-status").text


def test_answer_submit_return_reanswer_route(cycle_server, browser, tmp_path):  # noqa: F811
    """In the browser: the collector answers and submits, finance returns, the collector
    re-answers and resubmits, finance changes one route and confirms the routing."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base, ids = cycle_server
    form_id, lines = ids["form"], ids["lines"]
    answer_url = f"{base}/admin/confirmation_form/answer/{form_id}"
    route_url = f"{base}/admin/confirmation_form/route/{form_id}"
    wait = WebDriverWait(browser, 20)

    # 1. The collector answers every line at once, then changes one line, and submits.
    _login(browser, base, "collector-east")
    browser.get(f"{base}/admin/confirmation_form/")
    browser.find_element(By.CSS_SELECTOR, f"a[href$='/confirmation_form/answer/{form_id}']").click()
    wait.until(ec.presence_of_element_located((By.ID, "confirmation-lines")))
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "INV-A1" in page and "INV-G1" in page and "INV-B1" not in page
    browser.find_element(By.ID, "select-all").click()
    Select(browser.find_element(By.ID, "bulk.reason_class")).select_by_value("external")
    reasons = Select(browser.find_element(By.ID, "bulk.sub_reason_id"))
    visible = [o.text for o in reasons.options if o.text and not o.get_property("hidden")]
    assert "财务记账差异" not in visible and "客户无故拖欠货款" in visible  # filtered by class
    reasons.select_by_visible_text("客户无故拖欠货款")
    browser.find_element(By.ID, "bulk.estimated_recoverable").send_keys("20000")
    # yuan per line (checked against each line's outstanding); the default is a percentage
    Select(browser.find_element(By.ID, "bulk.amount_mode")).select_by_value("amount")
    _set(browser, browser.find_element(By.ID, "bulk.expected_date"), "2026-11-30")
    browser.find_element(By.CSS_SELECTOR, "button[value=apply]").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".alert-success")))
    for line_id in lines:
        chosen = Select(browser.find_element(By.NAME, f"l{line_id}.sub_reason_id"))
        assert chosen.first_selected_option.text == "客户无故拖欠货款"
    _shot(browser, tmp_path, "confirmation-answer.png")
    browser.find_element(By.ID, "submit").click()
    browser.switch_to.alert.accept()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".alert-success")))
    assert not browser.find_elements(By.ID, "save")  # locked
    assert browser.find_element(By.NAME, f"l{lines[0]}.reason_class").get_attribute("disabled")

    # 2. Finance returns it with a reason.
    _login(browser, base, "finance-b")
    browser.get(route_url)
    browser.find_element(By.ID, "reason").send_keys("INV-A3 预计回收金额有误，请核对")
    browser.find_element(By.ID, "return").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".alert-success")))
    assert not browser.find_elements(By.ID, "confirm-routing")

    # 3. The collector sees why, re-answers one line as a bookkeeping difference, resubmits.
    _login(browser, base, "collector-east")
    browser.get(answer_url)
    assert "预计回收金额有误" in browser.find_element(By.ID, "return-reason").text
    last = lines[-1]
    Select(browser.find_element(By.NAME, f"l{last}.reason_class")).select_by_value("internal")
    Select(browser.find_element(By.NAME, f"l{last}.sub_reason_id")).select_by_visible_text(
        "财务记账差异"
    )
    amount = browser.find_element(By.NAME, f"l{last}.estimated_recoverable")
    amount.clear()
    amount.send_keys("15000")
    browser.find_element(By.ID, "submit").click()
    browser.switch_to.alert.accept()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".alert-success")))
    assert not browser.find_elements(By.ID, "save")

    # 4. Finance sees the proposals, overrides the first line, confirms the routing.
    _login(browser, base, "finance-b")
    browser.get(f"{base}/admin/confirmation_form/")
    browser.find_element(By.CSS_SELECTOR, f"a[href$='/confirmation_form/route/{form_id}']").click()
    wait.until(ec.presence_of_element_located((By.ID, "routing-lines")))
    proposed = {
        line_id: browser.find_element(By.NAME, f"route.{line_id}").get_attribute("data-proposed")
        for line_id in lines
    }
    assert proposed[last] == "finance" and proposed[lines[0]] == "collect"
    Select(browser.find_element(By.NAME, f"route.{lines[0]}")).select_by_value("division_collector")
    _shot(browser, tmp_path, "confirmation-route.png")
    browser.find_element(By.ID, "confirm-routing").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".alert-success")))
    assert not browser.find_elements(By.ID, "confirm-routing")
    routed = browser.find_element(By.ID, f"line-{lines[0]}").text
    assert "李会计" not in routed  # a collector's route: not assigned to finance
    assert "李会计" in browser.find_element(By.ID, f"line-{last}").text  # finance's own line
    _shot(browser, tmp_path, "confirmation-routed.png")
