"""The responsibility analysis of a loss (issue 12; Art.18, 20, 24–26): opened on every
write-off and every case closed with a loss, the VP named, persons named by article point,
completion by the team and confirmation by 总裁办, the Art.20 measures and the Art.26 holds."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from backoffice.extensions import db as _db
from backoffice.models import AccountabilityFinding, Notification, Task
from backoffice.models.case import CaseOutcome, CaseReceivable, CaseStatus
from backoffice.models.notification import TaskKind
from backoffice.models.writeoff import (
    AccountabilityHold,
    HoldKind,
    PartyBasis,
    RecourseEntry,
    Sanction,
    SanctionKind,
    SanctionStatus,
)
from backoffice.services import accountability, cases, holds, payments, sanctions
from backoffice.services import writeoff as wo
from backoffice.services.transitions import StaleStateError
from jobs.reminders import notify_missed, remind_due_soon
from tests import helpers
from tests.services.test_seal_scope import TODAY, filed_writeoff


@pytest.fixture()
def filed(db):
    data = filed_writeoff(db)
    data["finding"] = db.session.scalar(
        select(AccountabilityFinding).where(AccountabilityFinding.application_id == data["app"].id)
    )
    return data


def tasks(kind: TaskKind, finding_id: int) -> list[Task]:
    return _db.session.scalars(
        select(Task).where(Task.kind == kind, Task.subject_id == finding_id)
    ).all()


def complete(db, filed, by="lead"):
    finding = filed["finding"]
    accountability.name_party(
        db.session,
        finding,
        user_id=filed["collector"].id,
        name=None,
        responsibility="individual",
        basis=PartyBasis.MAJOR_LOSS,
    )
    accountability.record_finding(
        db.session,
        finding,
        kind="individual",
        people="",
        text="未按合同约定催收，客户注销前未申请财产保全",
        evidence="催收记录、工商注销公告",
        completed=True,
        user=filed[by],
    )
    db.session.commit()
    return finding


def test_a_write_off_opens_a_finding_naming_the_vp_and_tasking_the_team(db, filed):
    """Filing opens one finding with the loss, names the unit's VP under Art.24 (and tells
    them), and gives each team member (lead, finance, legal, credit) an accountability task."""
    finding = filed["finding"]
    assert finding.loss_amount == Decimal("30000.00") and finding.vp_id == filed["vp"].id
    assert [(p.user_id, p.basis) for p in finding.parties] == [
        (filed["vp"].id, PartyBasis.JOINT_VP)
    ]
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.link.like("%/finding/%"))
    )
    assert filed["vp"].id in set(told)
    assignees = {t.assignee_id for t in tasks(TaskKind.ACCOUNTABILITY, finding.id)}
    team = {filed[k].id for k in ("lead", "finance", "legal", "credit")}
    assert team <= assignees and filed["collector"].id not in assignees
    assert accountability.findings_of(db.session, filed["vp"]) == [finding]


def test_a_case_closed_with_a_loss_gets_one_finding_and_a_collected_case_none(db):
    """Closing a case hard to collect with money open opens a finding with that loss (once);
    a case collected in full opens none."""
    unit = helpers.make_unit()
    vp = helpers.make_user("leader")
    unit.vp_id = vp.id
    customer = helpers.make_customer(unit)
    rec = helpers.make_receivable(customer, amount="12000")
    case = helpers.make_case(customer, status=CaseStatus.IN_PROGRESS)
    db.session.add(CaseReceivable(case_id=case.id, receivable_id=rec.id))
    db.session.commit()
    lead = helpers.make_user("team_lead")
    cases.close(
        db.session, case, lead.id, CaseOutcome.HARD_TO_COLLECT, "客户停产，资产已抵押给银行", TODAY
    )
    db.session.commit()
    found = db.session.scalars(
        select(AccountabilityFinding).where(AccountabilityFinding.case_id == case.id)
    ).all()
    assert len(found) == 1 and found[0].loss_amount == Decimal("12000.00")
    assert found[0].vp_id == vp.id and found[0].customer_id == customer.id
    assert accountability.open_for_closed_case(db.session, case) is None  # idempotent
    other = helpers.make_case(helpers.make_customer(unit), status=CaseStatus.IN_PROGRESS)
    cases.close(db.session, other, lead.id, CaseOutcome.COLLECTED, None, TODAY)
    db.session.commit()
    assert (
        db.session.scalar(
            select(AccountabilityFinding).where(AccountabilityFinding.case_id == other.id)
        )
        is None
    )


def test_parties_need_a_person_or_a_name_and_completion_needs_a_named_person(db, filed):
    """A party without user or name is refused; any unit or person may be named by name
    (Art.26(5)); completing with only the VP named and no people is refused."""
    finding = filed["finding"]
    with pytest.raises(accountability.AccountabilityError):
        accountability.name_party(
            db.session, finding, user_id=None, name=" ", responsibility="unit", basis="art26_3"
        )
    db.session.rollback()
    with pytest.raises(accountability.AccountabilityError):
        accountability.record_finding(
            db.session, finding, kind="unit", people="", text="单位责任", completed=True
        )
    db.session.rollback()
    party = accountability.name_party(
        db.session,
        finding,
        user_id=None,
        name="合同签订部门（销售合同科）",
        responsibility="unit",
        basis=PartyBasis.CONTRACTING,
    )
    db.session.commit()
    assert party.user_id is None and str(party) == "合同签订部门（销售合同科）"
    with pytest.raises(accountability.AccountabilityError):  # the VP stays named
        vp_party = next(p for p in finding.parties if p.basis is PartyBasis.JOINT_VP)
        accountability.remove_party(db.session, finding, vp_party)
    db.session.rollback()


def test_completion_closes_the_team_tasks_and_asks_the_presidents_office(db, filed):
    """Completing closes every accountability task and opens a confirmation task for 总裁办."""
    finding = complete(db, filed)
    assert all(t.done_at is not None for t in tasks(TaskKind.ACCOUNTABILITY, finding.id))
    confirm = tasks(TaskKind.CONFIRM_FINDING, finding.id)
    assert [t.assignee_id for t in confirm] == [filed["credit"].id]
    assert finding.completed_by_id == filed["lead"].id


def test_confirmation_rules_and_the_holds_it_places(db, filed):
    """Only 总裁办 or a leader confirms, not the person who completed it, once; the
    confirmation places the Art.26(1) hold on the person named and closes 总裁办's task."""
    finding = complete(db, filed, by="credit")
    for who in ("lead", "credit"):  # a team lead is not 总裁办; credit completed it
        with pytest.raises(accountability.AccountabilityError):
            accountability.confirm(db.session, finding, filed[who], "")
        db.session.rollback()
    accountability.confirm(db.session, finding, filed["president"], "同意")
    db.session.commit()
    held = db.session.scalars(select(AccountabilityHold)).all()
    assert [(h.user_id, h.kind) for h in held] == [(filed["collector"].id, HoldKind.NO_PROMOTION)]
    assert all(t.done_at for t in tasks(TaskKind.CONFIRM_FINDING, finding.id))
    with pytest.raises(accountability.AccountabilityError):
        accountability.confirm(db.session, finding, filed["president"], "")
    db.session.rollback()


def test_a_recovery_in_the_recourse_ledger_lifts_the_hold_only_when_complete(db, filed):
    """A partial recovery leaves the hold; the recovery of the rest lifts it, recorded with
    the time and the reason, and the person is told."""
    finding = complete(db, filed)
    accountability.confirm(db.session, finding, filed["credit"], "")
    db.session.commit()
    entry = db.session.scalar(select(RecourseEntry))
    wo.record_recovery(db.session, entry, "10000", TODAY)
    db.session.commit()
    hold = db.session.scalar(select(AccountabilityHold))
    assert hold.lifted_at is None
    assert accountability.unrecovered(db.session, finding) == Decimal("20000.00")
    wo.record_recovery(db.session, entry, "20000", TODAY)
    db.session.commit()
    assert hold.lifted_at is not None and hold.lift_reason == holds.AUTO_LIFT_REASON
    assert holds.active_holds(db.session, filed["collector"].id) == []


def test_payments_received_on_a_closed_case_lift_its_hold(db):
    """A case closed with a loss, its finding confirmed with an Art.26(4) hold on the
    salesperson: a payment allocated to the receivable that pays it in full lifts the hold."""
    unit = helpers.make_unit()
    customer = helpers.make_customer(unit)
    rec = helpers.make_receivable(customer, amount="5000")
    case = helpers.make_case(customer, status=CaseStatus.IN_PROGRESS)
    db.session.add(CaseReceivable(case_id=case.id, receivable_id=rec.id))
    sales = helpers.make_user("collector", units=[unit])
    lead, credit = helpers.make_user("team_lead"), helpers.make_user("credit")
    cases.close(
        db.session, case, lead.id, CaseOutcome.HARD_TO_COLLECT, "客户资金链断裂，无力偿还", TODAY
    )
    finding = db.session.scalar(select(AccountabilityFinding))
    accountability.name_party(
        db.session,
        finding,
        user_id=sales.id,
        name=None,
        responsibility="individual",
        basis="art26_4",
    )
    accountability.record_finding(
        db.session,
        finding,
        kind="individual",
        people="",
        text="放任赊销",
        completed=True,
        user=lead,
    )
    accountability.confirm(db.session, finding, credit, "")
    db.session.commit()
    assert [h.kind for h in holds.active_holds(db.session, sales.id)] == [HoldKind.NO_RESIGNATION]
    payments.allocate(db.session, helpers.make_payment(customer, amount="3000"))
    db.session.commit()
    assert holds.active_holds(db.session, sales.id)  # 2,000 still open
    payments.allocate(db.session, helpers.make_payment(customer, amount="2000"))
    db.session.commit()
    assert holds.active_holds(db.session, sales.id) == []


def test_measures_are_recommended_by_the_team_and_decided_by_the_leadership(db, filed):
    """A collector may not recommend; a deadline to make good needs a later date; a leader
    decides (the person sanctioned may not), with the date; the decided deadline becomes the
    person's task, reminded before and after the date; lifting needs a reason and ends it."""
    finding, person = filed["finding"], filed["collector"]
    args = {"user_id": person.id, "note": "限期补齐催收材料并追回欠款", "today": TODAY}
    with pytest.raises(accountability.AccountabilityError):
        sanctions.recommend(db.session, finding, person, kind="make_good", due_on=TODAY, **args)
    with pytest.raises(accountability.AccountabilityError):
        sanctions.recommend(
            db.session, finding, filed["finance"], kind="make_good", due_on=TODAY, **args
        )
    db.session.rollback()
    due = TODAY + timedelta(days=1)
    measure = sanctions.recommend(
        db.session, finding, filed["finance"], kind=SanctionKind.MAKE_GOOD, due_on=due, **args
    )
    db.session.commit()
    assert measure.status is SanctionStatus.RECOMMENDED
    with pytest.raises(accountability.AccountabilityError):
        sanctions.decide(db.session, measure, filed["lead"], approve=True, comment="", on=TODAY)
    db.session.rollback()
    sanctions.decide(db.session, measure, filed["cfo"], approve=True, comment="同意", on=TODAY)
    db.session.commit()
    assert measure.status is SanctionStatus.DECIDED and measure.decided_on == TODAY
    task = db.session.scalar(select(Task).where(Task.kind == TaskKind.MAKE_GOOD))
    assert task.assignee_id == person.id and task.due_on == due
    assert remind_due_soon(db.session, TODAY) >= 1
    assert notify_missed(db.session, due + timedelta(days=1)) >= 1
    with pytest.raises(accountability.AccountabilityError):
        sanctions.lift(db.session, measure, filed["cfo"], " ")
    db.session.rollback()
    sanctions.lift(db.session, measure, filed["cfo"], "已补齐材料并回款")
    db.session.commit()
    assert measure.status is SanctionStatus.LIFTED and task.done_at is not None


def test_two_leaders_deciding_one_measure_at_once_decide_it_once(app, db, filed):
    """Two leaders approve and reject the same recommended measure at the same moment (two
    processes): one decision lands, the other is refused with StaleStateError."""
    measure = sanctions.recommend(
        db.session,
        filed["finding"],
        filed["lead"],
        user_id=filed["collector"].id,
        kind="notice",
        note="通报批评",
        today=TODAY,
    )
    db.session.commit()
    ids = [filed["cfo"].id, filed["president"].id]
    measure_id = measure.id

    def decide(n: int, together) -> str:
        from backoffice.models import User

        row = _db.session.get(Sanction, measure_id)
        assert row.status is SanctionStatus.RECOMMENDED
        together()
        try:
            sanctions.decide(
                _db.session,
                row,
                _db.session.get(User, ids[n]),
                approve=n == 0,
                comment="同意" if n == 0 else "不同意",
                on=TODAY,
            )
            _db.session.commit()
            return "decided"
        except (StaleStateError, accountability.AccountabilityError) as exc:
            _db.session.rollback()
            return type(exc).__name__

    results = helpers.race(app, decide)
    assert sorted(results) == ["StaleStateError", "decided"]
    db.session.expire_all()
    row = db.session.get(Sanction, measure_id)
    assert row.decided_by_id == ids[results.index("decided")]


def test_the_register_lists_holds_and_room_for_other_flags(db, filed):
    """The register shows the hold with its article point and unrecovered loss, and rows from
    FLAG_SOURCES beside it."""
    finding = complete(db, filed)
    accountability.confirm(db.session, finding, filed["credit"], "")
    db.session.commit()
    rows = holds.register_rows(db.session)
    assert [(r.person.id, r.unrecovered) for r in rows] == [
        (filed["collector"].id, Decimal("30000.00"))
    ]
    assert rows[0].basis == str(PartyBasis.MAJOR_LOSS.label)
    extra = holds.RegisterRow(
        filed["lead"], "不得兑现提成", "", "2026 年度考核", None, rows[0].since, None, None
    )
    source = lambda session, active: [extra]  # noqa: E731
    holds.FLAG_SOURCES.append(source)
    try:
        assert holds.register_rows(db.session)[-1] is extra
    finally:
        holds.FLAG_SOURCES.remove(source)  # the assessment's own source stays registered
