"""Every list in every demo user's menu fits a 1366-px laptop (issue 11), measured in Chromium.

For each demo user the test opens each list of the navigation bar at 1366×900 on the seeded
demo data (the session's ``demo`` fixture) and measures the rendered page: nothing scrolls
sideways (the page and each table's scroll width equal their client width), no column header
wraps (each header is one line high), money is right-aligned on one line, and the search box's
placeholder fits inside the box. A screenshot of each list goes to ``SHOTS``.

Skipped when /usr/bin/chromium or /usr/bin/chromedriver is missing, unless REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import pytest

from tests.browser.support import DEMO_PASSWORD, SHOTS

pytestmark = pytest.mark.browser

USERS = ("admin", "leader", "cfo", "vp", "teamlead", "finance", "legal", "credit", "collector",
         "auditor")  # fmt: skip

#: Everything the test measures on one page, in one script.
MEASURE = """
const out = {page: null, tables: [], headers: [], money: [], placeholders: []};
const de = document.documentElement;
if (de.scrollWidth > de.clientWidth) out.page = [de.scrollWidth, de.clientWidth];
for (const list of document.querySelectorAll('table.model-list')) {
  const box = list.closest('.table-responsive') || list;
  if (box.scrollWidth > box.clientWidth + 1) out.tables.push([box.scrollWidth, box.clientWidth]);
}
for (const th of document.querySelectorAll('table.model-list th')) {
  const text = th.textContent.trim();
  if (!text) continue;
  const line = parseFloat(getComputedStyle(th).lineHeight) || 24;
  const range = document.createRange();
  range.selectNodeContents(th);
  const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
  if (lines > 1 || range.getBoundingClientRect().height > 1.5 * line) out.headers.push(text);
}
for (const span of document.querySelectorAll('table.model-list td .qq-money')) {
  const td = span.closest('td'), style = getComputedStyle(td);
  if (style.textAlign !== 'right' || style.whiteSpace !== 'nowrap') {
    out.money.push([td.className, span.textContent, style.textAlign, style.whiteSpace]);
  }
}
const ctx = document.createElement('canvas').getContext('2d');
for (const input of document.querySelectorAll('input[name=search][placeholder]')) {
  const style = getComputedStyle(input);
  ctx.font = style.font;
  const inner = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const need = ctx.measureText(input.placeholder).width;
  if (need > inner) out.placeholders.push([input.placeholder, Math.round(need), Math.round(inner)]);
}
return out;
"""


def _login(driver, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(DEMO_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 30).until(lambda d: "/login" not in d.current_url)


def _menu_lists(driver, base: str) -> list[str]:
    """The lists of the user's navigation bar: each menu entry that opens a model list."""
    from selenium.webdriver.common.by import By

    hrefs = [
        a.get_attribute("href")
        for a in driver.find_elements(By.CSS_SELECTOR, "nav a.dropdown-item, nav a.nav-link")
    ]
    lists = []
    for href in dict.fromkeys(h for h in hrefs if h):
        path = href[len(base) :].split("?")[0]
        if href.startswith(base + "/admin/") and path.count("/") == 3 and path.endswith("/"):
            lists.append(path)  # /admin/<endpoint>/
    return lists


@pytest.mark.parametrize("username", USERS)
def test_every_menu_list_fits_1366_px(demo, browser, username):
    """Each list in the user's menu fits 1366 px: no sideways scroll, one-line headers, money
    right-aligned on one line, and a search placeholder that fits its box."""
    base, _db = demo
    browser.set_window_size(1366, 900)
    _login(browser, base, username)
    lists = _menu_lists(browser, base)
    assert len(lists) >= 5, lists
    problems = {}
    for path in lists:
        browser.get(base + path)
        found = browser.execute_script(MEASURE)
        browser.save_screenshot(
            str(SHOTS / f"width-{username}-{path.strip('/').replace('/', '-')}.png")
        )
        bad = {k: v for k, v in found.items() if v}
        if bad:
            problems[path] = bad
    assert not problems, f"{username} at 1366 px: {problems}"


#: The page and every table box of a custom page (reports, registers, the e-mail page).
MEASURE_PAGE = """
const de = document.documentElement, out = {page: null, boxes: []};
if (de.scrollWidth > de.clientWidth) out.page = [de.scrollWidth, de.clientWidth];
for (const box of document.querySelectorAll('.table-responsive, table')) {
  if (box.scrollWidth > box.clientWidth + 1) {
    out.boxes.push([box.id || (box.querySelector('table') || {}).id || box.className,
                    box.scrollWidth, box.clientWidth]);
  }
}
for (const th of document.querySelectorAll('table.qq-report th')) {
  const range = document.createRange();
  range.selectNodeContents(th.firstChild || th);
  const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
  if (lines > 1) out.boxes.push(['header wraps', th.textContent.trim()]);
}
return out;
"""


def _mailed_customer(db_path) -> int:
    """A demo customer with e-mails in the send log (its mail page has every section)."""
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        (customer_id,) = conn.execute(
            "SELECT customer_id FROM customer_mail GROUP BY customer_id"
            " ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
    return customer_id


@pytest.mark.parametrize(
    ("username", "paths"),
    [
        ("leader", ("/admin/leadership/",)),
        ("auditor", ("/admin/balance-register/", "/admin/leadership/")),
        (
            "finance",
            (
                "/admin/balance-register/",
                "/admin/balance_confirmation_request/",
                "/admin/balance_dispute/",
                "/admin/customer_mail/",
                "/admin/customer/mail/{customer}/",
            ),
        ),
    ],
)
def test_reports_registers_and_mail_pages_fit_1366_px(demo, browser, username, paths):
    """The leadership report, the 往来询证登记簿, the confirmations, disputes and send log and a
    customer's e-mail page (issues 14, 15) fit 1366 px: nothing scrolls sideways, and the
    report's headers stay on one line."""
    base, db_path = demo
    browser.set_window_size(1366, 900)
    _login(browser, base, username)
    problems = {}
    for path in paths:
        path = path.format(customer=_mailed_customer(db_path))
        browser.get(base + path)
        assert "/login" not in browser.current_url, path
        found = browser.execute_script(MEASURE_PAGE)
        browser.save_screenshot(
            str(SHOTS / f"width-{username}-{path.strip('/').replace('/', '-')}.png")
        )
        if found["page"] or found["boxes"]:
            problems[path] = found
    assert not problems, f"{username} at 1366 px: {problems}"
