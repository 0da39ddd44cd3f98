"""The period-end scorecard as an RQ job (Art.27).

``assessment_scorecard(company_id, period)`` refreshes the difficulty grades of every case the
team has taken over (Art.30; overrides are kept), computes the period's scorecard and tells
the leadership group it awaits approval (Art.28). Idempotent: one scorecard per company and
period by a unique key; a re-run recomputes a proposed one and leaves an amended or approved
one untouched; the inbox message is sent once per period (its dedup key).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from backoffice.extensions import db
from backoffice.models.base import SHANGHAI
from backoffice.models.case import CollectionCase
from backoffice.models.user import RoleName
from backoffice.services import assessment, notify, scorecard
from jobs import job, make_job_id, set_progress


def scorecard_job_id(company_id: int, period: str) -> str:
    return make_job_id("assessment-scorecard", company_id, period)


def run_scorecard(company_id: int, period: str) -> dict:
    """Grades, then the scorecard; commits. Raises ``AssessmentError`` (the job fails) for a
    period not over or a year without an approved policy."""
    today = datetime.now(SHANGHAI).date()
    start, _end = assessment.period_bounds(period)
    policy = scorecard._approved_policy(db.session, company_id, start.year)
    cases = db.session.scalars(
        select(CollectionCase).where(
            CollectionCase.company_id == company_id, CollectionCase.filed_on.is_not(None)
        )
    ).all()
    for case in cases:
        assessment.grade_case(db.session, case, policy)
    db.session.commit()
    set_progress(50, f"{len(cases)} debts graded")
    card = scorecard.compute(db.session, company_id, period, today)
    notify.notify(
        db.session,
        notify.users_with_role(db.session, RoleName.LEADER),
        f"清欠考核结果 {period} 待审批",
        "清欠小组及成员的加权清收额、清欠基数完成率、超额部分与建议奖罚已计算，请审批或调整（第二十八条）。",
        f"/admin/assessment/scorecard/{card.id}",
        dedup_key=f"scorecard:{company_id}:{period}",
    )
    db.session.commit()
    return {"period": period, "scorecard": card.id, "lines": len(card.lines), "graded": len(cases)}


@job
def assessment_scorecard(company_id: int, period: str) -> dict:
    """Art.27: the period's scorecard for the team and each member (see module docstring)."""
    return run_scorecard(company_id, period)
