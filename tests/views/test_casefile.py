"""The case file and the case lifecycle over HTTP (SPEC §3.3): the application path, every
illegal transition refused by direct POST (unchanged, clear message, audited), scoping, the
auditor's read-only access, the parts forms, and the demand and lawyer's letter PDFs."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice.models import AuditLog, CollectionCase
from backoffice.models.case import (
    ActionKind,
    CaseCost,
    CaseMember,
    CaseStatus,
    Collateral,
    CollateralKind,
    CollectionAction,
    CostKind,
    Instalment,
    Litigation,
    PaymentInKind,
    PaymentPromise,
    PromiseStatus,
    RepaymentPlan,
    Strategy,
)
from backoffice.models.customer import FinancialStatus
from backoffice.models.evidence import DocumentType, EvidenceDocument
from backoffice.services import cases, payments
from backoffice.services.calendar import load_year
from backoffice.views import casefile
from tests import helpers

TODAY = date(2026, 8, 10)  # a Monday; the views' "today" is pinned to it


@pytest.fixture()
def world(db, monkeypatch):
    """Two units of one company; a collector in each, a team lead, an auditor; a customer in
    the east unit with two overdue receivables. Users read the pages in English."""
    monkeypatch.setattr(casefile, "today", lambda: TODAY)
    load_year(db.session, 2026)
    db.session.commit()
    east = helpers.make_unit(name="华东事业部")
    west = helpers.make_unit(company=east.company, name="华西事业部")
    customer = helpers.make_customer(
        east, name="杭州永盛贸易有限公司", financial_status=FinancialStatus.GOOD_FUNDS
    )
    helpers.make_receivable(customer, amount="30000", due=date(2026, 5, 31), doc_no="INV-E1")
    helpers.make_receivable(customer, amount="12000.50", due=date(2026, 6, 30), doc_no="INV-E2")
    return {
        "east": east,
        "west": west,
        "customer": customer,
        "collector": helpers.make_user("collector", units=[east], locale="en"),
        "collector_west": helpers.make_user("collector", units=[west], locale="en"),
        "lead": helpers.make_user("team_lead", locale="en"),
        "auditor": helpers.make_user("auditor", locale="en"),
    }


def as_user(client, user):
    """A new client (a new browser) logged in as ``user``."""
    fresh = helpers.fresh_client(client.application)  # its own app context: locale, user
    helpers.login(fresh, user.username)
    return fresh


def post(client, path: str, data: dict | None = None, token_from: str | None = None):
    token = helpers.csrf_token(client, token_from or path.rsplit("/", 1)[0])
    return client.post(path, data={"csrf_token": token, **(data or {})})


def file_url(case) -> str:
    return f"/admin/collection_case/file/{case.id}"


def refusals(db) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "refused", AuditLog.entity == "collection_case")
    )


def state(db, case) -> dict:
    """Every column of the case, fresh from the database."""
    db.session.expire_all()
    row = db.session.get(CollectionCase, case.id)
    return {c.key: getattr(row, c.key) for c in CollectionCase.__table__.columns}


def filed_case(db, world, status=CaseStatus.DOCUMENTS_REQUESTED) -> CollectionCase:
    """An application accepted by the service (and moved on to ``status`` if asked)."""
    case = cases.apply(db.session, world["customer"].id, world["collector"].id, "失联", TODAY)
    if status is CaseStatus.APPLIED:
        db.session.commit()
        return case
    if status is CaseStatus.REFUSED:
        cases.refuse(db.session, case, world["lead"].id, "金额小")
        db.session.commit()
        return case
    cases.accept(db.session, case, world["lead"].id, TODAY)
    if status in (CaseStatus.IN_PROGRESS, CaseStatus.CLOSED):
        cases.start_work(db.session, case, override_reason="材料补交中")
    if status is CaseStatus.CLOSED:
        cases.close(
            db.session, case, world["lead"].id, "hard_to_collect", "客户已停业，无可执行财产", TODAY
        )
    db.session.commit()
    return case


# -- the application path -------------------------------------------------------------------


def test_application_refused_then_applied_again_and_accepted(client, db, world):
    """A collector applies in the browser; the lead refuses (a reason is required), the
    collector applies again, the lead accepts: the case is filed with its notice and checklist."""
    client = as_user(client, world["collector"])
    page = client.get("/admin/collection_case/apply/")
    assert page.status_code == 200 and "杭州永盛贸易有限公司" in page.get_data(as_text=True)
    response = post(
        client,
        "/admin/collection_case/apply/",
        {"customer_id": world["customer"].id, "reason": "客户多次推诿，拒接电话"},
        token_from="/admin/collection_case/apply/",
    )
    assert response.status_code == 303
    first = db.session.scalar(select(CollectionCase))
    assert first.status is CaseStatus.APPLIED and first.applied_by_id == world["collector"].id
    assert response.headers["Location"].endswith(file_url(first))

    client = as_user(client, world["lead"])
    before, audited = state(db, first), refusals(db)
    response = post(client, f"{file_url(first)}/refuse", {"reason": "  "}, file_url(first))
    assert response.status_code == 409
    assert "say why the application is refused" in response.get_data(as_text=True)
    assert state(db, first) == before and refusals(db) == audited + 1
    response = post(client, f"{file_url(first)}/refuse", {"reason": "金额小"}, file_url(first))
    assert response.status_code == 303
    assert state(db, first)["status"] is CaseStatus.REFUSED

    client = as_user(client, world["collector"])
    post(
        client,
        "/admin/collection_case/apply/",
        {"customer_id": world["customer"].id, "reason": "客户失联"},
        token_from="/admin/collection_case/apply/",
    )
    second = db.session.scalar(
        select(CollectionCase).where(CollectionCase.status == CaseStatus.APPLIED)
    )
    assert second is not None and second.id != first.id
    client = as_user(client, world["lead"])
    assert (
        post(client, f"{file_url(second)}/accept", token_from=file_url(second)).status_code == 303
    )
    after = state(db, second)
    assert after["status"] is CaseStatus.DOCUMENTS_REQUESTED and after["filed_on"] == TODAY
    assert after["filing_notice_key"] and after["documents_due"] == date(2026, 8, 17)
    page = client.get(file_url(second)).get_data(as_text=True)
    assert page.count('<tr class="">') >= len(cases.CHECKLIST)  # all missing, none late yet
    notice = client.get(f"{file_url(second)}/filing-notice.pdf")
    assert notice.status_code == 200 and notice.data.startswith(b"%PDF")
    assert notice.headers["Content-Disposition"].startswith("attachment")


def test_apply_without_reason_is_refused_and_nothing_is_created(client, db, world):
    """An application without a reason is refused with the rule's message and audited."""
    client = as_user(client, world["collector"])
    response = post(
        client,
        "/admin/collection_case/apply/",
        {"customer_id": world["customer"].id, "reason": ""},
        token_from="/admin/collection_case/apply/",
    )
    assert response.status_code == 409
    assert "an application must say why" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CollectionCase)) == 0
    assert refusals(db) == 1


# -- illegal transitions by direct HTTP ----------------------------------------------------------

CLOSE_OK = {"outcome": "hard_to_collect", "note": "客户已停业，法院终结执行"}
ENDPOINTS = {
    "accept": {},
    "refuse": {"reason": "不受理"},
    "start": {},
    "close": CLOSE_OK,
}
LEGAL = {
    CaseStatus.APPLIED: {"accept", "refuse"},
    CaseStatus.REFUSED: set(),
    CaseStatus.DOCUMENTS_REQUESTED: {"start"},
    CaseStatus.IN_PROGRESS: {"close"},
    CaseStatus.CLOSED: set(),
}


@pytest.mark.parametrize("status", list(LEGAL), ids=lambda s: s.value)
def test_every_illegal_transition_is_refused_unchanged_and_audited(client, db, world, status):
    """From each status, every lifecycle POST the rules forbid answers 409 with a clear
    message, leaves the case exactly as it was and writes a REFUSED audit entry."""
    case = filed_case(db, world, status)
    client = as_user(client, world["lead"])
    for op in sorted(set(ENDPOINTS) - LEGAL[status]):
        before, audited = state(db, case), refusals(db)
        response = post(client, f"{file_url(case)}/{op}", ENDPOINTS[op], file_url(case))
        assert response.status_code == 409, op
        text = response.get_data(as_text=True)
        assert "Refused:" in text and "cannot become" in text, op
        assert state(db, case) == before, op
        assert refusals(db) == audited + 1, op


def test_close_without_outcome_or_with_open_balance_is_refused(client, db, world):
    """Art.21: no outcome, "collected in full" while receivables are open, or "hard to collect"
    without reasons are refused unchanged; a proper outcome closes the case."""
    case = filed_case(db, world, CaseStatus.IN_PROGRESS)
    client = as_user(client, world["lead"])
    cases_ = [
        ({"outcome": "", "note": ""}, "cannot be closed without an outcome"),
        ({"outcome": "collected"}, "not collected in full"),
        ({"outcome": "hard_to_collect", "note": "难"}, "why it is hard to collect"),
        ({"outcome": "bogus"}, "Choose an outcome"),
    ]
    for data, message in cases_:
        before, audited = state(db, case), refusals(db)
        response = post(client, f"{file_url(case)}/close", data, file_url(case))
        assert response.status_code in (400, 409)
        assert message in response.get_data(as_text=True)
        assert state(db, case) == before and refusals(db) == audited + 1
    assert post(client, f"{file_url(case)}/close", CLOSE_OK, file_url(case)).status_code == 303
    after = state(db, case)
    assert after["status"] is CaseStatus.CLOSED and after["outcome"].value == "hard_to_collect"
    assert after["closed_by_id"] == world["lead"].id


def test_strategy_override_needs_a_reason(client, db, world):
    """Art.23: overriding without a reason is refused; with one it is kept and shown."""
    case = filed_case(db, world)
    assert case.suggested_strategy is Strategy.PRESS_FOR_CASH
    client = as_user(client, world["lead"])
    before = state(db, case)
    response = post(
        client, f"{file_url(case)}/strategy", {"strategy": "litigation"}, file_url(case)
    )
    assert response.status_code == 409 and "needs a reason" in response.get_data(as_text=True)
    assert state(db, case) == before
    response = post(
        client,
        f"{file_url(case)}/strategy",
        {"strategy": "litigation", "reason": "客户恶意转移资产"},
        file_url(case),
    )
    assert response.status_code == 303
    after = state(db, case)
    assert after["strategy_override"] is Strategy.LITIGATION
    assert after["override_reason"] == "客户恶意转移资产"
    assert "客户恶意转移资产" in client.get(file_url(case)).get_data(as_text=True)


def test_post_without_csrf_token_is_rejected(client, db, world):
    """A lifecycle POST without the CSRF token is refused and changes nothing."""
    case = filed_case(db, world, CaseStatus.APPLIED)
    client = as_user(client, world["lead"])
    response = client.post(f"{file_url(case)}/accept")
    assert response.status_code == 400
    assert state(db, case)["status"] is CaseStatus.APPLIED


# -- scope and roles ---------------------------------------------------------------------------


def test_collector_of_another_unit_gets_404(client, db, world):
    """The west collector cannot see the east case, post to it, or apply for its customer."""
    case = filed_case(db, world)
    client = as_user(client, world["collector_west"])
    assert client.get(file_url(case)).status_code == 404
    assert client.get(f"{file_url(case)}/filing-notice.pdf").status_code == 404
    token = helpers.csrf_token(client, "/admin/collection_case/")
    for path, data in [
        (f"{file_url(case)}/action", {"kind": "phone", "on": "2026-08-10"}),
        (f"{file_url(case)}/promise", {"amount": "100", "due_on": "2026-08-20"}),
        (f"{file_url(case)}/letter/demand", {}),
        ("/admin/collection_case/apply/", {"customer_id": world["customer"].id, "reason": "x"}),
    ]:
        assert client.post(path, data={"csrf_token": token, **data}).status_code == 404, path
    assert db.session.scalar(select(func.count()).select_from(CollectionAction)) == 0
    listing = client.get("/admin/collection_case/").get_data(as_text=True)
    assert case.case_no not in listing


def test_auditor_reads_the_file_but_gets_403_on_every_post(client, db, world):
    """The auditor may open the case file and the notice, and every POST answers 403."""
    case = filed_case(db, world)
    client = as_user(client, world["auditor"])
    assert client.get(file_url(case)).status_code == 200
    assert client.get(f"{file_url(case)}/filing-notice.pdf").status_code == 200
    before = state(db, case)
    token = helpers.csrf_token(client, file_url(case))
    paths = (
        [f"{file_url(case)}/{op}" for op in ("accept", "refuse", "start", "close", "strategy")]
        + [f"{file_url(case)}/{part}" for part in ("action", "promise", "member", "letter/demand")]
        + [f"{file_url(case)}/letter/lawyer", "/admin/collection_case/apply/"]
    )
    data = {"csrf_token": token, "reason": "x" * 12, "outcome": "hard_to_collect",
            "note": "x" * 12, "strategy": "litigation", "kind": "phone", "amount": "1",
            "due_on": "2026-08-20", "user_id": world["auditor"].id,
            "customer_id": world["customer"].id}  # fmt: skip
    for path in paths:
        assert client.post(path, data=data).status_code == 403, path
    assert state(db, case) == before
    assert db.session.scalar(select(func.count()).select_from(CollectionAction)) == 0


def test_collector_may_not_accept_or_close(client, db, world):
    """Accepting and closing are the team lead's (approve / close permissions)."""
    case = filed_case(db, world, CaseStatus.APPLIED)
    client = as_user(client, world["collector"])
    assert post(client, f"{file_url(case)}/accept", token_from=file_url(case)).status_code == 403
    assert post(client, f"{file_url(case)}/close", CLOSE_OK, file_url(case)).status_code == 403
    assert state(db, case)["status"] is CaseStatus.APPLIED


def test_start_with_documents_missing_needs_a_recorded_reason(client, db, world):
    """Art.17: with documents missing the file asks for a reason; a start without one is
    refused unchanged and audited; with one the case starts and the reason is on the timeline."""
    case = filed_case(db, world)
    lead = as_user(client, world["lead"])
    page = lead.get(file_url(case)).get_data(as_text=True)
    assert 'name="override_reason"' in page and 'id="start-missing"' in page
    before, audited = state(db, case), refusals(db)
    response = post(lead, f"{file_url(case)}/start", {"override_reason": " "}, file_url(case))
    assert response.status_code == 409
    assert "documents still missing" in response.get_data(as_text=True)
    assert state(db, case) == before and refusals(db) == audited + 1
    response = post(
        lead, f"{file_url(case)}/start", {"override_reason": "客户正在转移资产"}, file_url(case)
    )
    assert response.status_code == 303
    after = state(db, case)
    assert after["status"] is CaseStatus.IN_PROGRESS
    assert after["start_override_reason"] == "客户正在转移资产"
    html = lead.get(file_url(case)).get_data(as_text=True)
    assert "Work started with documents missing (Art.17)" in html and "客户正在转移资产" in html


def test_start_with_every_document_in_needs_no_reason_and_legal_may_start(client, db, world):
    """With the checklist complete the file offers a plain start (no reason field), and the
    legal role, which may edit cases today, starts the work."""
    case = filed_case(db, world)
    for doc_type in cases.CHECKLIST:
        helpers.make_evidence(case, name=f"{doc_type.value}.pdf", doc_type=doc_type)
    legal = as_user(client, helpers.make_user("legal", locale="en"))
    page = legal.get(file_url(case)).get_data(as_text=True)
    assert 'id="start-form"' in page and 'name="override_reason"' not in page
    assert post(legal, f"{file_url(case)}/start", {}, file_url(case)).status_code == 303
    after = state(db, case)
    assert after["status"] is CaseStatus.IN_PROGRESS and after["start_override_reason"] is None


def test_collector_may_not_start_work_even_with_a_reason(client, db, world):
    """Starting work is an edit of the case: the collector (no edit permission) gets 403."""
    case = filed_case(db, world)
    collector = as_user(client, world["collector"])
    response = post(collector, f"{file_url(case)}/start", {"override_reason": "急"}, file_url(case))
    assert response.status_code == 403
    assert state(db, case)["status"] is CaseStatus.DOCUMENTS_REQUESTED


# -- the case file --------------------------------------------------------------------------


def test_case_file_shows_every_part_and_judges_promises(client, db, world):
    """The page lists receivables with the open balance, members, actions, promises (judged
    kept or broken from real payments), plans with late instalments flagged, collateral,
    payment in kind, litigation, costs with their total, the checklist with the missed
    deadline highlighted, and the documents linking to the verified download."""
    case = filed_case(db, world, CaseStatus.IN_PROGRESS)
    # Move the Art.17 deadline into the past so missing documents show as missed.
    for req in case_requirements(db, case):
        req.due_on = date(2026, 8, 3)
    db.session.add_all([
        CaseMember(case_id=case.id, user_id=world["lead"].id, duty="组长"),
        CollectionAction(case_id=case.id, kind=ActionKind.PHONE, on=date(2026, 8, 4),
                         user_id=world["collector"].id, result="客户承诺月底付款"),
        PaymentPromise(case_id=case.id, promised_on=date(2026, 7, 1), amount=Decimal("5000"),
                       due_on=date(2026, 7, 15), note="承诺甲"),
        PaymentPromise(case_id=case.id, promised_on=date(2026, 7, 20), amount=Decimal("9000"),
                       due_on=date(2026, 7, 31), note="承诺乙"),
        Collateral(case_id=case.id, kind=CollateralKind.MORTGAGE, description="厂房抵押",
                   value=Decimal("200000")),
        PaymentInKind(case_id=case.id, asset="叉车两台", appraisal_value=Decimal("60000"),
                      appraised_on=date(2026, 8, 1)),
        Litigation(case_id=case.id, court="杭州市中级人民法院", court_case_no="(2026)浙01民初123号",
                   filed_on=date(2026, 8, 5)),
        CaseCost(case_id=case.id, company_id=case.company_id, sales_unit_id=case.sales_unit_id,
                 kind=CostKind.TRAVEL, amount=Decimal("1200.00"), incurred_on=date(2026, 8, 4)),
        CaseCost(case_id=case.id, company_id=case.company_id, sales_unit_id=case.sales_unit_id,
                 kind=CostKind.LEGAL, amount=Decimal("300.50"), incurred_on=date(2026, 8, 5)),
    ])  # fmt: skip
    plan = RepaymentPlan(case_id=case.id, agreed_on=date(2026, 7, 1), total=Decimal("30000"))
    db.session.add(plan)
    db.session.flush()
    db.session.add_all([
        Instalment(plan_id=plan.id, seq=1, due_on=date(2026, 7, 10), amount=Decimal("10000")),
        Instalment(plan_id=plan.id, seq=2, due_on=date(2026, 8, 1), amount=Decimal("10000")),
        Instalment(plan_id=plan.id, seq=3, due_on=date(2026, 9, 1), amount=Decimal("10000")),
    ])  # fmt: skip
    db.session.commit()
    # Instalment 1 is paid in full and 2 in part from real payments (their allocations).
    for amount, on in (("10000", date(2026, 7, 8)), ("5000", date(2026, 7, 10))):
        payments.allocate(
            db.session, helpers.make_payment(world["customer"], amount=amount, received_on=on)
        )
    db.session.commit()
    doc = helpers.make_evidence(case, name="购销合同.pdf", doc_type=DocumentType.CONTRACT)

    client = as_user(client, world["collector"])
    page = client.get(file_url(case))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    expected = ("INV-E1", "INV-E2", "¥42,000.50", "组长", "客户承诺月底付款", "厂房抵押",
                "叉车两台", "(2026)浙01民初123号", "购销合同.pdf", "承诺甲", "承诺乙")  # fmt: skip
    for text in expected:
        assert text in html, text
    assert 'id="cost-total">Total ¥1,500.50' in html
    assert f"/admin/evidence/{doc.id}/download" in html
    assert html.count('class="late"') == 1  # instalment 2 only
    db.session.expire_all()
    paid = [i.paid_amount for i in db.session.get(RepaymentPlan, plan.id).instalments]
    assert paid == [Decimal("10000"), Decimal("5000"), Decimal("0")]  # from the allocations
    assert html.count('class="missed"') == len(cases.CHECKLIST) - 1  # the contract is in
    statuses = dict(
        db.session.execute(select(PaymentPromise.note, PaymentPromise.status)).tuples().all()
    )
    assert statuses == {"承诺甲": PromiseStatus.KEPT, "承诺乙": PromiseStatus.BROKEN}
    assert 'id="case-timeline"' in html and "2026-08-05" in html


def case_requirements(db, case):
    from backoffice.models.case import DocumentRequirement

    return db.session.scalars(
        select(DocumentRequirement).where(DocumentRequirement.case_id == case.id)
    ).all()


def test_case_list_links_each_case_to_its_file(client, db, world):
    """The case number in the list and on the details page opens the case file."""
    case = filed_case(db, world)
    client = as_user(client, world["collector"])
    listing = client.get("/admin/collection_case/").get_data(as_text=True)
    assert f'href="{file_url(case)}"' in listing
    assert "/admin/collection_case/apply/" in listing
    details = client.get(f"/admin/collection_case/details/?id={case.id}").get_data(as_text=True)
    assert f'href="{file_url(case)}"' in details


def test_forms_add_action_promise_and_member(client, db, world):
    """The small forms record an action (by the current user), a promise and a member; bad
    input and a second membership are refused with a message."""
    case = filed_case(db, world)
    client = as_user(client, world["collector"])
    url = file_url(case)
    visit = {"kind": "visit", "on": "2026-08-07", "result": "上门拜访财务"}
    assert post(client, f"{url}/action", visit, url).status_code == 303
    action = db.session.scalar(select(CollectionAction))
    assert action.kind is ActionKind.VISIT and action.user_id == world["collector"].id
    assert (
        post(client, f"{url}/action", {"kind": "visit", "on": "2026-09-01"}, url).status_code == 400
    )
    assert post(client, f"{url}/promise", {"amount": "6,000.00", "due_on": "2026-08-31"},
                url).status_code == 303  # fmt: skip
    promise = db.session.scalar(select(PaymentPromise))
    assert promise.amount == Decimal("6000.00") and promise.promised_on == TODAY
    assert post(client, f"{url}/promise", {"amount": "-1", "due_on": "2026-08-31"},
                url).status_code == 400  # fmt: skip

    client = as_user(client, world["lead"])  # members are the team lead's to add
    assert post(client, f"{url}/member", {"user_id": world["collector"].id, "duty": "跟单"},
                url).status_code == 303  # fmt: skip
    again = post(client, f"{url}/member", {"user_id": world["collector"].id}, url)
    assert again.status_code == 409 and "already a member" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CaseMember)) == 1


# -- letters ---------------------------------------------------------------------------------


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "letter.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize(
    ("kind", "title", "action_kind"),
    [
        ("demand", "催款函", ActionKind.DEMAND_LETTER),
        ("lawyer", "律师函", ActionKind.LAWYER_LETTER),
    ],
)
def test_letter_pdf_lists_open_documents_and_records_the_action(
    client, db, world, tmp_path, kind, title, action_kind
):
    """Generating a letter sends a PDF (Chinese text, open documents, total, deadline) and
    records a collection action of that kind."""
    case = filed_case(db, world)
    client = as_user(client, world["collector"])
    response = post(
        client, f"{file_url(case)}/letter/{kind}", {"deadline": "2026-08-25"}, file_url(case)
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "attachment" in response.headers["Content-Disposition"]
    action = db.session.scalar(select(CollectionAction))
    assert action.kind is action_kind and action.on == TODAY
    assert action.user_id == world["collector"].id
    # The case file keeps the very letter that was handed out, as a collection record.
    kept = db.session.scalar(select(EvidenceDocument).where(EvidenceDocument.case_id == case.id))
    assert kept.doc_type is DocumentType.COLLECTION_RECORD
    assert kept.original_name == f"{title}-{case.case_no}-{TODAY}.pdf"
    assert kept.sha256 == hashlib.sha256(response.data).hexdigest()
    assert kept.uploaded_by_id == world["collector"].id
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) missing")
    text = pdf_text(response.data, tmp_path)
    for expected in (title, "杭州永盛贸易有限公司", "INV-E1", "INV-E2", "42,000.50", "2026-08-25"):
        assert expected in text, expected


def test_letter_with_past_deadline_is_refused(client, db, world):
    """A letter whose deadline is not after today is refused and records nothing."""
    case = filed_case(db, world)
    client = as_user(client, world["collector"])
    response = post(
        client, f"{file_url(case)}/letter/demand", {"deadline": "2026-08-01"}, file_url(case)
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(CollectionAction)) == 0
    assert db.session.scalar(select(func.count()).select_from(EvidenceDocument)) == 0
