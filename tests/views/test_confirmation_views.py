"""Confirmation pages over HTTP (Art.13–15): answer, save, submit (locked), return, re-answer,
route with an override; scope (404), permissions (403), CSRF (400), audited scoped downloads."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from backoffice.models import AuditLog, ConfirmationForm, OverdueReason, Task
from backoffice.models.monthly import (
    ConfirmationLine,
    FormStatus,
    MonthlyReport,
    ReasonClass,
    Route,
    Statement,
)
from backoffice.models.notification import Notification, TaskKind
from backoffice.services import confirmation as conf
from backoffice.services.calendar import load_year
from backoffice.services.reference import ensure_reference_data
from jobs.monthly import run_period
from tests import helpers
from tests.conftest import csrf_from


@pytest.fixture()
def cycle(app, db):
    """Two units with overdue receivables, the 2026-10 run done, a user per role."""
    load_year(db.session, 2026)
    ensure_reference_data(db.session)
    db.session.commit()
    east = helpers.make_unit(name="华东事业部")
    north = helpers.make_unit(company=east.company, name="华北事业部")
    acme = helpers.make_customer(east, name="上海宏达机械有限公司")
    beta = helpers.make_customer(north, name="北京恒信建材有限公司")
    helpers.make_receivable(acme, amount="120000.00", due=date(2026, 7, 31), doc_no="INV-A1")
    helpers.make_receivable(acme, amount="30000.00", due=date(2026, 8, 31), doc_no="INV-A3")
    helpers.make_receivable(beta, amount="88000.50", due=date(2026, 9, 15), doc_no="INV-B1")
    run_period("2026-10", inline=True)
    db.session.commit()
    forms = {
        f.sales_unit_id: f.id for f in db.session.scalars(select(ConfirmationForm))
    }  # fmt: skip
    return {
        "east": east,
        "north": north,
        "form": forms[east.id],
        "north_form": forms[north.id],
        "collector": helpers.make_user("collector", units=[east]),
        "other": helpers.make_user("collector", units=[north]),
        "finance": helpers.make_user("finance"),
        "auditor": helpers.make_user("auditor"),
    }


def client_for(app, user):
    """A logged-in client whose requests each run in an app context of their own."""
    client = helpers.fresh_client(app)
    helpers.login(client, user.username)
    return client


def reason_id(db, label: str) -> int:
    return db.session.scalar(select(OverdueReason.id).where(OverdueReason.label == label))


def lines_of(db, form_id: int) -> list[ConfirmationLine]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(ConfirmationLine)
            .where(ConfirmationLine.form_id == form_id)
            .order_by(ConfirmationLine.id)
        )
    )


def status_of(db, form_id: int) -> FormStatus:
    db.session.expire_all()
    return db.session.get(ConfirmationForm, form_id).status


def answer_data(line_id: int, label_id: int, cls: str, amount: str, when: str = "2026-11-30"):
    p = f"l{line_id}."
    return {
        p + "reason_class": cls,
        p + "sub_reason_id": str(label_id),
        p + "estimated_recoverable": amount,
        p + "expected_date": when,
        p + "comment": "",
    }


def post(client, url: str, data: dict, token_page: str | None = None):
    token = csrf_from(client.get(token_page or url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def test_collector_answers_saves_submits_and_is_locked(app, db, cycle):
    """A collector saves one answer, submits when all are answered, and cannot change it after."""
    client = client_for(app, cycle["collector"])
    url = f"/admin/confirmation_form/answer/{cycle['form']}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "INV-A1" in html and "INV-A3" in html and "INV-B1" not in html
    first, second = lines_of(db, cycle["form"])
    external = reason_id(db, "客户无故拖欠货款")

    saved = post(
        client, url, {**answer_data(first.id, external, "external", "50,000"), "op": "save"}
    )
    assert saved.status_code == 303
    first, second = lines_of(db, cycle["form"])
    assert first.reason_class is ReasonClass.EXTERNAL and str(first.estimated_recoverable) in (
        "50000",
        "50000.00",
    )
    assert first.proposed_route is Route.COLLECT and second.reason_class is None

    refused = post(
        client, url, {**answer_data(first.id, external, "external", "50000"), "op": "submit"}
    )
    # The collector uses the default Chinese UI: "1 line(s) are not answered yet" in Chinese.
    assert refused.status_code == 400 and "行未反馈" in refused.get_data(as_text=True)
    assert status_of(db, cycle["form"]) is FormStatus.ISSUED

    data = {
        **answer_data(first.id, external, "external", "50000"),
        **answer_data(second.id, reason_id(db, "财务记账差异"), "internal", "30000"),
        "op": "submit",
    }
    assert post(client, url, data).status_code == 303
    assert status_of(db, cycle["form"]) is FormStatus.SUBMITTED
    locked = client.get(url).get_data(as_text=True)
    assert 'name="op" value="save"' not in locked and "disabled" in locked

    change = {**data, **answer_data(first.id, external, "external", "1.00"), "op": "save"}
    response = post(client, url, change)
    assert response.status_code == 409
    first, _second = lines_of(db, cycle["form"])
    assert first.estimated_recoverable == 50000  # unchanged
    assert status_of(db, cycle["form"]) is FormStatus.SUBMITTED


def test_errors_are_shown_per_line_and_typed_values_kept(app, db, cycle):
    """A refused line shows its error with what was typed; the valid line is saved."""
    client = client_for(app, cycle["collector"])
    url = f"/admin/confirmation_form/answer/{cycle['form']}"
    first, second = lines_of(db, cycle["form"])
    data = {
        **answer_data(first.id, reason_id(db, "单价差异"), "external", "1000"),
        # 单价差异 is an external reason: refused for class internal
        **answer_data(second.id, reason_id(db, "单价差异"), "internal", "777.77", "2026-12-24"),
        "op": "save",
    }
    response = post(client, url, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    # The collector uses the default Chinese UI: the service's refusal reads in Chinese.
    assert f'id="line-{second.id}-error"' in html and "“单价差异”不属于“内部原因”类别" in html
    assert 'value="777.77"' in html and 'value="2026-12-24"' in html
    first, second = lines_of(db, cycle["form"])
    assert first.reason_class is ReasonClass.EXTERNAL and second.reason_class is None


def test_apply_to_selected_lines_answers_many_at_once(app, db, cycle):
    """The bulk values fill every ticked line and are saved."""
    client = client_for(app, cycle["collector"])
    url = f"/admin/confirmation_form/answer/{cycle['form']}"
    lines = lines_of(db, cycle["form"])
    data = {
        "selected": [str(line.id) for line in lines],
        "bulk.reason_class": "external",
        "bulk.sub_reason_id": str(reason_id(db, "品质问题")),
        "bulk.estimated_recoverable": "100",
        "bulk.amount_mode": "amount",
        "bulk.expected_date": "2026-12-15",
        "op": "apply",
    }
    assert post(client, url, data).status_code == 303
    lines = lines_of(db, cycle["form"])
    assert all(line.sub_reason.label == "品质问题" for line in lines)
    assert all(line.estimated_recoverable == 100 for line in lines)  # fits both lines
    assert all(line.expected_date == date(2026, 12, 15) for line in lines)
    assert all(line.proposed_route is Route.DIVISION_COLLECTOR for line in lines)


def test_last_months_answer_is_shown_with_changes_highlighted(app, db, cycle):
    """Under each line the page shows last month's answer; changed fields are marked."""
    run_period("2026-09", inline=True)
    db.session.commit()
    september = db.session.scalar(
        select(ConfirmationForm).where(
            ConfirmationForm.period == "2026-09",
            ConfirmationForm.sales_unit_id == cycle["east"].id,
        )
    )
    old = september.lines[0]
    conf.answer_line(
        db.session,
        old,
        conf.Answer(ReasonClass.EXTERNAL, reason_id(db, "单价差异"), old.outstanding_at_close,
                    date(2026, 10, 31), "上月说明"),
    )  # fmt: skip
    db.session.commit()
    client = client_for(app, cycle["collector"])
    url = f"/admin/confirmation_form/answer/{cycle['form']}"
    line = next(x for x in lines_of(db, cycle["form"]) if x.receivable_id == old.receivable_id)
    data = answer_data(line.id, reason_id(db, "单价差异"), "external", "10", "2026-12-31")
    assert post(client, url, {**data, "op": "save"}).status_code == 303
    html = client.get(url).get_data(as_text=True)
    row = html[html.index(f'id="line-{line.id}"') :]
    row = row[: row.index("</tr>")]
    assert "上月说明" in row and "2026-10-31" in row
    assert '<span class="changed">2026-10-31</span>' in row  # the date changed
    assert '<span class="">单价差异</span>' in row  # the reason did not


def test_finance_returns_collector_reanswers_finance_routes(app, db, cycle):
    """Finance returns a submitted form with a reason, the collector re-answers and resubmits,
    finance routes with one line overridden; tasks follow the routes."""
    collector = client_for(app, cycle["collector"])
    finance = client_for(app, cycle["finance"])
    answer_url = f"/admin/confirmation_form/answer/{cycle['form']}"
    route_url = f"/admin/confirmation_form/route/{cycle['form']}"
    first, second = lines_of(db, cycle["form"])
    external = reason_id(db, "客户无故拖欠货款")
    data = {
        **answer_data(first.id, external, "external", "50000"),
        **answer_data(second.id, external, "external", "30000"),
        "op": "submit",
    }
    assert post(collector, answer_url, data).status_code == 303

    listing = finance.get("/admin/confirmation_form/").get_data(as_text=True)
    assert route_url in listing  # the list links the routing page
    refused = post(finance, f"/admin/confirmation_form/return/{cycle['form']}", {"reason": " "},
                   route_url)  # fmt: skip
    assert refused.status_code == 400 and status_of(db, cycle["form"]) is FormStatus.SUBMITTED
    returned = post(finance, f"/admin/confirmation_form/return/{cycle['form']}",
                    {"reason": "INV-A3 金额有误"}, route_url)  # fmt: skip
    assert returned.status_code == 303 and status_of(db, cycle["form"]) is FormStatus.RETURNED

    page = collector.get(answer_url).get_data(as_text=True)
    assert "INV-A3 金额有误" in page and 'value="submit"' in page  # unlocked, says why
    data.update(answer_data(second.id, reason_id(db, "财务记账差异"), "internal", "29000"))
    assert post(collector, answer_url, data).status_code == 303
    assert status_of(db, cycle["form"]) is FormStatus.SUBMITTED

    page = finance.get(route_url).get_data(as_text=True)
    assert 'data-proposed="collect"' in page and 'data-proposed="finance"' in page
    routed = post(finance, route_url, {f"route.{first.id}": "collect",
                                       f"route.{second.id}": "collector"})  # fmt: skip
    assert routed.status_code == 303
    assert status_of(db, cycle["form"]) is FormStatus.ROUTED
    first, second = lines_of(db, cycle["form"])
    assert first.route is Route.COLLECT and second.route is Route.COLLECTOR  # overridden
    assert second.proposed_route is Route.FINANCE
    tasks = db.session.scalar(
        select(func.count()).select_from(Task).where(Task.kind == TaskKind.FOLLOW_UP)
    )
    assert tasks == 2
    again = post(finance, route_url, {f"route.{first.id}": "finance"})
    assert again.status_code == 409  # routed once only


def test_other_units_collector_gets_404(app, db, cycle):
    """A collector of another unit cannot see, answer or download the form."""
    client = client_for(app, cycle["other"])
    form_id = cycle["form"]
    assert client.get(f"/admin/confirmation_form/answer/{form_id}").status_code == 404
    assert client.get(f"/admin/confirmation_form/route/{form_id}").status_code == 404
    assert client.get(f"/admin/confirmation_form/download/{form_id}").status_code == 404
    own = f"/admin/confirmation_form/answer/{cycle['north_form']}"
    token = csrf_from(client.get(own).get_data(as_text=True))
    line = lines_of(db, form_id)[0]
    data = {**answer_data(line.id, reason_id(db, "品质问题"), "external", "1"), "csrf_token": token}
    response = client.post(f"/admin/confirmation_form/answer/{form_id}", data=data)
    assert response.status_code == 404
    assert lines_of(db, form_id)[0].reason_class is None


def test_auditor_reads_but_gets_403_on_posts(app, db, cycle):
    """The auditor may open the pages read-only, and is refused every change."""
    client = client_for(app, cycle["auditor"])
    url = f"/admin/confirmation_form/answer/{cycle['form']}"
    page = client.get(url)
    assert page.status_code == 200 and 'value="save"' not in page.get_data(as_text=True)
    line = lines_of(db, cycle["form"])[0]
    data = answer_data(line.id, reason_id(db, "品质问题"), "external", "1")
    assert post(client, url, {**data, "op": "save"}).status_code == 403
    route = f"/admin/confirmation_form/route/{cycle['form']}"
    assert post(client, route, {}).status_code == 403
    ret = f"/admin/confirmation_form/return/{cycle['form']}"
    assert post(client, ret, {"reason": "x"}, route).status_code == 403
    assert lines_of(db, cycle["form"])[0].reason_class is None


def test_post_without_csrf_token_is_refused(app, db, cycle):
    """An answer POST without the CSRF token answers 400 and changes nothing."""
    client = client_for(app, cycle["collector"])
    line = lines_of(db, cycle["form"])[0]
    data = {**answer_data(line.id, reason_id(db, "品质问题"), "external", "1"), "op": "submit"}
    response = client.post(f"/admin/confirmation_form/answer/{cycle['form']}", data=data)
    assert response.status_code == 400
    assert lines_of(db, cycle["form"])[0].reason_class is None


def _downloads(db, cycle):
    report = db.session.scalar(
        select(MonthlyReport).where(MonthlyReport.sales_unit_id == cycle["east"].id)
    )
    statement = db.session.scalar(
        select(Statement).where(Statement.sales_unit_id == cycle["east"].id)
    )
    return [
        (f"/admin/confirmation_form/download/{cycle['form']}",
         "逾期账款确认表-华东事业部-2026-10.pdf", b"%PDF"),
        (f"/admin/monthly_report/download/{report.id}/pdf",
         "逾期账款报表-华东事业部-2026-10.pdf", b"%PDF"),
        (f"/admin/monthly_report/download/{report.id}/xlsx",
         "逾期账款报表-华东事业部-2026-10.xlsx", b"PK"),
        (f"/admin/statement/download/{statement.id}/pdf",
         "对账单-上海宏达机械有限公司-2026-10.pdf", b"%PDF"),
    ]  # fmt: skip


def test_downloads_are_attachments_with_chinese_names_and_audited(app, db, cycle):
    """Form, report and statement download with a Chinese filename* and an audit entry."""
    client = client_for(app, cycle["collector"])
    for url, name, magic in _downloads(db, cycle):
        response = client.get(url)
        assert response.status_code == 200, url
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment")
        assert f"filename*=UTF-8''{quote(name)}" in disposition
        assert response.data.startswith(magic)
    db.session.expire_all()
    audited = db.session.scalars(select(AuditLog.detail).where(AuditLog.action == "download"))
    assert {name for _url, name, _magic in _downloads(db, cycle)} <= set(audited)


def test_downloads_are_scoped(app, db, cycle):
    """Another unit's collector gets 404 for every file of this unit."""
    client = client_for(app, cycle["other"])
    for url, _name, _magic in _downloads(db, cycle):
        assert client.get(url).status_code == 404, url


def test_lists_link_the_pages_and_files(app, db, cycle):
    """The form list links answering for the collector; report and statement lists link files."""
    client = client_for(app, cycle["collector"])
    html = client.get("/admin/confirmation_form/").get_data(as_text=True)
    assert f"/admin/confirmation_form/answer/{cycle['form']}" in html
    assert f"/admin/confirmation_form/answer/{cycle['north_form']}" not in html
    assert "/admin/monthly_report/download/" in client.get("/admin/monthly_report/").get_data(
        as_text=True
    )
    assert "/admin/statement/download/" in client.get("/admin/statement/").get_data(as_text=True)


def test_notification_is_marked_read_and_opens_its_link(app, db, cycle):
    """Opening an inbox entry marks it read and follows its link; others' entries are 404."""
    note = Notification(
        user_id=cycle["collector"].id, title="请回复确认表", link="/admin/confirmation_form/"
    )
    foreign = Notification(user_id=cycle["other"].id, title="x", link="https://evil.example/")
    db.session.add_all([note, foreign])
    db.session.commit()
    client = client_for(app, cycle["collector"])
    response = post(client, f"/admin/notification/read/{note.id}", {}, "/admin/notification/")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/confirmation_form/")
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read_at is not None
    response = post(client, f"/admin/notification/read/{foreign.id}", {}, "/admin/notification/")
    assert response.status_code == 404
    assert db.session.get(Notification, foreign.id).read_at is None


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "form.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_answered_and_routed_form_downloads_with_its_answers(app, db, cycle, tmp_path):
    """Annex 1 downloads blank while unanswered, then with each line's answer and its route."""
    collector = client_for(app, cycle["collector"])
    finance = client_for(app, cycle["finance"])
    url = f"/admin/confirmation_form/download/{cycle['form']}"
    assert "客户无故拖欠货款" not in _pdf_text(collector.get(url).data, tmp_path)

    first, second = lines_of(db, cycle["form"])
    external = reason_id(db, "客户无故拖欠货款")
    data = {
        **answer_data(first.id, external, "external", "50000", "2026-12-20"),
        **answer_data(second.id, external, "external", "30000"),
        "op": "submit",
    }
    assert post(collector, f"/admin/confirmation_form/answer/{cycle['form']}", data).status_code \
        == 303
    text = "".join(_pdf_text(collector.get(url).data, tmp_path).split())
    assert "客户无故拖欠货款" in text and "50,000.00" in text and "2026-12-20" in text
    assert "分派" not in text  # not routed yet

    route_url = f"/admin/confirmation_form/route/{cycle['form']}"
    assert post(finance, route_url, {f"route.{first.id}": "collect"}).status_code == 303
    response = finance.get(url)
    assert response.status_code == 200
    text = "".join(_pdf_text(response.data, tmp_path).split())
    with app.app_context():
        assert "".join(str(Route.COLLECT.label).split()) in text and "分派" in text
    db.session.expire_all()
    audited = db.session.scalars(select(AuditLog.detail).where(AuditLog.action == "download"))
    assert list(audited).count("逾期账款确认表-华东事业部-2026-10.pdf") == 3


# -- answering many lines at once (issue 11) ---------------------------------------------------


@pytest.fixture()
def many(app, db):
    """One unit with 40 overdue documents of different amounts, the 2026-10 run done; one
    line already answered with its own amount; its collector (Chinese UI)."""
    load_year(db.session, 2026)
    ensure_reference_data(db.session)
    db.session.commit()
    unit = helpers.make_unit(name="华南事业部")
    customer = helpers.make_customer(unit, name="广州信达电子有限公司")
    for n in range(40):
        helpers.make_receivable(
            customer, amount=f"{1000 + 37 * n}.50", due=date(2026, 8, 31), doc_no=f"INV-M{n:02d}"
        )
    run_period("2026-10", inline=True)
    db.session.commit()
    form_id = db.session.scalar(select(ConfirmationForm.id))
    first = lines_of(db, form_id)[0]
    answer = conf.parse_answer(
        {"reason_class": "external", "sub_reason_id": reason_id(db, "客户无故拖欠货款"),
         "estimated_recoverable": "123.45", "expected_date": "2026-11-20"}
    )  # fmt: skip
    conf.answer_line(db.session, first, answer)
    db.session.commit()
    return {"form": form_id, "collector": helpers.make_user("collector", units=[unit])}


def page_values(db, form_id: int) -> dict:
    """What the browser posts for every line: the inputs as the page shows them."""
    data = {}
    for line in lines_of(db, form_id):
        amount = line.estimated_recoverable
        data.update(
            answer_data(
                line.id,
                line.sub_reason_id or "",
                line.reason_class.value if line.reason_class else "",
                "" if amount is None else f"{amount:.2f}",
                line.expected_date.isoformat() if line.expected_date else "",
            )
        )
    return data


def bulk_data(db, lines, **extra) -> dict:
    return {
        "selected": [str(line.id) for line in lines],
        "bulk.reason_class": "external",
        "bulk.sub_reason_id": str(reason_id(db, "品质问题")),
        "bulk.expected_date": "2026-12-15",
        "bulk.comment": "客户质检未完成",
        "bulk.estimated_recoverable": "",
        "bulk.amount_mode": "percent",
        "op": "apply",
        **extra,
    }


def test_bulk_answer_with_blank_amount_gives_each_line_its_own(app, db, many):
    """A blank bulk amount fails no line: each keeps its answered amount or gets its own
    outstanding, while reason, date and comment apply to every ticked line."""
    client = client_for(app, many["collector"])
    url = f"/admin/confirmation_form/answer/{many['form']}"
    lines = lines_of(db, many["form"])
    response = post(client, url, {**page_values(db, many["form"]), **bulk_data(db, lines)})
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
    lines = lines_of(db, many["form"])
    assert len(lines) == 40
    assert lines[0].estimated_recoverable == Decimal("123.45")  # left as already answered
    assert all(line.estimated_recoverable == line.outstanding_at_close for line in lines[1:])
    assert len({line.estimated_recoverable for line in lines}) == 40  # never one copied amount
    assert all(line.sub_reason.label == "品质问题" for line in lines)
    assert all(line.expected_date == date(2026, 12, 15) for line in lines)
    assert all(line.comment == "客户质检未完成" for line in lines)


def test_bulk_percentage_applies_to_each_lines_own_outstanding(app, db, many):
    """A percentage gives each ticked line that share of its own outstanding, to the fen."""
    client = client_for(app, many["collector"])
    url = f"/admin/confirmation_form/answer/{many['form']}"
    lines = lines_of(db, many["form"])[:10]
    extra = {"bulk.estimated_recoverable": "50%"}
    assert post(client, url, bulk_data(db, lines, **extra)).status_code == 303
    for line in lines_of(db, many["form"])[:10]:
        half = (line.outstanding_at_close / 2).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert line.estimated_recoverable == half


def test_bulk_amount_over_a_lines_outstanding_is_refused_naming_it(app, db, cycle):
    """A bulk amount larger than one ticked line's outstanding refuses that line by its
    document number, in Chinese, and saves nothing (all or nothing); the typed box is kept."""
    client = client_for(app, cycle["collector"])
    url = f"/admin/confirmation_form/answer/{cycle['form']}"
    lines = lines_of(db, cycle["form"])  # INV-A1 120,000.00 and INV-A3 30,000.00
    extra = {"bulk.estimated_recoverable": "50,000", "bulk.amount_mode": "amount"}
    response = post(client, url, bulk_data(db, lines, **extra))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    small = next(line for line in lines if line.receivable.doc_no == "INV-A3")
    assert f'id="line-{small.id}-error"' in html and "INV-A3" in html
    assert "超过本行未收余额" in html and "未保存" in html
    big = next(line for line in lines if line.receivable.doc_no == "INV-A1")
    assert f'id="line-{big.id}-error"' not in html  # 50,000 fits INV-A1: not refused
    assert 'value="50,000"' in html and "checked" in html
    assert all(line.reason_class is None for line in lines_of(db, cycle["form"]))


def test_bulk_with_nothing_ticked_or_a_bad_amount_is_refused(app, db, cycle):
    """Nothing ticked, or a percentage over 100, is refused with a Chinese reason."""
    client = client_for(app, cycle["collector"])
    url = f"/admin/confirmation_form/answer/{cycle['form']}"
    lines = lines_of(db, cycle["form"])
    response = post(client, url, {**bulk_data(db, lines), "selected": []})
    assert response.status_code == 400 and "请勾选" in response.get_data(as_text=True)
    response = post(client, url, bulk_data(db, lines, **{"bulk.estimated_recoverable": "120"}))
    assert response.status_code == 400 and "0 到 100" in response.get_data(as_text=True)
    assert all(line.reason_class is None for line in lines_of(db, cycle["form"]))


def test_answer_page_with_the_bulk_box_renders_in_chinese(app, db, cycle):
    """The answer page, bulk box included, reads in Chinese for a collector."""
    client = client_for(app, cycle["collector"])
    html = client.get(f"/admin/confirmation_form/answer/{cycle['form']}").get_data(as_text=True)
    assert "批量反馈多行" in html and "占各行未收余额的百分比" in html
    assert "留空：各行保留已填金额，否则为其未收余额。" in html
    for english in ("Answer many lines at once", "percent of each line", "blank: each line"):
        assert english not in html
