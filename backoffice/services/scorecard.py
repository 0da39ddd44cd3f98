"""The scorecard (Art.27), its approval (Art.28), its bonuses (Art.8) and Art.26(4)'s flag.

Art.27: at period end the team's results are assessed, for the team and for each member:

- collected: money received in the period on the receivables of a debt the team took over
  (a case), on or after the day it was filed; a member's collections are those of the cases
  they lead;
- weighted: each case's collections × its difficulty grade's weight (Art.30), to the cent;
- the base (Art.29): the approved ``Target`` of the team (no unit, no member) or the member;
- achievement = weighted / base; excess = weighted − base when above it;
- proposed: the policy's rule, reward = reward rate × excess; below the floor
  (achievement < floor), penalty = penalty rate × (floor × base − weighted), shown negative.

Art.28: the leadership approves the scorecard or amends its amounts with a comment first; the
approved scorecard is locked (the generic doors are shut, ``governance``; every step claims the
status, ``transitions.claim``; the ORM flush audits each change). Art.8: on approval every
positive amount enters the cost ledger as a bonus, split over the cases that earned it in
proportion to their weighted collections and charged to the unit owning each case's customer.

Art.26(4), 2nd paragraph: ``missed_targets`` flags the members who miss the year's target —
no commission and no year-end bonus.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backoffice.models.assessment import (
    ApprovalState,
    AssessmentPolicy,
    DebtGrade,
    DifficultyGrade,
    Scorecard,
    ScorecardLine,
    ScorecardStatus,
)
from backoffice.models.base import CENT, SHANGHAI, to_money, utcnow
from backoffice.models.case import CaseCost, CaseReceivable, CollectionCase, CostKind
from backoffice.models.receivable import Payment, PaymentAllocation, PaymentKind
from backoffice.models.setting import Target
from backoffice.models.user import User
from backoffice.services import assessment
from backoffice.services.assessment import AssessmentError
from backoffice.services.transitions import claim

ZERO = Decimal("0.00")
LOCKED = ScorecardStatus.APPROVED


@dataclass
class CaseTake:
    """One case's collections in a period."""

    case_id: int
    lead_id: int | None
    sales_unit_id: int | None
    grade: DifficultyGrade
    collected: Decimal = ZERO
    weighted: Decimal = ZERO


def case_collections(
    session: Session, company_id: int, start: date, end: date, policy: AssessmentPolicy
) -> list[CaseTake]:
    """Art.27, 30: each case's money received in [start, end] after it was filed, and its
    weighted amount. Credit notes collect nothing."""
    rows = session.execute(
        select(
            CollectionCase.id,
            CollectionCase.lead_id,
            CollectionCase.sales_unit_id,
            PaymentAllocation.amount,
        )
        .join(CaseReceivable, CaseReceivable.case_id == CollectionCase.id)
        .join(PaymentAllocation, PaymentAllocation.receivable_id == CaseReceivable.receivable_id)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(
            CollectionCase.company_id == company_id,
            CollectionCase.filed_on.is_not(None),
            Payment.kind == PaymentKind.PAYMENT,
            Payment.received_on >= start,
            Payment.received_on <= end,
            Payment.received_on >= CollectionCase.filed_on,
        )
    ).all()
    grades = dict(session.execute(select(DebtGrade.case_id, DebtGrade.grade)).all())
    takes: dict[int, CaseTake] = {}
    for case_id, lead_id, unit_id, amount in rows:
        take = takes.get(case_id) or CaseTake(
            case_id, lead_id, unit_id, grades.get(case_id, DifficultyGrade.STANDARD)
        )
        take.collected += amount
        takes[case_id] = take
    for take in takes.values():
        take.weighted = to_money(take.collected * assessment.weight(policy, take.grade))
    return sorted(takes.values(), key=lambda t: t.case_id)


@dataclass(frozen=True)
class Result:
    base: Decimal | None
    collected: Decimal
    weighted: Decimal
    achievement: Decimal | None
    excess: Decimal
    proposed: Decimal


def assess(
    policy: AssessmentPolicy, base: Decimal | None, collected: Decimal, weighted: Decimal
) -> Result:
    """Art.27, 29: achievement, excess and the proposed reward (+) or penalty (−)."""
    if not base:
        return Result(None, collected, weighted, None, ZERO, ZERO)
    achievement = (weighted / base).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    excess = max(weighted - base, ZERO)
    if excess > 0:
        proposed = to_money(excess * policy.reward_rate)
    elif weighted < policy.penalty_floor * base:
        proposed = -to_money((policy.penalty_floor * base - weighted) * policy.penalty_rate)
    else:
        proposed = ZERO
    return Result(base, collected, weighted, achievement, excess, proposed)


def _bases(session: Session, company_id: int, period: str) -> dict[int | None, Decimal]:
    """Approved bases of the period: None → the team's, a user id → that member's."""
    rows = session.execute(
        select(Target.user_id, Target.base_amount).where(
            Target.company_id == company_id,
            Target.period == period,
            Target.sales_unit_id.is_(None),
            Target.status == ApprovalState.APPROVED,
        )
    ).all()
    return {user_id: amount for user_id, amount in rows}


def _approved_policy(session: Session, company_id: int, year: int) -> AssessmentPolicy:
    policy = assessment.policy_for(session, company_id, year)
    if policy is None or policy.status is not ApprovalState.APPROVED:
        raise AssessmentError(
            _("The leadership has not approved an assessment policy for %(year)s.", year=year)
        )
    return policy


def compute(session: Session, company_id: int, period: str, today: date) -> Scorecard:
    """Art.27: compute (or recompute) the period's scorecard. Refuses a period not yet over or a
    year without an approved policy. An approved scorecard is locked and an amended one keeps
    the leadership's amendments: both are returned unchanged. Idempotent (one per company and
    period, by a unique key)."""
    period = assessment.parse_period(period)
    start, end = assessment.period_bounds(period)
    if end >= today:
        raise AssessmentError(_("%(period)s has not ended yet.", period=period))
    policy = _approved_policy(session, company_id, start.year)
    card = session.scalar(
        select(Scorecard).where(Scorecard.company_id == company_id, Scorecard.period == period)
    )
    if card is not None:
        claim(session, card, "status")
        if card.status is not ScorecardStatus.PROPOSED:
            return card
        session.execute(delete(ScorecardLine).where(ScorecardLine.scorecard_id == card.id))
        session.expire(card, ["lines"])
    else:
        card = Scorecard(company_id=company_id, period=period, status=ScorecardStatus.PROPOSED)
        session.add(card)
    card.policy_id, card.computed_at = policy.id, utcnow()
    session.flush()
    takes = case_collections(session, company_id, start, end, policy)
    bases = _bases(session, company_id, period)
    members: dict[int, list[CaseTake]] = defaultdict(list)
    for take in takes:
        if take.lead_id is not None:
            members[take.lead_id].append(take)
    for user_id in bases:
        if user_id is not None:
            members.setdefault(user_id, [])
    lines = [(None, takes)] + sorted(members.items(), key=lambda kv: kv[0])
    for user_id, mine in lines:
        result = assess(
            policy,
            bases.get(user_id),
            sum((t.collected for t in mine), ZERO),
            sum((t.weighted for t in mine), ZERO),
        )
        session.add(
            ScorecardLine(
                scorecard_id=card.id,
                user_id=user_id,
                base=result.base,
                collected=result.collected,
                weighted=result.weighted,
                achievement=result.achievement,
                excess=result.excess,
                proposed=result.proposed,
                amount=result.proposed,
            )
        )
    session.flush()
    return card


def amend(
    session: Session, user: Any, card: Scorecard, amounts: dict[int, Any], comment: str | None
) -> None:
    """Art.28: the leadership changes the proposed amounts before approving, with a comment.
    Refused on a locked scorecard or without a comment."""
    claim(session, card, "status")
    if card.status is LOCKED:
        raise AssessmentError(_("The scorecard is approved and locked."))
    comment = (comment or "").strip()
    if not comment:
        raise AssessmentError(_("Say why the amounts are amended."))
    lines = {line.id: line for line in card.lines}
    for line_id, value in amounts.items():
        line = lines.get(int(line_id))
        if line is None:
            raise AssessmentError(_("That line is not on this scorecard."))
        line.amount = to_money(value)
    card.status, card.comment = ScorecardStatus.AMENDED, comment
    card.amended_by_id, card.amended_at = user.id, utcnow()
    session.flush()


def approve(session: Session, user: Any, card: Scorecard, comment: str | None = None) -> int:
    """Art.28: the leadership approves the scorecard; it is locked. Art.8: each positive amount
    enters the cost ledger as a bonus (``book_bonuses``). Returns the number of cost entries."""
    claim(session, card, "status")
    if card.status is LOCKED:
        raise AssessmentError(_("The scorecard is approved and locked."))
    if (comment or "").strip():
        card.comment = "\n".join(filter(None, [card.comment, comment.strip()]))
    card.status, card.approved_by_id, card.approved_at = LOCKED, user.id, utcnow()
    session.flush()
    return book_bonuses(session, card)


def _split(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``amount`` in cents over ``weights`` pro rata; the rounding remainder goes to the
    largest shares first, so the parts add up exactly."""
    total = sum(weights, ZERO)
    raw = [amount * w / total for w in weights]
    parts = [r.quantize(CENT, rounding="ROUND_DOWN") for r in raw]
    left = int((amount - sum(parts, ZERO)) / CENT)
    order = sorted(range(len(raw)), key=lambda i: (parts[i] - raw[i], -weights[i]))
    for i in order[:left]:
        parts[i] += CENT
    return parts


def book_bonuses(session: Session, card: Scorecard) -> int:
    """Art.8: each approved positive amount, split over the cases whose weighted collections
    earned it (the team's line: every case; a member's: the cases they lead), as ``BONUS``
    costs dated on the approval day and charged to each case's unit. Idempotent (unique per
    line and case)."""
    policy = session.get(AssessmentPolicy, card.policy_id)
    start, end = assessment.period_bounds(card.period)
    takes = [
        t for t in case_collections(session, card.company_id, start, end, policy) if t.weighted
    ]
    approved_on = (card.approved_at or utcnow()).astimezone(SHANGHAI).date()
    names = dict(session.execute(select(User.id, User.display_name)).all())
    created = 0
    for line in card.lines:
        if line.amount <= 0:
            continue
        mine = [t for t in takes if line.user_id is None or t.lead_id == line.user_id]
        if not mine:
            raise AssessmentError(
                _("A bonus with no collections behind it cannot be charged to a unit (Art.8).")
            )
        # Stored data, read by everyone in Chinese (like the notices): not a UI message.
        who = names.get(line.user_id) if line.user_id else "清欠小组"
        for take, part in zip(mine, _split(line.amount, [t.weighted for t in mine]), strict=True):
            done = session.scalar(
                select(CaseCost.id).where(
                    CaseCost.scorecard_line_id == line.id, CaseCost.case_id == take.case_id
                )
            )
            if done is not None or part <= 0:
                continue
            case = session.get(CollectionCase, take.case_id)
            session.add(
                CaseCost(
                    case_id=case.id,
                    company_id=case.company_id,
                    sales_unit_id=case.sales_unit_id,
                    kind=CostKind.BONUS,
                    amount=part,
                    incurred_on=approved_on,
                    note=f"考核奖金 {card.period}：{who}（第八条）",
                    scorecard_line_id=line.id,
                )
            )
            created += 1
    session.flush()
    return created


# -- Art.26(4), 2nd paragraph ----------------------------------------------------------------


@dataclass(frozen=True)
class Missed:
    user_id: int
    name: str
    base: Decimal
    weighted: Decimal
    achievement: Decimal


def missed_targets(session: Session, year: int, company_id: int | None = None) -> list[Missed]:
    """Art.26(4), 2nd paragraph: the members whose approved base for ``year`` was not met by
    their weighted collections of the year — no commission and no year-end bonus. Read-only;
    a company without an approved policy for the year flags nobody."""
    query = select(Target).where(
        Target.period == str(year),
        Target.user_id.is_not(None),
        Target.status == ApprovalState.APPROVED,
    )
    if company_id is not None:
        query = query.where(Target.company_id == company_id)
    start, end = date(year, 1, 1), date(year, 12, 31)
    out, cache = [], {}
    for target in session.scalars(query.order_by(Target.company_id, Target.user_id)):
        if target.company_id not in cache:
            policy = assessment.policy_for(session, target.company_id, year)
            if policy is None or policy.status is not ApprovalState.APPROVED:
                cache[target.company_id] = None
            else:
                cache[target.company_id] = case_collections(
                    session, target.company_id, start, end, policy
                )
        takes = cache[target.company_id]
        if takes is None:
            continue
        weighted = sum((t.weighted for t in takes if t.lead_id == target.user_id), ZERO)
        if weighted < target.base_amount:
            out.append(
                Missed(
                    target.user_id,
                    str(target.user),
                    target.base_amount,
                    weighted,
                    (weighted / target.base_amount).quantize(Decimal("0.0001")),
                )
            )
    return out


def shanghai_date(moment: datetime | None) -> date | None:
    return moment.astimezone(SHANGHAI).date() if moment else None
