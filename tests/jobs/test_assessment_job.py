"""The scorecard job at period end (Art.27): scheduled only where the year's policy is
approved, once per company and period; run by a real worker path (the job wrapper)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from backoffice.models import JobRun, Scorecard
from backoffice.services import assessment
from jobs.assessment import assessment_scorecard, scorecard_job_id
from jobs.schedule import SCHEDULE, scorecards_at_period_end
from tests.data.assessment_year import build_year


def test_scheduled_in_the_first_week_after_a_period_only_with_an_approved_policy(db):
    """1 Jan 2026: the December and 2025 scorecards, once the 2025 policy is approved; nothing
    on the 8th, nothing before approval."""
    y = build_year()
    assert scorecards_at_period_end(date(2026, 1, 2)) == []
    policy = assessment.set_policy(db.session, y.leader, y.company.id, 2025, {})
    db.session.commit()
    assert scorecards_at_period_end(date(2026, 1, 2)) == []
    assessment.approve_policy(db.session, y.leader, policy)
    db.session.commit()
    dues = scorecards_at_period_end(date(2026, 1, 2))
    assert [d.args for d in dues] == [(y.company.id, "2025-12"), (y.company.id, "2025")]
    assert [d.job_id for d in dues] == [
        scorecard_job_id(y.company.id, "2025-12"),
        scorecard_job_id(y.company.id, "2025"),
    ]
    assert scorecards_at_period_end(date(2026, 1, 8)) == []
    assert scorecards_at_period_end in SCHEDULE


def test_the_job_grades_computes_and_tells_the_leadership(db):
    """Run as a job: every filed case graded, one scorecard, the leaders' inbox told once."""
    from backoffice.models import Notification

    y = build_year()
    policy = assessment.set_policy(db.session, y.leader, y.company.id, 2025, {})
    assessment.approve_policy(db.session, y.leader, policy)
    db.session.commit()
    first = assessment_scorecard(y.company.id, "2025")
    second = assessment_scorecard(y.company.id, "2025")
    assert first["scorecard"] == second["scorecard"] and first["graded"] == 3
    assert len(db.session.scalars(select(Scorecard)).all()) == 1
    told = db.session.scalars(select(Notification.user_id)).all()
    assert sorted(told) == sorted([y.leader.id, y.leader2.id])
    assert db.session.scalar(select(JobRun.id)) is None  # run directly: no queue row
