"""Demo data for issue 12's partial rules (called once from ``story.py``), each made through
its service so the records, notices and audit entries are what users would get:

- Art.3: a few contracts of the demo collector's unit with interest and liquidated damages
  beside their penalty interest, and this month's unit reports (charges apart);
- Art.12: those reports sent to the units' contacts and finance, the sendings recorded;
- Art.15 (3): the last unit's form answered with one line of both reasons, routed, and that
  line split into its internal and external parts;
- Art.16 (4): a refused application and its consequence for the unit and the handler;
- Art.17: a case's reasons and proposed measures, submitted by the collector;
- the warning before the due date: the collectors told of documents falling due.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from backoffice.models.case import ActionKind, CaseStatus, CollectionCase
from backoffice.models.monthly import (
    ConfirmationForm,
    FormStatus,
    MonthlyRun,
    OverdueReason,
    ReasonClass,
    Route,
)
from backoffice.models.receivable import Contract, PenaltyKind, Receivable, ReceivableStatus
from backoffice.services import (
    case_submissions,
    cases,
    confirmation,
    confirmation_split,
    monthly,
    monthly_report,
    predue,
)


def seed(builder) -> None:
    """Run every step on the demo builder's session (commits as it goes)."""
    session, today, users = builder.session, builder.today, builder.users
    _charges(session, builder.units[0])
    run = session.scalar(select(MonthlyRun).order_by(MonthlyRun.period.desc()))
    p = monthly.plan(session, run.period)
    for unit in builder.units:
        monthly_report.build_unit_report(session, run, unit, p)  # and sends it (Art.12)
    _split(session, builder.units[-1], run.period, p.form_date, users["finance"].id)
    _refusal(session, builder.units[0], today, users)
    _submission(session, today, users)
    predue.remind_collectors(session, today)
    session.commit()


def _charges(session, unit) -> None:
    """Art.3: interest at 0.03% a day and ¥2,000 damages on five contracts of the unit."""
    contracts = session.scalars(
        select(Contract).where(Contract.sales_unit_id == unit.id).order_by(Contract.id).limit(5)
    )
    for contract in contracts:
        contract.interest_kind = PenaltyKind.DAILY_RATE
        contract.interest_daily_rate = Decimal("0.0003")
        contract.damages_kind = PenaltyKind.FIXED
        contract.damages_fixed = Decimal("2000.00")
    session.commit()


def _reason(session, label: str) -> OverdueReason:
    return session.scalar(select(OverdueReason).where(OverdueReason.label == label))


def _split(session, unit, period: str, issued_on, finance_id: int) -> None:
    """Art.15 (3): the unit's form, answered with its first line "both", routed and split."""
    form = session.scalar(
        select(ConfirmationForm).where(
            ConfirmationForm.period == period, ConfirmationForm.sales_unit_id == unit.id
        )
    )
    if form is None or form.status is not FormStatus.ISSUED or not form.lines:
        return
    both, delay = _reason(session, "单价差异"), _reason(session, "客户无故拖欠货款")
    for i, line in enumerate(form.lines):
        confirmation.answer_line(
            session,
            line,
            confirmation.Answer(
                ReasonClass.BOTH if i == 0 else ReasonClass.EXTERNAL,
                (both if i == 0 else delay).id,
                (line.outstanding_at_close * Decimal("0.5")).quantize(Decimal("0.01")),
                issued_on + timedelta(days=45),
                "部分为我方记账差异，其余客户拖欠" if i == 0 else None,
            ),
        )
    confirmation.submit(session, form, finance_id, issued_on)
    confirmation.route_form(session, form, finance_id)
    line = form.lines[0]
    assert line.route is Route.FINANCE_THEN_SPLIT
    internal = (line.outstanding_at_close * Decimal("0.3")).quantize(Decimal("0.01"))
    confirmation_split.split_line(
        session,
        line,
        [
            confirmation_split.PartInput(
                ReasonClass.INTERNAL,
                _reason(session, "财务记账差异").id,
                internal,
                "开票金额录入有误",
            ),
            confirmation_split.PartInput(
                ReasonClass.EXTERNAL, delay.id, line.outstanding_at_close - internal
            ),
        ],
        finance_id,
    )
    session.commit()


def _refusal(session, unit, today, users) -> None:
    """Art.16 (4): a collector's application for a debt under 6 months, refused by the team."""
    open_customers = select(CollectionCase.customer_id).where(
        CollectionCase.status.notin_([CaseStatus.CLOSED, CaseStatus.REFUSED])
    )
    customer_id = session.scalar(
        select(Receivable.customer_id)
        .where(
            Receivable.sales_unit_id == unit.id,
            Receivable.status == ReceivableStatus.OPEN,
            Receivable.outstanding > 0,
            Receivable.due_date < today - timedelta(days=40),
            Receivable.due_date > today - timedelta(days=150),
            Receivable.customer_id.notin_(open_customers),
        )
        .group_by(Receivable.customer_id)
        .order_by(func.min(Receivable.id))
        .limit(1)
    )
    if customer_id is None:
        return
    case = cases.apply(
        session, customer_id, users["collector"].id, "客户以资金紧张为由多次推迟付款", today
    )
    session.flush()
    cases.refuse(
        session, case, users["teamlead"].id, "欠款金额较小且逾期未满6个月，由事业部自行催收"
    )
    session.commit()


def _submission(session, today, users) -> None:
    """Art.17: the collector's reasons and measures for a case waiting for them."""
    case = session.scalar(
        select(CollectionCase)
        .where(CollectionCase.status == CaseStatus.DOCUMENTS_REQUESTED)
        .order_by(CollectionCase.id)
        .limit(1)
    )
    if case is None:
        return
    proposal = case_submissions.Proposal(
        ReasonClass.EXTERNAL,
        _reason(session, "客户无故拖欠货款").id,
        "客户下游项目回款慢，资金周转困难，已多次承诺付款未兑现。",
        [
            case_submissions.Measure(
                ActionKind.DEMAND_LETTER, today + timedelta(days=3), "发书面催款函"
            ),
            case_submissions.Measure(
                ActionKind.VISIT, today + timedelta(days=10), "组织上门催收并对账"
            ),
            case_submissions.Measure(
                ActionKind.SHIPMENT_STOP, today + timedelta(days=5), "申请停货"
            ),
        ],
    )
    case_submissions.submit(session, case, proposal, users["collector"].id, today)
    session.commit()
