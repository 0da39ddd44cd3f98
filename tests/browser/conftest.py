"""The ``browser`` fixture: headless Debian Chromium (see support.py for the helpers)."""

from __future__ import annotations

import pytest

from tests.browser.support import CHROMEDRIVER, CHROMIUM, _need_browser


@pytest.fixture()
def browser(tmp_path):
    """Headless Debian Chromium through /usr/bin/chromedriver, with a fresh profile."""
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,900",
        "--lang=zh-CN",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
