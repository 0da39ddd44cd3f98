"""Bad-debt write-off (呆账核销, Art.18), its approval chain, recourse ledger, accountability."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
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


class WriteOffGround(LabeledEnum):
    DISCOUNT = "discount", _l("Discount for quality or legacy issues")
    HOPELESS = "hopeless", _l("Hopeless after real effort")
    UNENFORCEABLE = "unenforceable", _l("Court judgment cannot be enforced")


class WriteOffStatus(LabeledEnum):
    DRAFT = "draft", _l("Draft")
    IN_APPROVAL = "in_approval", _l("In approval")
    RETURNED = "returned", _l("Returned")
    APPROVED = "approved", _l("Approved")
    FILED = "filed", _l("Filed on record")


class ApprovalStep(LabeledEnum):
    """Art.18: team review → division VP → CFO → president; no step skipped."""

    TEAM_REVIEW = "team_review", _l("Collection team review")
    DIVISION_VP = "division_vp", _l("Division VP")
    CFO = "cfo", _l("CFO")
    PRESIDENT = "president", _l("President")


class Decision(LabeledEnum):
    APPROVED = "approved", _l("Approved")
    REJECTED = "rejected", _l("Rejected")


class ResponsibilityKind(LabeledEnum):
    INDIVIDUAL = "individual", _l("Individual")
    UNIT = "unit", _l("Unit")


class SanctionKind(LabeledEnum):
    """Art.20, 26."""

    SALARY_HOLD = "salary_hold", _l("Salary payment suspended")
    DEMOTION = "demotion", _l("Demotion")
    PAY_CUT = "pay_cut", _l("Pay cut")
    NOTICE = "notice", _l("Public notice")
    SUSPENSION = "suspension", _l("Suspended from post")
    NO_PROMOTION = "no_promotion", _l("No promotion or transfer")
    NO_BONUS = "no_bonus", _l("No commission or year-end bonus")


class WriteOffApplication(ScopedMixin, TimestampMixin, Base):
    """呆账核销申请 (Annex 3)."""

    __tablename__ = "writeoff_application"
    # Art.22: the archive transfer of its case seals the application (and its items,
    # decisions and documents) too, whether or not its own filing sealed it already.
    __sealed_with__ = ("case",)

    id: Mapped[int] = mapped_column(primary_key=True)
    app_no: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("collection_case.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    ground: Mapped[WriteOffGround] = enum_column(WriteOffGround)
    amount: Mapped[Decimal]
    facts: Mapped[str] = mapped_column(Text)
    status: Mapped[WriteOffStatus] = enum_column(WriteOffStatus, default=WriteOffStatus.DRAFT)
    current_step: Mapped[ApprovalStep | None] = enum_column(ApprovalStep, nullable=True)
    round: Mapped[int] = mapped_column(default=1)
    # Art.18: missing materials need a reason, a committed date and finance's opinion.
    materials_missing_reason: Mapped[str | None] = mapped_column(Text)
    materials_due_on: Mapped[date | None]
    finance_opinion: Mapped[str | None] = mapped_column(Text)
    finance_opinion_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    accounting_ref: Mapped[str | None] = mapped_column(String(64))
    filed_by_credit_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filed_by_finance_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filed_at: Mapped[datetime | None]
    sealed_at: Mapped[datetime | None]

    customer = relationship("Customer")
    case = relationship("CollectionCase")
    applicant = relationship("User", foreign_keys=[applicant_id])
    company = relationship("Company")
    sales_unit = relationship("SalesUnit")
    items: Mapped[list[WriteOffItem]] = relationship(back_populates="application")
    decisions: Mapped[list[ApprovalDecision]] = relationship(
        back_populates="application", order_by="ApprovalDecision.decided_at"
    )

    @property
    def sealed_by(self):
        return self

    def __str__(self) -> str:
        return self.app_no


class WriteOffChild:
    __scope_parent__ = "application"

    @property
    def sealed_by(self):
        return self.application


class WriteOffItem(WriteOffChild, Base):
    __tablename__ = "writeoff_item"
    __table_args__ = (UniqueConstraint("application_id", "receivable_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("writeoff_application.id"), index=True)
    receivable_id: Mapped[int] = mapped_column(ForeignKey("receivable.id"), index=True)
    amount: Mapped[Decimal]

    application: Mapped[WriteOffApplication] = relationship(back_populates="items")
    receivable = relationship("Receivable")


class ApprovalDecision(WriteOffChild, Base):
    __tablename__ = "approval_decision"
    # One decision per step per round: a second approval of the same step is refused here too.
    __table_args__ = (UniqueConstraint("application_id", "round", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("writeoff_application.id"), index=True)
    round: Mapped[int]
    step: Mapped[ApprovalStep] = enum_column(ApprovalStep)
    decision: Mapped[Decision] = enum_column(Decision)
    comment: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    application: Mapped[WriteOffApplication] = relationship(back_populates="decisions")
    user = relationship("User")


class MaterialRequirement(Base):
    """Annex 6: which documents each ground requires (admin-editable)."""

    __tablename__ = "material_requirement"
    __table_args__ = (UniqueConstraint("ground", "doc_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ground: Mapped[WriteOffGround] = enum_column(WriteOffGround)
    doc_type: Mapped[str] = mapped_column(String(32))
    required: Mapped[bool] = mapped_column(default=True)


class RecourseEntry(ScopedMixin, Base):
    """备查簿: a written-off debt keeps its right of recourse (Art.18)."""

    __tablename__ = "recourse_entry"
    # Art.18: written off, the debt keeps its right of recourse: the entry is sealed with the
    # write-off except for the running total of recoveries.
    __sealed_with__ = ("application",)
    __seal_mutable__ = frozenset({"recovered"})

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("writeoff_application.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    written_off: Mapped[Decimal]
    recovered: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    opened_on: Mapped[date]

    application = relationship("WriteOffApplication")
    customer = relationship("Customer")
    recoveries: Mapped[list[Recovery]] = relationship(back_populates="entry")


class Recovery(Base):
    __tablename__ = "recovery"
    __scope_parent__ = "entry"
    # Recoveries keep being booked on a sealed write-off; a booked one never changes.
    __seal_appendable__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("recourse_entry.id"), index=True)
    amount: Mapped[Decimal]
    received_on: Mapped[date]
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    note: Mapped[str | None] = mapped_column(Text)

    entry: Mapped[RecourseEntry] = relationship(back_populates="recoveries")


class AccountabilityFinding(ScopedMixin, TimestampMixin, Base):
    """Art.24–26: individual or unit responsibility, people named."""

    __tablename__ = "accountability_finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("writeoff_application.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("collection_case.id"))
    kind: Mapped[ResponsibilityKind | None] = enum_column(ResponsibilityKind, nullable=True)
    people: Mapped[str | None] = mapped_column(Text)
    finding: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]

    application = relationship("WriteOffApplication")
    case = relationship("CollectionCase")

    def __str__(self) -> str:
        # People name a finding by the write-off (or case) it is about, not "#1" (issue 11).
        subject = self.application or self.case
        return str(subject) if subject is not None else (self.people or "")


class Sanction(Base):
    __tablename__ = "sanction"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("accountability_finding.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    kind: Mapped[SanctionKind] = enum_column(SanctionKind)
    decided_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text)

    user = relationship("User")
    finding = relationship("AccountabilityFinding")
