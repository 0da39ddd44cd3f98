"""Compare-and-set on workflow transitions: of two concurrent decisions on one record, one
wins and the other is refused with ``StaleStateError``; never a double effect or a 500. The
races run as two real processes (``helpers.race``) on SQLite and, with TEST_DATABASE_URL,
on PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from backoffice.extensions import db as _db
from backoffice.models import ApprovalDecision, AuditLog, CollectionCase, WriteOffApplication
from backoffice.models.case import CaseStatus
from backoffice.models.user import LeaderTitle
from backoffice.models.writeoff import ApprovalStep, Decision, WriteOffGround, WriteOffStatus
from backoffice.services import cases
from backoffice.services import writeoff as wo
from backoffice.services.calendar import load_year
from backoffice.services.reference import ensure_reference_data
from backoffice.services.transitions import StaleStateError, claim
from tests import helpers

TODAY = date(2026, 11, 2)


def stored_files(app) -> set[str]:
    root = Path(app.config["STORAGE_DIR"])
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def status_changes(entity: str, entity_id: int, field: str) -> list[dict]:
    """The audited updates of ``field`` on one record, oldest first."""
    rows = _db.session.scalars(
        select(AuditLog)
        .where(
            AuditLog.entity == entity,
            AuditLog.entity_id == str(entity_id),
            AuditLog.action == "update",
        )
        .order_by(AuditLog.seq)
    )
    return [r.after for r in rows if r.after and field in r.after]


@pytest.fixture()
def application(db):
    """A collector's application (status applied) and two team leads to decide it."""
    load_year(db.session, 2026)
    db.session.commit()
    unit = helpers.make_unit(name="华东事业部")
    customer = helpers.make_customer(unit, name="常州永泰建材有限公司")
    helpers.make_receivable(customer, amount="50000", due=date(2026, 8, 31))
    collector = helpers.make_user("collector", units=[unit])
    case = cases.apply(db.session, customer.id, collector.id, "客户拖延，需要小组协助", TODAY)
    db.session.commit()
    leads = [helpers.make_user("team_lead"), helpers.make_user("team_lead")]
    return {"case_id": case.id, "lead_ids": [u.id for u in leads], "customer": customer}


def test_two_leads_accepting_at_once_file_the_case_once(app, db, application):
    """Two team leads accept the same application at the same moment (two processes, both
    having read it as applied): one files it, the other is refused with StaleStateError; one
    applied→filed transition is audited, one filing notice is stored, and the decider is the
    winner."""
    case_id, lead_ids = application["case_id"], application["lead_ids"]
    files_before = stored_files(app)

    def accept(n: int, together) -> str:
        case = _db.session.get(CollectionCase, case_id)
        assert case.status is CaseStatus.APPLIED
        together()  # both have read the application before either decides
        try:
            cases.accept(_db.session, case, lead_ids[n], TODAY)
            _db.session.commit()
            return "filed"
        except (StaleStateError, cases.CaseError) as exc:
            _db.session.rollback()
            return type(exc).__name__

    results = helpers.race(app, accept)
    assert sorted(results) == ["StaleStateError", "filed"]
    winner = lead_ids[results.index("filed")]
    db.session.expire_all()
    case = db.session.get(CollectionCase, case_id)
    assert case.status is CaseStatus.DOCUMENTS_REQUESTED and case.decided_by_id == winner
    filed = status_changes("collection_case", case_id, "status")
    assert [a["status"] for a in filed] == ["filed", "documents_requested"]
    decided = status_changes("collection_case", case_id, "decided_by_id")
    assert [a["decided_by_id"] for a in decided] == [winner]
    assert stored_files(app) - files_before == {case.filing_notice_key}


@pytest.fixture()
def at_team_review(db):
    """A write-off application waiting for the team review, and two team leads."""
    load_year(db.session, 2026)
    ensure_reference_data(db.session)
    db.session.commit()
    unit = helpers.make_unit(name="华东事业部")
    collector = helpers.make_user("collector", units=[unit])
    vp = helpers.make_user("leader", leader_title=LeaderTitle.DIVISION_VP)
    unit.vp_id = vp.id
    finance = helpers.make_user("finance")
    leads = [helpers.make_user("team_lead"), helpers.make_user("team_lead")]
    customer = helpers.make_customer(unit, name="常州永泰建材有限公司")
    rec = helpers.make_receivable(customer, amount="30000", due=date(2025, 3, 31))
    app_ = wo.create(
        db.session,
        applicant=collector,
        customer_id=customer.id,
        ground=WriteOffGround.HOPELESS,
        items=[(rec.id, "30000")],
        facts="客户已注销，经多次催收无果",
        on=TODAY,
    )
    app_.materials_missing_reason, app_.materials_due_on = "合同原件由法院留存", date(2026, 12, 31)
    wo.give_finance_opinion(app_, finance, "同意先行核销")
    wo.submit(db.session, app_, collector, TODAY)
    db.session.commit()
    return {"app_id": app_.id, "lead_ids": [u.id for u in leads]}


def test_concurrent_writeoff_decisions_record_one(app, db, at_team_review):
    """Two team leads decide the team review of one write-off at the same moment (two
    processes): one decision is recorded and the chain moves on once; the other is refused
    with StaleStateError instead of failing on the one-decision-per-step key."""
    app_id, lead_ids = at_team_review["app_id"], at_team_review["lead_ids"]

    def decide(n: int, together) -> str:
        from backoffice.models import User

        application = _db.session.get(WriteOffApplication, app_id)
        user = _db.session.get(User, lead_ids[n])
        assert application.current_step is ApprovalStep.TEAM_REVIEW
        together()
        try:
            wo.decide(
                _db.session, application, user, ApprovalStep.TEAM_REVIEW, Decision.APPROVED, "同意"
            )
            _db.session.commit()
            return "decided"
        except (StaleStateError, wo.WriteOffError) as exc:
            _db.session.rollback()
            return type(exc).__name__

    results = helpers.race(app, decide)
    assert sorted(results) == ["StaleStateError", "decided"]
    db.session.expire_all()
    application = db.session.get(WriteOffApplication, app_id)
    assert application.status is WriteOffStatus.IN_APPROVAL
    assert application.current_step is ApprovalStep.DIVISION_VP
    decisions = db.session.scalars(select(ApprovalDecision)).all()
    assert [d.user_id for d in decisions] == [lead_ids[results.index("decided")]]
    steps = status_changes("writeoff_application", app_id, "current_step")
    assert [a["current_step"] for a in steps] == ["team_review", "division_vp"]  # submit, one


def test_claim_refuses_a_state_changed_since_it_was_read(db, application):
    """A record read, then changed by another transaction, is refused by claim; the same
    record read afresh is claimed, and a field never loaded is simply read under the lock."""
    case = db.session.get(CollectionCase, application["case_id"])
    assert case.status is CaseStatus.APPLIED
    with _db.engine.begin() as other:  # another request wins meanwhile
        other.execute(
            update(CollectionCase.__table__)
            .where(CollectionCase.id == case.id)
            .values(status=CaseStatus.REFUSED.value)
        )
    with pytest.raises(StaleStateError):
        claim(db.session, case, "status")
    db.session.rollback()
    db.session.expire_all()
    case = db.session.get(CollectionCase, application["case_id"])
    claim(db.session, case, "status", "decided_by_id")
    db.session.expire(case, ["status"])
    claim(db.session, case, "status")
    assert case.status is CaseStatus.REFUSED
    db.session.rollback()


def test_stale_acceptance_changes_nothing(db, application):
    """An acceptance decided on an application another lead refused meanwhile is refused
    before anything is written: no audit entry, no notice, the refusal stands."""
    case = db.session.get(CollectionCase, application["case_id"])
    seq = db.session.scalar(select(func.max(AuditLog.seq)))
    with _db.engine.begin() as other:
        other.execute(
            text("UPDATE collection_case SET status = 'refused' WHERE id = :id"), {"id": case.id}
        )
    with pytest.raises(StaleStateError):
        cases.accept(db.session, case, application["lead_ids"][0], TODAY)
    db.session.rollback()
    assert db.session.scalar(select(func.max(AuditLog.seq))) == seq
    db.session.expire_all()
    case = db.session.get(CollectionCase, application["case_id"])
    assert case.status is CaseStatus.REFUSED and case.filing_notice_key is None


def test_two_collectors_applying_at_once_open_one_case(app, db, application):
    """Two collectors apply for the same customer at the same moment (two processes): one
    case is opened; the other is told the customer already has an open case instead of
    failing on the one-open-case key."""
    customer_id = application["customer"].id
    lead_id = application["lead_ids"][0]
    cases.refuse(
        db.session, db.session.get(CollectionCase, application["case_id"]), lead_id, "重复"
    )
    collector_ids = [
        helpers.make_user("collector", units=[application["customer"].sales_unit]).id
        for _ in range(2)
    ]

    def apply(n: int, together) -> str:
        together()
        try:
            cases.apply(_db.session, customer_id, collector_ids[n], "客户失联", TODAY)
            _db.session.commit()
            return "applied"
        except cases.CaseError as exc:
            _db.session.rollback()
            return str(exc)

    results = helpers.race(app, apply)
    assert sorted(results) == ["applied", "该客户已有未结案的清收案件"]
    open_cases = (
        select(func.count())
        .select_from(CollectionCase)
        .where(CollectionCase.status == CaseStatus.APPLIED)
    )
    assert db.session.scalar(open_cases) == 1
