"""Issue 12's case rules over HTTP: each form on the case file and the request pages works for
the role that owns it, is refused (403, unchanged) for the wrong role, and the other doors stay
shut: Flask-Admin's generic create and edit, a crafted direct POST, two requests at once."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.extensions import db as _db
from backoffice.models import AuditLog, CaseReceivable, InformationRequest
from backoffice.models.base import SHANGHAI
from backoffice.models.case import (
    AssetStage,
    CaseStatus,
    Collateral,
    Instalment,
    Litigation,
    LitigationStatus,
    PaymentInKind,
    RepaymentPlan,
)
from backoffice.models.case_steps import CustomerCollectionPlan, RequestStatus
from backoffice.models.customer import FinancialStatus
from backoffice.models.receivable import Payment
from backoffice.services import information, litigation
from backoffice.services.calendar import load_year
from backoffice.views import casefile, casefile_rules
from backoffice.views import information as information_view
from tests import helpers
from tests.conftest import csrf_from

TODAY = date(2026, 8, 10)  # a Monday


@pytest.fixture()
def w(db, monkeypatch):
    """A case in progress in the east unit, its collector, a lead, two legal specialists, an
    auditor and a collector of another unit; the pages read in English, today pinned."""
    monkeypatch.setattr(casefile, "today", lambda: TODAY)
    monkeypatch.setattr(information_view, "today", lambda: TODAY)
    load_year(db.session, 2026)
    db.session.commit()
    east = helpers.make_unit(name="华东事业部")
    west = helpers.make_unit(company=east.company, name="华西事业部")
    customer = helpers.make_customer(
        east, name="杭州永盛贸易有限公司", financial_status=FinancialStatus.GOOD_FUNDS
    )
    r = helpers.make_receivable(customer, amount="30000", due=date(2026, 5, 31), doc_no="INV-E1")
    case = helpers.make_case(customer, status=CaseStatus.IN_PROGRESS)
    db.session.add(CaseReceivable(case_id=case.id, receivable_id=r.id))
    db.session.commit()
    return {
        "case": case,
        "east": east,
        "collector": helpers.make_user("collector", units=[east], locale="en"),
        "west_collector": helpers.make_user("collector", units=[west], locale="en"),
        "lead": helpers.make_user("team_lead", locale="en"),
        "legal": helpers.make_user("legal", locale="en"),
        "legal2": helpers.make_user("legal", locale="en"),
        "auditor": helpers.make_user("auditor", locale="en"),
    }


def client_for(app, user):
    client = helpers.fresh_client(app)
    helpers.login(client, user.username)
    return client


def post(client, url: str, data: dict, token_page: str):
    token = csrf_from(client.get(token_page).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def page_of(case) -> str:
    return f"/admin/collection_case/file/{case.id}"


def fresh(db, model, pk):
    db.session.expire_all()
    return db.session.get(model, pk)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_lawsuit_flow_over_http_with_each_role_in_its_place(app, db, w):
    """The lead proposes; a collector's approval and the lead's filing are 403; filing before
    approval is refused (409, unchanged, audited); legal approves and files it."""
    page = page_of(w["case"])
    lead = client_for(app, w["lead"])
    r = post(
        lead, page + "/litigation", {"court": "杭州市中级人民法院", "claim": "货款3万元"}, page
    )
    assert r.status_code == 303
    lit = db.session.scalar(select(Litigation))
    assert lit.status is LitigationStatus.PROPOSED and lit.proposed_by_id == w["lead"].id
    decide = f"{page}/litigation/{lit.id}/decide"
    filed = f"{page}/litigation/{lit.id}/filed"
    collector = client_for(app, w["collector"])
    assert post(collector, decide, {"decision": "approve"}, page).status_code == 403
    assert post(lead, filed, {"court_case_no": "X1"}, page).status_code == 403
    legal = client_for(app, w["legal"])
    refused = post(legal, filed, {"court_case_no": "(2026)浙01民初9号"}, page)
    assert refused.status_code == 409
    assert "only after the legal department approved" in refused.get_data(as_text=True)
    assert fresh(db, Litigation, lit.id).status is LitigationStatus.PROPOSED
    assert db.session.scalar(
        select(func.count()).where(AuditLog.action == "refused", AuditLog.detail.like("file lit%"))
    )
    assert post(legal, decide, {"decision": "approve", "note": "同意起诉"}, page).status_code == 303
    # The pages' "today" is pinned in the past: date the approval on it, as it would be.
    fresh(db, Litigation, lit.id).decided_at = datetime(2026, 8, 10, 2, 0, tzinfo=UTC)
    db.session.commit()
    assert post(legal, filed, {"court_case_no": "(2026)浙01民初9号"}, page).status_code == 303
    lit = fresh(db, Litigation, lit.id)
    assert (lit.status, lit.court_case_no, lit.filed_on) == (
        LitigationStatus.FILED,
        "(2026)浙01民初9号",
        TODAY,
    )
    html = legal.get(page).get_data(as_text=True)
    assert "Filed in court" in html and ">filed<" not in html


def test_generic_doors_cannot_file_or_approve_a_lawsuit(app, db, w):
    """Generic create redirects to the case file and stores nothing; a generic edit naming
    the status is refused and audited; the judgment stays editable there."""
    lit = litigation.propose(db.session, w["case"], w["lead"].id, "法院", "诉请", TODAY)
    db.session.commit()
    legal = client_for(app, w["legal"])
    url = f"/admin/litigation/edit/?id={lit.id}"
    r = post(legal, url, {"status": "filed", "court_case_no": "X"}, url)
    assert r.status_code == 303
    assert fresh(db, Litigation, lit.id).status is LitigationStatus.PROPOSED
    details = db.session.scalars(
        select(AuditLog.detail).where(AuditLog.action == "refused", AuditLog.entity == "litigation")
    ).all()
    assert any("status" in d for d in details)
    new = post(legal, "/admin/litigation/new/", {"court": "法院", "status": "filed"}, url)
    assert new.status_code in (302, 303)
    assert count(db, Litigation) == 1
    ok = post(legal, url, {"judgment": "支持原告诉请", "judgment_on": "2026-08-09"}, url)
    assert ok.status_code in (302, 303)
    assert fresh(db, Litigation, lit.id).judgment == "支持原告诉请"


def test_two_legal_decisions_at_once_the_loser_gets_409(app, db, w, monkeypatch):
    """Another legal specialist decides between this one's read and write: 409, and the
    winner's decision stands."""
    lit = litigation.propose(db.session, w["case"], w["lead"].id, "法院", "诉请", TODAY)
    db.session.commit()
    real = litigation.decide

    def after_the_other(session, row, user_id, approve, note):
        with Session(_db.engine) as other:
            real(other, other.get(Litigation, row.id), w["legal2"].id, True, "先批")
            other.commit()
        real(session, row, user_id, approve, note)

    monkeypatch.setattr(litigation, "decide", after_the_other)
    page = page_of(w["case"])
    legal = client_for(app, w["legal"])
    r = post(
        legal, f"{page}/litigation/{lit.id}/decide", {"decision": "reject", "note": "否"}, page
    )
    assert r.status_code == 409
    lit = fresh(db, Litigation, lit.id)
    assert (lit.status, lit.decided_by_id) == (LitigationStatus.APPROVED, w["legal2"].id)


def test_plan_form_checks_the_sum_and_instalments_are_never_typed(app, db, w):
    """A plan whose lines do not add up is refused (409, nothing stored); a sound one is
    stored; the auditor's plan is 403; the instalment's paid amount cannot be set through the
    generic edit (403)."""
    page = page_of(w["case"])
    collector = client_for(app, w["collector"])
    bad = {"agreed_on": "2026-08-01", "total": "30000", "instalments": "2026-09-01 10000"}
    sound = {**bad, "instalments": "2026-09-01 10000\n2026-10-01 20000"}
    assert post(client_for(app, w["auditor"]), page + "/plan", sound, page).status_code == 403
    assert count(db, RepaymentPlan) == 0
    r = post(collector, page + "/plan", bad, page)
    assert r.status_code == 409 and "add up to" in r.get_data(as_text=True)
    assert count(db, RepaymentPlan) == 0
    good = {**bad, "instalments": "2026-09-01 10000\n2026-10-01 20000"}
    assert post(collector, page + "/plan", good, page).status_code == 303
    plan = db.session.scalar(select(RepaymentPlan))
    assert [i.amount for i in plan.instalments] == [Decimal("10000"), Decimal("20000")]
    inst = plan.instalments[0]
    lead = client_for(app, w["lead"])
    url = f"/admin/instalment/edit/?id={inst.id}"
    assert lead.get(url).status_code == 403
    token = csrf_from(lead.get("/admin/instalment/").get_data(as_text=True))
    r = lead.post(url, data={"paid_amount": "10000", "csrf_token": token})
    assert r.status_code == 403
    assert fresh(db, Instalment, inst.id).paid_amount == Decimal("0")


def test_asset_steps_over_http_and_only_the_lead_books_the_value(app, db, w):
    """A collector registers and appraises an asset with a document; a step out of order is
    refused; the collector's booking of the value is 403, the lead's goes through."""
    case, page = w["case"], page_of(w["case"])
    collector = client_for(app, w["collector"])
    r = post(collector, page + "/asset", {"kind": "in_kind", "description": "叉车两台"}, page)
    assert r.status_code == 303
    asset = db.session.scalar(select(PaymentInKind))
    doc = helpers.make_evidence(case, name="评估报告.pdf")
    base = f"{page}/asset/payment_in_kind/{asset.id}/"
    out_of_order = post(collector, base + "title", {"document_id": doc.id}, page)
    assert out_of_order.status_code == 409
    step = {"value": "20000", "on": "2026-08-03", "document_id": doc.id}
    assert post(collector, base + "appraise", step, page).status_code == 303
    for name, data in (("preserve", {"measure": "查封"}), ("title", {})):
        r = post(collector, base + name, {"on": "2026-08-05", "document_id": doc.id, **data}, page)
        assert r.status_code == 303
    assert post(collector, base + "realise", {"value": "18000"}, page).status_code == 403
    assert fresh(db, PaymentInKind, asset.id).stage is AssetStage.TITLE_TRANSFERRED
    lead = client_for(app, w["lead"])
    assert (
        post(lead, base + "realise", {"value": "18000", "on": "2026-08-07"}, page).status_code
        == 303
    )
    asset = fresh(db, PaymentInKind, asset.id)
    assert asset.stage is AssetStage.REALISED and asset.realised_payment_id is not None
    edit = f"/admin/payment_in_kind/edit/?id={asset.id}"
    assert lead.get(edit).status_code == 403  # no field is free: the generic edit is shut


def test_asset_steps_are_on_the_timeline_in_chinese_with_who_and_beijing_time(app, db, w):
    """Art.23 (2)(3): each step of a mortgage and of a payment in kind shows on the case's
    timeline with its Chinese name, the asset, what it recorded and its document, and who
    recorded it when, in Beijing time; a step not yet taken is not there."""
    case, page = w["case"], page_of(w["case"])
    collector = client_for(app, w["collector"])
    for kind, text in (("mortgage", "厂房一处"), ("in_kind", "叉车两台")):
        r = post(collector, page + "/asset", {"kind": kind, "description": text}, page)
        assert r.status_code == 303
    mortgage, in_kind = (
        db.session.scalar(select(Collateral)),
        db.session.scalar(select(PaymentInKind)),
    )
    report = helpers.make_evidence(case, name="评估报告.pdf")
    ruling = helpers.make_evidence(case, name="查封裁定书.pdf")
    m_base = f"{page}/asset/collateral/{mortgage.id}/"
    k_base = f"{page}/asset/payment_in_kind/{in_kind.id}/"
    step = {"value": "500000", "on": "2026-08-03", "document_id": report.id}
    assert post(collector, m_base + "appraise", step, page).status_code == 303
    step = {"value": "20000", "on": "2026-08-04", "document_id": report.id}
    assert post(collector, k_base + "appraise", step, page).status_code == 303
    step = {"measure": "法院查封", "on": "2026-08-05", "document_id": ruling.id}
    assert post(collector, k_base + "preserve", step, page).status_code == 303
    step = {"on": "2026-08-06", "document_id": ruling.id}
    assert post(collector, k_base + "title", step, page).status_code == 303
    lead = client_for(app, w["lead"])
    step = {"value": "18000", "on": "2026-08-07"}
    assert post(lead, k_base + "realise", step, page).status_code == 303

    reader = client_for(app, helpers.make_user("team_lead", display_name="王组长"))
    html = reader.get(page).get_data(as_text=True)
    timeline = html[html.index('id="case-timeline"') :]
    # each line of the timeline as read: date, step, what it recorded, who and when
    lines = [
        " ".join(re.sub(r"<[^>]+>", " ", item).split())
        for item in timeline[: timeline.index("</ul>")].split("<li")[1:]
    ]
    timeline = "\n".join(lines)
    payment = db.session.get(Payment, fresh(db, PaymentInKind, in_kind.id).realised_payment_id)
    for expected in (
        "2026-08-03 资产评估 抵押：厂房一处 ¥500,000.00；文件：评估报告.pdf",
        "2026-08-04 资产评估 以物抵债：叉车两台 ¥20,000.00；文件：评估报告.pdf",
        "2026-08-05 财产保全 以物抵债：叉车两台 法院查封；文件：查封裁定书.pdf",
        "2026-08-06 产权过户 以物抵债：叉车两台；文件：查封裁定书.pdf",
        f"2026-08-07 变现入账 以物抵债：叉车两台 ¥18,000.00 入账为回款 {payment.payment_no}",
    ):
        assert expected in timeline, expected
    assert timeline.count("抵押：厂房一处") == 1  # appraised only: no later step shows
    entries = db.session.scalars(
        select(AuditLog).where(AuditLog.entity == "payment_in_kind", AuditLog.action == "update")
    ).all()
    by_stage = {e.after.get("stage"): e for e in entries if e.after and e.after.get("stage")}
    for stage, who in (("appraised", w["collector"]), ("realised", w["lead"])):
        at = by_stage[stage].at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        assert f"{who.display_name} 于 {at}（北京时间）登记" in timeline, stage


def test_request_for_information_issued_answered_and_refused_to_others(app, db, w):
    """The lead sends a request from the case file to the east unit; a west collector cannot
    see or answer it (404); the auditor cannot answer (403); the east collector answers."""
    page = page_of(w["case"])
    lead = client_for(app, w["lead"])
    data = {"unit_id": w["east"].id, "workdays": "3", "subject": "签收单", "question": "请提供"}
    assert post(lead, page + "/inforequest", data, page).status_code == 303
    req = db.session.scalar(select(InformationRequest))
    assert req.due_on == date(2026, 8, 13)
    url = f"/admin/information_request/answer/{req.id}"
    west = client_for(app, w["west_collector"])
    assert west.get(url).status_code == 404
    assert post(west, url, {"answer": "x"}, "/admin/").status_code == 404
    auditor = client_for(app, w["auditor"])
    assert auditor.get(url).status_code == 200
    assert post(auditor, url, {"answer": "x"}, url).status_code == 403
    collector = client_for(app, w["collector"])
    assert collector.get("/admin/information_request/issue/").status_code == 403
    assert post(collector, url, {"answer": "已上传签收单"}, url).status_code == 303
    req = fresh(db, InformationRequest, req.id)
    assert req.status is RequestStatus.ANSWERED and req.answer == "已上传签收单"
    again = post(collector, url, {"answer": "再答"}, url)
    assert again.status_code == 409 and "already answered" in again.get_data(as_text=True)
    assert fresh(db, InformationRequest, req.id).answer == "已上传签收单"


def test_issue_page_and_generic_create_of_requests(app, db, w):
    """The issue page works for legal; the generic create redirects there and stores nothing."""
    legal = client_for(app, w["legal"])
    assert legal.get("/admin/information_request/issue/").status_code == 200
    data = {"user_id": w["collector"].id, "workdays": "2", "subject": "合同", "question": "原件？"}
    r = post(legal, "/admin/information_request/issue/", data, "/admin/information_request/issue/")
    assert r.status_code == 303
    r = post(legal, "/admin/information_request/new/", data, "/admin/information_request/issue/")
    assert r.status_code in (302, 303)
    assert count(db, InformationRequest) == 1


def test_two_answers_at_once_one_is_kept(app, db, w, monkeypatch):
    """Two addressees answer at once: the loser's answer is refused, the winner's kept."""
    req = information.issue(
        db.session, user_id=w["lead"].id, subject="S", question="Q", workdays=3, on=TODAY,
        unit_id=w["east"].id,
    )  # fmt: skip
    db.session.commit()
    other = helpers.make_user("collector", units=[w["east"]], locale="en")
    real = information.answer

    def after_the_other(session, row, user, text, today):
        with Session(_db.engine) as s:
            real(s, s.get(InformationRequest, row.id), s.get(type(other), other.id), "先答", today)
            s.commit()
        real(session, row, user, text, today)

    monkeypatch.setattr(information, "answer", after_the_other)
    url = f"/admin/information_request/answer/{req.id}"
    r = post(client_for(app, w["collector"]), url, {"answer": "后答"}, url)
    assert r.status_code == 409
    assert fresh(db, InformationRequest, req.id).answer == "先答"


def test_customer_target_is_set_by_its_owners_only(app, db, w):
    """The collector records the customer's target and plan; the auditor's POST is 403."""
    page = page_of(w["case"])
    data = {"reasons": "资金紧张", "target_amount": "20000", "target_date": "2026-10-31",
            "measures": "每周上门"}  # fmt: skip
    assert post(client_for(app, w["auditor"]), page + "/target", data, page).status_code == 403
    assert count(db, CustomerCollectionPlan) == 0
    collector = client_for(app, w["collector"])
    assert post(collector, page + "/target", data, page).status_code == 303
    html = collector.get(page).get_data(as_text=True)
    assert "资金紧张" in html and "¥20,000.00" in html


def test_case_file_in_chinese_shows_the_new_sections_without_enum_names(app, db, w):
    """In Chinese the case file's new sections show labels, never enum values."""
    w["lead"].locale = "zh_Hans_CN"
    litigation.propose(db.session, w["case"], w["legal"].id, "法院", "诉请", TODAY)
    db.session.add(PaymentInKind(case_id=w["case"].id, asset="设备"))
    db.session.commit()
    html = client_for(app, w["lead"]).get(page_of(w["case"])).get_data(as_text=True)
    for raw in (">proposed<", ">registered<", ">pending<", "Awaiting legal approval"):
        assert raw not in html, raw
    assert "待法务审批" in html and "已登记" in html
    _ = casefile_rules  # the module under test


def test_menus_show_the_new_lists_to_their_roles(app, db, w):
    """Requests for information are in the collector's, legal's and lead's menus; customer
    targets in the lead's; the auditor reaches them from All records, not the menu."""

    def nav(user) -> str:
        return client_for(app, user).get("/admin/").get_data(as_text=True)

    for user in (w["collector"], w["legal"], w["lead"]):
        assert "/admin/information_request/" in nav(user), user.username
    assert "/admin/customer_collection_plan/" in nav(w["lead"])
    assert "/admin/customer_collection_plan/" not in nav(w["collector"])
