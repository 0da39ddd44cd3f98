"""Demo data for accountability (issue 12; Art.18, 20, 24–26).

Runs after the story's write-offs (``StorySteps.story``): the filed write-off's finding (opened
by the filing, its division VP already named under Art.24) gets the salesperson named under
Art.26(1) and the contracting department under Art.26(3); legal completes it, 总裁办 confirms
it, which holds the salesperson (no promotion or transfer) while the loss is unrecovered. The
team recommends a deadline to make good, which the CFO decides (the salesperson's task,
reminded daily), and a wage suspension still awaiting the leadership. Every step goes through
the services, as a user's would.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from backoffice.models.writeoff import AccountabilityFinding, PartyBasis, SanctionKind
from backoffice.services import accountability, sanctions


def build(builder: Any) -> None:
    """Name, complete and confirm the filed write-off's finding; recommend and decide measures.
    Commits; does nothing when the story filed no write-off."""
    session, users, today = builder.session, builder.users, builder.today
    finding = session.scalar(
        select(AccountabilityFinding)
        .where(AccountabilityFinding.application_id.is_not(None))
        .order_by(AccountabilityFinding.id)
    )
    if finding is None:
        return
    person = users["collector"]
    accountability.name_party(
        session,
        finding,
        user_id=person.id,
        name=None,
        responsibility="individual",
        basis=PartyBasis.MAJOR_LOSS,
        note="直接经办人，逾期后未按月对账",
    )
    accountability.name_party(
        session,
        finding,
        user_id=None,
        name="华东事业部销售合同科",
        responsibility="unit",
        basis=PartyBasis.CONTRACTING,
        note="签约时未核实客户信用，赊销额度超出授信",
    )
    accountability.record_finding(
        session,
        finding,
        kind="individual",
        people=finding.people or "",
        text=finding.finding or "逾期后未按月对账，停货申请晚于逾期 120 天，致使损失扩大。",
        evidence="月度对账记录、停货申请单、催收记录（见核销申请附件）",
        completed=True,
        user=users["legal"],
    )
    builder.commit()
    accountability.confirm(session, finding, users["credit"], "情况属实，同意认定")
    builder.commit()
    make_good = sanctions.recommend(
        session,
        finding,
        users["teamlead"],
        user_id=person.id,
        kind=SanctionKind.MAKE_GOOD,
        note="限期补齐客户注销证明与对账记录，并协助追回欠款",
        due_on=today + timedelta(days=15),
        amount=Decimal("20000.00"),
        today=today,
    )
    builder.commit()
    sanctions.decide(
        session, make_good, users["cfo"], approve=True, comment="同意，按期督办", on=today
    )
    sanctions.recommend(
        session,
        finding,
        users["teamlead"],
        user_id=person.id,
        kind=SanctionKind.SALARY_HOLD,
        note="在补齐材料前暂停发放绩效工资",
        today=today,
    )
    builder.commit()
