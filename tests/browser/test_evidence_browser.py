"""Browser test of the evidence main path (issue 5 item 6, SPEC §3.4, Art.17–19), headless.

The app runs under gunicorn as in ``test_browser_smoke.py`` (whose server helpers and
``browser`` fixture are reused). A legal specialist opens a case of unit EAST from its case
file, follows the upload link and uploads ``凭证.pdf``; a collector of unit NORTH sees it
neither on the case's pages nor in the evidence list, and its download URL answers 404; the
auditor downloads it from the case file, and the saved file is named ``凭证.pdf`` with the
SHA-256 of the uploaded bytes, the same as the one recorded on the ``EvidenceDocument``.
Screenshots of the evidence page after the upload and of the case file are saved to
QQ_SCREENSHOT_DIR (or a temporary folder) for a person to look at.

Skipped when /usr/bin/chromium or /usr/bin/chromedriver is missing, unless REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.browser.support import (
    ROOT,
    _login,
    _need_browser,
    _shot,
    app_env,
    gunicorn,
)

pytestmark = pytest.mark.browser

FILE_NAME = "凭证.pdf"
NORTH_FILE = "华北对账单.pdf"

# Run in the server's environment: migrate the empty database, then two units of one company,
# a filed case in each, a legal specialist, an auditor, a collector of NORTH, and one document
# on NORTH's case (so the collector's evidence list is not empty for a trivial reason).
SEED = f"""
import io
import json
from datetime import date
from flask_migrate import upgrade
from app import app
from backoffice.extensions import db
from backoffice.models.case import CaseReceivable
from backoffice.services import audit, evidence
from tests import helpers

with app.app_context():
    upgrade()  # as `flask db upgrade`, without importing the app a second time

with app.app_context(), audit.acting_as(audit.Actor(None, "test:browser")):
    east = helpers.make_unit(code="EAST", name="华东事业部")
    north = helpers.make_unit(company=east.company, code="NORTH", name="华北事业部")
    acme = helpers.make_customer(east, name="上海宏达机械有限公司")
    beta = helpers.make_customer(north, name="北京恒信建材有限公司")
    cases = {{}}
    for customer, amount, due, no in (
        (acme, "120000.00", date(2025, 3, 31), "EAST"),
        (beta, "8800.50", date(2025, 4, 30), "NORTH"),
    ):
        rec = helpers.make_receivable(customer, amount=amount, due=due, doc_no=f"INV-{{no}}-1")
        case = helpers.make_case(customer, case_no=f"QQ-{{no}}-001", filed_on=date(2025, 11, 3),
                                 amount_at_filing=rec.amount)
        db.session.add(CaseReceivable(case_id=case.id, receivable_id=rec.id))
        cases[no] = case
    db.session.commit()
    case_east, case_north = cases["EAST"], cases["NORTH"]
    helpers.make_user("legal", username="ev-legal", display_name="法务周律师")
    helpers.make_user("auditor", username="ev-auditor", display_name="审计吴审计")
    collector = helpers.make_user("collector", units=[north], username="ev-collector-north",
                                  display_name="华北收款员")
    own = evidence.upload(db.session, case_id=case_north.id, doc_type="reconciliation",
                          filename="{NORTH_FILE}", stream=io.BytesIO(b"%PDF-1.4\\n% north\\n"),
                          user=collector)
    db.session.commit()
    print(json.dumps({{"east": case_east.id, "north": case_north.id, "north_doc": own.id}}))
"""


def _pdf(tag: str) -> bytes:
    """A small, well-formed one-page PDF; ``tag`` makes its bytes (and hash) unique."""
    stream = f"BT /F1 12 Tf 72 720 Td (Qingqian evidence {tag}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pytest.fixture(scope="module")
def evidence_server(tmp_path_factory):
    """The app under gunicorn with two units, a case in each and the users; yields
    (base URL, ids, path of the SQLite database)."""
    _need_browser()
    var = tmp_path_factory.mktemp("evidence-browser")
    database = var / "qingqian.db"
    env = app_env(var, "evidence-browser-secret")
    seeded = subprocess.run(
        [sys.executable, "-c", SEED], cwd=ROOT, env=env, timeout=120, capture_output=True,
        text=True,
    )  # fmt: skip
    assert seeded.returncode == 0, f"seed failed:\n{seeded.stdout}\n{seeded.stderr}"
    ids = json.loads(seeded.stdout.strip().splitlines()[-1])
    with gunicorn(env, var) as base:
        yield base, ids, database


def _allow_downloads(driver, folder: Path) -> None:
    """Let headless Chromium save downloads into ``folder`` without asking."""
    folder.mkdir(parents=True, exist_ok=True)
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)}
    )


def _wait_for_download(folder: Path, timeout: float = 20) -> Path:
    """The one finished file in ``folder`` (no ``.crdownload`` left), polling briefly."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entries = list(folder.iterdir())
        done = [p for p in entries if not p.name.endswith((".crdownload", ".tmp"))]
        if done and len(done) == len(entries) and all(p.stat().st_size > 0 for p in done):
            assert len(done) == 1, [p.name for p in done]
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no finished download in {folder}: {list(folder.iterdir())}")


def _status_of(driver, url: str) -> int:
    """The HTTP status of a same-origin GET made with the browser's own session cookie."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin', redirect: 'manual'})"
        "  .then(r => done(r.status), e => done(String(e)));",
        url,
    )


def _row(database: Path, sql: str, *args):
    with closing(sqlite3.connect(database)) as conn:
        return conn.execute(sql, args).fetchone()


def test_legal_uploads_chinese_pdf_collector_cannot_see_auditor_downloads(
    evidence_server,
    browser,  # noqa: F811
    tmp_path,
):
    """Legal uploads 凭证.pdf to a case; another unit's collector cannot see or fetch it; the
    auditor downloads it under its Chinese name with the SHA-256 recorded at upload."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base, ids, database = evidence_server
    case_id = ids["east"]
    case_url = f"{base}/admin/collection_case/file/{case_id}"
    evidence_url = f"{base}/admin/evidence/case/{case_id}/"
    wait = WebDriverWait(browser, 20)
    browser.set_script_timeout(20)

    content = _pdf(f"{os.getpid()}-{time.time_ns()}")
    expected = hashlib.sha256(content).hexdigest()
    source = tmp_path / "upload" / FILE_NAME
    source.parent.mkdir()
    source.write_bytes(content)

    # 1. Legal opens the case file, follows its upload link and uploads the Chinese-named PDF.
    _login(browser, base, "ev-legal")
    browser.get(case_url)
    documents = wait.until(ec.presence_of_element_located((By.ID, "case-documents")))
    assert FILE_NAME not in documents.text
    assert "INV-EAST-1" in browser.find_element(By.ID, "case-receivables").text
    link = browser.find_element(By.CSS_SELECTOR, f"a[href$='/admin/evidence/case/{case_id}/']")
    link.click()
    form = wait.until(ec.presence_of_element_located((By.ID, "evidence-upload")))
    Select(form.find_element(By.ID, "doc_type")).select_by_value("invoice")
    form.find_element(By.ID, "files").send_keys(str(source))
    form.find_element(By.ID, "note").send_keys("增值税发票及签收凭证")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".alert-success")))
    assert browser.current_url == evidence_url  # redirected back to the case's evidence page
    assert FILE_NAME in browser.find_element(By.CSS_SELECTOR, ".alert-success").text
    table = browser.find_element(By.ID, "evidence-documents").text
    assert FILE_NAME in table and "法务周律师" in table and expected[:16] in table
    _shot(browser, tmp_path, "evidence-uploaded.png")

    name, sha256, size, content_type, uploader, doc_id = _row(
        database,
        "SELECT d.original_name, d.sha256, d.size, d.content_type, u.username, d.id "
        "FROM evidence_document d JOIN user u ON u.id = d.uploaded_by_id WHERE d.case_id = ?",
        case_id,
    )
    assert (name, sha256, size) == (FILE_NAME, expected, len(content))
    assert (content_type, uploader) == ("application/pdf", "ev-legal")
    download_url = f"{base}/admin/evidence/{doc_id}/download"

    browser.get(case_url)
    documents = wait.until(ec.presence_of_element_located((By.ID, "case-documents")))
    assert FILE_NAME in documents.text  # the case file lists it too
    _shot(browser, tmp_path, "evidence-case-file.png")

    # 2. A collector of another unit: not on the case's pages, not in the list, download 404.
    _login(browser, base, "ev-collector-north")
    browser.get(f"{base}/admin/evidence_document/")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table")))
    listed = browser.find_element(By.TAG_NAME, "body").text
    assert NORTH_FILE in listed  # their own unit's document is listed ...
    assert FILE_NAME not in listed and "QQ-EAST-001" not in listed  # ... EAST's is not
    browser.get(f"{base}/admin/evidence_document/?search=%E5%87%AD%E8%AF%81")  # 凭证
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "table")))
    assert FILE_NAME not in browser.find_element(By.TAG_NAME, "body").text
    for url in (evidence_url, case_url):
        browser.get(url)
        assert FILE_NAME not in browser.page_source
        assert _status_of(browser, url) == 404
    assert _status_of(browser, download_url) == 404
    own_download = f"{base}/admin/evidence/{ids['north_doc']}/download"
    assert _status_of(browser, own_download) == 200  # the 404 above is scope, not a dead URL

    # 3. The auditor downloads it from the case file; name and hash survive the round trip.
    downloads = tmp_path / "downloads"
    _allow_downloads(browser, downloads)
    _login(browser, base, "ev-auditor")
    browser.get(case_url)
    documents = wait.until(ec.presence_of_element_located((By.ID, "case-documents")))
    documents.find_element(By.LINK_TEXT, FILE_NAME).click()
    saved = _wait_for_download(downloads)
    assert saved.name == FILE_NAME
    data = saved.read_bytes()
    assert data == content
    assert hashlib.sha256(data).hexdigest() == expected == sha256
    # The download was checked and audited under the auditor's name.
    audited = _row(
        database,
        "SELECT a.detail FROM audit_log a JOIN user u ON u.id = a.actor_id "
        "WHERE a.action = 'download' AND a.entity = 'evidence_document' AND a.entity_id = ? "
        "AND u.username = 'ev-auditor'",
        str(doc_id),
    )
    assert audited is not None and expected in audited[0]
