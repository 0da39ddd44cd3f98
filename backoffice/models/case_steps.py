"""The team's work around a case that the measures ask for by name: requests for information
(Art.19) and per-customer collection targets and plans (Art.23 (2))."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import Base, LabeledEnum, ScopedMixin, TimestampMixin, _l, enum_column
from backoffice.models.case import Strategy


class RequestStatus(LabeledEnum):
    OPEN = "open", _l("Awaiting answer")
    ANSWERED = "answered", _l("Answered")


class InformationRequest(ScopedMixin, TimestampMixin, Base):
    """Art.19: the team asks a named unit or person for information, by a deadline in working
    days; the answer is given in the system, and a late answer escalates."""

    __tablename__ = "information_request"
    __table_args__ = (Index("ix_information_request_open_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("collection_case.id"), index=True)
    addressee_unit_id: Mapped[int | None] = mapped_column(ForeignKey("sales_unit.id"))
    addressee_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    issued_on: Mapped[date]
    due_on: Mapped[date]
    status: Mapped[RequestStatus] = enum_column(RequestStatus, default=RequestStatus.OPEN)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    answered_at: Mapped[datetime | None]
    answered_late: Mapped[bool] = mapped_column(default=False)
    escalated_on: Mapped[date | None]

    case = relationship("CollectionCase")
    addressee_unit = relationship("SalesUnit", foreign_keys=[addressee_unit_id])
    addressee_user = relationship("User", foreign_keys=[addressee_user_id])
    issued_by = relationship("User", foreign_keys=[issued_by_id])
    answered_by = relationship("User", foreign_keys=[answered_by_id])

    @property
    def addressee(self) -> str:
        if self.addressee_user is not None:
            return self.addressee_user.display_name
        return self.addressee_unit.name if self.addressee_unit is not None else ""

    def __str__(self) -> str:
        return self.subject


class CustomerCollectionPlan(ScopedMixin, TimestampMixin, Base):
    """Art.23 (2): for each customer in arrears, why it is behind, the collection target (an
    amount by a date) and the plan to reach it. The latest row is the customer's plan."""

    __tablename__ = "customer_collection_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("collection_case.id"), index=True)
    reasons: Mapped[str] = mapped_column(Text)
    target_amount: Mapped[Decimal]
    target_date: Mapped[date]
    measures: Mapped[str] = mapped_column(Text)
    strategy: Mapped[Strategy | None] = enum_column(Strategy, nullable=True)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    set_on: Mapped[date]

    customer = relationship("Customer")
    case = relationship("CollectionCase")
    set_by = relationship("User", foreign_keys=[set_by_id])

    def __str__(self) -> str:
        return f"{self.customer.name if self.customer else ''} {self.target_date}"
