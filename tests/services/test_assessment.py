"""Assessment rules one by one (Art.27–30): periods, grade proposals, the reward rule, the
bonus split, and the cost ledger's rule on bonuses (Art.8)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from types import SimpleNamespace as NS

import pytest

from backoffice.models.assessment import DifficultyGrade
from backoffice.models.case import CaseCost, CostKind
from backoffice.models.customer import FinancialStatus
from backoffice.services import assessment, costs, scorecard
from backoffice.services.assessment import AssessmentError
from tests.data.assessment_year import build_year

POLICY = NS(**assessment.POLICY_DEFAULTS)


@pytest.mark.parametrize("text", ["abcd", "2026-13", "2026-00", "2026-1", "26", "2026/10", ""])
def test_a_period_is_a_year_or_a_month(text):
    """Art.29: only YYYY or YYYY-MM with a real month is accepted."""
    with pytest.raises(AssessmentError):
        assessment.parse_period(text)


def test_period_bounds_of_a_year_and_of_february():
    """A year runs Jan 1–Dec 31; February 2028 has 29 days."""
    assert assessment.period_bounds("2025") == (date(2025, 1, 1), date(2025, 12, 31))
    assert assessment.period_bounds("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))


def test_months_overdue_count_whole_calendar_months():
    """12 months from 10 Jan 2024 to 1 Feb 2025 (the 1st is before the 10th)."""
    assert assessment.months_between(date(2024, 1, 10), date(2025, 2, 1)) == 12
    assert assessment.months_between(date(2024, 1, 10), date(2025, 2, 10)) == 13
    assert assessment.months_between(date(2025, 3, 1), date(2025, 2, 1)) == 0


def test_grade_proposal_follows_age_status_and_litigation(db):
    """Art.30: two years overdue alone is hard (2 points); with poor funds it is very hard; a
    re-proposal keeps the team's override."""
    y = build_year()
    policy = NS(**assessment.POLICY_DEFAULTS)
    y.case1.customer.financial_status = FinancialStatus.GOOD_FUNDS
    y.case1.filed_on = date(2026, 1, 10)  # 24 months after the 2024-01-10 due date
    assert assessment.propose_grade(db.session, y.case1, policy).grade is DifficultyGrade.HARD
    y.case1.customer.financial_status = FinancialStatus.POOR_FUNDS_GOOD_PROSPECTS
    assert assessment.propose_grade(db.session, y.case1, policy).grade is DifficultyGrade.VERY_HARD
    row = assessment.grade_case(db.session, y.case1, policy)
    assessment.override_grade(db.session, y.lead, row, DifficultyGrade.STANDARD, "已达成和解")
    y.case1.customer.financial_status = FinancialStatus.GOOD_FUNDS
    assessment.grade_case(db.session, y.case1, policy)
    assert (row.proposed, row.grade) == (DifficultyGrade.HARD, DifficultyGrade.STANDARD)
    assessment.override_grade(db.session, y.lead, row, DifficultyGrade.HARD, "")  # back to it
    assert row.override_reason is None


@pytest.mark.parametrize(
    ("base", "weighted", "achievement", "excess", "proposed"),
    [
        ("1000", "1500", "1.5000", "500.00", "10.00"),  # 2 % of 500
        ("1000", "1000", "1.0000", "0.00", "0.00"),  # met exactly
        ("1000", "800", "0.8000", "0.00", "0.00"),  # at the floor: no penalty
        ("1000", "500", "0.5000", "0.00", "-3.00"),  # 1 % of (800 − 500)
    ],
)
def test_reward_and_penalty_rule(base, weighted, achievement, excess, proposed):
    """Art.27: a rate on the excess; below the floor, a rate on the shortfall to the floor."""
    r = scorecard.assess(POLICY, D(base), D(weighted), D(weighted))
    assert (r.achievement, r.excess, r.proposed) == (D(achievement), D(excess), D(proposed))


def test_no_base_means_no_achievement_and_no_reward():
    """Without an approved base nothing is proposed."""
    r = scorecard.assess(POLICY, None, D("100"), D("120"))
    assert (r.achievement, r.excess, r.proposed) == (None, D("0.00"), D("0.00"))


def test_split_adds_up_to_the_cent():
    """100.00 over three equal shares: 33.34 + 33.33 + 33.33."""
    parts = scorecard._split(D("100.00"), [D(1), D(1), D(1)])
    assert sum(parts) == D("100.00") and sorted(parts) == [D("33.33"), D("33.33"), D("33.34")]


def test_bonuses_are_not_typed_in_by_hand():
    """Art.8: a hand-made bonus and a change to a booked one are refused; travel is fine."""
    with pytest.raises(costs.CostError):
        costs.check_manual(CaseCost(kind=CostKind.BONUS))
    with pytest.raises(costs.CostError):
        costs.check_manual(CaseCost(kind=CostKind.TRAVEL, scorecard_line_id=1), deleting=True)
    costs.check_manual(CaseCost(kind=CostKind.TRAVEL))


def test_cost_per_hundred_collected():
    """300 of cost for 20,000 collected is 1.50 per ¥100; nothing collected gives none."""
    assert costs.per_hundred(D("300"), D("20000")) == D("1.50")
    assert costs.per_hundred(D("300"), D("0")) is None


def test_policy_values_are_checked(db):
    """A weight below 1, a floor above 1 or thresholds out of order are refused."""
    y = build_year()
    for bad in ({"weight_hard": "0.9"}, {"penalty_floor": "1.2"}, {"hard_after_months": 30}):
        with pytest.raises(AssessmentError):
            assessment.set_policy(db.session, y.leader, y.company.id, 2025, bad)
