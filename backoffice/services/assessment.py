"""Assessment rules (Art.28–30): periods, the policy, the bases and the difficulty grades.

- Art.28: the leadership group sets the assessment policy and approves (核定) the targets. A
  base is proposed (by the team lead or the leadership) and counts only once approved; an
  approved base or policy is locked.
- Art.29: a base (清欠基数) per team, per unit or per member, for a year (``YYYY``) or a month
  (``YYYY-MM``). Meeting it meets the target; what exceeds it is over-achievement.
- Art.30: each debt taken over (a case) gets a difficulty grade proposed from its age, the
  debtor's financial status and whether it is litigated; the team may override it with a
  reason. The grade's weight (the policy's) scales what its collection counts toward the base.

The scorecard (Art.27) is in ``services/scorecard.py``. Functions change the session; the
caller commits. State changes claim the row first (``transitions.claim``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from backoffice.models.assessment import (
    ApprovalState,
    AssessmentPolicy,
    DebtGrade,
    DifficultyGrade,
)
from backoffice.models.base import utcnow
from backoffice.models.case import CaseReceivable, CollectionCase, Litigation
from backoffice.models.customer import FinancialStatus
from backoffice.models.org import SalesUnit
from backoffice.models.receivable import Receivable
from backoffice.models.setting import Target
from backoffice.services.transitions import claim

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")

#: Defaults offered when the leadership sets a year's policy (it may change every one).
POLICY_DEFAULTS: dict[str, Any] = {
    "weight_standard": Decimal("1.00"),
    "weight_hard": Decimal("1.20"),
    "weight_very_hard": Decimal("1.50"),
    "hard_after_months": 12,
    "very_hard_after_months": 24,
    "reward_rate": Decimal("0.02"),
    "penalty_floor": Decimal("0.80"),
    "penalty_rate": Decimal("0.01"),
}
POLICY_FIELDS = tuple(POLICY_DEFAULTS)

# Art.30 with Art.23: the debtor's financial status adds to the difficulty.
STATUS_POINTS = {
    FinancialStatus.UNKNOWN: 0,
    FinancialStatus.GOOD_FUNDS: 0,
    FinancialStatus.POOR_FUNDS_GOOD_PROSPECTS: 1,
    FinancialStatus.POOR_FUNDS_POORLY_RUN: 2,
    FinancialStatus.MALICIOUS: 2,
}


class AssessmentError(ValueError):
    """A refused assessment step (the message is translated and shown to the user)."""


# -- periods ------------------------------------------------------------------------------


def parse_period(text: str | None) -> str:
    """Art.29: ``YYYY`` or ``YYYY-MM`` (month 01–12), stripped; anything else is refused."""
    period = (text or "").strip()
    match = _PERIOD.match(period)
    if not match or (match.group(2) and not 1 <= int(match.group(2)) <= 12):
        raise AssessmentError(_("Enter the period as a year (2026) or a month (2026-10)."))
    return period


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of the year or month ``period``."""
    period = parse_period(period)
    year = int(period[:4])
    if len(period) == 4:
        return date(year, 1, 1), date(year, 12, 31)
    month = int(period[5:])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


# -- the policy (Art.28) --------------------------------------------------------------------


def policy_for(session: Session, company_id: int, year: int) -> AssessmentPolicy | None:
    return session.scalar(
        select(AssessmentPolicy).where(
            AssessmentPolicy.company_id == company_id, AssessmentPolicy.year == year
        )
    )


def set_policy(
    session: Session, user: Any, company_id: int, year: int, values: dict[str, Any]
) -> AssessmentPolicy:
    """Art.28: propose (or revise) the year's policy. Refuses an approved one (it is locked),
    negative rates, a floor outside 0–1, weights below 1 or thresholds out of order."""
    if not 2000 <= int(year) <= 2999:
        raise AssessmentError(_("Enter a year such as 2026."))
    policy = policy_for(session, company_id, int(year))
    if policy is not None:
        claim(session, policy, "status")
        if policy.status is ApprovalState.APPROVED:
            raise AssessmentError(_("The policy of %(year)s is approved and locked.", year=year))
    clean = {k: values.get(k, POLICY_DEFAULTS[k]) for k in POLICY_FIELDS}
    for key in ("weight_standard", "weight_hard", "weight_very_hard"):
        clean[key] = Decimal(str(clean[key]))
        if clean[key] < 1:
            raise AssessmentError(_("A difficulty weight is at least 1."))
    for key in ("reward_rate", "penalty_rate", "penalty_floor"):
        clean[key] = Decimal(str(clean[key]))
        if clean[key] < 0 or (key == "penalty_floor" and clean[key] > 1):
            raise AssessmentError(_("Rates are not negative and the floor is between 0 and 1."))
    clean["hard_after_months"] = int(clean["hard_after_months"])
    clean["very_hard_after_months"] = int(clean["very_hard_after_months"])
    if not 0 < clean["hard_after_months"] < clean["very_hard_after_months"]:
        raise AssessmentError(_("The months for 'very hard' exceed those for 'hard'."))
    new = policy is None
    if new:
        policy = AssessmentPolicy(company_id=company_id, year=int(year))
    for key, value in clean.items():
        setattr(policy, key, value)
    policy.status, policy.set_by_id = ApprovalState.PROPOSED, user.id
    policy.note = values.get("note") or policy.note
    if new:
        session.add(policy)
    session.flush()
    return policy


def approve_policy(session: Session, user: Any, policy: AssessmentPolicy) -> None:
    """Art.28: the leadership group approves the year's policy; it is locked from then on."""
    claim(session, policy, "status")
    if policy.status is ApprovalState.APPROVED:
        raise AssessmentError(_("Already approved."))
    policy.status, policy.approved_by_id, policy.approved_at = (
        ApprovalState.APPROVED,
        user.id,
        utcnow(),
    )
    session.flush()


def weight(policy: AssessmentPolicy, grade: DifficultyGrade) -> Decimal:
    """Art.30: what ¥1 collected on a debt of ``grade`` counts toward the base."""
    return {
        DifficultyGrade.STANDARD: policy.weight_standard,
        DifficultyGrade.HARD: policy.weight_hard,
        DifficultyGrade.VERY_HARD: policy.weight_very_hard,
    }[grade]


# -- the bases (Art.29) ---------------------------------------------------------------------


def propose_target(
    session: Session,
    user: Any,
    company_id: int,
    period: str,
    base_amount: Any,
    *,
    sales_unit_id: int | None = None,
    user_id: int | None = None,
    note: str | None = None,
) -> Target:
    """Art.29: propose a base for the team (neither unit nor member), a unit or a member, for a
    validated period. One base per level and period."""
    period = parse_period(period)
    amount = Decimal(str(base_amount or 0))
    if amount <= 0:
        raise AssessmentError(_("The base must be more than zero."))
    if sales_unit_id is not None and user_id is not None:
        raise AssessmentError(_("A base is for the team, a unit or a member, not two at once."))
    if sales_unit_id is not None:
        unit = session.get(SalesUnit, sales_unit_id)
        if unit is None or unit.company_id != company_id:
            raise AssessmentError(_("That unit is not one of this company's."))
    same = select(Target.id).where(
        Target.company_id == company_id,
        Target.period == period,
        Target.sales_unit_id.is_(None)
        if sales_unit_id is None
        else Target.sales_unit_id == sales_unit_id,
        Target.user_id.is_(None) if user_id is None else Target.user_id == user_id,
    )
    if session.scalar(same) is not None:
        raise AssessmentError(
            _("A base for %(period)s at this level exists already.", period=period)
        )
    target = Target(
        company_id=company_id,
        period=period,
        base_amount=amount,
        sales_unit_id=sales_unit_id,
        user_id=user_id,
        note=note or None,
        status=ApprovalState.PROPOSED,
        proposed_by_id=user.id,
    )
    session.add(target)
    session.flush()
    return target


def approve_target(session: Session, user: Any, target: Target) -> None:
    """Art.28: the leadership group approves (核定) a base; from then on it counts and is
    locked."""
    claim(session, target, "status")
    if target.status is ApprovalState.APPROVED:
        raise AssessmentError(_("Already approved."))
    target.status, target.approved_by_id, target.approved_at = (
        ApprovalState.APPROVED,
        user.id,
        utcnow(),
    )
    session.flush()


# -- difficulty grades (Art.30) -------------------------------------------------------------


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (0 if ``end`` is not after it)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(months, 0)


@dataclass(frozen=True)
class GradeProposal:
    grade: DifficultyGrade
    age_months: int
    financial_status: FinancialStatus
    litigated: bool


def propose_grade(
    session: Session, case: CollectionCase, policy: AssessmentPolicy
) -> GradeProposal:
    """Art.30: a point for an age over ``hard_after_months``, two over
    ``very_hard_after_months`` (age = oldest due date of the case's receivables to the day the
    team took it over); 0–2 points for the debtor's financial status (Art.23); a point when it
    is litigated. 0 → standard, 1–2 → hard, 3 or more → very hard."""
    oldest = session.scalar(
        select(func.min(Receivable.due_date))
        .join(CaseReceivable, CaseReceivable.receivable_id == Receivable.id)
        .where(CaseReceivable.case_id == case.id)
    )
    taken_over = case.filed_on or date.today()
    age = months_between(oldest, taken_over) if oldest else 0
    status = case.customer.financial_status or FinancialStatus.UNKNOWN
    litigated = bool(session.scalar(select(exists().where(Litigation.case_id == case.id))))
    points = (
        2 if age >= policy.very_hard_after_months else 1 if age >= policy.hard_after_months else 0
    )
    points += STATUS_POINTS.get(status, 0) + (1 if litigated else 0)
    grade = (
        DifficultyGrade.STANDARD
        if points == 0
        else DifficultyGrade.HARD
        if points <= 2
        else DifficultyGrade.VERY_HARD
    )
    return GradeProposal(grade, age, status, litigated)


def grade_case(session: Session, case: CollectionCase, policy: AssessmentPolicy) -> DebtGrade:
    """Art.30: (re)propose the case's grade. A grade the team overrode keeps its override; the
    proposal beside it is refreshed. Idempotent."""
    proposal = propose_grade(session, case, policy)
    row = session.scalar(select(DebtGrade).where(DebtGrade.case_id == case.id))
    if row is None:
        row = DebtGrade(
            case_id=case.id, company_id=case.company_id, sales_unit_id=case.sales_unit_id
        )
        session.add(row)
    row.age_months = proposal.age_months
    row.financial_status = proposal.financial_status.value
    row.litigated = proposal.litigated
    row.proposed = proposal.grade
    if not row.override_reason:
        row.grade = proposal.grade
    session.flush()
    return row


def override_grade(
    session: Session, user: Any, row: DebtGrade, grade: DifficultyGrade, reason: str | None
) -> None:
    """Art.30: the team sets another grade than the proposal, with its reason; setting the
    proposed grade again clears the override."""
    claim(session, row, "grade")
    grade = DifficultyGrade(grade)
    reason = (reason or "").strip()
    if grade is not row.proposed and not reason:
        raise AssessmentError(_("Give the reason for the grade."))
    row.grade = grade
    row.override_reason = reason if grade is not row.proposed else None
    row.graded_by_id = user.id
    session.flush()


def grade_of(session: Session, case_id: int) -> DifficultyGrade:
    """The case's grade; a case never graded counts as standard."""
    grade = session.scalar(select(DebtGrade.grade).where(DebtGrade.case_id == case_id))
    return grade or DifficultyGrade.STANDARD
