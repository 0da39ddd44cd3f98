"""Demo assessment (Art.8, 26(4), 27–30), through the real services: the demo's monthly bases
approved by the leadership, the year's policy, graded debts (one grade overridden), the last
closed month's scorecard amended and approved with its bonus in the cost ledger, and a member
flagged for missing the year's target."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from backoffice.models.assessment import ApprovalState, DifficultyGrade
from backoffice.models.case import CaseCost, CollectionCase, CostKind
from backoffice.models.org import Company
from backoffice.models.setting import Target
from backoffice.services import assessment, scorecard


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def costs_in_closed_month(session: Any, cases: list, closed: date) -> None:
    """Art.8: trips and lost time in the last closed month, so the leadership report shows
    each unit's cost beside what it collected."""
    notes = (
        (CostKind.TRAVEL, "3200.00", "赴客户现场对账、催收差旅费"),
        (CostKind.LOST_TIME, "1500.00", "配合诉前调解误工补贴 2 天"),
        (CostKind.TRAVEL, "980.00", "上门送达催款函交通费"),
    )
    for case, (kind, amount, note) in zip(cases, notes, strict=False):
        session.add(
            CaseCost(
                case_id=case.id,
                company_id=case.company_id,
                sales_unit_id=case.sales_unit_id,
                kind=kind,
                amount=Decimal(amount),
                incurred_on=closed.replace(day=15),
                note=note,
            )
        )


def seed(builder: Any) -> None:
    """Run after the story: cases, payments and the monthly bases exist. Commits."""
    session, today = builder.session, builder.today
    leader, cfo, lead = builder.users["leader"], builder.users["cfo"], builder.users["teamlead"]
    company = session.scalar(select(Company).order_by(Company.id).limit(1))
    # Art.28: the demo's monthly unit bases were set by the leadership: approve them.
    for target in session.scalars(select(Target).where(Target.status == ApprovalState.PROPOSED)):
        assessment.approve_target(session, leader, target)
    closed = today.replace(day=1) - timedelta(days=1)
    year = closed.year
    policy = assessment.set_policy(
        session, cfo, company.id, year, {**assessment.POLICY_DEFAULTS, "note": "演示：年度考核政策"}
    )
    assessment.approve_policy(session, leader, policy)
    builder.commit()
    cases = session.scalars(
        select(CollectionCase)
        .where(CollectionCase.company_id == company.id, CollectionCase.filed_on.is_not(None))
        .order_by(CollectionCase.id)
    ).all()
    grades = [assessment.grade_case(session, case, policy) for case in cases]
    if grades:  # Art.30: the team overrides one proposal, with its reason
        first = grades[0]
        other = (
            DifficultyGrade.VERY_HARD
            if first.proposed is not DifficultyGrade.VERY_HARD
            else DifficultyGrade.HARD
        )
        assessment.override_grade(
            session, lead, first, other, "债务人已进入破产重整程序，清收难度大"
        )
    builder.commit()
    costs_in_closed_month(session, cases, closed)
    builder.commit()
    # The last closed month with collections on the debts taken over.
    period = None
    for back in range(12):
        month_end = closed
        for _ in range(back):
            month_end = month_end.replace(day=1) - timedelta(days=1)
        start = month_end.replace(day=1)
        takes = scorecard.case_collections(session, company.id, start, month_end, policy)
        if takes and month_end.year == year:
            period = _month(month_end)
            break
    if period is None:
        return
    team = sum((t.weighted for t in takes), Decimal(0))
    # Art.29: a team base a little under what was collected, so the excess earns a reward.
    base = (team * Decimal("0.8")).quantize(Decimal(1000)) or Decimal(1000)
    assessment.approve_target(
        session,
        leader,
        assessment.propose_target(
            session, lead, company.id, period, base, note="演示：月度清欠基数"
        ),
    )
    members = sorted({t.lead_id for t in takes if t.lead_id is not None})
    for user_id in members:
        mine = sum((t.weighted for t in takes if t.lead_id == user_id), Decimal(0))
        member_base = (mine * Decimal("0.9")).quantize(Decimal(100)) or Decimal(100)
        assessment.approve_target(
            session,
            leader,
            assessment.propose_target(
                session, lead, company.id, period, member_base, user_id=user_id
            ),
        )
        # Art.26(4): a year's base well above what the member collects: flagged.
        assessment.approve_target(
            session,
            leader,
            assessment.propose_target(
                session, lead, company.id, str(year), mine * 40 + 1_000_000, user_id=user_id
            ),
        )
    builder.commit()
    card = scorecard.compute(session, company.id, period, today)
    team_line = next(line for line in card.lines if line.user_id is None)
    if team_line.proposed > 0:
        scorecard.amend(
            session,
            leader,
            card,
            {team_line.id: (team_line.proposed * Decimal("1.1")).quantize(Decimal("0.01"))},
            "考虑到本月清收的多为三年以上陈欠，团队奖金上调一成",
        )
    scorecard.approve(session, leader, card, "同意，按调整后金额发放")
    builder.commit()
