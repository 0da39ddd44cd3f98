"""Shared by the browser tests: find Chromium, start the app's processes, drive pages."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DEMO_PASSWORD = "demo-pass-2026"  # every demo user's (``flask seed-demo``)
#: Where the demo tours keep their screenshots (ignored by git).
SHOTS = Path(
    os.environ.get("SCREENSHOT_DIR")
    or os.environ.get("QQ_SCREENSHOT_DIR")
    or ROOT / "var" / "screenshots" / "journeys"
)


def _need_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if not missing:
        return
    message = f"{', '.join(missing)} missing (apt-get install chromium chromium-driver)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _flask(env: dict[str, str], *args: str, stdin: str | None = None, timeout: int = 120) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"flask {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "gunicorn exited early"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - localhost
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def _login(driver, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 20).until(lambda d: "/login" not in d.current_url)


def _set(driver, element, value: str) -> None:
    # Date inputs take keystrokes in the browser's locale order; set the ISO value directly.
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        element,
        value,
    )


def _shot(driver, tmp_path, name: str) -> Path:
    shots = Path(os.environ.get("QQ_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(1600, 1000)
    shot = shots / name
    assert driver.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {shot}")
    return shot


def app_env(var: Path, secret: str) -> dict[str, str]:
    """The environment for the app's processes: a SQLite database and data folder in ``var``."""
    dropped = ("TEST_DATABASE_URL", "QQ_ENV", "STORAGE_BACKEND", "STORAGE_DIR", "UPLOAD_MAX_BYTES")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        QQ_VAR_DIR=str(var),
        DATABASE_URL=f"sqlite:///{var / 'qingqian.db'}",
        SECRET_KEY=secret,
        PYTHONPATH=str(ROOT),
    )
    return env


@contextlib.contextmanager
def gunicorn(env: dict[str, str], var: Path):
    """The app under gunicorn on a free port; yields its base URL, stops it afterwards."""
    port = _free_port()
    log = (var / "gunicorn.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - our own app
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
         "--no-control-socket", "app:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/login", proc)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
