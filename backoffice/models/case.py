"""Collection cases (清收案件, Art.16–17, 19, 21, 23) and everything a case file records."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import (
    Base,
    LabeledEnum,
    ScopedMixin,
    TimestampMixin,
    _l,
    enum_column,
    utcnow,
)


class CaseOrigin(LabeledEnum):
    COMPULSORY = "compulsory", _l("Compulsory (over 6 months)")  # Art.16 (3)
    APPLICATION = "application", _l("Collector's application")  # Art.16 (4)


class CaseStatus(LabeledEnum):
    APPLIED = "applied", _l("Applied")
    REFUSED = "refused", _l("Refused")
    FILED = "filed", _l("Filed")
    DOCUMENTS_REQUESTED = "documents_requested", _l("Documents requested")
    IN_PROGRESS = "in_progress", _l("In progress")
    CLOSED = "closed", _l("Closed")


class Strategy(LabeledEnum):
    """Art.23 (2): the strategy follows the debtor's financial status."""

    PRESS_FOR_CASH = "press_for_cash", _l("Press for cash")
    COLLATERAL = "collateral", _l("Collateral or guarantee")
    PAYMENT_IN_KIND = "payment_in_kind", _l("Payment in kind")
    LITIGATION = "litigation", _l("Litigation")


class CaseOutcome(LabeledEnum):
    """Art.21: collected in full, or the status and reasons it is hard to collect."""

    COLLECTED = "collected", _l("Collected in full")
    HARD_TO_COLLECT = "hard_to_collect", _l("Hard to collect")


class ActionKind(LabeledEnum):
    PHONE = "phone", _l("Phone")
    SMS = "sms", _l("SMS")
    WECHAT = "wechat", _l("WeChat")
    EMAIL = "email", _l("E-mail")
    DEMAND_LETTER = "demand_letter", _l("Demand letter")
    LAWYER_LETTER = "lawyer_letter", _l("Lawyer's letter")
    VISIT = "visit", _l("On-site visit")
    CREDIT_CUT = "credit_cut", _l("Credit cut")
    SHIPMENT_STOP = "shipment_stop", _l("Shipment stop")
    AGENCY = "agency", _l("Collection agency")
    LITIGATION = "litigation", _l("Litigation")


class PromiseStatus(LabeledEnum):
    PENDING = "pending", _l("Pending")
    KEPT = "kept", _l("Kept")
    BROKEN = "broken", _l("Broken")


class CollateralKind(LabeledEnum):
    GUARANTEE = "guarantee", _l("Guarantee")
    MORTGAGE = "mortgage", _l("Mortgage")
    PLEDGE = "pledge", _l("Pledge")


class LitigationStatus(LabeledEnum):
    """Art.10 (4): a lawsuit is filed only after the legal department's approval step."""

    PROPOSED = "proposed", _l("Awaiting legal approval")
    APPROVED = "approved", _l("Approved by legal")
    REJECTED = "rejected", _l("Rejected by legal")
    FILED = "filed", _l("Filed in court")


class AssetStage(LabeledEnum):
    """Art.23 (2)(2)(3): collateral and payment in kind go through these steps in order."""

    REGISTERED = "registered", _l("Registered")
    APPRAISED = "appraised", _l("Appraised")
    PRESERVED = "preserved", _l("Preserved")
    TITLE_TRANSFERRED = "title_transferred", _l("Title transferred")
    REALISED = "realised", _l("Value realised")


class CostKind(LabeledEnum):
    """Art.8: travel, lost working time and bonuses are charged to the owning unit."""

    TRAVEL = "travel", _l("Travel")
    LOST_TIME = "lost_time", _l("Lost working time")
    BONUS = "bonus", _l("Bonus")
    LEGAL = "legal", _l("Legal fees")
    OTHER = "other", _l("Other")


class CollectionCase(ScopedMixin, TimestampMixin, Base):
    __tablename__ = "collection_case"
    __table_args__ = (
        # Art.16: one open case per customer; escalation relies on this key to stay idempotent.
        Index(
            "uq_collection_case_open_customer",
            "customer_id",
            unique=True,
            sqlite_where=text("status NOT IN ('refused', 'closed')"),
            postgresql_where=text("status NOT IN ('refused', 'closed')"),
        ),
        Index("ix_collection_case_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    origin: Mapped[CaseOrigin] = enum_column(CaseOrigin)
    status: Mapped[CaseStatus] = enum_column(CaseStatus)
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    applied_at: Mapped[datetime | None]
    application_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    filed_on: Mapped[date | None]
    documents_due: Mapped[date | None]  # Art.17: 5 working days after the checklist
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    amount_at_filing: Mapped[Decimal | None]
    suggested_strategy: Mapped[Strategy | None] = enum_column(Strategy, nullable=True)
    strategy_override: Mapped[Strategy | None] = enum_column(Strategy, nullable=True)
    override_reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]  # collection work started (开始清收)
    # Art.17: why work started while documents of the checklist were still missing
    start_override_reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[CaseOutcome | None] = enum_column(CaseOutcome, nullable=True)
    outcome_note: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[date | None] = mapped_column(index=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filing_notice_key: Mapped[str | None] = mapped_column(String(255))
    # Set when the year-end transfer seals the case into the archive (Art.22).
    sealed_at: Mapped[datetime | None]

    customer = relationship("Customer")
    company = relationship("Company")
    sales_unit = relationship("SalesUnit")
    lead = relationship("User", foreign_keys=[lead_id])
    receivables: Mapped[list[CaseReceivable]] = relationship(back_populates="case")
    members: Mapped[list[CaseMember]] = relationship(back_populates="case")
    actions: Mapped[list[CollectionAction]] = relationship(back_populates="case")

    @property
    def sealed_by(self):
        return self

    def __str__(self) -> str:
        return self.case_no


class CaseChild:
    """Rows that belong to a case: scoped through it, and sealed with it."""

    __scope_parent__ = "case"

    @property
    def sealed_by(self):
        return self.case


class CaseReceivable(CaseChild, Base):
    __tablename__ = "case_receivable"
    __table_args__ = (UniqueConstraint("case_id", "receivable_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    receivable_id: Mapped[int] = mapped_column(ForeignKey("receivable.id"), index=True)

    case: Mapped[CollectionCase] = relationship(back_populates="receivables")
    receivable = relationship("Receivable")


class CaseMember(CaseChild, Base):
    """项目成员 (Art.6)."""

    __tablename__ = "case_member"
    __table_args__ = (UniqueConstraint("case_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    duty: Mapped[str | None] = mapped_column(String(100))

    case: Mapped[CollectionCase] = relationship(back_populates="members")
    user = relationship("User")


class CollectionAction(CaseChild, Base):
    __tablename__ = "collection_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    kind: Mapped[ActionKind] = enum_column(ActionKind)
    on: Mapped[date]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    result: Mapped[str | None] = mapped_column(Text)

    case: Mapped[CollectionCase] = relationship(back_populates="actions")
    user = relationship("User")


class PaymentPromise(CaseChild, Base):
    __tablename__ = "payment_promise"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    promised_on: Mapped[date]
    amount: Mapped[Decimal]
    due_on: Mapped[date]
    status: Mapped[PromiseStatus] = enum_column(PromiseStatus, default=PromiseStatus.PENDING)
    note: Mapped[str | None] = mapped_column(Text)

    case = relationship("CollectionCase")


class RepaymentPlan(CaseChild, Base):
    """A repayment agreement: instalments that add up to ``total``, due after ``agreed_on``
    (``services/repayment.py``); the plan is a promise, broken by a late instalment."""

    __tablename__ = "repayment_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    agreed_on: Mapped[date]
    total: Mapped[Decimal]
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[PromiseStatus] = enum_column(
        PromiseStatus, default=PromiseStatus.PENDING, server_default="pending"
    )
    broken_on: Mapped[date | None]

    case = relationship("CollectionCase")
    instalments: Mapped[list[Instalment]] = relationship(
        back_populates="plan", order_by="Instalment.seq"
    )


class Instalment(Base):
    __tablename__ = "instalment"
    __scope_parent__ = "plan"
    __table_args__ = (UniqueConstraint("plan_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("repayment_plan.id"), index=True)
    seq: Mapped[int]
    due_on: Mapped[date]
    amount: Mapped[Decimal]
    # Derived from the payments allocated to the case's receivables, never typed.
    paid_amount: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    late_notified_on: Mapped[date | None]

    plan: Mapped[RepaymentPlan] = relationship(back_populates="instalments")

    @property
    def sealed_by(self):
        return self.plan.case


class CaseCost(CaseChild, ScopedMixin, Base):
    """A cost of collecting a case, charged to the unit owning its customer (Art.8)."""

    __tablename__ = "case_cost"
    __table_args__ = (
        # Art.8: an approved scorecard's bonus enters the ledger once per line and case.
        Index("uq_case_cost_bonus", "scorecard_line_id", "case_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    kind: Mapped[CostKind] = enum_column(CostKind)
    amount: Mapped[Decimal]
    incurred_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text)
    # Set on a bonus booked from an approved scorecard (services/scorecard.py)
    scorecard_line_id: Mapped[int | None] = mapped_column(ForeignKey("scorecard_line.id"))

    case = relationship("CollectionCase")
    scorecard_line = relationship("ScorecardLine")
    sales_unit = relationship("SalesUnit")


class DocumentRequirement(CaseChild, Base):
    """Art.17: the checklist the team sends on filing; due in 5 working days."""

    __tablename__ = "document_requirement"
    __table_args__ = (UniqueConstraint("case_id", "doc_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(32))
    due_on: Mapped[date]
    document_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_document.id"))

    case = relationship("CollectionCase")


class WatchListEntry(ScopedMixin, Base):
    """Art.16 (2): over 3 months overdue, reported by finance to the team lead."""

    __tablename__ = "watch_list_entry"
    __table_args__ = (UniqueConstraint("customer_id", "as_of"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    as_of: Mapped[date]
    overdue_amount: Mapped[Decimal]
    oldest_due_date: Mapped[date]
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    customer = relationship("Customer")


# Guarantees, payment in kind and litigation (Art.10 (4), 23): in ``case_measures``, importable
# from here as ever. The package imports this module first, so the cycle always resolves.
from backoffice.models.case_measures import (  # noqa: E402, F401
    AssetSteps,
    Collateral,
    Litigation,
    PaymentInKind,
)
