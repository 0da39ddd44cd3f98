"""Browser round-trip of a customer's e-mail page (issue 14 §2), in headless Chromium: the
collector adds a billing contact (a bad address refused), pauses the dunning with a reason,
and sees last month's failed reminder; finance edits the dunning schedule. Screenshots go to
QQ_SCREENSHOT_DIR (or a temporary folder).

Skipped when /usr/bin/chromium or /usr/bin/chromedriver is missing, unless REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.browser.support import ROOT, _flask, _login, _need_browser, _shot, app_env, gunicorn

pytestmark = pytest.mark.browser

SEED = """
import json
from datetime import date
from app import app
from backoffice.extensions import db
from backoffice.models import CustomerMail, MailKind, MailStatus
from backoffice.services import audit, contacts
from backoffice.services.reference import ensure_reference_data
from tests import helpers

with app.app_context(), audit.acting_as(audit.Actor(None, "test:browser")):
    ensure_reference_data(db.session)
    east = helpers.make_unit(code="EAST", name="华东事业部")
    acme = helpers.make_customer(east, name="上海宏达机械有限公司", erp_code="C0001")
    helpers.make_receivable(acme, amount="120000.00", due=date(2026, 7, 31), doc_no="INV-A1")
    c = contacts.add_contact(db.session, acme, "王会计", "wang@hongda.example.cn")
    db.session.add(CustomerMail(
        kind=MailKind.REMINDER, period="2026-10", customer_id=acme.id,
        company_id=acme.company_id, sales_unit_id=east.id, contact_id=c.id,
        recipient=c.email, subject="付款提醒", body="…", status=MailStatus.FAILED,
        attempts=4, max_attempts=4,
        last_error="SMTPRecipientsRefused: 550 5.1.1 Mailbox unavailable"))
    db.session.commit()
    helpers.make_user("collector", units=[east], username="collector-east",
                      display_name="张三（华东收款）")
    helpers.make_user("finance", username="finance-b", display_name="李会计")
    print(json.dumps({"customer": acme.id}))
"""


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory):
    _need_browser()
    var = tmp_path_factory.mktemp("mail-browser")
    env = app_env(var, "mail-browser-secret")
    _flask(env, "db", "upgrade")
    seeded = subprocess.run(
        [sys.executable, "-c", SEED], cwd=ROOT, env=env, check=True, timeout=300,
        capture_output=True, text=True,
    )  # fmt: skip
    ids = json.loads(seeded.stdout.strip().splitlines()[-1])
    with gunicorn(env, var) as base:
        yield base, ids


def test_contacts_pause_and_schedule_in_the_browser(mail_server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    def submit(button, then_id: str):
        """Click a form's button and wait for the next page (the old one gone, ``then_id`` there):
        reading the page before it is replaced gives stale elements under load."""
        button.click()
        WebDriverWait(browser, 30).until(ec.staleness_of(button))
        return WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.ID, then_id)))

    base, ids = mail_server
    _login(browser, base, "collector-east")
    browser.get(f"{base}/admin/customer/")
    link = browser.find_element(By.CSS_SELECTOR, f"a[href$='/customer/mail/{ids['customer']}/']")
    assert "550 5.1.1 Mailbox unavailable" in submit(link, "mail-failures").text
    form = browser.find_element(By.ID, "add-contact")
    form.find_element(By.NAME, "name").send_keys("李出纳")
    form.find_element(By.NAME, "email").send_keys("li@hongda.example.cn")
    contacts = submit(form.find_element(By.TAG_NAME, "button"), "mail-contacts")
    assert "li@hongda.example.cn" in contacts.text
    pause = browser.find_element(By.ID, "dunning-pause")
    pause.find_element(By.NAME, "reason").send_keys("客户已签还款协议并按期付款")
    text = submit(pause.find_element(By.TAG_NAME, "button"), "dunning-pause").text
    assert "客户已签还款协议并按期付款" in text and "张三（华东收款）" in text
    _shot(browser, tmp_path, "customer-mail.png")

    _login(browser, base, "finance-b")
    browser.get(f"{base}/admin/mail-settings/")
    days = browser.find_elements(By.NAME, "days")
    days[0].clear()
    days[0].send_keys("7")
    submit(browser.find_element(By.ID, "save-mail-settings"), "save-mail-settings")
    assert browser.find_elements(By.NAME, "days")[0].get_attribute("value") == "7"
    _shot(browser, tmp_path, "mail-settings.png")
