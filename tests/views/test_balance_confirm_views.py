"""Balance confirmations and disputes in the back office over HTTP (issue 15): finance sends
and reissues, the letter PDF, the collector resolves its own unit's dispute, the auditor reads
only, the generic doors stay shut, and the daily follow-up job."""

import re
import shutil
import subprocess
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
from backoffice.services import balance_confirm, balance_confirm_answer, contacts, customer_mail
from backoffice.services.calendar import load_year
from jobs.balance_confirm import balance_confirm_followup
from tests import helpers
from tests.conftest import csrf_from


# Without Redis the e-mails go out at once to the outbox (with it, as queued jobs; the
# queued path is tests/views/test_balance_confirm_mail.py and the SMTP tests).
@pytest.fixture()
def world(app, db, no_redis):
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
    customer_mail.dispatch_pending(db.session)  # as every caller does after its commit
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
        data={"csrf_token": csrf_from(page), "resolution": "credit_note", "note": " "},
    )
    assert bad.status_code == 400  # a resolution says what was done
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


def test_escalating_a_dispute_opens_a_case_when_the_customer_has_none(
    app, db, client, login_as, world
):
    """Art.16 (4): escalated with no case named and none open, the collector's resolution
    applies for a case (the team lead is tasked); a second dispute escalated later joins that
    open case instead of opening another."""
    from backoffice.models import CollectionCase, Task
    from backoffice.models.case import CaseOrigin, CaseStatus

    helpers.make_user("team_lead")
    req, token = _make(db, world["acme"])
    dispute = _dispute(db, req, token)
    helpers.login(client, world["collector"].username)
    page = client.get(f"/admin/balance_dispute/resolve/{dispute.id}").get_data(as_text=True)
    ok = client.post(
        f"/admin/balance_dispute/resolve/{dispute.id}",
        data={"csrf_token": csrf_from(page), "resolution": "escalated", "note": "价格争议谈不拢"},
    )
    assert ok.status_code == 303
    db.session.expire_all()
    case = db.session.scalar(select(CollectionCase))
    assert case.customer_id == world["acme"].id
    assert case.origin is CaseOrigin.APPLICATION and case.status is CaseStatus.APPLIED
    assert case.applied_by_id == world["collector"].id
    assert req.number in case.application_reason and "价格争议谈不拢" in case.application_reason
    assert db.session.get(BalanceDispute, dispute.id).case_id == case.id
    assert db.session.scalar(select(Task).where(Task.subject_id == case.id)) is not None
    shown = client.get(f"/admin/balance_dispute/resolve/{dispute.id}").get_data(as_text=True)
    assert case.case_no in shown
    # A later request's dispute, escalated: the customer's open case is taken, none is added.
    req2, token2 = _make(db, world["acme"], as_of=date(2026, 10, 31))
    _dispute(db, req2, token2)
    second = db.session.scalar(select(BalanceDispute).where(BalanceDispute.request_id == req2.id))
    page = client.get(f"/admin/balance_dispute/resolve/{second.id}").get_data(as_text=True)
    assert client.post(
        f"/admin/balance_dispute/resolve/{second.id}",
        data={"csrf_token": csrf_from(page), "resolution": "escalated", "note": "并入案件"},
    ).status_code == 303  # fmt: skip
    db.session.expire_all()
    assert len(db.session.scalars(select(CollectionCase)).all()) == 1
    assert db.session.get(BalanceDispute, second.id).case_id == case.id


def test_escalation_refused_when_nothing_is_overdue(app, db, client, login_as, world):
    """A case is for overdue debt: with nothing overdue the escalation is refused, plainly."""
    from backoffice.models import CollectionCase

    req, token = _make(db, world["acme"])
    dispute = _dispute(db, req, token)
    from backoffice.models import Receivable

    for r in db.session.scalars(select(Receivable)):
        r.due_date = date.today() + timedelta(days=30)
    db.session.commit()
    helpers.login(client, world["collector"].username)
    page = client.get(f"/admin/balance_dispute/resolve/{dispute.id}").get_data(as_text=True)
    bad = client.post(
        f"/admin/balance_dispute/resolve/{dispute.id}",
        data={"csrf_token": csrf_from(page), "resolution": "escalated", "note": "转案件"},
    )
    assert bad.status_code == 400
    db.session.expire_all()
    assert db.session.scalar(select(CollectionCase)) is None
    assert db.session.get(BalanceDispute, dispute.id).status is DisputeStatus.OPEN


def test_disputed_amount_shows_apart_on_the_dashboard(app, db, client, login_as, world):
    """The dashboard shows the open disputes' amount (争议中) in the viewer's units only, and
    drops it once the dispute is resolved (the cached figures follow the disputes)."""
    from backoffice.services import balance_dispute

    req, token = _make(db, world["acme"])
    dispute = _dispute(db, req, token)

    def figure(c) -> str:
        html = c.get("/admin/").get_data(as_text=True)
        assert "争议中" in html
        return re.search(r'id="total-in-dispute">([^<]*)<', html).group(1)

    login_as("finance")
    assert "5,000.00" in figure(client)
    north = app.test_client()
    helpers.login(north, helpers.make_user("collector", units=[world["north"]]).username)
    assert "5,000.00" not in figure(north) and "0.00" in figure(north)
    east = app.test_client()
    helpers.login(east, world["collector"].username)
    assert "5,000.00" in figure(east)
    finance = helpers.make_user("finance")
    assert balance_dispute.open_disputed_total(db.session, finance) == Decimal("5000.00")
    balance_dispute.resolve(
        db.session,
        db.session.get(BalanceDispute, dispute.id),
        resolution="credit_note",
        note="已开红字发票",
        user=world["collector"],
    )
    db.session.commit()
    assert "5,000.00" not in figure(client) and "0.00" in figure(client)


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


def test_negative_form_silence_is_recorded_and_positive_ones_wait(app, db, world):
    """After the reply date, a negative-form request without an answer is recorded as "no
    disagreement received"; an unanswered positive one stays unanswered (its reminders are
    tests/jobs/test_balance_confirm_reminders.py)."""
    negative, _t1 = _make(db, world["acme"], LetterForm.NEGATIVE)
    positive, old_token = _make(db, world["acme"], LetterForm.POSITIVE)
    day = max(negative.reply_due, positive.reply_due) + timedelta(days=1)
    result = balance_confirm_followup(day.isoformat())
    assert result["no_disagreement"] == [negative.number]
    db.session.expire_all()
    assert negative.status is BalanceConfirmationStatus.NO_DISAGREEMENT
    assert negative.closed_note == "未收到不符回复"
    assert positive.status is BalanceConfirmationStatus.SENT
    assert balance_confirm_answer.find_link(db.session, old_token).revoked_at is None
    again = balance_confirm_followup(day.isoformat())  # the same day: nothing twice
    assert again == {"day": day.isoformat(), "no_disagreement": []}
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


