"""Balance confirmations and disputes in the back office over HTTP (issue 15): finance sends
and reissues, the letter PDF, the collector resolves its own unit's dispute, the auditor reads
only, the generic doors stay shut, and the daily follow-up job."""

import io
import shutil
import subprocess
import zipfile
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice.models import BalanceConfirmationRequest, BalanceDispute
from backoffice.models.balance_confirmation import (
    BalanceConfirmationKind,
    BalanceConfirmationStatus,
    DisputeReason,
    DisputeStatus,
    LetterForm,
)
from backoffice.services import balance_confirm, balance_confirm_answer, contacts
from backoffice.services.calendar import load_year
from jobs.balance_confirm import balance_confirm_followup
from tests import helpers
from tests.conftest import csrf_from


@pytest.fixture()
def world(app, db):
    load_year(db.session, 2026)
    db.session.commit()
    east = helpers.make_unit(name="华东事业部")
    north = helpers.make_unit(company=east.company, name="华北事业部")
    collector = helpers.make_user("collector", units=[east])
    acme = helpers.make_customer(east, name="上海宏达机械有限公司")
    helpers.make_receivable(
        acme, amount="120000.00", due=date(2026, 7, 31), doc_no="INV-A1", collector_id=collector.id
    )
    helpers.make_receivable(acme, amount="30000.00", due=date(2026, 8, 31), doc_no="INV-A2")
    contacts.add_contact(db.session, acme, "王会计", "wang@acme.example")
    db.session.commit()
    return {"east": east, "north": north, "acme": acme, "collector": collector}


def _make(db, customer, form=LetterForm.POSITIVE, as_of=date(2026, 9, 30)):
    req, token, _sent = balance_confirm.create_and_send(
        db.session,
        customer=customer,
        kind=BalanceConfirmationKind.AUDIT_LETTER,
        letter_form=form,
        as_of=as_of,
    )
    db.session.commit()
    return req, token


def _dispute(db, req, token):
    link = balance_confirm_answer.find_link(db.session, token)
    balance_confirm_answer.dispute(
        db.session,
        link,
        balance_confirm_answer.Visitor("10.0.0.1"),
        debtor_balance=Decimal("145000"),
        lines=[
            balance_confirm_answer.DisputedLine(
                req.lines[0].id, Decimal("5000"), DisputeReason.PRICE
            )
        ],
    )
    db.session.commit()
    return db.session.scalar(select(BalanceDispute))


def test_finance_sends_requests_and_downloads_the_letter(app, db, client, login_as, world):
    """Finance makes a 询证函 for a customer over HTTP; the e-mail goes out with the letter;
    the stored letter downloads hash-verified and its text is Chinese with the link."""
    login_as("finance")
    outbox = __import__("pathlib").Path(app.config["MAIL_OUTBOX_DIR"])
    before = set(outbox.glob("*.eml"))
    page = client.get("/admin/balance_confirmation_request/send/")
    assert page.status_code == 200
    response = client.post(
        "/admin/balance_confirmation_request/send/",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "kind": "audit_letter",
            "letter_form": "positive",
            "as_of": "2026-09-30",
            "customer_id": [str(world["acme"].id)],
        },
    )
    assert response.status_code == 303
    req = db.session.scalar(select(BalanceConfirmationRequest))
    assert req.number.startswith("XZ2026-") and req.balance == Decimal("150000.00")
    assert req.sent_at is not None and req.pdf_sha256
    mails = set(outbox.glob("*.eml")) - before
    assert len(mails) == 1
    show = client.get(f"/admin/balance_confirmation_request/show/{req.id}")
    assert show.status_code == 200 and "INV-A1" in show.get_data(as_text=True)
    pdf = client.get(f"/admin/balance_confirmation_request/letter/{req.id}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True
        ).stdout.decode()
        assert "往来款项询证函" in text and "本函仅为复核账目之用" in text and "/c/" in text


def test_reissue_revokes_the_old_link(app, db, client, login_as, world):
    """Sending again gives a new link; the old one answers with the revoked page."""
    req, token = _make(db, world["acme"])
    login_as("finance")
    page = client.get(f"/admin/balance_confirmation_request/show/{req.id}").get_data(as_text=True)
    response = client.post(
        f"/admin/balance_confirmation_request/reissue/{req.id}",
        data={"csrf_token": csrf_from(page)},
    )
    assert response.status_code == 303
    assert client.get(f"/c/{token}").status_code == 410
    assert len(db.session.get(BalanceConfirmationRequest, req.id).links) == 2


def test_collector_resolves_own_units_dispute_and_others_cannot(app, db, client, login_as, world):
    """The customer's collector resolves the dispute on its page; a collector of another unit
    gets 404; a second resolution is refused; the auditor reads but may not resolve."""
    req, token = _make(db, world["acme"])
    dispute = _dispute(db, req, token)
    assert dispute.collector_id == world["collector"].id
    # another unit's collector
    other = app.test_client()
    helpers.login(other, helpers.make_user("collector", units=[world["north"]]).username)
    assert other.get(f"/admin/balance_dispute/resolve/{dispute.id}").status_code == 404
    # the auditor reads, may not post
    auditor = app.test_client()
    helpers.login(auditor, helpers.make_user("auditor").username)
    page = auditor.get(f"/admin/balance_dispute/resolve/{dispute.id}")
    assert page.status_code == 200 and "resolve-form" not in page.get_data(as_text=True)
    assert auditor.post(
        f"/admin/balance_dispute/resolve/{dispute.id}",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "resolution": "credit_note",
              "note": "x"},
    ).status_code == 403  # fmt: skip
    # the collector
    helpers.login(client, world["collector"].username)
    page = client.get(f"/admin/balance_dispute/resolve/{dispute.id}").get_data(as_text=True)
    assert "INV-A1" in page and "resolve-form" in page
    bad = client.post(
        f"/admin/balance_dispute/resolve/{dispute.id}",
        data={"csrf_token": csrf_from(page), "resolution": "escalated", "note": "转案件"},
    )
    assert bad.status_code == 400  # escalation needs a case
    ok = client.post(
        f"/admin/balance_dispute/resolve/{dispute.id}",
        data={"csrf_token": csrf_from(page), "resolution": "credit_note", "note": "已开红字发票"},
    )
    assert ok.status_code == 303
    db.session.expire_all()
    assert db.session.get(BalanceDispute, dispute.id).status is DisputeStatus.RESOLVED
    again = client.post(
        f"/admin/balance_dispute/resolve/{dispute.id}",
        data={"csrf_token": csrf_from(page), "resolution": "debtor_accepts", "note": "再次"},
    )
    assert again.status_code == 409  # already resolved: a conflict page, nothing changes


def test_disputed_amount_shows_apart_on_the_receivables_list(app, db, client, login_as, world):
    """The receivables list marks the disputed part of a document (争议中)."""
    req, token = _make(db, world["acme"])
    _dispute(db, req, token)
    login_as("finance")
    html = client.get("/admin/receivable/").get_data(as_text=True)
    assert "qq-in-dispute" in html and "争议中" in html and "5,000.00" in html


def test_generic_doors_stay_shut(app, db, client, login_as, world):
    """Generic create redirects to the sending page; generic edit of a request is refused."""
    req, _token = _make(db, world["acme"])
    login_as("finance")
    created = client.get("/admin/balance_confirmation_request/new/")
    assert created.status_code == 302 and "/send/" in created.headers["Location"]
    page = client.get(f"/admin/balance_confirmation_request/edit/?id={req.id}")
    assert page.status_code in (302, 403)
    dispute_edit = client.get("/admin/balance_dispute/edit/?id=1")
    assert dispute_edit.status_code in (302, 403, 404)


def test_negative_form_silence_is_recorded_and_positive_ones_are_reminded(app, db, world):
    """After the reply date, a negative-form request without an answer is recorded as "no
    disagreement received"; an unanswered positive one is sent again with a new link, once."""
    negative, _t1 = _make(db, world["acme"], LetterForm.NEGATIVE)
    positive, old_token = _make(db, world["acme"], LetterForm.POSITIVE)
    day = max(negative.reply_due, positive.reply_due) + timedelta(days=1)
    result = balance_confirm_followup(day.isoformat())
    assert result["no_disagreement"] == [negative.number]
    assert result["reminded"] == [positive.number]
    db.session.expire_all()
    assert negative.status is BalanceConfirmationStatus.NO_DISAGREEMENT
    assert negative.closed_note == "未收到不符回复"
    assert positive.reminders_sent == 1 and len(positive.links) == 2
    assert balance_confirm_answer.find_link(db.session, old_token).revoked_at is not None
    again = balance_confirm_followup(day.isoformat())  # the same day: nothing twice
    assert again == {"day": day.isoformat(), "no_disagreement": [], "reminded": []}
    assert str(BalanceConfirmationStatus.NO_DISAGREEMENT.label) == "未收到不符回复"


def test_letter_returned_undelivered(app, db, client, login_as, world):
    """Marking a request returned undelivered closes it and its link."""
    req, token = _make(db, world["acme"])
    login_as("finance")
    page = client.get(f"/admin/balance_confirmation_request/show/{req.id}").get_data(as_text=True)
    client.post(
        f"/admin/balance_confirmation_request/undeliverable/{req.id}",
        data={"csrf_token": csrf_from(page), "note": "查无此人"},
    )
    db.session.expire_all()
    assert db.session.get(BalanceConfirmationRequest, req.id).status.value == "undeliverable"
    assert client.get(f"/c/{token}").status_code == 410


def test_auditor_register_xlsx_and_verified_replies_package(app, db, client, world):
    """The auditor's register counts sent, answered, agreed, disputed, unanswered and returned
    requests with the reply rate and agreed share; it exports to XLSX; the year's replies come
    in a zip whose manifest verifies, and a tampered reply stops the package."""
    from openpyxl import load_workbook

    from backoffice.services import balance_confirm_register as reg_svc
    from backoffice.services.storage import get_storage

    finance = helpers.make_user("finance")
    confirmed, t1 = _make(db, world["acme"])
    balance_confirm_answer.confirm(
        db.session, balance_confirm_answer.find_link(db.session, t1),
        balance_confirm_answer.Visitor("10.0.0.2"),
    )  # fmt: skip
    db.session.commit()
    disputed, t2 = _make(db, world["acme"])
    _dispute(db, disputed, t2)
    _unanswered, _t3 = _make(db, world["acme"])
    returned, _t4 = _make(db, world["acme"])
    balance_confirm.mark_undeliverable(db.session, returned, finance, "退函")
    db.session.commit()
    auditor = app.test_client()
    helpers.login(auditor, helpers.make_user("auditor").username)
    page = auditor.get("/admin/balance_confirmation_request/register/?year=2026")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for fig, value in (("sent", 4), ("answered", 2), ("agreed", 1), ("disputed", 1),
                       ("unanswered", 1), ("returned", 1)):  # fmt: skip
        assert f'id="fig-{fig}">{value}<' in html, fig
    assert 'id="fig-rate">50.0%<' in html and 'id="fig-share">25.0%<' in html
    xlsx = auditor.get("/admin/balance_confirmation_request/register/2026.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = [c for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert confirmed.number in values and "债务人确认相符" in values
    package = auditor.get("/admin/balance_confirmation_request/register/2026.zip")
    assert package.status_code == 200
    assert reg_svc.verify_package(package.data) == []
    with zipfile.ZipFile(io.BytesIO(package.data)) as zf:
        assert any(n.endswith(".pdf") and confirmed.number in n for n in zf.namelist())
    # The auditor reads only: no sending page.
    assert auditor.get("/admin/balance_confirmation_request/send/").status_code == 403
    # A tampered letter stops the package (409) instead of being copied into it.
    root = get_storage().root
    path = root / confirmed.pdf_key
    path.chmod(0o640)
    path.write_bytes(b"%PDF-1.4 forged")
    assert auditor.get("/admin/balance_confirmation_request/register/2026.zip").status_code == 409


def test_the_debtors_answer_feeds_the_monthly_confirmation_form(app, db, client, world):
    """Art.12–14: the monthly run sends each statement's 对账确认 once; on the monthly
    confirmation form the collector starts from the debtor's own answer: a disputed price
    difference pre-fills the external class and the comment."""
    from backoffice.models import ConfirmationForm, Statement
    from backoffice.services.reference import ensure_reference_data
    from jobs.monthly import run_period

    ensure_reference_data(db.session)
    db.session.commit()
    run_period("2026-10", inline=True)
    db.session.commit()
    statement = db.session.scalar(
        select(Statement).where(Statement.customer_id == world["acme"].id)
    )
    # The monthly run sent the statement's 对账确认 to the billing contact, once.
    req = db.session.scalar(
        select(BalanceConfirmationRequest).where(
            BalanceConfirmationRequest.statement_id == statement.id
        )
    )
    assert req.kind is BalanceConfirmationKind.RECONCILIATION and req.letter_form is None
    assert req.sent_at is not None and req.as_of == statement.as_of
    assert balance_confirm.reconcile_statements(db.session, "2026-10", [world["acme"].id]) == []
    token = balance_confirm.issue_link(db.session, req)  # the debtor's link (a fresh one)
    db.session.commit()
    _dispute(db, req, token)
    form = db.session.scalar(
        select(ConfirmationForm).where(ConfirmationForm.sales_unit_id == world["east"].id)
    )
    helpers.login(client, world["collector"].username)
    html = client.get(f"/admin/confirmation_form/answer/{form.id}").get_data(as_text=True)
    assert "qq-debtor-answer" in html
    assert f"债务人对账异议（{req.number}）：价格 5,000.00" in html
    assert 'value="external" selected' in html


def test_year_end_archive_keeps_last_years_replies_verified(app, db, world):
    """The year-end archive job stores the previous audit year's replies package once,
    write-once; it verifies whole, and a second run leaves it alone."""
    from backoffice.services import balance_confirm_register as reg_svc
    from jobs.archive import year_end_archive

    # The storage folder outlives a test: start without an earlier test's package.
    (reg_svc.get_storage().root / reg_svc.ARCHIVE_AREA / reg_svc.archive_name(2025)).unlink(
        missing_ok=True
    )
    req, token = _make(db, world["acme"], as_of=date(2025, 12, 31))
    balance_confirm_answer.confirm(
        db.session, balance_confirm_answer.find_link(db.session, token),
        balance_confirm_answer.Visitor("10.0.0.3"),
    )  # fmt: skip
    db.session.commit()
    assert year_end_archive(2026)["confirmations_archived"] is True
    assert reg_svc.verify_archived(2025) == []
    assert year_end_archive(2026)["confirmations_archived"] is False
    data = reg_svc.get_storage().get_named(reg_svc.ARCHIVE_AREA, reg_svc.archive_name(2025))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert any(req.number in name for name in zf.namelist())
