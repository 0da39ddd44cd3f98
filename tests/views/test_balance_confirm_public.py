"""The debtor's balance confirmation page over HTTP (issue 15): confirm, dispute, letter,
refused links, no leak between customers, identical 404s, rate limit, CSRF."""

import io
import re
import secrets
from datetime import date, timedelta
from decimal import Decimal
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import select

from backoffice.models import (
    BalanceConfirmationAccess,
    BalanceConfirmationFile,
    BalanceConfirmationLink,
    BalanceDispute,
    Notification,
)
from backoffice.models.balance_confirmation import (
    AccessKind,
    BalanceConfirmationKind,
    BalanceConfirmationStatus,
    DisputeResolution,
    DisputeStatus,
    LetterForm,
)
from backoffice.models.base import utcnow
from backoffice.services import balance_confirm, balance_dispute, contacts, customer_mail, storage
from backoffice.services.calendar import load_year
from tests import helpers
from tests.conftest import csrf_from

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# Without Redis the e-mails go out at once to the outbox (with it, as queued jobs; the
# queued path is tests/views/test_balance_confirm_mail.py and the SMTP tests).
@pytest.fixture()
def setup(app, db, no_redis):
    load_year(db.session, 2026)
    db.session.commit()
    unit = helpers.make_unit(name="华东事业部")
    collector = helpers.make_user("collector", units=[unit])
    acme = helpers.make_customer(unit, name="上海宏达机械有限公司")
    other = helpers.make_customer(unit, name="北京恒信建材有限公司")
    r1 = helpers.make_receivable(
        acme, amount="120000.00", due=date(2026, 7, 31), doc_no="INV-A1", collector_id=collector.id
    )
    r2 = helpers.make_receivable(
        acme, amount="30000.00", due=date(2026, 8, 31), doc_no="INV-A2", collector_id=collector.id
    )
    helpers.make_receivable(other, amount="777.00", due=date(2026, 8, 31), doc_no="SECRET-B1")
    contacts.add_contact(db.session, acme, "王会计", "wang@acme.example")
    db.session.commit()
    return {"acme": acme, "other": other, "r1": r1, "r2": r2, "collector": collector}


def _send(db, customer, **kw):
    with db.session.no_autoflush:
        req, token, sent = balance_confirm.create_and_send(
            db.session,
            customer=customer,
            kind=kw.pop("kind", BalanceConfirmationKind.AUDIT_LETTER),
            letter_form=kw.pop("letter_form", LetterForm.POSITIVE),
            as_of=kw.pop("as_of", date(2026, 9, 30)),
            **kw,
        )
    db.session.commit()
    customer_mail.dispatch_pending(db.session)  # as every caller does after its commit
    return req, token, sent


def _form(client, token):
    response = client.get(f"/c/{token}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True)


def test_a_request_is_sent_confirmed_and_recorded(app, db, client, setup):
    """The link goes to the billing contact; the debtor confirms; the answer is recorded with
    its IP and the link works only once."""
    req, token, sent = _send(db, setup["acme"])
    assert sent == ["wang@acme.example"]
    outbox = Path(app.config["MAIL_OUTBOX_DIR"]).glob("*.eml")
    mails = [BytesParser(policy=default).parsebytes(p.read_bytes()) for p in outbox]
    mine = [m for m in mails if token in m.get_body(("plain",)).get_content()]
    assert len(mine) == 1 and mine[0]["To"] == "wang@acme.example"
    assert "本函仅为复核账目之用" in mine[0].get_body(("plain",)).get_content()
    assert [a.get_filename() for a in mine[0].iter_attachments()] == [
        f"往来款项询证函-{req.number}.pdf"
    ]
    link = db.session.scalar(select(BalanceConfirmationLink))
    assert link.token_hash != token and len(link.token_hash) == 64  # only the hash is stored
    html = _form(client, token)
    assert "150,000.00" in html and "INV-A1" in html and "本函仅为复核账目之用" in html
    response = client.post(f"/c/{token}/confirm", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 200
    assert "回复已收到" in response.get_data(as_text=True)
    db.session.expire_all()
    req = db.session.get(type(req), req.id)
    assert req.status is BalanceConfirmationStatus.CONFIRMED
    assert req.debtor_balance == Decimal("150000.00")
    assert req.answer_ip == "127.0.0.1"
    kinds = [a.kind for a in db.session.scalars(select(BalanceConfirmationAccess))]
    assert kinds == [AccessKind.VIEW, AccessKind.CONFIRM]
    # Reused: the page and a second answer are both refused with a plain Chinese page.
    again = client.get(f"/c/{token}")
    assert again.status_code == 410 and "已收到贵公司的回复" in again.get_data(as_text=True)
    second = client.post(f"/c/{token}/confirm", data={"csrf_token": csrf_from(html)})
    assert second.status_code == 410


def test_a_dispute_on_two_lines_with_an_upload_goes_to_the_collector_and_is_resolved(
    app, db, client, setup, login_as
):
    """Two disputed lines (one with a file) make a dispute for the collector, who resolves it."""
    req, token, _sent = _send(db, setup["acme"])
    html = _form(client, token)
    lines = {line.doc_no: line.id for line in req.lines}
    a1, a2 = lines["INV-A1"], lines["INV-A2"]
    data = {
        "csrf_token": csrf_from(html),
        "debtor_balance": "140,000.00",
        "note": "部分货物质量问题",
        f"line-{a1}": "on",
        f"amount-{a1}": "8000",
        f"reason-{a1}": "quality",
        f"note-{a1}": "第3批次退货",
        f"file-{a1}": (io.BytesIO(PDF), "退货单.pdf"),
        f"line-{a2}": "on",
        f"amount-{a2}": "2000",
        f"reason-{a2}": "already_paid",
    }
    response = client.post(f"/c/{token}/dispute", data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    dispute = db.session.scalar(select(BalanceDispute))
    assert dispute.collector_id == setup["collector"].id
    assert dispute.difference == Decimal("10000.00")
    assert dispute.disputed_amount == Decimal("10000.00")
    assert dispute.deadline > date(2026, 1, 1)
    assert sorted(line.reason.value for line in dispute.lines) == ["already_paid", "quality"]
    evidence = db.session.scalar(select(BalanceConfirmationFile))
    assert evidence.original_name == "退货单.pdf"
    with storage.get_storage().read_verified(evidence.storage_key, evidence.sha256) as kept:
        assert kept.read() == PDF
    assert db.session.scalar(
        select(Notification).where(Notification.user_id == setup["collector"].id)
    )
    assert balance_dispute.open_disputed_total(db.session) == Decimal("10000.00")
    # The collector resolves it through the service.
    collector = setup["collector"]
    balance_dispute.resolve(
        db.session,
        dispute,
        resolution=DisputeResolution.CREDIT_NOTE,
        note="已开红字发票 8000 元",
        user=collector,
    )
    db.session.commit()
    assert dispute.status is DisputeStatus.RESOLVED
    assert balance_dispute.open_disputed_total(db.session) == Decimal("0.00")


def test_a_bad_upload_is_refused_and_the_link_stays_usable(app, db, client, setup):
    """An HTML file disguised as a PDF is refused; nothing is recorded; the link still works."""
    req, token, _sent = _send(db, setup["acme"])
    html = _form(client, token)
    a1 = req.lines[0].id
    response = client.post(
        f"/c/{token}/dispute",
        data={
            "csrf_token": csrf_from(html),
            "debtor_balance": "1",
            f"line-{a1}": "on",
            f"reason-{a1}": "price",
            f"file-{a1}": (io.BytesIO(b"<html><script>alert(1)</script></html>"), "x.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert db.session.scalar(select(BalanceDispute)) is None
    assert db.session.scalar(select(BalanceConfirmationLink)).used_at is None
    assert client.get(f"/c/{token}").status_code == 200


def test_the_signed_letter_can_be_uploaded(app, db, client, setup):
    """Uploading the signed and sealed letter answers the request and keeps the file hashed."""
    req, token, _sent = _send(db, setup["acme"])
    html = _form(client, token)
    response = client.post(
        f"/c/{token}/letter",
        data={"csrf_token": csrf_from(html), "letter": (io.BytesIO(PDF), "回函.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert req.status is BalanceConfirmationStatus.LETTER_RETURNED
    assert req.files[0].sha256 and req.files[0].purpose.value == "signed_letter"


def test_expired_and_revoked_links_get_plain_chinese_pages(app, db, client, setup):
    """An expired and a revoked link are refused with a page that says which, in Chinese."""
    _req, token, _sent = _send(db, setup["acme"])
    link = db.session.scalar(select(BalanceConfirmationLink))
    link.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = client.get(f"/c/{token}")
    assert response.status_code == 410 and "链接已过期" in response.get_data(as_text=True)
    req2, token2, _sent = _send(db, setup["other"])
    finance = helpers.make_user("finance")
    balance_confirm.revoke_link(db.session, req2.links[0], finance)
    db.session.commit()
    response = client.get(f"/c/{token2}")
    assert response.status_code == 410 and "链接已作废" in response.get_data(as_text=True)
    refused = [a.kind for a in db.session.scalars(select(BalanceConfirmationAccess))]
    assert AccessKind.REFUSED_EXPIRED in refused and AccessKind.REFUSED_REVOKED in refused


def test_a_token_for_customer_a_never_shows_customer_b(app, db, client, setup):
    """A's page shows A's documents only; a forged line id of B is refused."""
    _req, token, _sent = _send(db, setup["acme"])
    html = _form(client, token)
    assert "上海宏达机械" in html
    assert "北京恒信" not in html and "SECRET-B1" not in html and "777.00" not in html
    other_req, _t, _s = _send(db, setup["other"])
    foreign = other_req.lines[0].id
    response = client.post(
        f"/c/{token}/dispute",
        data={
            "csrf_token": csrf_from(html),
            "debtor_balance": "1",
            f"line-{foreign}": "on",
            f"reason-{foreign}": "price",
        },
    )
    assert response.status_code == 400  # "choose at least one document": B's line is ignored
    assert "SECRET-B1" not in response.get_data(as_text=True)


def test_one_thousand_random_tokens_get_the_same_404(app, db, client, setup):
    """Unknown tokens, long or short, and a real token's neighbours all answer the same 404 page
    as any address that does not exist."""
    _req, token, _sent = _send(db, setup["acme"])
    reference = client.get("/no-such-page-at-all")
    assert reference.status_code == 404
    bodies = {reference.get_data()}
    for i in range(1000):
        probe = secrets.token_urlsafe(32) if i % 3 else secrets.token_urlsafe(i % 90 + 1)
        response = client.get(f"/c/{probe}")
        assert response.status_code == 404
        bodies.add(response.get_data())
    near = token[:-1] + ("A" if token[-1] != "A" else "B")
    bodies.add(client.get(f"/c/{near}").get_data())
    assert len(bodies) == 1


def test_the_page_is_rate_limited_per_ip(app, db, client, setup, redis_conn):
    """Past the limit an address gets 429 with Retry-After; another address still gets in."""
    _req, token, _sent = _send(db, setup["acme"])
    previous = app.config["BALANCE_CONFIRM_RATE_LIMIT"]
    app.config["BALANCE_CONFIRM_RATE_LIMIT"] = 5
    try:
        codes = [client.get(f"/c/{token}").status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        assert "Retry-After" in client.get(f"/c/{token}").headers
        other = client.get(f"/c/{token}", environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert other.status_code == 200
    finally:
        app.config["BALANCE_CONFIRM_RATE_LIMIT"] = previous


def test_answers_need_the_csrf_token(app, db, client, setup):
    """A confirmation posted without the form's CSRF token is refused and changes nothing."""
    req, token, _sent = _send(db, setup["acme"])
    response = client.post(f"/c/{token}/confirm", data={})
    assert response.status_code == 400
    db.session.expire_all()
    assert req.status is BalanceConfirmationStatus.SENT


def test_page_sends_no_referrer_and_is_not_cached(app, db, client, setup):
    """The token must not leak through the Referer header or a cache."""
    _req, token, _sent = _send(db, setup["acme"])
    response = client.get(f"/c/{token}")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response.headers["Cache-Control"]
    assert re.search(r"<form[^>]+/c/[^\"]+/confirm", response.get_data(as_text=True))


def test_two_answers_at_once_take_the_link_once(app, db, setup):
    """Two confirmations sent at the same moment: one is recorded, the other is refused as a
    used link; the request has exactly one answer."""
    from backoffice.extensions import db as _db
    from backoffice.services import balance_confirm_answer as answer

    req, token, _sent = _send(db, setup["acme"])

    def work(n, together):
        link = answer.find_link(_db.session, token)
        assert answer.state_of(link) is answer.LinkState.OPEN
        together()
        try:
            answer.confirm(_db.session, link, answer.Visitor(f"10.0.0.{n + 1}"))
            _db.session.commit()
            return "confirmed"
        except answer.LinkRefused as exc:
            _db.session.rollback()
            return exc.state.value

    results = helpers.race(app, work)
    assert sorted(results) == ["confirmed", "used"]
    db.session.expire_all()
    kinds = [a.kind for a in db.session.scalars(select(BalanceConfirmationAccess))]
    assert kinds.count(AccessKind.CONFIRM) == 1
    assert db.session.get(type(req), req.id).status is BalanceConfirmationStatus.CONFIRMED
