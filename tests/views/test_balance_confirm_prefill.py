"""Art.14 link (issue 15): a customer's confirmed or disputed balance shows beside its lines
on the monthly confirmation form, and the collector's answer starts from it."""

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice.models import ConfirmationForm, OverdueReason
from backoffice.models.balance_confirmation import (
    BalanceConfirmationKind,
    DisputeReason,
    LetterForm,
)
from backoffice.models.monthly import ConfirmationLine, ReasonClass
from backoffice.services import balance_confirm
from backoffice.services import balance_confirm_answer as answer
from backoffice.services.calendar import load_year
from backoffice.services.reference import ensure_reference_data
from jobs.monthly import run_period
from tests import helpers
from tests.conftest import csrf_from

VISITOR = answer.Visitor(ip="198.51.100.7")


def _ask(db, customer):
    req = balance_confirm.create_request(
        db.session,
        customer=customer,
        kind=BalanceConfirmationKind.AUDIT_LETTER,
        letter_form=LetterForm.POSITIVE,
        as_of=date(2026, 9, 30),
    )
    return req, answer.find_link(db.session, balance_confirm.issue_link(db.session, req))


@pytest.fixture()
def world(app, db):
    load_year(db.session, 2026)
    ensure_reference_data(db.session)
    db.session.commit()
    east = helpers.make_unit(name="华东事业部")
    acme = helpers.make_customer(east, name="上海宏达机械有限公司")
    suzhou = helpers.make_customer(east, name="苏州恒通电气有限公司")
    helpers.make_receivable(acme, amount="120000.00", due=date(2026, 7, 31), doc_no="INV-A1")
    helpers.make_receivable(acme, amount="30000.00", due=date(2026, 8, 31), doc_no="INV-A3")
    helpers.make_receivable(suzhou, amount="50000.00", due=date(2026, 8, 15), doc_no="INV-S1")
    db.session.commit()
    req, link = _ask(db, acme)
    a1 = next(line for line in req.lines if line.doc_no == "INV-A1")
    answer.dispute(
        db.session,
        link,
        VISITOR,
        debtor_balance=Decimal("142000.00"),
        lines=[
            answer.DisputedLine(a1.id, Decimal("8000.00"), DisputeReason.QUALITY, "第3批次退货")
        ],
    )
    ok, ok_link = _ask(db, suzhou)
    answer.confirm(db.session, ok_link, VISITOR)
    db.session.commit()
    run_period("2026-10", inline=True)
    db.session.commit()
    form_id = db.session.scalar(select(ConfirmationForm.id))
    return {"east": east, "form": form_id, "disputed": req, "confirmed": ok}


def _line(db, doc_no):
    db.session.expire_all()
    return db.session.scalar(
        select(ConfirmationLine)
        .join(ConfirmationLine.receivable)
        .where(ConfirmationLine.receivable.property.mapper.class_.doc_no == doc_no)
    )


def _selected(html, name):
    m = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    chosen = re.search(r'<option value="([^"]*)"[^>]*selected', m.group(1)) if m else None
    return chosen.group(1) if chosen else None


def _input(html, name):
    m = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{re.escape(name)}"', html
    )
    return m.group(1) if m else None


def test_the_collector_starts_from_the_debtors_answer(client, login_as, db, world):
    """The disputed document: external, 品质问题, recoverable less the dispute, the debtor's
    words; the confirmed customer's document: unjustified delay, all recoverable; the
    answers are shown beside the lines; saving with the dates keeps them."""
    login_as("collector", units=[world["east"]])
    url = f"/admin/confirmation_form/answer/{world['form']}"
    html = client.get(url).get_data(as_text=True)
    a1, a3, s1 = _line(db, "INV-A1"), _line(db, "INV-A3"), _line(db, "INV-S1")
    assert world["disputed"].number in html and world["confirmed"].number in html
    assert "142,000.00" in html and "第3批次退货" in html
    quality = db.session.scalar(select(OverdueReason.id).where(OverdueReason.label == "品质问题"))
    assert _selected(html, f"l{a1.id}.reason_class") == ReasonClass.EXTERNAL.value
    assert _selected(html, f"l{a1.id}.sub_reason_id") == str(quality)
    assert _input(html, f"l{a1.id}.estimated_recoverable") == "112000.00"
    delay = db.session.scalar(
        select(OverdueReason.id).where(OverdueReason.label == "客户无故拖欠货款")
    )
    assert _selected(html, f"l{s1.id}.sub_reason_id") == str(delay)
    assert _input(html, f"l{s1.id}.estimated_recoverable") == "50000.00"
    assert _selected(html, f"l{a3.id}.sub_reason_id") == str(delay)  # not disputed
    data = {"csrf_token": csrf_from(html), "op": "save"}
    for line in (a1, a3, s1):
        for field in ("reason_class", "sub_reason_id", "estimated_recoverable", "comment"):
            key = f"l{line.id}.{field}"
            data[key] = _selected(html, key) or _input(html, key) or ""
        data[f"l{line.id}.expected_date"] = "2026-11-30"
    data[f"l{a1.id}.comment"] = "客户异议：第3批次退货"
    response = client.post(url, data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    saved = _line(db, "INV-A1")
    assert saved.estimated_recoverable == Decimal("112000.00")
    assert saved.sub_reason_id == quality


def test_a_form_without_confirmations_is_not_prefilled(client, login_as, db, world):
    """A line whose customer never answered keeps empty inputs (nothing is guessed)."""
    from backoffice.models.balance_confirmation import BalanceConfirmationRequest

    for req in db.session.scalars(select(BalanceConfirmationRequest)):
        req.as_of = date(2026, 12, 31)  # after the form: not yet known to it
    db.session.commit()
    login_as("collector", units=[world["east"]])
    html = client.get(f"/admin/confirmation_form/answer/{world['form']}").get_data(as_text=True)
    a1 = _line(db, "INV-A1")
    assert not _selected(html, f"l{a1.id}.reason_class")
    assert "debtor-answer" not in html
