"""Art.7: a leaver's receivables, cases and tasks pass to a successor in one audited action;
a user with open items or a hold cannot be deactivated; with no successor taking over, the
division VP, the general manager or the president designates one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backoffice.extensions import db as _db
from backoffice.models import AuditLog, CaseMember, HandOver, Task, User
from backoffice.models.case import CaseStatus
from backoffice.models.notification import TaskKind
from backoffice.models.user import LeaderTitle
from backoffice.models.writeoff import AccountabilityHold, HoldKind
from backoffice.services import handover
from backoffice.services.transitions import StaleStateError
from tests import helpers


@pytest.fixture()
def leaver(db):
    unit = helpers.make_unit()
    vp = helpers.make_user("leader", leader_title=LeaderTitle.DIVISION_VP)
    unit.vp_id = vp.id
    person = helpers.make_user("collector", units=[unit])
    successor = helpers.make_user("collector")
    customer = helpers.make_customer(unit)
    open_rec = helpers.make_receivable(customer, collector_id=person.id)
    clerk_rec = helpers.make_receivable(customer, follow_up_clerk_id=person.id)
    case = helpers.make_case(customer, status=CaseStatus.IN_PROGRESS, lead_id=person.id)
    db.session.add(CaseMember(case_id=case.id, user_id=person.id, duty="跟单"))
    db.session.add(
        Task(
            company_id=unit.company_id,
            sales_unit_id=unit.id,
            kind=TaskKind.FOLLOW_UP,
            title="跟进逾期账款",
            subject_type="receivable",
            subject_id=open_rec.id,
            assignee_id=person.id,
        )
    )
    db.session.commit()
    return {
        "unit": unit,
        "vp": vp,
        "person": person,
        "successor": successor,
        "recs": [open_rec, clerk_rec],
        "case": case,
        "admin": helpers.make_user("admin"),
    }


def test_hand_over_moves_everything_open_in_one_audited_action(db, leaver):
    """Receivables (collector and follow-up clerk), the case (lead and member) and the task
    pass to the successor, who joins the unit; one HandOver row and an audit entry record it;
    afterwards nothing blocks the deactivation."""
    person, successor = leaver["person"], leaver["successor"]
    assert handover.open_items(db.session, person.id) == {"receivables": 2, "cases": 1, "tasks": 1}
    assert handover.deactivation_blockers(db.session, person)
    record = handover.hand_over(
        db.session, person, successor, leaver["admin"], designated=False, note="离职交接"
    )
    db.session.commit()
    db.session.expire_all()
    first, second = leaver["recs"]
    assert _db.session.get(type(first), first.id).collector_id == successor.id
    assert _db.session.get(type(second), second.id).follow_up_clerk_id == successor.id
    case = _db.session.get(type(leaver["case"]), leaver["case"].id)
    assert case.lead_id == successor.id and [m.user_id for m in case.members] == [successor.id]
    assert db.session.scalar(select(Task.assignee_id)) == successor.id
    assert (record.receivables, record.cases, record.tasks) == (2, 1, 1)
    assert leaver["unit"] in db.session.get(User, successor.id).sales_units
    assert db.session.scalar(select(AuditLog).where(AuditLog.entity == "hand_over")) is not None
    assert handover.deactivation_blockers(db.session, db.session.get(User, person.id)) == []
    handover.deactivate(db.session, db.session.get(User, person.id), leaver["admin"])
    db.session.commit()
    assert db.session.get(User, person.id).active is False


def test_an_active_hold_blocks_the_deactivation_even_when_nothing_is_open(db, leaver):
    """With everything handed over, a hold in force still keeps the user active."""
    from backoffice.models import AccountabilityFinding

    person = leaver["person"]
    handover.hand_over(db.session, person, leaver["successor"], leaver["admin"], designated=False)
    finding = AccountabilityFinding(company_id=leaver["unit"].company_id, case_id=leaver["case"].id)
    db.session.add(finding)
    db.session.flush()
    db.session.add(
        AccountabilityHold(finding_id=finding.id, user_id=person.id, kind=HoldKind.NO_RESIGNATION)
    )
    db.session.commit()
    with pytest.raises(handover.HandOverError) as refused:
        handover.deactivate(db.session, person, leaver["admin"])
    assert "第二十六条" in str(refused.value) or "Art.26" in str(refused.value)
    db.session.rollback()
    assert db.session.get(User, person.id).active is True


def test_who_may_designate_a_successor(db, leaver):
    """Designation (no salesperson takes over): the VP of the leaver's unit, the general
    manager or the president may; a VP of another unit and a CFO may not."""
    person = leaver["person"]
    other_vp = helpers.make_user("leader", leader_title=LeaderTitle.DIVISION_VP)
    cfo = helpers.make_user("leader", leader_title=LeaderTitle.CFO)
    gm = helpers.make_user("leader", leader_title=LeaderTitle.GENERAL_MANAGER)
    president = helpers.make_user("leader", leader_title=LeaderTitle.PRESIDENT)
    assert not handover.may_designate(other_vp, person)
    assert not handover.may_designate(cfo, person)
    assert all(handover.may_designate(u, person) for u in (leaver["vp"], gm, president))
    with pytest.raises(handover.HandOverError):
        handover.hand_over(db.session, person, leaver["successor"], cfo, designated=True)
    db.session.rollback()
    record = handover.hand_over(
        db.session, person, leaver["successor"], leaver["vp"], designated=True
    )
    db.session.commit()
    assert record.designated and record.by_id == leaver["vp"].id


def test_a_second_hand_over_finds_nothing_and_a_successor_is_needed(db, leaver):
    """No successor, or the leaver as their own, is refused; once handed over, another
    hand-over of the same leaver is refused (nothing open)."""
    person = leaver["person"]
    for successor in (None, person):
        with pytest.raises(handover.HandOverError):
            handover.hand_over(db.session, person, successor, leaver["admin"], designated=False)
        db.session.rollback()
    handover.hand_over(db.session, person, leaver["successor"], leaver["admin"], designated=False)
    db.session.commit()
    with pytest.raises(handover.HandOverError):
        handover.hand_over(
            db.session, person, helpers.make_user("collector"), leaver["admin"], designated=False
        )
    db.session.rollback()


def test_two_hand_overs_of_one_leaver_at_once_move_the_items_once(app, db, leaver):
    """Two administrators hand the same leaver over to two successors at the same moment (two
    processes): one hand-over lands; the other is refused and moves nothing."""
    other = helpers.make_user("collector")
    ids = {
        "person": leaver["person"].id,
        "successors": [leaver["successor"].id, other.id],
        "admin": leaver["admin"].id,
    }

    def hand(n: int, together) -> str:
        person = _db.session.get(User, ids["person"])
        assert person.active
        together()
        try:
            handover.hand_over(
                _db.session,
                person,
                _db.session.get(User, ids["successors"][n]),
                _db.session.get(User, ids["admin"]),
                designated=False,
            )
            _db.session.commit()
            return "handed"
        except (StaleStateError, handover.HandOverError):
            _db.session.rollback()
            return "refused"

    results = helpers.race(app, hand)
    assert sorted(results) == ["handed", "refused"]
    winner = ids["successors"][results.index("handed")]
    assert [h.successor_id for h in db.session.scalars(select(HandOver))] == [winner]
    db.session.expire_all()
    assert {r.collector_id or r.follow_up_clerk_id for r in leaver["recs"]} == {winner}
