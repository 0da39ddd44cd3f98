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
    # Art.20: 限期补齐, a deadline to make good, tracked and reminded.
    MAKE_GOOD = "make_good", _l("Deadline to make good")


class SanctionStatus(LabeledEnum):
    """Art.20: the team recommends a measure, the leadership decides it; it can be lifted."""

    RECOMMENDED = "recommended", _l("Recommended")
    DECIDED = "decided", _l("Decided")
    REJECTED = "rejected", _l("Rejected by the leadership")
    LIFTED = "lifted", _l("Lifted")


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
    """Art.24–26: the responsibility analysis of a loss (a write-off, or a case closed hard to
    collect): individual or unit responsibility, the persons named (``FindingParty``), the
    facts and the evidence; completed by the team, confirmed by 总裁办."""

    __tablename__ = "accountability_finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("writeoff_application.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("collection_case.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    kind: Mapped[ResponsibilityKind | None] = enum_column(ResponsibilityKind, nullable=True)
    people: Mapped[str | None] = mapped_column(Text)
    finding: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)
    # The loss when the finding was opened (written off, or left open at closing).
    loss_amount: Mapped[Decimal | None]
    # Art.24: the division VP of the unit, named automatically, carries joint responsibility.
    vp_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # Art.18: 总裁办 confirms the finding (落实责任追究).
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    confirm_comment: Mapped[str | None] = mapped_column(Text)

    application = relationship("WriteOffApplication")
    case = relationship("CollectionCase")
    customer = relationship("Customer")
    sales_unit = relationship("SalesUnit")
    vp = relationship("User", foreign_keys=[vp_id])
    completed_by = relationship("User", foreign_keys=[completed_by_id])
    confirmed_by = relationship("User", foreign_keys=[confirmed_by_id])
    parties: Mapped[list[FindingParty]] = relationship(
        back_populates="finding", order_by="FindingParty.id"
    )

    def __str__(self) -> str:
        subject = self.application or self.case
        return f"责任认定 {subject}" if subject is not None else f"责任认定 #{self.id}"


class PartyBasis(LabeledEnum):
    """The article point under which a unit or person is named (Art.24, 26)."""

    JOINT_VP = "art24", _l("Art.24: joint responsibility of the division VP")
    MAJOR_LOSS = "art26_1", _l("Art.26(1): responsible for a major loss")
    FINANCE_STAFF = "art26_2", _l("Art.26(2): finance staff breaching the financial rules")
    CONTRACTING = "art26_3", _l("Art.26(3): contracting department's error or false credit data")
    SALESPERSON = "art26_4", _l("Art.26(4): salesperson directly responsible for serious arrears")
    ANY_PARTY = "art26_5", _l("Art.26(5): any unit or person slow to pay")


class FindingParty(Base):
    """A unit or person a finding names: a user of the system, or a name (any unit or
    person, Art.26(5)), with personal or unit responsibility and the article point."""

    __tablename__ = "finding_party"
    __scope_parent__ = "finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("accountability_finding.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    responsibility: Mapped[ResponsibilityKind] = enum_column(ResponsibilityKind)
    basis: Mapped[PartyBasis] = enum_column(PartyBasis)
    note: Mapped[str | None] = mapped_column(Text)
    named_at: Mapped[datetime] = mapped_column(default=utcnow)

    finding: Mapped[AccountabilityFinding] = relationship(back_populates="parties")
    user = relationship("User")

    def __str__(self) -> str:
        return str(self.user) if self.user is not None else (self.name or "")


class Sanction(Base):
    """Art.20: a measure against a person, recommended by the team and decided by the
    leadership with its date; lifted with a reason."""

    __tablename__ = "sanction"
    __scope_parent__ = "finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("accountability_finding.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    kind: Mapped[SanctionKind] = enum_column(SanctionKind)
    status: Mapped[SanctionStatus] = enum_column(SanctionStatus, default=SanctionStatus.RECOMMENDED)
    recommended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recommended_at: Mapped[datetime | None]
    decided_on: Mapped[date | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decision_comment: Mapped[str | None] = mapped_column(Text)
    # Art.20 限期补齐: what is to be made good, by when (reminded through its task).
    amount: Mapped[Decimal | None]
    due_on: Mapped[date | None]
    lifted_at: Mapped[datetime | None]
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    lift_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    user = relationship("User", foreign_keys=[user_id])
    finding = relationship("AccountabilityFinding")
    recommended_by = relationship("User", foreign_keys=[recommended_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    lifted_by = relationship("User", foreign_keys=[lifted_by_id])

    def __str__(self) -> str:
        return f"{self.kind.label}：{self.user}"


class HoldKind(LabeledEnum):
    """Art.26(1), (4): what a person held responsible may not do while the loss is open."""

    NO_PROMOTION = "no_promotion_transfer", _l("No promotion or transfer (Art.26(1))")
    NO_RESIGNATION = "no_resignation", _l("No resignation (Art.26(4))")


class AccountabilityHold(Base):
    """A hold on a person named by a confirmed finding, until the loss is recovered."""

    __tablename__ = "accountability_hold"
    __scope_parent__ = "finding"
    __table_args__ = (UniqueConstraint("finding_id", "user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("accountability_finding.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    kind: Mapped[HoldKind] = enum_column(HoldKind)
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Lifted automatically when the loss is recovered (lifted_by empty), or by a person.
    lifted_at: Mapped[datetime | None] = mapped_column(index=True)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    lift_reason: Mapped[str | None] = mapped_column(Text)

    finding = relationship("AccountabilityFinding")
    user = relationship("User", foreign_keys=[user_id])
    lifted_by = relationship("User", foreign_keys=[lifted_by_id])

    def __str__(self) -> str:
        return f"{self.kind.label}：{self.user}"
