"""Write-off pages over HTTP (Art.18, 24–26): the application form, the Annex 6 checklist and
materials upload, submission, the four-step chain with a rejection and resubmission, refusals
of skipped steps, self-approval and double approval by direct POST, filing, the recourse ledger,
the accountability finding, scope (404), the auditor (403) and the Annex 3 PDF."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from backoffice.models import (
    AccountabilityFinding,
    ApprovalDecision,
    AuditLog,
    RecourseEntry,
    Recovery,
    WriteOffApplication,
)
from backoffice.models.receivable import Receivable, ReceivableStatus
from backoffice.models.user import LeaderTitle
from backoffice.models.writeoff import ApprovalStep, WriteOffGround, WriteOffStatus
from backoffice.services import writeoff as wo
from backoffice.services.calendar import load_year
from backoffice.services.reference import ensure_reference_data
from tests import helpers
from tests.conftest import csrf_from

PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
DUE = (date.today() + timedelta(days=60)).isoformat()
STEPS = (
    (ApprovalStep.TEAM_REVIEW, "lead"),
    (ApprovalStep.DIVISION_VP, "vp"),
    (ApprovalStep.CFO, "cfo"),
    (ApprovalStep.PRESIDENT, "president"),
)


@pytest.fixture()
def chain(app, db):
    """A unit with its VP, the whole approval chain, finance, credit, a collector of the unit
    and one of another unit, an auditor, and a customer with two open receivables. Everyone
    uses the English UI."""
    load_year(db.session, 2026)
    ensure_reference_data(db.session)
    db.session.commit()
    unit = helpers.make_unit(name="华东事业部")
    north = helpers.make_unit(company=unit.company, name="华北事业部")
    people = {
        "collector": helpers.make_user("collector", units=[unit]),
        "other": helpers.make_user("collector", units=[north]),
        "lead": helpers.make_user("team_lead"),
        "lead2": helpers.make_user("team_lead"),
        "vp": helpers.make_user("leader", leader_title=LeaderTitle.DIVISION_VP),
        "other_vp": helpers.make_user("leader", leader_title=LeaderTitle.DIVISION_VP),
        "cfo": helpers.make_user("leader", leader_title=LeaderTitle.CFO),
        "president": helpers.make_user("leader", leader_title=LeaderTitle.PRESIDENT),
        "finance": helpers.make_user("finance"),
        "credit": helpers.make_user("credit"),
        "auditor": helpers.make_user("auditor"),
    }
    for user in people.values():
        user.locale = "en"  # the service's refusals are translated; these tests read the English
    unit.vp_id = people["vp"].id
    north.vp_id = people["other_vp"].id
    customer = helpers.make_customer(unit, name="常州永泰建材有限公司")
    r1 = helpers.make_receivable(customer, amount="30000", due=date(2025, 3, 31), doc_no="HX-1")
    r2 = helpers.make_receivable(customer, amount="12000.50", due=date(2025, 5, 31), doc_no="HX-2")
    other_customer = helpers.make_customer(north, name="北京恒信建材有限公司")
    helpers.make_receivable(other_customer, amount="5000", doc_no="HX-N1")
    db.session.commit()
    return {
        "unit": unit,
        "customer": customer,
        "other_customer": other_customer,
        "r1": r1,
        "r2": r2,
        **people,
    }


def client_for(app, user):
    """A logged-in client whose requests each run in an app context of their own."""
    client = helpers.fresh_client(app)
    helpers.login(client, user.username)
    return client


def post(client, url: str, data: dict, token_page: str):
    token = csrf_from(client.get(token_page).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


def base(app_id: int) -> str:
    return f"/admin/writeoff_application/app/{app_id}/"


def fresh(db, app_id: int) -> WriteOffApplication:
    db.session.expire_all()
    return db.session.get(WriteOffApplication, app_id)


def decisions(db) -> int:
    return db.session.scalar(select(func.count()).select_from(ApprovalDecision))


def refusals(db) -> list[str]:
    return list(db.session.scalars(select(AuditLog.detail).where(AuditLog.action == "refused")))


def draft(app, chain, who: str = "collector") -> int:
    """Draft an application through the form; returns its id."""
    client = client_for(app, chain[who])
    url = f"/admin/writeoff_application/apply/?customer_id={chain['customer'].id}"
    r1, r2 = chain["r1"].id, chain["r2"].id
    data = {
        "customer_id": chain["customer"].id,
        "receivable": [r1, r2],
        f"amount.{r1}": "30000.00",
        f"amount.{r2}": "12000.50",
        "ground": WriteOffGround.HOPELESS.value,
        "facts": "客户已注销，经多次催收无果",
    }
    response = post(client, url, data, url)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def make_ready(app, db, chain, app_id: int, who: str = "collector") -> None:
    """Give the missing-materials reason and date, finance's opinion, and submit."""
    page = base(app_id)
    applicant = client_for(app, chain[who])
    amend = {
        "ground": "hopeless",
        "facts": "客户已注销，经多次催收无果",
        "materials_missing_reason": "合同原件由法院留存",
        "materials_due_on": DUE,
    }
    assert post(applicant, page + "amend", amend, page).status_code == 303
    finance = client_for(app, chain["finance"])
    assert post(finance, page + "opinion", {"opinion": "同意先行核销"}, page).status_code == 303
    assert post(applicant, page + "submit", {}, page).status_code == 303
    assert fresh(db, app_id).status is WriteOffStatus.IN_APPROVAL


def decide(
    app, chain, who: str, app_id: int, step: ApprovalStep, decision="approved", comment="同意"
):
    client = client_for(app, chain[who])
    page = base(app_id)
    return post(
        client,
        page + "decide",
        {"step": step.value, "decision": decision, "comment": comment},
        page,
    )


def test_form_offers_scoped_customers_and_prefills_outstanding(app, db, chain):
    """The collector sees only their unit's customers; the chosen customer's open receivables
    are listed with the outstanding prefilled; the draft carries the amounts and total."""
    client = client_for(app, chain["collector"])
    listing = client.get("/admin/writeoff_application/apply/").get_data(as_text=True)
    assert chain["customer"].name in listing and chain["other_customer"].name not in listing
    other = f"/admin/writeoff_application/apply/?customer_id={chain['other_customer'].id}"
    assert client.get(other).status_code == 404
    url = f"/admin/writeoff_application/apply/?customer_id={chain['customer'].id}"
    form = client.get(url).get_data(as_text=True)
    assert f'name="amount.{chain["r2"].id}"' in form and 'value="12000.50"' in form
    app_id = draft(app, chain)
    application = fresh(db, app_id)
    assert application.status is WriteOffStatus.DRAFT
    assert application.applicant_id == chain["collector"].id
    assert application.amount == Decimal("42000.50")
    page = client.get(base(app_id)).get_data(as_text=True)
    assert "writeoff-checklist" in page and 'data-present="0"' in page
    assert f"/admin/evidence/writeoff/{app_id}/" in page  # the upload link
    # The list and the details page (the notifications' link) lead to the application page.
    for listing_url in (
        "/admin/writeoff_application/",
        f"/admin/writeoff_application/details/?id={app_id}",
    ):
        assert f'href="{base(app_id)}"' in client.get(listing_url).get_data(as_text=True)


def test_form_refuses_amount_over_outstanding(app, db, chain):
    """An amount above the outstanding is refused with the message and nothing is drafted."""
    client = client_for(app, chain["collector"])
    url = f"/admin/writeoff_application/apply/?customer_id={chain['customer'].id}"
    r1 = chain["r1"].id
    data = {"receivable": [r1], f"amount.{r1}": "30000.01", "ground": "hopeless", "facts": "x"}
    response = post(client, url, data, url)
    assert response.status_code == 400
    assert "HX-1: the amount must be between 0" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(WriteOffApplication)) == 0


def test_uploaded_material_shows_in_checklist(app, db, chain):
    """A contract uploaded through the evidence page turns its checklist row to present."""
    app_id = draft(app, chain)
    client = client_for(app, chain["collector"])
    url = f"/admin/evidence/writeoff/{app_id}/"
    token = csrf_from(client.get(url).get_data(as_text=True))
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "doc_type": "contract",
            "files": (io.BytesIO(PDF_BYTES), "购销合同.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    page = client.get(base(app_id)).get_data(as_text=True)
    assert 'data-doc-type="contract" data-present="1"' in page
    assert "contract" not in wo.missing_materials(db.session, fresh(db, app_id))


def test_submit_with_missing_materials_is_refused_until_reason_date_and_opinion(app, db, chain):
    """Submitting with materials missing is refused (audited, message shown) until the reason,
    a future committed date and finance's opinion are given; only finance gives the opinion."""
    app_id = draft(app, chain)
    page = base(app_id)
    applicant = client_for(app, chain["collector"])
    response = post(applicant, page + "submit", {}, page)
    assert response.status_code == 409
    assert "materials are missing: say why" in response.get_data(as_text=True)
    assert fresh(db, app_id).status is WriteOffStatus.DRAFT
    assert any(d.startswith("submit: materials are missing") for d in refusals(db))
    # The collector may not give finance's opinion (not in the permission table).
    assert post(applicant, page + "opinion", {"opinion": "x"}, page).status_code == 403
    make_ready(app, db, chain, app_id)
    application = fresh(db, app_id)
    assert application.current_step is ApprovalStep.TEAM_REVIEW
    assert application.finance_opinion == "同意先行核销"


def test_chain_with_rejection_resubmission_and_filing(app, db, chain):
    """Four steps, a CFO rejection returning it, amendment and resubmission, four steps
    again, then filing by credit and finance: receivables written off with the voucher,
    recourse entry, accountability finding, seal; a recovery and the finding are recorded."""
    app_id = draft(app, chain)
    make_ready(app, db, chain, app_id)
    page = base(app_id)
    for step, who in STEPS[:2]:
        assert decide(app, chain, who, app_id, step).status_code == 303
    # Only the current step's approver sees the decision form.
    assert "writeoff-decide-form" in client_for(app, chain["cfo"]).get(page).get_data(as_text=True)
    assert "writeoff-decide-form" not in client_for(app, chain["president"]).get(page).get_data(
        as_text=True
    )
    rejected = decide(app, chain, "cfo", app_id, ApprovalStep.CFO, "rejected", "证据不足")
    assert rejected.status_code == 303
    application = fresh(db, app_id)
    assert application.status is WriteOffStatus.RETURNED and application.current_step is None

    applicant = client_for(app, chain["collector"])
    returned = applicant.get(page).get_data(as_text=True)
    assert "证据不足" in returned and "writeoff-amend-form" in returned
    amend = {
        "ground": "unenforceable",
        "facts": "补充了法院终结执行裁定",
        f"amount.{application.items[0].id}": "29000",
        "materials_missing_reason": "裁定书正本在法院",
        "materials_due_on": DUE,
    }
    assert post(applicant, page + "amend", amend, page).status_code == 303
    finance = client_for(app, chain["finance"])
    assert post(finance, page + "opinion", {"opinion": "同意"}, page).status_code == 303
    assert post(applicant, page + "submit", {}, page).status_code == 303
    application = fresh(db, app_id)
    assert application.round == 2 and application.current_step is ApprovalStep.TEAM_REVIEW
    assert application.amount == Decimal("41000.50")
    for step, who in STEPS:
        assert decide(app, chain, who, app_id, step, comment=f"{who} 同意").status_code == 303
    application = fresh(db, app_id)
    assert application.status is WriteOffStatus.APPROVED
    assert decisions(db) == 7

    credit = client_for(app, chain["credit"])
    filing_page = credit.get(page).get_data(as_text=True)
    # The filing button says 归档 (to file away) in Chinese, not 文件 (a file).
    assert re.search(r'id="writeoff-file">\s*File the write-off\s*<', filing_page)
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        assert gettext("File the write-off") == "归档"
    assert post(credit, page + "file", {}, page).status_code == 303
    assert fresh(db, app_id).status is WriteOffStatus.APPROVED  # finance has not filed yet
    # Finance files with the accounting reference; without it, refused.
    assert post(finance, page + "file", {"accounting_ref": " "}, page).status_code == 409
    assert post(finance, page + "file", {"accounting_ref": "记-2026-1102"}, page).status_code == 303
    application = fresh(db, app_id)
    assert application.status is WriteOffStatus.FILED and application.sealed_at is not None
    r1 = db.session.get(Receivable, chain["r1"].id)
    r2 = db.session.get(Receivable, chain["r2"].id)
    assert r1.written_off_amount == Decimal("29000") and r1.outstanding == Decimal("1000")
    assert r1.status is ReceivableStatus.OPEN and r1.writeoff_ref == "记-2026-1102"
    assert r2.status is ReceivableStatus.WRITTEN_OFF and r2.outstanding == 0
    entry = db.session.scalar(select(RecourseEntry).where(RecourseEntry.application_id == app_id))
    assert entry.written_off == Decimal("41000.50")
    filed_page = finance.get(page).get_data(as_text=True)
    assert "记-2026-1102" in filed_page and "writeoff-recovery-form" in filed_page
    assert "writeoff-amend-form" not in filed_page

    # Finance books a recovery against the recourse entry (Art.18).
    recovery = {"amount": "5000.50", "received_on": "2026-12-01", "note": "破产分配"}
    assert post(finance, page + "recovery", recovery, page).status_code == 303
    too_much = {"amount": "40000", "received_on": "2026-12-02"}
    assert post(finance, page + "recovery", too_much, page).status_code == 400
    db.session.expire_all()
    assert db.session.get(RecourseEntry, entry.id).recovered == Decimal("5000.50")
    assert db.session.scalar(select(func.count()).select_from(Recovery)) == 1

    # The team lead completes the accountability finding (Art.24–26).
    lead = client_for(app, chain["lead"])
    incomplete = {"kind": "individual", "people": "", "finding": "", "completed": "1"}
    assert post(lead, page + "accountability", incomplete, page).status_code == 400
    finding = {
        "kind": "individual",
        "people": "张三（业务员）",
        "finding": "未按期对账，个人责任",
        "completed": "1",
    }
    assert post(lead, page + "accountability", finding, page).status_code == 303
    row = db.session.scalar(
        select(AccountabilityFinding).where(AccountabilityFinding.application_id == app_id)
    )
    assert row.people == "张三（业务员）" and row.completed_at is not None
    assert post(lead, page + "accountability", finding, page).status_code == 400  # completed
    # The sealed application cannot be amended any more.
    assert post(applicant, page + "amend", amend, page).status_code == 400


def test_skipped_step_is_refused_by_direct_post(app, db, chain):
    """A CFO posting a CFO decision (or one for team review) while the application is at team
    review is refused with the message; nothing changes and the refusal is audited."""
    app_id = draft(app, chain)
    make_ready(app, db, chain, app_id)
    assert "writeoff-decide-form" not in client_for(app, chain["cfo"]).get(base(app_id)).get_data(
        as_text=True
    )
    response = decide(app, chain, "cfo", app_id, ApprovalStep.CFO)
    assert response.status_code == 409
    assert "no step can be skipped" in response.get_data(as_text=True)
    response = decide(app, chain, "cfo", app_id, ApprovalStep.TEAM_REVIEW)
    assert response.status_code == 409
    assert "you may not decide this step" in response.get_data(as_text=True)
    assert decisions(db) == 0
    assert fresh(db, app_id).current_step is ApprovalStep.TEAM_REVIEW
    assert sum(d.startswith("decide:") for d in refusals(db)) == 2


def test_self_approval_is_refused_by_direct_post(app, db, chain):
    """A team lead who drafted the application may not review it: no form, and a direct POST
    is refused (audited); another team lead may."""
    app_id = draft(app, chain, who="lead")
    make_ready(app, db, chain, app_id, who="lead")
    page = client_for(app, chain["lead"]).get(base(app_id)).get_data(as_text=True)
    assert "writeoff-decide-form" not in page
    response = decide(app, chain, "lead", app_id, ApprovalStep.TEAM_REVIEW)
    assert response.status_code == 409
    assert "nobody approves their own application" in response.get_data(as_text=True)
    assert decisions(db) == 0
    assert any("own application" in d for d in refusals(db))
    assert decide(app, chain, "lead2", app_id, ApprovalStep.TEAM_REVIEW).status_code == 303
    assert fresh(db, app_id).current_step is ApprovalStep.DIVISION_VP


def test_double_approval_is_refused_by_direct_post(app, db, chain):
    """The same step twice, and a second step by one person holding two roles, are refused;
    a VP of another unit may not decide the VP step."""
    lead = chain["lead"]
    lead.roles.append(helpers.role("leader"))
    lead.leader_title = LeaderTitle.DIVISION_VP
    chain["unit"].vp_id = lead.id  # the team lead is also this unit's VP
    db.session.commit()
    app_id = draft(app, chain)
    make_ready(app, db, chain, app_id)
    assert decide(app, chain, "lead", app_id, ApprovalStep.TEAM_REVIEW).status_code == 303
    again = decide(app, chain, "lead", app_id, ApprovalStep.TEAM_REVIEW)
    assert again.status_code == 409
    assert "no step can be skipped or decided twice" in again.get_data(as_text=True)
    page = client_for(app, lead).get(base(app_id)).get_data(as_text=True)
    assert "writeoff-decide-form" not in page  # hidden: already decided this round
    second = decide(app, chain, "lead", app_id, ApprovalStep.DIVISION_VP)
    assert second.status_code == 409
    assert "already decided a step" in second.get_data(as_text=True)
    other = decide(app, chain, "other_vp", app_id, ApprovalStep.DIVISION_VP)
    assert other.status_code == 409 and "may not decide" in other.get_data(as_text=True)
    assert decisions(db) == 1
    assert fresh(db, app_id).current_step is ApprovalStep.DIVISION_VP


def test_decision_needs_a_comment(app, db, chain):
    """Approve or reject without a comment is refused and nothing is recorded."""
    app_id = draft(app, chain)
    make_ready(app, db, chain, app_id)
    response = decide(app, chain, "lead", app_id, ApprovalStep.TEAM_REVIEW, comment="  ")
    assert response.status_code == 409 and "needs a comment" in response.get_data(as_text=True)
    assert decisions(db) == 0


def test_other_units_collector_gets_404(app, db, chain):
    """A collector of another unit can neither see nor act on the application."""
    app_id = draft(app, chain)
    client = client_for(app, chain["other"])
    page = base(app_id)
    assert client.get(page).status_code == 404
    assert client.get(page + "pdf").status_code == 404
    token = csrf_from(client.get("/admin/writeoff_application/apply/").get_data(as_text=True))
    for op, data in (
        ("amend", {"facts": "x", "ground": "hopeless"}),
        ("submit", {}),
    ):
        response = client.post(page + op, data={**data, "csrf_token": token})
        assert response.status_code == 404, op
    assert fresh(db, app_id).facts == "客户已注销，经多次催收无果"


def test_auditor_reads_but_gets_403_on_every_post(app, db, chain):
    """The auditor opens the page read-only (no forms) and every POST answers 403."""
    app_id = draft(app, chain)
    client = client_for(app, chain["auditor"])
    page = base(app_id)
    html = client.get(page).get_data(as_text=True)
    assert client.get(page).status_code == 200
    assert '<form method="post" action="/admin/writeoff_application' not in html
    token = csrf_from(html)
    for op in ("amend", "opinion", "submit", "decide", "file", "recovery", "accountability"):
        response = client.post(page + op, data={"csrf_token": token, "step": "team_review"})
        assert response.status_code == 403, op
    apply_url = f"/admin/writeoff_application/apply/?customer_id={chain['customer'].id}"
    assert client.post(apply_url, data={"csrf_token": token}).status_code == 403
    assert fresh(db, app_id).status is WriteOffStatus.DRAFT


def test_post_without_csrf_token_is_refused(app, db, chain):
    """A decision POST without the CSRF token answers 400 and records nothing."""
    app_id = draft(app, chain)
    make_ready(app, db, chain, app_id)
    client = client_for(app, chain["lead"])
    data = {"step": "team_review", "decision": "approved", "comment": "ok"}
    assert client.post(base(app_id) + "decide", data=data).status_code == 400
    assert decisions(db) == 0


def test_annex3_pdf_is_an_audited_attachment_with_chinese_text(app, db, chain):
    """The Annex 3 PDF downloads as an attachment with a Chinese name, is audited, and
    pdftotext extracts its Chinese text: title, customer, receivables, decisions."""
    app_id = draft(app, chain)
    make_ready(app, db, chain, app_id)
    assert (
        decide(app, chain, "lead", app_id, ApprovalStep.TEAM_REVIEW, comment="情况属实").status_code
        == 303
    )
    client = client_for(app, chain["collector"])
    response = client.get(base(app_id) + "pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    application = fresh(db, app_id)
    name = f"呆账核销申请表-{application.app_no}.pdf"
    assert quote(name) in response.headers["Content-Disposition"]
    assert "attachment" in response.headers["Content-Disposition"]
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "download", AuditLog.entity == "writeoff_application")
        )
        == 1
    )
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler's pdftotext is not installed")
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True, check=True
    ).stdout.decode("utf-8")
    compact = "".join(text.split())
    for expected in (
        "呆账核销申请表",
        "常州永泰建材有限公司",
        "客户已注销，经多次催收无果",
        "HX-1",
        "42,000.50",
        "合计",
        "情况属实",
        "财务部意见：同意先行核销",
        chain["unit"].company.name,
    ):
        assert expected in compact, (expected, text)
