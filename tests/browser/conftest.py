"""The ``browser`` fixture: headless Debian Chromium (see support.py for the helpers), and the
``demo`` fixture: the app under gunicorn on the seeded demo data, shared by the tests of a run."""

from __future__ import annotations

import pytest

from tests.browser.support import (
    CHROMEDRIVER,
    CHROMIUM,
    SHOTS,
    _flask,
    _need_browser,
    app_env,
    gunicorn,
)


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


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The app under gunicorn on the seeded demo data; yields (base URL, SQLite path)."""
    _need_browser()
    var = tmp_path_factory.mktemp("journeys-var")
    env = app_env(var, "browser-journeys-secret")
    env.pop("REDIS_URL", None)  # imports run in the request
    _flask(env, "db", "upgrade")
    _flask(env, "seed-demo", timeout=900)  # minutes on a loaded 2-core machine
    SHOTS.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {SHOTS}")
    with gunicorn(env, var) as base:
        yield base, var / "qingqian.db"
    print(f"screenshots: {len(list(SHOTS.glob('*.png')))} pages in {SHOTS}")
