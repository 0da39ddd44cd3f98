"""Art.16 (2): large debts involve the team from 3 months; Art.16 (4): a refused application
records the consequence for the unit and the handler; Art.17: reasons and proposed measures
are submitted in structured form within the same 5 working days."""

import io
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from backoffice.models import (
    CaseSubmission,
    CollectionCase,
    Notification,
    OverdueReason,
    RefusalConsequence,
    Setting,
)
from backoffice.models.case import ActionKind, CaseOrigin, CaseStatus
from backoffice.models.monthly import ReasonClass
from backoffice.services import case_submissions as subs
from backoffice.services import cases, large_debts
from backoffice.services.calendar import load_year
from backoffice.services.reference import ensure_reference_data
from tests import helpers
from tests.services.test_evidence import PDF
from tests.services.test_report_dispatch import client_as


@pytest.fixture()
def world(db):
    load_year(db.session, 2026)
    ensure_reference_data(db.session)
    db.session.commit()
    unit = helpers.make_unit(name="西南事业部")
    vp = helpers.make_user("leader")
    unit.vp_id = vp.id
    lead = helpers.make_user("team_lead")
    collector = helpers.make_user("collector", units=[unit], display_name="张催收")
    db.session.commit()
    return {"unit": unit, "lead": lead, "collector": collector, "vp": vp}


def open_case(db, customer):
    return db.session.scalar(
        select(CollectionCase).where(
            CollectionCase.customer_id == customer.id,
            CollectionCase.status != CaseStatus.REFUSED,
        )
    )


# -- Art.16 (2) ---------------------------------------------------------------------------------


def test_a_large_debt_gets_its_case_at_3_months_a_small_one_at_6(db, world):
    """Due 31 Jan, on 1 May (just over 3 months): 1,200,000 is filed compulsorily, 80,000 is
    only watch-listed; the small one is filed once over 6 months (1 Aug)."""
    big = helpers.make_customer(world["unit"], name="成都大额机电有限公司")
    small = helpers.make_customer(world["unit"], name="重庆小额商贸有限公司")
    helpers.make_receivable(big, amount="1200000", due=date(2026, 1, 31))
    helpers.make_receivable(small, amount="80000", due=date(2026, 1, 31))
    result = cases.escalate(db.session, date(2026, 5, 1))
    db.session.commit()
    assert set(result.watch_listed) == {big.id, small.id}
    assert open_case(db, big).origin is CaseOrigin.COMPULSORY and open_case(db, small) is None
    cases.escalate(db.session, date(2026, 8, 1))
    db.session.commit()
    assert open_case(db, small) is not None


def test_the_large_amount_is_a_setting(db, world):
    """With the large amount set to 50,000 an 80,000 debt is taken at 3 months."""
    db.session.add(Setting(key=large_debts.LARGE_DEBT_SETTING, value="50000"))
    db.session.commit()
    assert large_debts.large_amount(db.session) == Decimal("50000")
    customer = helpers.make_customer(world["unit"])
    helpers.make_receivable(customer, amount="80000", due=date(2026, 1, 31))
    cases.escalate(db.session, date(2026, 4, 30))  # exactly 3 months: not yet over
    assert open_case(db, customer) is None
    cases.escalate(db.session, date(2026, 5, 1))
    db.session.commit()
    assert open_case(db, customer) is not None


# -- Art.16 (4) ---------------------------------------------------------------------------------


def test_a_refusal_records_the_consequence_for_unit_and_handler(db, world):
    """Refused: one record naming the unit, the handler and what stays outstanding; the
    handler and the unit's VP are told."""
    customer = helpers.make_customer(world["unit"], name="昆明申请客户有限公司")
    helpers.make_receivable(customer, amount="9000", due=date(2026, 6, 30))
    case = cases.apply(db.session, customer.id, world["collector"].id, "客户推诿", date(2026, 8, 3))
    cases.refuse(db.session, case, world["lead"].id, "金额小，由事业部自行催收")
    db.session.commit()
    (row,) = db.session.scalars(select(RefusalConsequence)).all()
    assert row.handler_id == world["collector"].id and row.sales_unit_id == world["unit"].id
    assert row.outstanding == Decimal("9000.00") and row.recorded_by_id == world["lead"].id
    assert "西南事业部及经办人张催收承担" in row.consequence and "第十六条第4款" in row.consequence
    for uid in (world["collector"].id, world["vp"].id):
        notes = db.session.scalars(select(Notification).where(Notification.user_id == uid))
        assert any("后果由本单位及经办人承担" in n.title for n in notes)


def test_the_register_opens_for_the_team_lead_and_is_read_only(app, db, world):
    """The team lead reads the register; nobody creates one by hand (a collector's create
    page is refused)."""
    customer = helpers.make_customer(world["unit"], name="贵阳登记客户有限公司")
    helpers.make_receivable(customer, amount="9000", due=date(2026, 6, 30))
    case = cases.apply(db.session, customer.id, world["collector"].id, "推诿", date(2026, 8, 3))
    cases.refuse(db.session, case, world["lead"].id, "不予受理")
    db.session.commit()
    page = client_as(app, "team_lead").get("/admin/refusal_consequence/").get_data(as_text=True)
    assert "贵阳登记客户有限公司" in page and "张催收" in page
    collector = client_as(app, "collector", units=[world["unit"]])
    assert collector.get("/admin/refusal_consequence/new/").status_code == 403


# -- Art.17 -------------------------------------------------------------------------------------


@pytest.fixture()
def requested(db, world):
    """A case whose checklist went out on Monday 3 August 2026: due in 5 working days (10th)."""
    customer = helpers.make_customer(world["unit"], name="南宁材料有限公司")
    case = helpers.make_case(customer, status=CaseStatus.FILED)
    cases.request_documents(db.session, case, date(2026, 8, 3))
    db.session.commit()
    assert case.documents_due == date(2026, 8, 10)
    return case


def reason_id(db, label):
    return db.session.scalar(select(OverdueReason.id).where(OverdueReason.label == label))


def proposal(db, planned="2026-08-20"):
    return subs.parse(
        {
            "reason_class": "external",
            "sub_reason_id": str(reason_id(db, "客户无故拖欠货款")),
            "reason_detail": "客户资金链紧张，多次承诺付款未兑现",
        },
        [
            {"method": "demand_letter", "planned_on": planned, "detail": "发书面催款函"},
            {"method": "", "planned_on": "", "detail": ""},
            {"method": "visit", "planned_on": "2026-08-25", "detail": "组织上门催收"},
        ],
    )


def test_reasons_and_measures_on_time_and_late(db, world, requested):
    """Submitted by the 10th it is on time; on the 11th it is kept and marked late; the
    measures are stored as structured rows."""
    row = subs.submit(db.session, requested, proposal(db), world["collector"].id, date(2026, 8, 10))
    db.session.commit()
    assert row.on_time and row.due_on == date(2026, 8, 10)
    assert [(m.method, m.planned_on) for m in row.measures] == [
        (ActionKind.DEMAND_LETTER, date(2026, 8, 20)),
        (ActionKind.VISIT, date(2026, 8, 25)),
    ]
    late = subs.submit(
        db.session, requested, proposal(db), world["collector"].id, date(2026, 8, 11)
    )
    assert not late.on_time


def test_the_submission_is_audited_in_words_whoever_submits(app, db, world, requested):
    """The auditor reads 第十七条：案件 … 按期提交 / 逾期提交 in the audit log, even when an
    English-speaking collector submitted (issue 11: no "Art.17 case … on time")."""
    from flask_babel import force_locale

    from backoffice.models import AuditLog

    uid = world["collector"].id
    with app.test_request_context(), force_locale("en"):
        subs.submit(db.session, requested, proposal(db), uid, date(2026, 8, 10))
        subs.submit(db.session, requested, proposal(db), uid, date(2026, 8, 11))
        db.session.commit()
    on_time, late = db.session.scalars(
        select(AuditLog.detail)
        .where(AuditLog.entity == "case_submission", AuditLog.detail.is_not(None))
        .order_by(AuditLog.seq)
    ).all()
    case_no = requested.case_no
    assert on_time == (
        f"第十七条：案件 {case_no} 的欠款原因及 2 项清收措施建议按期提交（期限 2026-08-10）"
    )
    assert late.endswith("逾期提交（期限 2026-08-10）")
    assert "Art." not in on_time + late and "late" not in late


def test_the_documents_task_says_what_is_due_now(db, world, requested):
    """Art.17: the collector's task first asks for the documents and the reasons; once the
    reasons and measures are in, only for the documents still missing; with every document
    in, for nothing more. A deleted document is asked for again."""
    from backoffice.models.notification import Task, TaskKind
    from backoffice.services import evidence

    def title():
        return db.session.scalar(
            select(Task.title).where(
                Task.kind == TaskKind.SUBMIT_DOCUMENTS, Task.assignee_id == world["collector"].id
            )
        )

    def upload(doc_type, user=world["collector"]):
        return evidence.upload(
            db.session,
            case_id=requested.id,
            doc_type=doc_type,
            filename=f"{doc_type}.pdf",
            stream=io.BytesIO(PDF),
            user=user,
        )

    head = f"案件 {requested.case_no} 请在 2026-08-10 前"
    assert title() == f"{head}提交证据材料（尚缺 5 项）及欠款原因、清收措施建议"
    subs.submit(db.session, requested, proposal(db), world["collector"].id, date(2026, 8, 5))
    db.session.commit()
    assert title() == f"{head}补齐证据材料（尚缺 5 项）；欠款原因及措施建议已提交"
    docs = [upload(t) for t in ("contract", "delivery_note", "reconciliation", "invoice")]
    db.session.commit()
    assert title() == f"{head}补齐证据材料（尚缺 1 项）；欠款原因及措施建议已提交"
    upload("correspondence")
    db.session.commit()
    done = "证据材料及欠款原因、措施建议均已提交，待清欠小组开始清收"
    assert title() == f"案件 {requested.case_no} {done}"
    evidence.soft_delete(db.session, docs[0], helpers.make_user("legal"))
    db.session.commit()
    assert title() == f"{head}补齐证据材料（尚缺 1 项）；欠款原因及措施建议已提交"


def test_with_the_documents_in_the_task_asks_for_the_reasons(db, world):
    """Art.17: every document in but no reasons yet: the task asks for the reasons."""
    from backoffice.models.notification import Task, TaskKind
    from backoffice.services import evidence

    case = helpers.make_case(helpers.make_customer(world["unit"]), status=CaseStatus.FILED)
    cases.request_documents(db.session, case, date(2026, 8, 3))
    for doc_type in ("contract", "delivery_note", "reconciliation", "invoice", "correspondence"):
        evidence.upload(
            db.session,
            case_id=case.id,
            doc_type=doc_type,
            filename="凭证.pdf",
            stream=io.BytesIO(PDF),
            user=world["collector"],
        )
    db.session.commit()
    task = db.session.scalar(select(Task).where(Task.kind == TaskKind.SUBMIT_DOCUMENTS))
    due = "请在 2026-08-10 前提交欠款原因及清收措施建议；证据材料已齐"
    assert task.title == f"案件 {case.case_no} {due}"


def test_a_submission_is_checked(db, world, requested):
    """A reason of the wrong class, no measure, a measure in the past, or a case still waiting
    for its checklist are refused."""
    uid, day = world["collector"].id, date(2026, 8, 5)
    with force_locale("en"):
        wrong = proposal(db)
        wrong.reason_class = ReasonClass.INTERNAL
        with pytest.raises(subs.SubmissionError, match="not a reason of class"):
            subs.submit(db.session, requested, wrong, uid, day)
        empty = proposal(db)
        empty.measures = []
        with pytest.raises(subs.SubmissionError, match="at least one measure"):
            subs.submit(db.session, requested, empty, uid, day)
        with pytest.raises(subs.SubmissionError, match="in the past"):
            subs.submit(db.session, requested, proposal(db, planned="2026-08-01"), uid, day)
        filed = helpers.make_case(helpers.make_customer(world["unit"]), status=CaseStatus.APPLIED)
        with pytest.raises(subs.SubmissionError, match="checklist"):
            subs.submit(db.session, filed, proposal(db), uid, day)
        with pytest.raises(subs.SubmissionError, match="measure 1"):
            subs.parse(
                {"reason_class": "external", "sub_reason_id": "1", "reason_detail": "x" * 12},
                [{"method": "fax", "planned_on": "2026-08-20", "detail": "传真"}],
            )


def test_the_collector_submits_on_the_page_and_legal_is_refused(app, db, world, requested):
    """The collector sees the case waiting, submits on its page; legal staff get 403."""
    client = client_as(app, "collector", units=[world["unit"]])
    listing = client.get("/admin/case_submission/").get_data(as_text=True)
    assert f"/admin/case_submission/submit/{requested.id}" in listing
    url = f"/admin/case_submission/submit/{requested.id}"
    token = helpers.csrf_token(client, url)
    data = {
        "csrf_token": token,
        "reason_class": "external",
        "sub_reason_id": reason_id(db, "客户无故拖欠货款"),
        "reason_detail": "客户资金链紧张，多次承诺付款未兑现",
        "m0.method": "demand_letter",
        "m0.planned_on": "2099-01-01",
        "m0.detail": "发书面催款函",
    }
    assert client.post(url, data=data).status_code == 303
    assert db.session.query(CaseSubmission).count() == 1
    legal = client_as(app, "legal")
    assert legal.get(url).status_code == 403
    token = helpers.csrf_token(legal, "/admin/case_submission/")
    assert legal.post(url, data={**data, "csrf_token": token}).status_code == 403
    assert db.session.query(CaseSubmission).count() == 1
