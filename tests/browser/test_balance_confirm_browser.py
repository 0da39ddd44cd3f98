"""The debtor's balance confirmation page in headless Chromium (issue 15): the debtor opens
its one-time link, sees its own balance and documents only, and confirms; the used link then
shows the plain "already answered" page. A dispute on one line is sent through the form too.

The app runs under gunicorn as in ``test_browser_smoke.py``. Screenshots go to
QQ_SCREENSHOT_DIR (or a temporary folder). Skipped without /usr/bin/chromium or chromedriver.
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
    _shot,
    app_env,
    gunicorn,
)

pytestmark = pytest.mark.browser

SEED = """
import json
from datetime import date
from app import app
from backoffice.extensions import db
from backoffice.models.balance_confirmation import BalanceConfirmationKind, LetterForm
from backoffice.services import audit, balance_confirm, contacts
from backoffice.services.calendar import load_year
from tests import helpers

with app.app_context(), app.test_request_context(), audit.acting_as(audit.Actor(None, "test")):
    load_year(db.session, 2026)
    db.session.commit()
    east = helpers.make_unit(code="EAST", name="华东事业部")
    collector = helpers.make_user("collector", units=[east], username="collector-east",
                                  display_name="张三（华东收款）")
    acme = helpers.make_customer(east, name="上海宏达机械有限公司")
    beta = helpers.make_customer(east, name="北京恒信建材有限公司")
    helpers.make_receivable(acme, amount="120000.00", due=date(2026, 7, 31), doc_no="INV-A1",
                            collector_id=collector.id)
    helpers.make_receivable(acme, amount="30000.00", due=date(2026, 8, 31), doc_no="INV-A2",
                            collector_id=collector.id)
    helpers.make_receivable(beta, amount="777.00", due=date(2026, 8, 31), doc_no="SECRET-B1")
    contacts.add_contact(db.session, acme, "王会计", "wang@acme.example")
    tokens = {}
    for name in ("confirm", "dispute"):
        req, token, _sent = balance_confirm.create_and_send(
            db.session, customer=acme, kind=BalanceConfirmationKind.AUDIT_LETTER,
            letter_form=LetterForm.POSITIVE, as_of=date(2026, 9, 30))
        tokens[name] = [token, [line.id for line in req.lines]]
    db.session.commit()
    print(json.dumps(tokens))
"""


@pytest.fixture(scope="module")
def confirm_server(tmp_path_factory):
    """The app under gunicorn with two requests to one customer; yields (base URL, tokens)."""
    _need_browser()
    var = tmp_path_factory.mktemp("balance-confirm-browser")
    env = app_env(var, "balance-confirm-browser-secret")
    _flask(env, "db", "upgrade")
    seeded = subprocess.run(
        [sys.executable, "-c", SEED], cwd=ROOT, env=env, check=True, timeout=300,
        capture_output=True, text=True,
    )  # fmt: skip
    tokens = json.loads(seeded.stdout.strip().splitlines()[-1])
    with gunicorn(env, var) as base:
        yield base, tokens


def test_the_debtor_confirms_in_the_browser(confirm_server, browser, tmp_path):
    """The page renders the customer's balance and documents only; confirming records the
    answer; opening the link again shows the plain "already answered" page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, tokens = confirm_server
    token = tokens["confirm"][0]
    browser.get(f"{base}/c/{token}")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "上海宏达机械有限公司" in body and "150,000.00" in body
    assert "INV-A1" in body and "INV-A2" in body
    assert "SECRET-B1" not in body and "北京恒信" not in body
    assert "本函仅为复核账目之用" in body
    _shot(browser, tmp_path, "balance-confirm-page.png")
    browser.find_element(By.ID, "confirm-button").click()
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "done")))
    assert "余额相符" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(f"{base}/c/{token}")
    assert "已收到贵公司的回复" in browser.find_element(By.TAG_NAME, "body").text


def test_the_debtor_disputes_one_line_in_the_browser(confirm_server, browser, tmp_path):
    """Ticking a document, choosing a reason and giving its own figure sends a dispute."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base, tokens = confirm_server
    token, lines = tokens["dispute"]
    browser.get(f"{base}/c/{token}")
    browser.find_element(By.ID, f"line-{lines[0]}").click()
    browser.find_element(By.NAME, f"amount-{lines[0]}").send_keys("5000")
    Select(browser.find_element(By.NAME, f"reason-{lines[0]}")).select_by_visible_text("价格")
    browser.find_element(By.ID, "debtor_balance").send_keys("145000")
    _shot(browser, tmp_path, "balance-dispute-page.png")
    browser.find_element(By.ID, "dispute-button").click()
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "done")))
    assert "余额不符" in browser.find_element(By.TAG_NAME, "body").text

    # The dispute is the collector's: it opens from the list and is resolved on its page.
    _login(browser, base, "collector-east")
    browser.get(f"{base}/admin/balance_dispute/")
    browser.find_element(By.CSS_SELECTOR, "a[href*='/balance_dispute/resolve/']").click()
    WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "resolve-form")))
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "INV-A1" in page and "价格" in page and "5,000.00" in page
    Select(browser.find_element(By.ID, "resolution")).select_by_value("corrected_in_erp")
    browser.find_element(By.ID, "note").send_keys("单价录入错误，已在 ERP 更正")
    _shot(browser, tmp_path, "balance-dispute-resolve.png")
    browser.find_element(By.CSS_SELECTOR, "#resolve-form button[type=submit]").click()
    WebDriverWait(browser, 20).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".alert-success"))
    )
    assert "已在 ERP 中更正" in browser.find_element(By.ID, "status").text
