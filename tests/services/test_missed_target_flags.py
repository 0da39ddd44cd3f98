"""Art.26(4), 2nd paragraph: a missed year's target shows on the accountability register."""

from __future__ import annotations

import io

import openpyxl

from backoffice.models.assessment import DifficultyGrade
from backoffice.services import assessment, holds
from jobs.assessment import assessment_scorecard
from tests import helpers
from tests.data.assessment_year import build_year


def _graded_year(s):
    """The scenario's year: policy and bases approved, cases graded, the scorecard computed."""
    y = build_year()
    policy = assessment.set_policy(
        s, y.leader2, y.company.id, 2025, dict(assessment.POLICY_DEFAULTS)
    )
    assessment.approve_policy(s, y.leader, policy)
    for user_id, base in ((None, "100000"), (y.alice.id, "80000"), (y.bob.id, "40000")):
        target = assessment.propose_target(s, y.lead, y.company.id, "2025", base, user_id=user_id)
        assessment.approve_target(s, y.leader, target)
    s.commit()
    grades = {c.id: assessment.grade_case(s, c, policy) for c in (y.case1, y.case2, y.case3)}
    assessment.override_grade(s, y.lead, grades[y.case3.id], DifficultyGrade.HARD, "主要负责人失联")
    s.commit()
    assessment_scorecard(y.company.id, "2025")
    return y


def test_the_member_who_missed_last_years_target_is_on_the_register(db):
    """Bob (75 % of his base) is flagged for 2025; Alice (above her base) is not."""
    y = _graded_year(db.session)
    rows = [r for r in holds.register_rows(db.session) if "2025" in r.source]
    assert [r.person.id for r in rows] == [y.bob.id]
    assert rows[0].what == "不兑现提成、不享受年终奖"
    assert "30,000.00" in rows[0].source and "40,000.00" in rows[0].source


def test_the_register_page_and_its_xlsx_show_the_flag(app, db):
    """HR reads the flag on the register page and in its XLSX export."""
    y = _graded_year(db.session)
    user = helpers.make_user("admin")
    db.session.commit()
    admin = app.test_client()
    helpers.login(admin, user.username)
    html = admin.get("/admin/accountability-register/").get_data(as_text=True)
    assert str(y.bob) in html and "2025" in html
    sheet = openpyxl.load_workbook(
        io.BytesIO(admin.get("/admin/accountability-register/register.xlsx").data)
    ).active
    assert any(str(y.bob) == row[0] for row in sheet.iter_rows(values_only=True))
