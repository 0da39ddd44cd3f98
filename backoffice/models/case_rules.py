"""What a case application's refusal leaves with the unit (Art.16 (4)), and the collector's
structured reasons and proposed measures that go with the documents (Art.17)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import Base, ScopedMixin, enum_column, utcnow
from backoffice.models.case import ActionKind
from backoffice.models.monthly import ReasonClass


class RefusalConsequence(ScopedMixin, Base):
    """Art.16 (4): the team did not take the debt; the consequences stay with the sales unit
    and the handler who applied. One per refused application."""

    __tablename__ = "refusal_consequence"
    __table_args__ = (UniqueConstraint("case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    outstanding: Mapped[Decimal]
    refusal_reason: Mapped[str] = mapped_column(Text)
    consequence: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    case = relationship("CollectionCase")
    customer = relationship("Customer")
    sales_unit = relationship("SalesUnit")
    handler = relationship("User", foreign_keys=[handler_id])
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])


class CaseSubmission(ScopedMixin, Base):
    """Art.17: the collector's reasons for the debt and the measures proposed, submitted with
    the documents within the same 5 working days (``due_on`` is the case's documents_due)."""

    __tablename__ = "case_submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    reason_class: Mapped[ReasonClass] = enum_column(ReasonClass)
    sub_reason_id: Mapped[int] = mapped_column(ForeignKey("overdue_reason.id"))
    reason_detail: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date | None]
    on_time: Mapped[bool] = mapped_column(default=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)

    case = relationship("CollectionCase")
    sub_reason = relationship("OverdueReason")
    submitted_by = relationship("User")
    measures: Mapped[list[ProposedMeasure]] = relationship(
        back_populates="submission", order_by="ProposedMeasure.id"
    )


class ProposedMeasure(Base):
    """One proposed measure of a submission: the method (Annex 5), by when, and how."""

    __tablename__ = "proposed_measure"
    __scope_parent__ = "submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("case_submission.id"), index=True)
    method: Mapped[ActionKind] = enum_column(ActionKind)
    planned_on: Mapped[date]
    detail: Mapped[str] = mapped_column(Text)

    submission: Mapped[CaseSubmission] = relationship(back_populates="measures")
