"""Demo data (``flask --app app seed-demo``): shape, ledger consistency, logins, idempotency."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backoffice.extensions import db as _db
from backoffice.models import (
    AuditLog,
    CaseReceivable,
    CollectionAction,
    CollectionCase,
    Company,
    Contract,
    Customer,
    MaterialRequirement,
    OverdueReason,
    Payment,
    PaymentAllocation,
    Receivable,
    SalesUnit,
    User,
)
from backoffice.models.base import Base
from backoffice.models.case import CaseOrigin
from backoffice.models.monthly import ReasonClass, RouteHint
from backoffice.models.receivable import PaymentKind, PenaltyKind, ReceivableStatus, ReceivableType
from backoffice.models.user import LeaderTitle, RoleName
from backoffice.models.writeoff import AccountabilityHold, WriteOffGround
from backoffice.services import audit, demo
from tests import helpers
from tests.conftest import _truncate

ACTOR = audit.Actor(None, "cli:test")


def seed(**kw) -> bool:
    with audit.acting_as(ACTOR):
        return demo.seed_demo_data(**kw)


def count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture(scope="class")
def full_demo(app):
    """The full demo set, seeded once for the read-only tests of ``TestFullDemo``."""
    with app.app_context():
        assert seed() is True
        yield _db
        _db.session.remove()
        _truncate()


@pytest.fixture()
def small(monkeypatch):
    """A smaller demo set, for tests about behaviour rather than volume."""
    monkeypatch.setattr(demo.data, "CUSTOMER_COUNT", 30)
    monkeypatch.setattr(demo.data, "RECEIVABLE_COUNT", 300)


def table_counts(db) -> dict[str, int]:
    return {
        t.name: db.session.scalar(select(func.count()).select_from(t))
        for t in Base.metadata.sorted_tables
    }


class TestFullDemo:
    """The full-size demo set, seeded once: read-only checks of volume and consistency."""

    def test_seed_builds_the_documented_volumes(self, full_demo):
        """Seeding creates 2 companies, 5 units, 200 customers, 5,000 receivables over two years."""
        db = full_demo
        today = date.today()

        companies = db.session.scalars(select(Company).order_by(Company.id)).all()
        assert [c.name for c in companies] == ["华锐重工集团股份有限公司", "华锐智能装备有限公司"]
        units = db.session.scalars(select(SalesUnit)).all()
        assert {u.code for u in units} == {"EAST", "NORTH", "SOUTH", "WEST", "EXPORT"}
        assert {u.company_id for u in units} == {c.id for c in companies}
        vp = db.session.scalar(select(User).where(User.username == "vp"))
        assert all(u.vp_id == vp.id for u in units)

        assert count(db, Customer) == 200
        names = db.session.scalars(select(Customer.name)).all()
        assert len(set(names)) == 200 and all(n.endswith("公司") for n in names)
        assert count(db, Customer, Customer.credit_rating.is_(None)) == 0
        assert count(db, Customer, Customer.credit_limit.is_(None)) == 0
        held = db.session.scalars(select(Customer).where(Customer.shipment_hold.is_(True))).all()
        assert 1 <= len(held) <= 20 and all(c.shipment_hold_reason for c in held)
        assert count(db, Contract, Contract.penalty_kind != PenaltyKind.NONE) > 0

        assert count(db, Receivable) == 5000
        first, last = db.session.execute(
            select(func.min(Receivable.due_date), func.max(Receivable.due_date))
        ).one()
        assert today - timedelta(days=740) <= first <= today - timedelta(days=700)
        assert today <= last <= today + timedelta(days=90)
        low, high = db.session.execute(
            select(func.min(Receivable.amount), func.max(Receivable.amount))
        ).one()
        assert Decimal("5000") <= low and high <= Decimal("2000000")
        kinds = set(db.session.scalars(select(Receivable.doc_type).distinct()))
        assert kinds == set(ReceivableType)
        assert count(db, Receivable, Receivable.status == ReceivableStatus.SETTLED) > 2000
        assert count(db, Receivable, Receivable.status == ReceivableStatus.OPEN) > 200

        assert count(db, Payment, Payment.kind == PaymentKind.CREDIT_NOTE) >= 3
        assert count(db, Payment, Payment.unallocated > 0) == 1
        partial = count(db, Receivable, Receivable.paid_amount > 0, Receivable.outstanding > 0)
        assert partial > 0

        assert {
            (r.reason_class, r.label, r.route_hint)
            for r in db.session.scalars(select(OverdueReason))
        } >= {
            (ReasonClass.INTERNAL, "财务记账差异", RouteHint.BOOKKEEPING),
            (ReasonClass.EXTERNAL, "单价差异", RouteHint.COMMERCIAL),
            (ReasonClass.EXTERNAL, "交货数量差异", RouteHint.COMMERCIAL),
            (ReasonClass.EXTERNAL, "品质问题", RouteHint.COMMERCIAL),
            (ReasonClass.EXTERNAL, "客户无故拖欠货款", RouteHint.UNJUSTIFIED),
        }
        assert count(db, OverdueReason, OverdueReason.route_hint == RouteHint.INTERNAL_OTHER) == 1
        grounds = set(db.session.scalars(select(MaterialRequirement.ground).distinct()))
        assert grounds == set(WriteOffGround)

        # Every demo record is attributed to the actor that ran the seed.
        actors = set(db.session.scalars(select(AuditLog.actor).distinct()))
        assert actors == {ACTOR.name}

    def test_demo_tells_the_whole_story(self, full_demo):
        """The demo shows every stage: write-offs at each step, one filed with its recourse
        entry, recovery, finding and sanction; last year's sealed archive, which verifies;
        checklists and evidence; a late instalment; costs; confirmation rounds in several
        states; and an intact audit chain."""
        from backoffice.models import (
            AccountabilityFinding,
            ArchiveRecord,
            CaseCost,
            ConfirmationForm,
            DocumentRequirement,
            EvidenceDocument,
            Instalment,
            RecourseEntry,
            Sanction,
            WriteOffApplication,
        )
        from backoffice.models.monthly import FormStatus
        from backoffice.models.writeoff import ApprovalStep, WriteOffStatus
        from backoffice.services import archive

        db = full_demo
        today = date.today()
        apps = db.session.scalars(select(WriteOffApplication)).all()
        assert {a.status for a in apps} == set(WriteOffStatus)
        steps = {a.current_step for a in apps if a.status is WriteOffStatus.IN_APPROVAL}
        assert steps == set(ApprovalStep)
        filed = [a for a in apps if a.status is WriteOffStatus.FILED]
        assert len(filed) == 1 and filed[0].sealed_at is not None
        entry = db.session.scalar(select(RecourseEntry))
        assert entry.application_id == filed[0].id and 0 < entry.recovered < entry.written_off
        finding = db.session.scalar(
            select(AccountabilityFinding).where(AccountabilityFinding.application_id == filed[0].id)
        )
        assert finding.people and finding.finding
        # Issue 12: the finding names the VP and the salesperson, is confirmed by 总裁办, holds
        # the salesperson, and carries a decided and a recommended measure besides the notice.
        assert finding.confirmed_at is not None and finding.vp_id is not None
        assert {p.basis.value for p in finding.parties} == {"art24", "art26_1", "art26_3"}
        assert count(db, AccountabilityHold, AccountabilityHold.lifted_at.is_(None)) == 1
        statuses = db.session.scalars(
            select(Sanction.status).where(Sanction.finding_id == finding.id)
        ).all()
        assert sorted(s.value for s in statuses) == ["decided", "decided", "recommended"]

        (record,) = db.session.scalars(select(ArchiveRecord)).all()
        assert record.year == today.year - 1 and record.sealed_at is not None
        assert archive.verify(db.session, record) == []

        assert count(db, EvidenceDocument) >= 20
        missing = count(db, DocumentRequirement, DocumentRequirement.document_id.is_(None))
        assert 0 < missing < count(db, DocumentRequirement)
        late = db.session.scalars(
            select(Instalment).where(Instalment.due_on < today, Instalment.paid_amount == 0)
        ).all()
        assert late
        assert count(db, CaseCost) >= 3

        states = {(f.period, f.status) for f in db.session.scalars(select(ConfirmationForm))}
        periods = sorted({period for period, _status in states})
        assert len(periods) == 2
        assert {s for p, s in states if p == periods[0]} == {FormStatus.ROUTED}
        assert {s for p, s in states if p == periods[1]} >= {
            FormStatus.ISSUED,
            FormStatus.SUBMITTED,
            FormStatus.ROUTED,
        }
        assert audit.verify_chain(db.session) == []

    def test_demo_shows_the_partial_rules_made_whole(self, full_demo):
        """Issue 12: reports with Art.3 charges, their sendings (Art.12), a split line (Art.15
        (3)), a refused application's consequence (Art.16 (4)), a case's reasons and measures
        (Art.17) and pre-due warnings in the collectors' inboxes."""
        from backoffice.models import (
            CaseSubmission,
            ConfirmationLinePart,
            MonthlyReport,
            Notification,
            RefusalConsequence,
            ReportDispatch,
        )

        db = full_demo
        assert db.session.scalar(select(func.sum(MonthlyReport.interest_total))) > 0
        assert count(db, ReportDispatch) >= 5
        assert count(db, ConfirmationLinePart) == 2
        assert count(db, RefusalConsequence) == 1
        assert db.session.scalar(select(CaseSubmission)).measures
        assert count(db, Notification, Notification.dedup_key.like("predue:%")) > 0

    def test_demo_shows_customer_email(self, full_demo):
        """Issue 14 §2: billing contacts, one customer excluded from e-mail, one whose dunning
        is paused, statements and a reminder sent, one reminder failed."""
        from backoffice.models import (
            CustomerContact,
            CustomerMail,
            CustomerMailOptOut,
            DunningPause,
            MailStatus,
        )

        db = full_demo
        assert count(db, CustomerContact) >= 6
        assert count(db, CustomerMailOptOut) == 1 and count(db, DunningPause) == 1
        assert count(db, CustomerMail, CustomerMail.status == MailStatus.SENT) >= 5
        assert count(db, CustomerMail, CustomerMail.status == MailStatus.FAILED) == 1

    def test_seeding_leaves_planner_statistics(self, full_demo):
        """The demo ends with ANALYZE, so the planner has statistics for the fresh tables."""
        from sqlalchemy import text

        db = full_demo
        if db.engine.dialect.name == "sqlite":
            stats = db.session.scalar(
                text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'receivable'")
            )
        else:
            stats = db.session.scalar(
                text("SELECT count(*) FROM pg_stats WHERE tablename = 'receivable'")
            )
        assert stats > 0

    def test_compulsory_cases_are_for_debts_over_six_months(self, full_demo):
        """Each compulsory case links only receivables of its customer overdue over 6 months."""
        db = full_demo
        six_months_ago = demo.add_months(date.today(), -6)
        cases = db.session.scalars(select(CollectionCase)).all()
        compulsory = [c for c in cases if c.origin == CaseOrigin.COMPULSORY]
        assert len(compulsory) >= 3
        assert len({c.case_no for c in cases}) == len(cases)
        # One case-number format, the one the case service gives new cases (QQ2026-00001).
        assert all(re.fullmatch(r"QQ\d{4}-\d{5}", c.case_no) for c in cases), [
            c.case_no for c in cases
        ]
        for case in compulsory:
            assert case.filed_on is not None
            assert case.receivables
            for link in case.receivables:
                rec = link.receivable
                assert rec.customer_id == case.customer_id
                assert rec.outstanding > 0 and rec.due_date < six_months_ago
            assert count(db, CollectionAction, CollectionAction.case_id == case.id) >= 2
        assert count(db, CaseReceivable) >= len(cases)
        east = db.session.scalar(select(SalesUnit).where(SalesUnit.code == "EAST"))
        assert any(c.sales_unit_id == east.id for c in compulsory)

    def test_outstanding_matches_allocations_for_every_receivable(self, full_demo):
        """Every receivable: paid = its allocations; outstanding = amount - paid - written off."""
        db = full_demo
        allocated = (
            select(
                PaymentAllocation.receivable_id.label("rid"),
                func.sum(PaymentAllocation.amount).label("total"),
            )
            .group_by(PaymentAllocation.receivable_id)
            .subquery()
        )
        paid = func.coalesce(allocated.c.total, 0)
        bad = db.session.scalar(
            select(func.count())
            .select_from(Receivable)
            .outerjoin(allocated, allocated.c.rid == Receivable.id)
            .where(
                (Receivable.paid_amount != paid)
                | (
                    Receivable.outstanding
                    != Receivable.amount - Receivable.paid_amount - Receivable.written_off_amount
                )
                | (Receivable.outstanding < 0)
            )
        )
        assert bad == 0
        # Nothing left open is settled, unless it was written off (the demo files one write-off).
        settled_wrong = count(
            db,
            Receivable,
            (Receivable.outstanding == 0)
            != Receivable.status.in_([ReceivableStatus.SETTLED, ReceivableStatus.WRITTEN_OFF]),
        )
        assert settled_wrong == 0
        assert (
            count(
                db,
                Receivable,
                Receivable.status == ReceivableStatus.SETTLED,
                Receivable.settled_on.is_(None),
            )
            == 0
        )

        # Payments: allocations plus what is left unallocated add up to the amount.
        applied = (
            select(
                PaymentAllocation.payment_id.label("pid"),
                func.sum(PaymentAllocation.amount).label("total"),
            )
            .group_by(PaymentAllocation.payment_id)
            .subquery()
        )
        mismatched = db.session.scalar(
            select(func.count())
            .select_from(Payment)
            .outerjoin(applied, applied.c.pid == Payment.id)
            .where(Payment.amount != func.coalesce(applied.c.total, 0) + Payment.unallocated)
        )
        assert mismatched == 0
        # The overpaying customer has nothing open left for its surplus to go to.
        over = db.session.scalar(select(Payment).where(Payment.unallocated > 0))
        assert over.unallocated == Decimal("8800.00")
        assert (
            count(
                db,
                Receivable,
                Receivable.customer_id == over.customer_id,
                Receivable.outstanding > 0,
            )
            == 0
        )

    def test_demo_shows_the_case_rules_of_issue_12(self, full_demo):
        """The demo's plan has instalment 1 paid from a real payment and instalment 2 late (the
        promise broken); lawsuits went through legal and one awaits it; an asset is appraised
        and preserved with documents; a customer target; a request answered, one escalated."""
        from backoffice.models import CustomerCollectionPlan, InformationRequest
        from backoffice.models.case import (
            AssetStage,
            Litigation,
            LitigationStatus,
            PaymentInKind,
            PromiseStatus,
            RepaymentPlan,
        )

        db = full_demo
        plan = db.session.scalar(select(RepaymentPlan).order_by(RepaymentPlan.id))
        first, second, _third = plan.instalments
        assert first.paid_amount == first.amount and second.paid_amount == 0
        assert plan.status is PromiseStatus.BROKEN and second.late_notified_on is not None
        statuses = set(db.session.scalars(select(Litigation.status)))
        assert {LitigationStatus.FILED, LitigationStatus.PROPOSED} <= statuses
        assert count(db, Litigation, Litigation.filed_on.is_not(None),
                     Litigation.decided_by_id.is_(None)) == 0  # fmt: skip
        asset = db.session.scalar(select(PaymentInKind))
        assert asset.stage is AssetStage.PRESERVED
        assert asset.appraisal_doc_id and asset.preservation_doc_id
        assert count(db, CustomerCollectionPlan) == 1
        requests = db.session.scalars(select(InformationRequest).order_by(InformationRequest.id))
        late, answered = requests.all()
        assert late.escalated_on is not None and late.answer is None
        assert answered.answer and not answered.answered_late

    def test_task_and_message_titles_read_in_chinese(self, full_demo):
        """Every task and inbox title the demo's real services wrote reads in Chinese: no raw
        article code (第二十五条, never "Art.25"), no English word, no "None"."""
        from backoffice.models.notification import Notification, Task

        db = full_demo
        titles = set(db.session.scalars(select(Task.title)))
        titles |= set(db.session.scalars(select(Notification.title)))
        assert len(titles) > 20
        assert any("第二十五条" in t for t in titles)  # the finding's title names its article
        raw = re.compile(r"Art\.?\s*\d|\b[A-Za-z]*[a-z]{3,}\b|None")
        assert not sorted(t for t in titles if raw.search(t))


def test_every_demo_user_logs_in_with_the_demo_password(app, db, small):
    """Each DEMO_USERS entry exists with its role and logs in with DEMO_PASSWORD."""
    assert seed() is True
    for username, role, _note in demo.DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        assert user.role_names == {RoleName(role)}
        # A fresh app context per user: Flask-Login and Flask-WTF cache per-user state in g.
        with app.app_context():
            client = app.test_client()
            response = helpers.login(client, username, demo.DEMO_PASSWORD)
            assert "/login" not in response.headers["Location"]
            assert client.get(response.headers["Location"]).status_code == 200
    titles = {
        u.username: u.leader_title
        for u in db.session.scalars(select(User).where(User.leader_title.is_not(None)))
    }
    assert titles == {
        "leader": LeaderTitle.PRESIDENT,
        "cfo": LeaderTitle.CFO,
        "vp": LeaderTitle.DIVISION_VP,
    }


def test_collector_belongs_to_east_unit_only(db, small):
    """The demo collector is scoped to 华东事业部 and owns some of its receivables."""
    assert seed() is True
    collector = db.session.scalar(select(User).where(User.username == "collector"))
    assert [u.name for u in collector.sales_units] == ["华东事业部"]
    assert collector.employee_code
    owned = db.session.scalars(select(Receivable).where(Receivable.collector_id == collector.id))
    units = {r.sales_unit_id for r in owned}
    assert units == {collector.sales_units[0].id}
    others = db.session.scalars(select(User).where(User.username != "collector")).all()
    assert all(not u.sales_units for u in others)


def test_second_call_changes_nothing(db, small):
    """Seeding again returns False and leaves every table, the audit trail included, as it was."""
    assert seed() is True
    before = table_counts(db)
    assert seed() is False
    db.session.expire_all()
    assert table_counts(db) == before


def test_refuses_a_database_that_has_data_unless_forced(db, small):
    """A database with a company of its own is left alone unless --force is given."""
    own = helpers.make_company(code="OWN", name="自有公司")
    user = helpers.make_user("admin", username="admin")
    before = table_counts(db)
    assert seed() is False
    assert table_counts(db) == before

    assert seed(force=True) is True
    assert count(db, Company) == 3 and db.session.get(Company, own.id).name == "自有公司"
    # The existing admin is reused, not replaced; its password is not reset.
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    assert admin.id == user.id and admin.password_hash == user.password_hash
    assert count(db, User, User.username.in_([n for n, *_ in demo.DEMO_USERS])) == 10
    # The demo companies themselves are never seeded twice, even when forced.
    assert seed(force=True) is False


def test_demo_has_balance_confirmations_in_every_state(app, db, small):
    """Issue 15: requests sent, confirmed, disputed (dispute open, in the collector's unit),
    letter returned, no disagreement, link expired, link revoked; the register shows them."""
    from backoffice.models import (
        BalanceConfirmationLink,
        BalanceConfirmationRequest,
        BalanceDispute,
    )
    from backoffice.models.balance_confirmation import BalanceConfirmationStatus as S
    from backoffice.models.balance_confirmation import DisputeStatus

    assert seed() is True
    statuses = set(db.session.scalars(select(BalanceConfirmationRequest.status)))
    assert {S.SENT, S.CONFIRMED, S.DISPUTED, S.LETTER_RETURNED, S.NO_DISAGREEMENT} <= statuses
    dispute = db.session.scalar(select(BalanceDispute))
    assert dispute.status is DisputeStatus.OPEN
    collector = db.session.scalar(select(User).where(User.username == "collector"))
    assert dispute.sales_unit_id in collector.unit_ids
    # Whatever the day it is seeded on: nothing sent or answered in the future, and the
    # negative letter's silence recorded only after its reply date.
    from backoffice.models.base import utcnow

    requests = db.session.scalars(select(BalanceConfirmationRequest)).all()
    assert all(r.sent_at <= utcnow() for r in requests)
    assert all(r.answered_at is None or r.sent_at < r.answered_at <= utcnow() for r in requests)
    silent = [r for r in requests if r.status is S.NO_DISAGREEMENT]
    assert silent and all(r.reply_due < date.today() for r in silent)
    links = db.session.scalars(select(BalanceConfirmationLink)).all()
    assert any(link.revoked_at for link in links)
    assert any(link.expires_at < link.created_at for link in links) or any(
        link.used_at is None and link.revoked_at is None for link in links
    )
