"""The auditors' confirmations register per year (issue 15): counts, reply rate, agreed share,
filters, the XLSX with real numbers and dates, who may open it."""

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from backoffice.models import AuditLog
from backoffice.services import balance_register
from backoffice.services.balance_register import Filters
from tests import balance_world, helpers

URL = "/admin/balance-register/"


@pytest.fixture()
def world(app, db):
    return balance_world.build()


def test_the_register_counts_every_state_with_the_reply_rate_and_agreed_share(
    client, login_as, world
):
    """Eight requests: 3 answered of 8 asked (37.5%), the confirmed balance over the total."""
    auditor = login_as("auditor")
    reqs = balance_register.requests(__import__("backoffice").extensions.db.session, auditor,
                                     Filters(2026))  # fmt: skip
    summary = balance_register.summarize(reqs)
    assert summary.sent.n == 8
    assert (summary.confirmed.n, summary.disputed.n, summary.letter_returned.n) == (2, 1, 1)
    assert summary.answered.n == 4 and summary.no_disagreement.n == 1
    assert summary.unanswered.n == 3  # sent, link expired, link revoked
    assert summary.reply_rate == Decimal("0.5000")
    made = world["requests"]
    agreed = made["confirmed"].balance + made["reconciliation"].balance
    total = sum((r.balance for r in made.values()), Decimal(0))
    assert summary.agreed_share == (agreed / total).quantize(Decimal("0.0001"))
    html = client.get(URL, query_string={"year": 2026}).get_data(as_text=True)
    assert "50.0%" in html and made["disputed"].number in html
    assert "回函率" in html or "Reply rate" in html
    for raw in ("letter_returned", "no_disagreement", "audit_letter", "True", "False", "+00:00"):
        assert f">{raw}<" not in html, raw


def test_filters_by_kind_form_and_state(client, login_as, world):
    """The page lists only the kind, form and state asked for."""
    login_as("finance")
    made = world["requests"]
    html = client.get(URL, query_string={"year": 2026, "status": "disputed"}).get_data(as_text=True)
    assert made["disputed"].number in html and made["confirmed"].number not in html
    html = client.get(URL, query_string={"year": 2026, "form": "negative"}).get_data(as_text=True)
    assert made["no_disagreement"].number in html and made["sent"].number not in html
    html = client.get(URL, query_string={"year": 2026, "kind": "reconciliation"}).get_data(
        as_text=True
    )
    assert made["reconciliation"].number in html and made["revoked"].number not in html


def test_the_page_reads_kind_and_form_in_one_cell_and_the_list_too(client, login_as, world):
    """The register page and the confirmations list say 积极式询证函 / 消极式询证函 / 对账确认
    in one column, so both fit 1366 px (issue 11); the XLSX keeps both columns."""
    login_as("finance")
    made = world["requests"]
    html = client.get(URL, query_string={"year": 2026}).get_data(as_text=True)
    for page in (html, client.get("/admin/balance_confirmation_request/").get_data(as_text=True)):
        assert "积极式询证函" in page and "消极式询证函" in page and "对账确认" in page
        assert "积极式（须回复）" not in page.split("<table")[-1]  # only in the filter menus
    row = html[html.index(made["no_disagreement"].number) :].split("</tr>")[0]
    assert row.count("</td>") == len(balance_register.headers()) - 1  # one column fewer


def test_the_xlsx_has_numbers_dates_labels_a_chinese_sheet_and_a_dated_name(
    client, login_as, db, world
):
    """Amounts are numbers, dates are dates, states are labels; the export is audited."""
    login_as("auditor")
    response = client.get(f"{URL}register.xlsx", query_string={"year": 2026})
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition and date.today().isoformat()[:4] in disposition
    wb = load_workbook(io.BytesIO(response.data))
    ws = wb.active
    assert ws.title == "往来询证登记簿"
    rows = list(ws.iter_rows(values_only=True))
    body = rows[2:-1]
    assert len(body) == 8
    disputed = next(r for r in body if r[0] == world["requests"]["disputed"].number)
    assert isinstance(disputed[6], float | int) and disputed[6] > 0
    assert isinstance(disputed[5], datetime) and disputed[5].date() == date(2026, 9, 30)
    assert disputed[7] == "债务人有异议"
    assert isinstance(disputed[12], float | int) and disputed[12] > 0
    assert rows[-1][6] == pytest.approx(float(sum(r[6] for r in body)))
    assert db.session.scalar(
        select(AuditLog).where(AuditLog.entity == "balance_confirmation_register")
    )


def test_a_collector_sees_only_their_units_requests(client, login_as, world):
    """Row scope: the collector of 华东 does not see the 华北 customer's request."""
    login_as("collector", units=[world["east"]])
    html = client.get(URL, query_string={"year": 2026}).get_data(as_text=True)
    north = [r for r in world["requests"].values() if r.sales_unit_id == world["north"].id]
    east = [r for r in world["requests"].values() if r.sales_unit_id == world["east"].id]
    assert north and east
    assert all(r.number in html for r in east)
    assert not any(r.number in html for r in north)


@pytest.mark.parametrize("role", ["legal", "credit"])
def test_roles_without_a_part_in_confirmations_are_refused(client, login_as, world, role):
    """Legal and credit get 403 on the page and on the export."""
    login_as(role)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}register.xlsx").status_code == 403


def test_strangers_go_to_the_login_page(client, world):
    """Not logged in: redirected to log in."""
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_auditor_verifies_the_years_replies_from_the_register(app, client, login_as, db, world):
    """The year's package is listed; Verify says intact, then names a reply edited behind the
    application (and the failure is an audited alert); finance may not verify."""
    from sqlalchemy import update

    from backoffice.models import BalanceConfirmationRequest
    from backoffice.services import balance_archive
    from tests.conftest import csrf_from

    package = balance_archive.seal_replies(db.session, 2026)
    login_as("auditor")
    html = client.get(URL, query_string={"year": 2026}).get_data(as_text=True)
    assert package.archive_no in html
    url = f"{URL}verify/{package.id}"
    ok = client.post(url, data={"csrf_token": csrf_from(html)}).get_data(as_text=True)
    assert "package-intact" in ok and "package-failed" not in ok
    req = world["requests"]["confirmed"]
    db.session.execute(
        update(BalanceConfirmationRequest)
        .where(BalanceConfirmationRequest.id == req.id)
        .values(debtor_note="篡改")
    )
    db.session.commit()
    bad = client.post(url, data={"csrf_token": csrf_from(html)}).get_data(as_text=True)
    assert "package-failed" in bad and "debtor_note" in bad
    assert db.session.scalar(
        select(AuditLog).where(AuditLog.entity == "balance_confirmation_archive")
    )
    other = helpers.fresh_client(app)
    helpers.login(other, helpers.make_user("finance").username)
    page = other.get(URL, query_string={"year": 2026}).get_data(as_text=True)
    assert package.archive_no not in page or "Verify" not in page
    assert other.post(url, data={"csrf_token": csrf_from(page)}).status_code == 403
