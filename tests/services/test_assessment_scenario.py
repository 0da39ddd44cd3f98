"""The assessment year walked end to end (issue 12, Art.8, 26(4), 27–30), figures by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from backoffice.models import AuditLog, CaseCost
from backoffice.models.assessment import ApprovalState, DifficultyGrade, ScorecardStatus
from backoffice.models.case import CostKind
from backoffice.services import assessment, costs, scorecard
from backoffice.services.assessment import AssessmentError
from jobs.assessment import assessment_scorecard
from tests.data.assessment_year import build_year


def test_a_year_from_targets_to_the_bonus_in_the_cost_ledger(db):
    """Targets set and approved, graded collections, the scorecard computed, amended and
    approved, and its bonus charged to the customers' units, each figure worked out by hand."""
    y = build_year()
    s = db.session
    # Art.28: the CFO proposes the year's policy, the president approves it.
    policy = assessment.set_policy(
        s, y.leader2, y.company.id, 2025, dict(assessment.POLICY_DEFAULTS)
    )
    assessment.approve_policy(s, y.leader, policy)
    # Art.29: bases proposed by the team lead, approved by the leadership; bad periods refused.
    for bad in ("abcd", "2025-13", "25", "2025-1"):
        with pytest.raises(AssessmentError):
            assessment.propose_target(s, y.lead, y.company.id, bad, "1000")
    team = assessment.propose_target(s, y.lead, y.company.id, "2025", "100000")
    alice = assessment.propose_target(s, y.lead, y.company.id, "2025", "80000", user_id=y.alice.id)
    bob = assessment.propose_target(s, y.lead, y.company.id, "2025", "40000", user_id=y.bob.id)
    with pytest.raises(AssessmentError):  # one base per level and period
        assessment.propose_target(s, y.lead, y.company.id, "2025", "1", user_id=y.bob.id)
    for target in (team, alice, bob):
        assert target.status is ApprovalState.PROPOSED
        assessment.approve_target(s, y.leader, target)
        assert target.status is ApprovalState.APPROVED
    s.commit()
    # Art.30: grades proposed; the team overrides case 3 (standard → hard) with a reason.
    grades = {c.id: assessment.grade_case(s, c, policy) for c in (y.case1, y.case2, y.case3)}
    assert (grades[y.case1.id].age_months, grades[y.case1.id].proposed) == (
        12,
        DifficultyGrade.HARD,
    )
    assert (grades[y.case2.id].age_months, grades[y.case2.id].proposed) == (
        4,
        DifficultyGrade.VERY_HARD,
    )
    assert (grades[y.case3.id].age_months, grades[y.case3.id].proposed) == (
        1,
        DifficultyGrade.STANDARD,
    )
    with pytest.raises(AssessmentError):
        assessment.override_grade(s, y.lead, grades[y.case3.id], DifficultyGrade.HARD, " ")
    assessment.override_grade(s, y.lead, grades[y.case3.id], DifficultyGrade.HARD, "主要负责人失联")
    s.commit()
    # Art.27: the period-end job (run directly: the same function a worker runs).
    result = assessment_scorecard(y.company.id, "2025")
    assert result["graded"] == 3
    card = scorecard.compute(s, y.company.id, "2025", date(2026, 11, 30))  # re-run: same card
    assert card.id == result["scorecard"] and card.status is ScorecardStatus.PROPOSED
    lines = {line.user_id: line for line in card.lines}
    # weighted: case1 60,000 × 1.2 = 72,000; case2 20,000 × 1.5 = 30,000; case3 10,000 × 1.2 =
    # 12,000 (the 5,000 paid before filing does not count). Team 114,000 against 100,000:
    # 114 %, excess 14,000, reward 2 % = 280.00.
    t = lines[None]
    assert (t.collected, t.weighted, t.achievement, t.excess, t.proposed) == (
        D("90000.00"),
        D("114000.00"),
        D("1.1400"),
        D("14000.00"),
        D("280.00"),
    )
    # Alice (cases 1 and 3): 84,000 against 80,000: 105 %, excess 4,000 → 80.00.
    a = lines[y.alice.id]
    assert (a.weighted, a.achievement, a.excess, a.proposed) == (
        D("84000.00"),
        D("1.0500"),
        D("4000.00"),
        D("80.00"),
    )
    # Bob (case 2): 30,000 against 40,000 = 75 % < 80 % floor: (32,000 − 30,000) × 1 % = −20.00.
    b = lines[y.bob.id]
    assert (b.weighted, b.achievement, b.excess, b.proposed) == (
        D("30000.00"),
        D("0.7500"),
        D("0.00"),
        D("-20.00"),
    )
    # Art.26(4): Bob missed the year's target — no commission, no year-end bonus.
    missed = scorecard.missed_targets(s, 2025)
    assert [(m.user_id, m.weighted, m.base) for m in missed] == [
        (y.bob.id, D("30000.00"), D("40000.00"))
    ]
    # Art.28: the leadership amends the team's reward to 300.00 with a comment, then approves.
    with pytest.raises(AssessmentError):
        scorecard.amend(s, y.leader, card, {t.id: "300"}, "")
    scorecard.amend(s, y.leader, card, {t.id: "300"}, "陈欠清收难度大，团队奖励上调")
    assert card.status is ScorecardStatus.AMENDED and t.amount == D("300.00")
    booked = scorecard.approve(s, y.leader, card, "同意")
    s.commit()
    assert card.status is ScorecardStatus.APPROVED and booked == 5
    # Art.8: 300.00 over 72,000 / 30,000 / 12,000 → 189.47 / 78.95 / 31.58 (remainders to the
    # largest fractions); Alice's 80.00 over 72,000 / 12,000 → 68.57 / 11.43; Bob's −20 none.
    bonuses = s.execute(
        select(CaseCost.case_id, CaseCost.amount, CaseCost.sales_unit_id)
        .where(CaseCost.kind == CostKind.BONUS)
        .order_by(CaseCost.scorecard_line_id, CaseCost.case_id)
    ).all()
    assert [(c, amt) for c, amt, _u in bonuses] == [
        (y.case1.id, D("189.47")),
        (y.case2.id, D("78.95")),
        (y.case3.id, D("31.58")),
        (y.case1.id, D("68.57")),
        (y.case3.id, D("11.43")),
    ]
    # The ledger of the approval's year: bonuses by the customers' units; 2025: the trip.
    led = costs.ledger(s, y.leader, date(2026, 1, 1), date(2026, 12, 31))
    by_unit = {u.unit_id: u.by_kind[CostKind.BONUS] for u in led.units}
    assert by_unit == {y.east.id: D("301.05"), y.north.id: D("78.95")}
    assert led.total.total == D("380.00")
    led25 = costs.ledger(s, y.leader, date(2025, 1, 1), date(2025, 12, 31))
    assert [(u.unit_id, u.total) for u in led25.units] == [(y.north.id, D("500.00"))]
    # Locked: no amendment, no second approval, a re-run changes nothing, bonuses booked once.
    with pytest.raises(AssessmentError):
        scorecard.amend(s, y.leader, card, {t.id: "1"}, "再改")
    with pytest.raises(AssessmentError):
        scorecard.approve(s, y.leader, card)
    assert (
        scorecard.compute(s, y.company.id, "2025", date(2026, 11, 30)).status
        is ScorecardStatus.APPROVED
    )
    assert scorecard.book_bonuses(s, card) == 0
    # Audited: the amendment and the approval are in the trail.
    changes = s.scalars(
        select(AuditLog.after).where(AuditLog.entity == "scorecard", AuditLog.action == "update")
    ).all()
    assert any((c or {}).get("status") == "approved" for c in changes)
    assert any((c or {}).get("status") == "amended" for c in changes)


def test_a_scorecard_needs_an_approved_policy_and_an_ended_period(db):
    """No approved policy, or a period not yet over: the scorecard is refused."""
    y = build_year()
    s = db.session
    with pytest.raises(AssessmentError):
        scorecard.compute(s, y.company.id, "2025", date(2026, 11, 30))
    policy = assessment.set_policy(s, y.leader, y.company.id, 2026, {})
    assessment.approve_policy(s, y.leader, policy)
    with pytest.raises(AssessmentError):
        scorecard.compute(s, y.company.id, "2026", date(2026, 11, 30))
    with pytest.raises(AssessmentError):  # an approved policy is locked
        assessment.set_policy(s, y.leader, y.company.id, 2026, {})
