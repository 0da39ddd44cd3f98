"""Issue 12's case rules made whole: litigation approval (Art.10 (4)), requests for information
(Art.19), the strategy following the financial status and customer targets (Art.23), repayment
plans paid from allocations, and collateral / payment-in-kind steps booked as recoveries."""

from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.models import (
    CaseReceivable,
    Notification,
    Payment,
    RecourseEntry,
    Recovery,
    Task,
    WriteOffApplication,
)
from backoffice.models.base import SHANGHAI
from backoffice.models.case import (
    AssetStage,
    CaseStatus,
    Collateral,
    CollateralKind,
    Litigation,
    LitigationStatus,
    PaymentInKind,
    PromiseStatus,
    Strategy,
)
from backoffice.models.case_steps import RequestStatus
from backoffice.models.customer import FinancialStatus
from backoffice.models.notification import TaskKind
from backoffice.models.writeoff import WriteOffGround
from backoffice.services import (
    assets,
    cases,
    credit,
    information,
    litigation,
    payments,
    repayment,
    strategy,
)
from backoffice.services.calendar import load_year
from backoffice.services.transitions import StaleStateError
from tests import helpers

D = Decimal


@pytest.fixture(autouse=True)
def english(db):
    """CaseError messages are translated when raised; these tests match their English text."""
    with force_locale("en"):
        yield


@pytest.fixture()
def w(db):
    """A case in progress over two overdue receivables (60,000 open), with its people."""
    load_year(db.session, 2026)
    db.session.commit()
    unit = helpers.make_unit(name="华东事业部")
    vp = helpers.make_user("leader", display_name="王副总裁")
    unit.vp_id = vp.id
    customer = helpers.make_customer(
        unit, name="苏州恒达机械有限公司", financial_status=FinancialStatus.GOOD_FUNDS
    )
    r1 = helpers.make_receivable(customer, amount="40000", due=date(2026, 1, 31), doc_no="INV-1")
    r2 = helpers.make_receivable(customer, amount="20000", due=date(2026, 2, 28), doc_no="INV-2")
    case = helpers.make_case(
        customer, status=CaseStatus.IN_PROGRESS, suggested_strategy=Strategy.PRESS_FOR_CASH
    )
    db.session.add_all([CaseReceivable(case_id=case.id, receivable_id=r.id) for r in (r1, r2)])
    db.session.commit()
    return {
        "unit": unit,
        "vp": vp,
        "customer": customer,
        "case": case,
        "receivables": (r1, r2),
        "lead": helpers.make_user("team_lead"),
        "legal": helpers.make_user("legal"),
        "legal2": helpers.make_user("legal"),
        "collector": helpers.make_user("collector", units=[unit]),
        "outsider": helpers.make_user("collector", units=[helpers.make_unit(name="华北")]),
    }


def inbox(db, user) -> list[str]:
    return list(
        db.session.scalars(
            select(Notification.title)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id)
        )
    )


def open_tasks(db, kind) -> set[int]:
    return set(
        db.session.scalars(
            select(Task.assignee_id).where(Task.kind == kind, Task.done_at.is_(None))
        )
    )


# -- Art.10 (4): litigation --------------------------------------------------------------------


def test_lawsuit_is_filed_only_after_another_persons_legal_approval(w, db):
    """A proposed lawsuit opens the legal department's task; it cannot be recorded as filed
    before approval, its proposer cannot approve it, and once approved it is filed with the
    court's number, not before the approval date."""
    lit = litigation.propose(
        db.session,
        w["case"],
        w["legal"].id,
        "苏州市中级人民法院",
        "货款6万元及利息",
        date(2026, 8, 3),
    )
    db.session.commit()
    assert lit.status is LitigationStatus.PROPOSED
    assert open_tasks(db, TaskKind.APPROVE_LITIGATION) == {w["legal"].id, w["legal2"].id}
    with pytest.raises(cases.CaseError, match="only after the legal department approved"):
        litigation.record_filed(db.session, lit, "(2026)苏05民初1号", date(2026, 8, 4))
    with pytest.raises(cases.CaseError, match="who proposed a lawsuit cannot approve"):
        litigation.decide(db.session, lit, w["legal"].id, True, "")
    db.session.rollback()
    litigation.decide(db.session, lit, w["legal2"].id, True, "证据充分")
    db.session.commit()
    assert lit.status is LitigationStatus.APPROVED and lit.decided_by_id == w["legal2"].id
    assert open_tasks(db, TaskKind.APPROVE_LITIGATION) == set()
    assert inbox(db, w["legal"]) == ["诉讼审批通过：苏州市中级人民法院"]
    approved_on = lit.decided_at.astimezone(SHANGHAI).date()
    with pytest.raises(cases.CaseError, match="before it was approved"):
        litigation.record_filed(db.session, lit, "(2026)苏05民初1号", date(2026, 1, 1))
    with pytest.raises(cases.CaseError, match="court's case number"):
        litigation.record_filed(db.session, lit, "  ", approved_on)
    litigation.record_filed(db.session, lit, "(2026)苏05民初1号", approved_on)
    db.session.commit()
    assert (lit.status, lit.court_case_no) == (LitigationStatus.FILED, "(2026)苏05民初1号")
    with pytest.raises(cases.CaseError, match="already decided"):
        litigation.decide(db.session, lit, w["legal2"].id, False, "撤回")


def test_rejected_lawsuit_needs_a_reason_and_is_never_filed(w, db):
    """A rejection says why; a rejected lawsuit cannot be recorded as filed."""
    lit = litigation.propose(db.session, w["case"], w["lead"].id, "法院", "诉请", date(2026, 8, 3))
    with pytest.raises(cases.CaseError, match="say why"):
        litigation.decide(db.session, lit, w["legal"].id, False, " ")
    litigation.decide(db.session, lit, w["legal"].id, False, "证据不足，先行协商")
    assert lit.status is LitigationStatus.REJECTED
    with pytest.raises(cases.CaseError, match="it is Rejected by legal"):
        litigation.record_filed(db.session, lit, "X", date(2026, 12, 1))


def meanwhile(fn) -> None:
    """Run ``fn(session)`` in a transaction of its own and commit it: the other request."""
    with Session(helpers.db.engine) as session:
        fn(session)
        session.commit()


def test_two_legal_decisions_at_once_one_wins(w, db):
    """Compare-and-set: a decision taken on a stale read loses with StaleStateError."""
    lit = litigation.propose(db.session, w["case"], w["lead"].id, "法院", "诉请", date(2026, 8, 3))
    db.session.commit()
    assert lit.status is LitigationStatus.PROPOSED  # read by this request
    meanwhile(lambda s: litigation.decide(s, s.get(Litigation, lit.id), w["legal2"].id, True, ""))
    with pytest.raises(StaleStateError):
        litigation.decide(db.session, lit, w["legal"].id, False, "不同意")
    db.session.rollback()
    assert db.session.get(type(lit), lit.id).decided_by_id == w["legal2"].id


# -- Art.19: requests for information ----------------------------------------------------------


def test_request_to_a_unit_is_due_in_working_days_and_answered_by_it(w, db):
    """Issued on Friday 7 Aug with 3 working days, a request to the unit is due Wednesday
    12 Aug; its collectors and VP get the task; an outsider cannot answer; the answer closes
    the tasks and tells the issuer; answered on time it is not late."""
    req = information.issue(
        db.session,
        user_id=w["lead"].id,
        subject="发货签收单",
        question="请提供2026年1月的发货签收单",
        workdays=3,
        on=date(2026, 8, 7),
        case=w["case"],
        unit_id=w["unit"].id,
    )
    db.session.commit()
    assert req.due_on == date(2026, 8, 12)
    assert open_tasks(db, TaskKind.ANSWER_INFORMATION) == {w["collector"].id, w["vp"].id}
    with pytest.raises(cases.CaseError, match="only the unit or person asked"):
        information.answer(db.session, req, w["outsider"], "无", date(2026, 8, 10))
    db.session.rollback()
    with pytest.raises(cases.CaseError, match="write the answer"):
        information.answer(db.session, req, w["collector"], "  ", date(2026, 8, 10))
    db.session.rollback()
    information.answer(db.session, req, w["collector"], "签收单已上传", date(2026, 8, 12))
    db.session.commit()
    assert req.status is RequestStatus.ANSWERED and req.answered_late is False
    assert open_tasks(db, TaskKind.ANSWER_INFORMATION) == set()
    assert inbox(db, w["lead"]) == ["调查函已答复：发货签收单"]
    with pytest.raises(cases.CaseError, match="already answered"):
        information.answer(db.session, req, w["vp"], "再答", date(2026, 8, 12))


def test_unanswered_request_escalates_once_and_a_late_answer_is_marked(w, db):
    """Past its deadline an open request escalates once to the team leads, the issuer, the
    addressee and the unit's VP; a later answer is kept and marked late."""
    req = information.issue(
        db.session, user_id=w["legal"].id, subject="担保合同", question="请提供担保合同原件",
        workdays=1, on=date(2026, 8, 7), addressee_user_id=w["collector"].id,
    )  # fmt: skip
    db.session.commit()
    assert req.due_on == date(2026, 8, 10) and req.addressee_unit_id == w["unit"].id
    assert information.escalate_late(db.session, date(2026, 8, 10)) == []  # due today
    assert information.escalate_late(db.session, date(2026, 8, 11)) == [req]
    db.session.commit()
    assert information.escalate_late(db.session, date(2026, 8, 12)) == []
    title = "调查函逾期未答复：担保合同"
    for user in (w["lead"], w["legal"], w["collector"], w["vp"]):
        assert inbox(db, user).count(title) == 1, user.username
    information.answer(db.session, req, w["collector"], "原件在法务部", date(2026, 8, 13))
    db.session.commit()
    assert req.answered_late is True and req.escalated_on == date(2026, 8, 11)


def test_request_needs_an_addressee_and_a_sane_deadline(w, db):
    """No unit and no person, or a deadline outside 1–30 working days, is refused."""
    base = dict(user_id=w["lead"].id, subject="S", question="Q", on=date(2026, 8, 7))
    with pytest.raises(cases.CaseError, match="name the unit or the person"):
        information.issue(db.session, workdays=3, **base)
    with pytest.raises(cases.CaseError, match="1 to 30 working days"):
        information.issue(db.session, workdays=0, unit_id=w["unit"].id, **base)


# -- Art.23: strategy and the customer's target and plan ---------------------------------------


def test_changing_the_financial_status_resuggests_and_keeps_the_override(w, db):
    """Credit sets the debtor's status to malicious: the open case's suggestion becomes
    litigation and its people are told; an override stays with its reason and the message
    names it; the same status again changes nothing."""
    case = w["case"]
    cases.override_strategy(case, Strategy.COLLATERAL, "客户愿以厂房抵押")
    credit.set_financial_status(db.session, w["customer"], FinancialStatus.MALICIOUS, "转移资产")
    db.session.commit()
    assert case.suggested_strategy is Strategy.LITIGATION
    assert (case.strategy_override, case.override_reason) == (
        Strategy.COLLATERAL,
        "客户愿以厂房抵押",
    )
    note = db.session.scalar(select(Notification).where(Notification.user_id == w["collector"].id))
    assert note.title == f"清欠策略建议变更：案件 {case.case_no}"
    assert "Litigation" in note.body and "客户愿以厂房抵押" in note.body
    assert w["lead"].id in set(db.session.scalars(select(Notification.user_id)))
    credit.set_financial_status(db.session, w["customer"], FinancialStatus.MALICIOUS, "同上")
    assert db.session.scalar(select(func.count(Notification.id))) == len(inbox(db, w["lead"])) + 1


def test_customer_target_and_plan_with_progress_from_payments(w, db):
    """A target needs reasons, measures, an amount and a future date; its progress counts the
    customer's payments from the day it was set up to its date."""
    kw = dict(reasons="资金紧张", target_amount=D("30000"), target_date=date(2026, 10, 31),
              measures="每周上门", on=date(2026, 8, 3), case=w["case"])  # fmt: skip
    with pytest.raises(cases.CaseError, match="target date must be after today"):
        strategy.set_customer_plan(
            db.session, w["customer"], w["lead"].id, **{**kw, "target_date": date(2026, 8, 3)}
        )
    with pytest.raises(cases.CaseError, match="why the customer is behind"):
        strategy.set_customer_plan(
            db.session, w["customer"], w["lead"].id, **{**kw, "measures": ""}
        )
    plan = strategy.set_customer_plan(db.session, w["customer"], w["lead"].id, **kw)
    db.session.commit()
    assert plan.strategy is Strategy.PRESS_FOR_CASH
    helpers.make_payment(w["customer"], amount="1000", received_on=date(2026, 8, 1))  # before
    helpers.make_payment(w["customer"], amount="7000", received_on=date(2026, 8, 20))
    helpers.make_payment(w["customer"], amount="500", received_on=date(2026, 11, 2))  # after
    assert strategy.plan_progress(db.session, plan) == D("7000")
    assert strategy.current_plan(db.session, w["customer"].id) == plan


# -- repayment plans ---------------------------------------------------------------------------


def test_plan_instalments_must_add_up_and_fall_due_after_the_agreement(w, db):
    """A plan whose instalments do not add up, or fall due on or before the agreement, or out
    of order, is refused; a sound one is stored with its instalments numbered."""
    case, agreed, today = w["case"], date(2026, 8, 1), date(2026, 8, 3)

    def make(rows, total="30000"):
        return repayment.create_plan(db.session, case, agreed, D(total), rows, None, today)

    with pytest.raises(cases.CaseError, match="add up to ¥25,000.00, not the plan's ¥30,000.00"):
        make([(date(2026, 9, 1), D("10000")), (date(2026, 10, 1), D("15000"))])
    with pytest.raises(cases.CaseError, match="instalment 1 must fall due after the agreement"):
        make([(agreed, D("30000"))])
    with pytest.raises(cases.CaseError, match="in order of their due dates"):
        make([(date(2026, 10, 1), D("10000")), (date(2026, 9, 1), D("20000"))])
    with pytest.raises(cases.CaseError, match="cannot be in the future"):
        repayment.create_plan(
            db.session, case, date(2026, 9, 1), D("1"), [(date(2026, 9, 2), D("1"))], None, today
        )
    plan = make([(date(2026, 9, 1), D("10000")), (date(2026, 10, 1), D("20000"))])
    db.session.commit()
    assert [(i.seq, i.amount, i.paid_amount) for i in plan.instalments] == [
        (1, D("10000"), D("0")),
        (2, D("20000"), D("0")),
    ]


def test_instalments_are_paid_from_allocations_and_a_late_one_breaks_the_promise(w, db):
    """Paid amounts come from payments allocated to the case's receivables since the agreement
    (an earlier one does not count); the daily check marks a late instalment's plan broken and
    notifies once; paying the rest keeps nothing broken un-broken but fills the instalments."""
    case = w["case"]
    payments.allocate(
        db.session, helpers.make_payment(w["customer"], amount="3000", received_on=date(2026, 7, 1))
    )
    plan = repayment.create_plan(
        db.session, case, date(2026, 8, 1), D("30000"),
        [(date(2026, 9, 1), D("10000")), (date(2026, 10, 1), D("20000"))], None, date(2026, 8, 3),
    )  # fmt: skip
    db.session.commit()
    payments.allocate(
        db.session,
        helpers.make_payment(w["customer"], amount="6000", received_on=date(2026, 8, 20)),
    )
    assert repayment.check_late(db.session, date(2026, 9, 1)) == []  # due today
    db.session.commit()
    assert [i.paid_amount for i in plan.instalments] == [D("6000"), D("0")]
    late = repayment.check_late(db.session, date(2026, 9, 2))
    db.session.commit()
    assert [i.seq for i in late] == [1]
    assert (plan.status, plan.broken_on) == (PromiseStatus.BROKEN, date(2026, 9, 2))
    title = f"还款计划逾期：案件 {case.case_no} 第 1 期"
    assert inbox(db, w["collector"]) == [title] and inbox(db, w["lead"]) == [title]
    assert repayment.check_late(db.session, date(2026, 9, 3)) == []  # told once
    db.session.commit()
    assert inbox(db, w["collector"]) == [title]


def test_a_plan_paid_in_full_is_kept(w, db):
    """Payments covering every instalment fill them in order and keep the promise."""
    plan = repayment.create_plan(
        db.session, w["case"], date(2026, 8, 1), D("30000"),
        [(date(2026, 9, 1), D("10000")), (date(2026, 10, 1), D("20000"))], None, date(2026, 8, 3),
    )  # fmt: skip
    payments.allocate(
        db.session,
        helpers.make_payment(w["customer"], amount="30000", received_on=date(2026, 8, 5)),
    )
    repayment.refresh_case(db.session, w["case"])
    assert [i.paid_amount for i in plan.instalments] == [D("10000"), D("20000")]
    assert plan.status is PromiseStatus.KEPT


# -- collateral and payment in kind --------------------------------------------------------------


def test_asset_steps_in_order_with_documents_and_value_booked_as_a_payment(w, db):
    """Appraisal, preservation and transfer of title come in order, each with a document of
    the case; the value realised becomes a payment allocated to the case's open receivables."""
    case = w["case"]
    asset = PaymentInKind(case_id=case.id, asset="叉车两台")
    db.session.add(asset)
    db.session.commit()
    doc = helpers.make_evidence(case, name="评估报告.pdf")
    other_doc = helpers.make_evidence(helpers.make_case(), name="别案.pdf")
    today = date(2026, 9, 30)
    with pytest.raises(cases.CaseError, match="comes after Appraised"):
        assets.preserve(db.session, asset, "查封", date(2026, 8, 5), doc.id, today)
    db.session.rollback()
    with pytest.raises(cases.CaseError, match="document from the case's evidence"):
        assets.appraise(db.session, asset, D("50000"), date(2026, 8, 3), other_doc.id, today)
    db.session.rollback()
    assets.appraise(db.session, asset, D("50000"), date(2026, 8, 3), doc.id, today)
    assets.preserve(db.session, asset, "法院查封", date(2026, 8, 5), doc.id, today)
    with pytest.raises(cases.CaseError, match="before the step it follows"):
        assets.transfer_title(db.session, asset, date(2026, 8, 4), doc.id, today)
    assets.transfer_title(db.session, asset, date(2026, 8, 10), doc.id, today)
    payment = assets.realise(db.session, asset, D("45000"), date(2026, 8, 20), today)
    db.session.commit()
    assert asset.stage is AssetStage.REALISED and asset.realised_payment_id == payment.id
    assert payment.payment_no.startswith("DZ2026-") and payment.unallocated == D("0")
    r1, r2 = w["receivables"]
    assert (r1.outstanding, r2.outstanding) == (D("0"), D("15000"))
    assert cases.open_balance(db.session, case) == D("15000")
    # the case's timeline: four steps, dated when they took place, all booked in the one
    # transaction above, so all recorded by its audit entry, by the system (no user)
    with force_locale("en"):
        steps = assets.step_events(db.session, [asset])
        assert [(e.on, e.name, e.recorded_by) for e in steps] == [
            (date(2026, 8, 3), "Appraisal", "The system"),
            (date(2026, 8, 5), "Preservation", "The system"),
            (date(2026, 8, 10), "Transfer of title", "The system"),
            (date(2026, 8, 20), "Value realised and booked", "The system"),
        ]
        assert steps[0].document.id == doc.id and steps[3].document is None
        assert f"booked as payment {payment.payment_no}" in steps[3].detail
    assert len({e.recorded_at for e in steps}) == 1 and steps[0].recorded_at is not None


def test_value_realised_on_a_written_off_debt_is_a_recovery(w, db):
    """Once the case's receivables were written off, the value realised is booked on the
    customer's recourse entry (Art.18) through the write-off service."""
    case = w["case"]
    for r in w["receivables"]:
        r.written_off_amount, r.outstanding = r.amount, D("0")
    app_row = WriteOffApplication(
        company_id=case.company_id, sales_unit_id=case.sales_unit_id, app_no="HX-1",
        customer_id=case.customer_id, applicant_id=w["collector"].id,
        ground=WriteOffGround.HOPELESS, amount=D("60000"), facts="无法收回",
    )  # fmt: skip
    db.session.add(app_row)
    db.session.flush()
    entry = RecourseEntry(
        company_id=case.company_id, sales_unit_id=case.sales_unit_id, application_id=app_row.id,
        customer_id=case.customer_id, written_off=D("60000"), opened_on=date(2026, 6, 30),
    )  # fmt: skip
    asset = Collateral(
        case_id=case.id, kind=CollateralKind.MORTGAGE, description="厂房抵押",
        stage=AssetStage.TITLE_TRANSFERRED, title_transferred_on=date(2026, 8, 1),
    )  # fmt: skip
    db.session.add_all([entry, asset])
    db.session.commit()
    recovery = assets.realise(db.session, asset, D("25000"), date(2026, 8, 15), date(2026, 9, 1))
    db.session.commit()
    assert isinstance(recovery, Recovery) and recovery.entry_id == entry.id
    assert entry.recovered == D("25000") and asset.realised_recovery_id == recovery.id
    assert db.session.scalar(select(func.count(Payment.id))) == 0


def test_a_step_on_a_stale_read_loses(w, db):
    """Two clerks appraising the same asset: the second, on a stale stage, gets
    StaleStateError and changes nothing."""
    asset = PaymentInKind(case_id=w["case"].id, asset="设备")
    db.session.add(asset)
    db.session.commit()
    doc = helpers.make_evidence(w["case"])
    assert asset.stage is AssetStage.REGISTERED
    meanwhile(
        lambda s: assets.appraise(
            s, s.get(PaymentInKind, asset.id), D("100"), date(2026, 8, 3), doc.id, date(2026, 8, 3)
        )
    )
    with pytest.raises(StaleStateError):
        assets.appraise(db.session, asset, D("999"), date(2026, 8, 3), doc.id, date(2026, 8, 3))
    db.session.rollback()
    assert db.session.get(PaymentInKind, asset.id).appraisal_value == D("100")


def test_daily_job_checks_plans_and_requests(w, db):
    """The scheduled job runs both checks and commits: a late instalment and a late request."""
    from jobs.case_rules import daily_case_rules

    repayment.create_plan(
        db.session, w["case"], date(2026, 8, 1), D("100"), [(date(2026, 8, 10), D("100"))],
        None, date(2026, 8, 3),
    )  # fmt: skip
    req = information.issue(
        db.session, user_id=w["lead"].id, subject="S", question="Q", workdays=1,
        on=date(2026, 8, 3), unit_id=w["unit"].id,
    )  # fmt: skip
    db.session.commit()
    result = daily_case_rules("2026-08-20")
    assert len(result["late_instalments"]) == 1 and result["escalated_requests"] == [req.id]
