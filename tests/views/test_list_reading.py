"""Lists as their readers see them on a 1366-px laptop (issue 11): records named as people name
them, sizes and file types in words, and each role's menu lists free of raw values."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from backoffice.menus import ROLE_MENUS
from backoffice.models.user import RoleName
from backoffice.models.writeoff import (
    AccountabilityFinding,
    Sanction,
    SanctionKind,
    WriteOffApplication,
    WriteOffGround,
    WriteOffStatus,
)
from backoffice.permissions import Action, can
from backoffice.services.formatting import file_kind, file_size
from tests import helpers
from tests.browser.scanner import scan


def _finding(db):
    unit = helpers.make_unit(code="EAST", name="华东事业部")
    customer = helpers.make_customer(unit, name="无锡瑞丰路桥建设有限公司")
    collector = helpers.make_user("collector", units=[unit])
    app = WriteOffApplication(
        app_no="HX2026-00001", customer_id=customer.id, applicant_id=collector.id,
        company_id=customer.company_id, sales_unit_id=customer.sales_unit_id,
        ground=WriteOffGround.HOPELESS, amount=100, facts="事实", status=WriteOffStatus.FILED,
    )  # fmt: skip
    db.session.add(app)
    db.session.flush()
    finding = AccountabilityFinding(
        application_id=app.id, company_id=app.company_id, sales_unit_id=app.sales_unit_id,
        people="张伟", finding="逾期后未按月对账" * 20,
    )  # fmt: skip
    db.session.add(finding)
    db.session.flush()
    db.session.add(
        Sanction(finding_id=finding.id, user_id=collector.id, kind=SanctionKind.NOTICE,
                 decided_on=date(2026, 11, 29), note="通报批评")
    )  # fmt: skip
    db.session.commit()
    return unit, customer


def test_sanction_list_names_the_finding_by_its_write_off(client, db, login_as):
    """The sanctions list names a finding by its application (HX2026-00001), never
    "AccountabilityFinding #1"; the finding list wraps its long text."""
    _finding(db)
    login_as("admin")
    page = client.get("/admin/sanction/").get_data(as_text=True)
    assert "HX2026-00001" in page and "AccountabilityFinding" not in page
    assert scan(page, {"EAST"}) == []
    findings = client.get("/admin/accountability_finding/").get_data(as_text=True)
    assert 'class="col-finding"' in findings or "col-finding" in findings
    assert scan(findings, {"EAST"}) == []


def test_finding_list_opens_each_finding_by_where_it_stands(client, db, login_as):
    """The findings list's first cell says where the finding stands (分析中 / 待确认 /
    已确认) and links its page; it does not repeat the application and case of the next
    columns ("责任认定 HX2026-00001"), so the list fits 1366 px (issue 11)."""
    _finding(db)
    finding = db.session.scalars(select(AccountabilityFinding)).one()
    login_as("admin")
    page = client.get("/admin/accountability_finding/").get_data(as_text=True)
    link = f'href="/admin/accountability_finding/finding/{finding.id}/"'
    assert re.search(link + r'[^>]*>分析中</a>', page), page
    assert "责任认定 HX2026-00001" not in re.sub(r'title="[^"]*"', "", page)
    finding.completed_at = finding.confirmed_at = datetime.now(UTC)
    db.session.commit()
    page = client.get("/admin/accountability_finding/").get_data(as_text=True)
    assert re.search(link + r'[^>]*>已确认</a>', page)


def test_evidence_list_reads_sizes_and_file_types(client, db, login_as):
    """The evidence list shows 30.1 KB and PDF, not 30859 and application/pdf."""
    unit = helpers.make_unit()
    case = helpers.make_case(helpers.make_customer(unit))
    doc = helpers.make_evidence(case, name="对账单.pdf")
    login_as("legal")
    page = client.get("/admin/evidence_document/").get_data(as_text=True)
    assert file_size(doc.size) in page and re.search(r'col-content_type">\s*PDF\s*<', page)
    assert "application/pdf" not in page and "大小（字节）" not in page
    assert file_size(45) == "45 B" and file_size(30859) == "30.1 KB"
    assert file_size(3 * 1024 * 1024) == "3.0 MB" and file_kind("text/x-odd") == "text/x-odd"


def test_case_list_keeps_the_columns_its_readers_need(client, db, login_as):
    """The case list shows number, customer, unit, status, dates, lead and strategy; the
    origin moved to the details page and the filters, so the list fits 1366 px."""
    helpers.make_case(helpers.make_customer(helpers.make_unit()))
    login_as("team_lead")
    page = client.get("/admin/collection_case/").get_data(as_text=True)
    for header in ("案件编号", "客户", "状态", "清欠小组组长"):
        assert header in page
    assert "col-origin" not in page  # no such column (立案来源 stays a filter)


@pytest.mark.parametrize("role", [r.value for r in RoleName])
def test_every_menu_list_of_a_role_reads_without_raw_values(client, db, login_as, role):
    """Each list in the role's menu opens (200) and the scanner finds no raw value on it."""
    unit, _customer = _finding(db)
    helpers.make_case(helpers.make_customer(unit))
    login_as(role, units=[unit])

    class _Role:
        role_names = frozenset({RoleName(role)})
        is_authenticated = True

    for endpoint in sorted(ROLE_MENUS[RoleName(role)]):
        if not can(_Role(), endpoint, Action.VIEW):
            continue
        response = client.get(f"/admin/{endpoint}/")
        assert response.status_code == 200, endpoint
        findings = scan(response.get_data(as_text=True), {"EAST", "HQ"})
        assert not findings, f"{role} {endpoint}: {findings}"


def test_relation_filters_of_every_list_are_named_in_chinese(client, db, login_as):
    """Every list's filters on a related table read 客户 / 名称, never "Customer / Name": the
    base view relabels them for every view, not one (issue 11)."""
    import html as html_lib
    import json

    from backoffice.views import REGISTRY

    login_as("admin")
    relation_filters = 0
    for entry in REGISTRY:
        response = client.get(f"/admin/{entry.endpoint}/")
        if response.status_code != 200:
            continue
        page = response.get_data(as_text=True)
        match = re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', page, re.S)
        if not match:
            continue
        groups = json.loads(html_lib.unescape(match.group(1)))
        for name in groups:
            if " / " in name:
                relation_filters += 1
                assert not re.search(r"[A-Za-z]{2,}", name), f"{entry.endpoint}: {name!r}"
    assert relation_filters > 0  # the check saw relation filters (users' roles and units)


def test_any_view_gets_chinese_relation_filter_names(app, db):
    """A view over any model that filters on a related table gets 案件 / 案件编号 names from the
    base class (here case costs filtered by their case), with no code of its own."""
    from backoffice.models.case import CaseCost
    from backoffice.views.base import SecuredModelView

    class CostByCase(SecuredModelView):
        column_filters = ("case",)

    view = CostByCase(CaseCost, db, endpoint="test_cost_by_case", url="/test-cost-by-case")
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        names = {str(f.name) for f in view._filters}
    assert names and all(n.startswith("案件 / ") for n in names), names
    assert "案件 / 案件编号" in names


def test_monthly_runs_say_when_they_finished_or_that_they_have_not(client, db, login_as):
    """The monthly runs list reads 未完成 for a run still missing parts and the Shanghai time
    for a finished one, never a blank that looks like a lost record (issue 11)."""
    from datetime import datetime

    from backoffice.models.monthly import MonthlyRun

    day = date(2026, 11, 3)
    db.session.add_all([
        MonthlyRun(period="2026-10", as_of=day, dispatch_date=day, form_date=day,
                   finished_at=datetime(2026, 11, 3, 2, 5, tzinfo=UTC)),
        MonthlyRun(period="2026-11", as_of=day, dispatch_date=day, form_date=day),
    ])  # fmt: skip
    db.session.commit()
    login_as("finance")
    page = client.get("/admin/monthly_run/").get_data(as_text=True)
    assert "2026-11-03 10:05" in page and "未完成" in page
