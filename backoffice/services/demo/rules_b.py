"""Demo data for the case rules of issue 12 (Art.10 (4), 19, 23, repayment plans, assets):
the story's repayment plan paid from a real payment and found late by the daily check, the
story's lawsuits taken through the legal approval (and one awaiting it), an asset in payment
of a debt appraised and preserved with its documents, a customer's target and plan, and two
requests for information (one answered, one late and escalated).

Runs after ``StorySteps.plans_and_costs`` (one line in ``story.py``); uses the services, so
the demo shows what the rules produce.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from backoffice.models.case import (
    CaseStatus,
    CollectionCase,
    Litigation,
    LitigationStatus,
    PaymentInKind,
    RepaymentPlan,
)
from backoffice.models.evidence import DocumentType
from backoffice.models.receivable import Payment, PaymentKind
from backoffice.models.user import User
from backoffice.services import assets, information, litigation, payments, repayment, strategy


def seed_rules_b(builder) -> None:
    """Add the rules' demo rows to the builder's session and commit."""
    session, today, users = builder.session, builder.today, builder.users
    working = list(
        session.scalars(
            select(CollectionCase)
            .where(CollectionCase.status == CaseStatus.IN_PROGRESS)
            .order_by(CollectionCase.id)
        )
    )
    _plan_paid_from_a_payment(session, today)
    _lawsuits_through_legal(session, users)
    if not working:
        builder.commit()
        return
    east = [c for c in working if users["collector"].unit_ids & {c.sales_unit_id}] or working
    case = east[0]
    litigation.propose(
        session, case, users["teamlead"].id, "杭州市中级人民法院",
        "请求判令支付拖欠货款及逾期利息；客户多次承诺未履行。", today - timedelta(days=2),
    )  # fmt: skip
    strategy.set_customer_plan(
        session,
        case.customer,
        users["teamlead"].id,
        reasons="下游项目回款延迟，客户资金周转困难，但仍在正常经营。",
        target_amount=Decimal("200000.00"),
        target_date=today + timedelta(days=60),
        measures="每周电话跟进；月底前上门对账；督促按还款计划付款，逾期即发律师函。",
        on=today - timedelta(days=5),
        case=case,
    )
    _asset_in_progress(builder, working[1] if len(working) > 1 else case)
    _requests(session, today, users, case)
    builder.commit()


def _plan_paid_from_a_payment(session, today) -> None:
    """The story's plan: instalment 1 paid by a real payment, allocated; the daily check then
    finds instalment 2 late and marks the promise broken (with its notices)."""
    plan = session.scalar(select(RepaymentPlan).order_by(RepaymentPlan.id).limit(1))
    if plan is None:
        return
    case = plan.case
    first = plan.instalments[0]
    payment = Payment(
        customer_id=case.customer_id,
        company_id=case.company_id,
        sales_unit_id=case.sales_unit_id,
        payment_no=f"HK-PLAN-{plan.id}",
        kind=PaymentKind.PAYMENT,
        amount=first.amount,
        received_on=first.due_on - timedelta(days=2),
        unallocated=first.amount,
        note="还款计划第1期",
    )
    session.add(payment)
    session.flush()
    payments.allocate(session, payment)
    repayment.check_late(session, today)


def _lawsuits_through_legal(session, users) -> None:
    """The story's lawsuits were filed: they went through the legal approval first."""
    for lit in session.scalars(
        select(Litigation).where(
            Litigation.filed_on.is_not(None), Litigation.status == LitigationStatus.PROPOSED
        )
    ):
        lit.claim = lit.claim or "请求判令支付全部拖欠货款及逾期利息。"
        lit.proposed_by_id = users["teamlead"].id
        lit.proposed_on = lit.filed_on - timedelta(days=10)
        lit.decided_by_id, lit.decision_note = users["legal"].id, "证据充分，同意起诉。"
        decided = lit.filed_on - timedelta(days=5)
        lit.decided_at = datetime.combine(decided, time(2, 0), tzinfo=UTC)
        lit.status = LitigationStatus.FILED


def _asset_in_progress(builder, case: CollectionCase) -> None:
    """Payment in kind (Art.23 (2)(3)): appraised and preserved, title not yet transferred."""
    session, today = builder.session, builder.today
    asset = PaymentInKind(case_id=case.id, asset="叉车两台（2019年产，合力牌）")
    session.add(asset)
    session.flush()
    report = builder._document(
        case, f"{case.case_no} 资产评估报告", DocumentType.OTHER,
        "叉车两台经第三方评估机构评估，评估价值人民币捌万元整。",
    )  # fmt: skip
    ruling = builder._document(
        case, f"{case.case_no} 财产保全裁定书", DocumentType.OTHER,
        "法院裁定查封被申请人名下叉车两台。",
    )  # fmt: skip
    assets.appraise(
        session, asset, Decimal("80000.00"), today - timedelta(days=20), report.id, today
    )
    assets.preserve(session, asset, "法院查封", today - timedelta(days=12), ruling.id, today)


def _requests(session, today, users, case: CollectionCase) -> None:
    """Art.19: a request to the unit, late and escalated; one to finance, answered."""
    information.issue(
        session, user_id=users["teamlead"].id, subject="2025年发货签收单",
        question="请提供该客户2025年全部发货签收单及对账函原件扫描件。",
        workdays=3, on=today - timedelta(days=10), case=case, unit_id=case.sales_unit_id,
    )  # fmt: skip
    information.escalate_late(session, today)
    answered = information.issue(
        session, user_id=users["legal"].id, subject="回款流水核对",
        question="请核对该客户近六个月银行回款流水，确认是否有未入账款项。",
        workdays=5, on=today - timedelta(days=6), case=case,
        addressee_user_id=users["finance"].id,
    )  # fmt: skip
    finance = session.get(User, users["finance"].id)
    information.answer(
        session, answered, finance, "已核对，近六个月无未入账款项，流水已上传。",
        today - timedelta(days=2),
    )  # fmt: skip
