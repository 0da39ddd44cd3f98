"""The assessment pages and the cost ledger over HTTP (Art.8, 26(4), 27–30): who may do what,
the other doors (generic edit and create, direct POST, a locked scorecard), exports and PDFs."""

from __future__ import annotations

import io
import subprocess
from datetime import date
from decimal import Decimal as D

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from backoffice.models import AuditLog, CaseCost, JobRun, Scorecard, ScorecardLine, Target
from backoffice.models.assessment import ApprovalState, ScorecardStatus
from backoffice.models.case import CostKind
from backoffice.services import assessment, leadership, scorecard
from tests import helpers
from tests.data.assessment_year import build_year

HUB = "/admin/assessment/"
LEDGER = "/admin/costs/"


def _post(client, url, data=None):
    token = helpers.csrf_token(client, "/account")
    return client.post(url, data={"csrf_token": token, **(data or {})})


@pytest.fixture()
def year(db):
    """The 2025 world with an approved policy and approved bases; nothing computed yet."""
    y = build_year()
    policy = assessment.set_policy(db.session, y.leader2, y.company.id, 2025, {})
    assessment.approve_policy(db.session, y.leader, policy)
    for user_id, base in ((None, "100000"), (y.alice.id, "80000"), (y.bob.id, "40000")):
        t = assessment.propose_target(
            db.session, y.lead, y.company.id, "2025", base, user_id=user_id
        )
        assessment.approve_target(db.session, y.leader, t)
    for case in (y.case1, y.case2, y.case3):
        assessment.grade_case(db.session, case, policy)
    db.session.commit()
    return y


def _card(db, y) -> Scorecard:
    card = scorecard.compute(db.session, y.company.id, "2025", date(2026, 11, 30))
    db.session.commit()
    return card


@pytest.mark.parametrize("role", ["collector"])
def test_collectors_are_refused_the_assessment(client, login_as, db, role):
    """A collector may not open the assessment hub nor post to it."""
    login_as(role)
    assert client.get(HUB).status_code == 403
    assert _post(client, f"{HUB}targets", {"period": "2025", "base_amount": "1"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Target)) == 0


def test_only_the_leadership_proposes_and_approves_the_policy(client, login_as, db):
    """Art.28: the team lead's proposal and approval of the year's policy are 403 and store
    nothing; a leader proposes it (with its reward rate), another leader approves it, and the
    approved policy is locked against a new proposal."""
    from backoffice.models.assessment import AssessmentPolicy

    company = helpers.make_company()
    login_as("team_lead", company_id=company.id)
    assert _post(client, f"{HUB}policy", {"year": "2026"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(AssessmentPolicy)) == 0
    _post(client, "/logout")
    login_as("leader", company_id=company.id)
    response = _post(client, f"{HUB}policy", {"year": "2026", "reward_rate": "0.03"})
    assert response.status_code == 303
    policy = db.session.scalar(select(AssessmentPolicy))
    assert (policy.year, policy.reward_rate, policy.status) == (
        2026,
        D("0.03"),
        ApprovalState.PROPOSED,
    )
    _post(client, "/logout")
    login_as("team_lead", company_id=company.id, username="lead-b")
    assert _post(client, f"{HUB}policy/{policy.id}/approve").status_code == 403
    _post(client, "/logout")
    login_as("leader", company_id=company.id, username="president")
    assert _post(client, f"{HUB}policy/{policy.id}/approve").status_code == 303
    db.session.expire_all()
    assert db.session.get(AssessmentPolicy, policy.id).status is ApprovalState.APPROVED
    _post(client, f"{HUB}policy", {"year": "2026", "reward_rate": "0.5"})
    db.session.expire_all()
    assert db.session.get(AssessmentPolicy, policy.id).reward_rate == D("0.03")


def test_team_lead_proposes_but_only_the_leadership_approves_a_base(client, login_as, db):
    """Art.28: the team lead's base stays proposed; a direct POST of approval is 403; the
    leader's approval counts; a bad period is refused with a message and nothing saved."""
    unit = helpers.make_unit(name="华东事业部")
    login_as("team_lead", company_id=unit.company_id)
    response = _post(
        client, f"{HUB}targets", {"period": "abcd", "level": "team", "base_amount": "1"}
    )
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Target)) == 0
    _post(
        client,
        f"{HUB}targets",
        {"period": "2026-10", "level": "unit", "sales_unit_id": unit.id, "base_amount": "5000"},
    )
    target = db.session.scalar(select(Target))
    assert (target.period, target.sales_unit_id, target.status) == (
        "2026-10",
        unit.id,
        ApprovalState.PROPOSED,
    )
    assert _post(client, f"{HUB}targets/{target.id}/approve").status_code == 403
    _post(client, "/logout")
    login_as("leader", company_id=unit.company_id)
    assert _post(client, f"{HUB}targets/{target.id}/approve").status_code == 303
    db.session.expire_all()
    assert db.session.get(Target, target.id).status is ApprovalState.APPROVED
    html = client.get(HUB, query_string={"year": 2026}).get_data(as_text=True)
    assert "已核定" in html or "Approved" in html


def test_generic_doors_of_targets_and_scorecards_are_shut(client, login_as, db, year):
    """The generic create of a base leads to the assessment page; generic edits of a base or a
    scorecard are refused and change nothing."""
    card = _card(db, year)
    login_as("leader")
    target = db.session.scalar(select(Target).where(Target.user_id.is_(None)))
    response = _post(client, "/admin/target/new/", {"period": "abcd", "base_amount": "1"})
    assert response.status_code in (302, 303) and "/admin/assessment" in response.location
    assert db.session.scalar(select(func.count()).select_from(Target)) == 3
    assert (
        _post(client, f"/admin/target/edit/?id={target.id}", {"base_amount": "1"}).status_code
        == 403
    )
    assert (
        _post(client, f"/admin/scorecard/edit/?id={card.id}", {"comment": "x"}).status_code == 403
    )
    assert _post(client, "/admin/scorecard/delete/", {"id": card.id}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Target, target.id).base_amount == D("100000.00")


def test_leader_amends_and_approves_then_the_scorecard_is_locked(client, login_as, db, year):
    """Art.28 over HTTP: finance may read but not approve; the leader amends with a comment and
    approves; afterwards an amendment is refused and the amounts stay; bonuses are booked."""
    card = _card(db, year)
    team = next(line for line in card.lines if line.user_id is None)
    url = f"{HUB}scorecard/{card.id}/"
    login_as("finance")
    assert client.get(url).status_code == 200
    assert _post(client, f"{url}approve").status_code == 403
    assert (
        _post(client, f"{url}amend", {f"amount-{team.id}": "1", "comment": "x"}).status_code == 403
    )
    _post(client, "/logout")
    login_as("leader", username="boss")
    _post(client, f"{url}amend", {f"amount-{team.id}": "300.00", "comment": ""})  # no comment
    db.session.expire_all()
    # ungraded case 3 counts as standard here: 72,000 + 30,000 + 10,000 = 112,000 → 2 % × 12,000
    assert db.session.get(ScorecardLine, team.id).amount == D("240.00")
    _post(client, f"{url}amend", {f"amount-{team.id}": "300.00", "comment": "上调团队奖励"})
    assert _post(client, f"{url}approve", {"comment": "同意"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Scorecard, card.id).status is ScorecardStatus.APPROVED
    _post(client, f"{url}amend", {f"amount-{team.id}": "9999", "comment": "再改"})
    db.session.expire_all()
    assert db.session.get(ScorecardLine, team.id).amount == D("300.00")
    refused = db.session.scalar(
        select(AuditLog).where(AuditLog.entity == "scorecard", AuditLog.action == "refused")
    )
    assert refused is not None
    html = client.get(url).get_data(as_text=True)
    assert "上调团队奖励" in html and 'name="amount-' not in html
    assert db.session.scalar(
        select(func.sum(CaseCost.amount)).where(CaseCost.kind == CostKind.BONUS)
    ) == D("340.00")  # the team's 300 and Alice's 2 % × (82,000 − 80,000) = 40


def test_scorecard_pdf_prints_lines_and_the_art26_flag(client, login_as, db, year, tmp_path):
    """The PDF names the members, the amounts and Bob's 'no commission, no year-end bonus'."""
    card = _card(db, year)
    login_as("leader")
    response = client.get(f"{HUB}scorecard/{card.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "card.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    text = "".join(text.split())  # a long cell wraps
    for expected in ("清欠考核结果", "陈清收", "刘催收", "240.00", "-20.00", "不兑现提成"):
        assert expected in text, expected
    _post(client, "/logout")
    login_as("collector")
    assert client.get(f"{HUB}scorecard/{card.id}.pdf").status_code == 403


def test_hub_flags_members_missing_the_years_target(client, login_as, db, year):
    """Art.26(4): the hub lists Bob with 'no commission, no year-end bonus', not Alice."""
    login_as("team_lead")
    html = client.get(HUB, query_string={"year": 2025}).get_data(as_text=True)
    missed = html[html.index('id="table-missed"') :]
    assert "刘催收" in missed and "陈清收" not in missed


def test_team_lead_queues_the_scorecard_job_a_collector_cannot(
    client, login_as, db, year, redis_conn
):
    """Art.27: the run button enqueues one job per company and period (job rights)."""
    login_as("team_lead")
    assert _post(client, f"{HUB}scorecard/run", {"period": "2025"}).status_code == 303
    assert _post(client, f"{HUB}scorecard/run", {"period": "2025"}).status_code == 303
    runs = db.session.scalars(select(JobRun).where(JobRun.name == "assessment_scorecard")).all()
    assert len(runs) == 1 and runs[0].args["args"] == [year.company.id, "2025"]
    _post(client, "/logout")
    login_as("collector")
    assert _post(client, f"{HUB}scorecard/run", {"period": "2024"}).status_code == 403


def test_grade_override_needs_a_reason_and_the_team(client, login_as, db, year):
    """Art.30: legal may not override; the team lead needs a reason for another grade."""
    from backoffice.models.assessment import DebtGrade

    grade = db.session.scalar(select(DebtGrade).where(DebtGrade.case_id == year.case3.id))
    login_as("legal")
    assert (
        _post(client, f"{HUB}grades/{grade.id}", {"grade": "hard", "reason": "x"}).status_code
        == 403
    )
    _post(client, "/logout")
    login_as("team_lead", username="lead2")
    _post(client, f"{HUB}grades/{grade.id}", {"grade": "hard", "reason": ""})
    db.session.expire_all()
    assert db.session.get(DebtGrade, grade.id).grade.value == "standard"
    _post(client, f"{HUB}grades/{grade.id}", {"grade": "hard", "reason": "负责人失联"})
    db.session.expire_all()
    assert db.session.get(DebtGrade, grade.id).grade.value == "hard"


# -- the cost ledger (Art.8) -----------------------------------------------------------------


def test_cost_ledger_by_unit_and_a_collector_sees_only_their_unit(client, login_as, db, year):
    """Finance sees every unit's costs; a collector of 华东 sees none of 华北's trip; legal is
    refused."""
    login_as("finance")
    html = client.get(LEDGER, query_string={"period": "2025"}).get_data(as_text=True)
    assert "华北事业部" in html and "¥500.00" in html
    _post(client, "/logout")
    helpers.login(client, "alice")
    html = client.get(LEDGER, query_string={"period": "2025"}).get_data(as_text=True)
    table = html[html.index('id="table-costs"') :]
    assert "华北事业部" not in table and "¥500.00" not in table
    _post(client, "/logout")
    login_as("legal")
    assert client.get(LEDGER).status_code == 403
    assert client.get(f"{LEDGER}export.xlsx").status_code == 403


def test_cost_ledger_xlsx_has_the_entries_and_total(client, login_as, db, year):
    """The export lists each entry with its unit and kind label and a total; it is audited."""
    login_as("team_lead")
    response = client.get(f"{LEDGER}export.xlsx", query_string={"period": "2025"})
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    flat = [c for r in rows for c in r if c is not None]
    assert "华北事业部" in flat and "差旅费" in flat and "赴京催收差旅费" in flat
    assert rows[-1][-2] == 500
    assert db.session.scalar(select(AuditLog).where(AuditLog.entity == "cost_ledger")) is not None


def test_a_bonus_cannot_be_typed_in_or_changed_by_hand(client, login_as, db, year):
    """Art.8: the generic case-cost form refuses a bonus; a booked bonus cannot be edited."""
    card = _card(db, year)
    scorecard.approve(db.session, year.leader, card)
    db.session.commit()
    bonus = db.session.scalar(select(CaseCost).where(CaseCost.kind == CostKind.BONUS))
    login_as("finance")
    before = db.session.scalar(select(func.count()).select_from(CaseCost))
    _post(
        client,
        "/admin/case_cost/new/",
        {"case": year.case1.id, "kind": "bonus", "amount": "10", "incurred_on": "2025-05-01"},
    )
    _post(
        client,
        f"/admin/case_cost/edit/?id={bonus.id}",
        {"case": year.case1.id, "kind": "travel", "amount": "1", "incurred_on": "2025-05-01"},
    )
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(CaseCost)) == before
    assert db.session.get(CaseCost, bonus.id).kind is CostKind.BONUS


def test_leadership_report_shows_cost_per_unit_and_per_100_collected(db, year):
    """Art.8 in the leadership report: June 2025's trip (500) beside 华北's nothing collected,
    and May's collections of 华东 with no cost."""
    y = year
    helpers.make_payment  # noqa: B018 - the world already holds the payments
    june = leadership.build(db.session, y.leader, "2025-06", date(2026, 11, 30))
    north = next(f for f in june.units if f.name == "华北事业部")
    assert north.cost == D("500.00") and north.cost_per_100 is None
    july = leadership.build(db.session, y.leader, "2025-07", date(2026, 11, 30))
    assert july.total.cost == D("0.00") and july.total.cost_per_100 == D("0.00")
    from backoffice.models.case import CaseCost as Cost

    db.session.add(
        Cost(
            case_id=y.case2.id,
            company_id=y.case2.company_id,
            sales_unit_id=y.case2.sales_unit_id,
            kind=CostKind.LOST_TIME,
            amount=D("300.00"),
            incurred_on=date(2025, 7, 2),
        )
    )
    db.session.commit()
    july = leadership.build(db.session, y.leader, "2025-07", date(2026, 11, 30))
    north = next(f for f in july.units if f.name == "华北事业部")
    # 300 for 20,000 collected: 1.50 per ¥100
    assert (north.collected, north.cost, north.cost_per_100) == (
        D("20000.00"),
        D("300.00"),
        D("1.50"),
    )
