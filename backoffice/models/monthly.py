"""The monthly cycle (Art.11–15): run, report, confirmation form and its lines, statements."""

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


class ReasonClass(LabeledEnum):
    """Art.14: internal, external, or both."""

    INTERNAL = "internal", _l("Internal")
    EXTERNAL = "external", _l("External")
    BOTH = "both", _l("Internal and external")


class Route(LabeledEnum):
    """Art.15: where a confirmed overdue line goes."""

    FINANCE = "finance", _l("Finance department (bookkeeping difference)")
    COLLECTOR = "collector", _l("Collector (internal, non-bookkeeping)")
    DIVISION_COLLECTOR = "division_collector", _l("Division collector (commercial terms)")
    COLLECT = "collect", _l("Collector: press for payment")
    FINANCE_THEN_SPLIT = "finance_then_split", _l("Finance verifies, then split")


class RouteHint(LabeledEnum):
    """What a sub-reason implies for routing."""

    BOOKKEEPING = "bookkeeping", _l("Bookkeeping difference")
    INTERNAL_OTHER = "internal_other", _l("Internal, other")
    COMMERCIAL = "commercial", _l("Commercial terms difference")
    UNJUSTIFIED = "unjustified", _l("Unjustified delay")


class FormStatus(LabeledEnum):
    ISSUED = "issued", _l("Issued")
    SUBMITTED = "submitted", _l("Submitted")
    RETURNED = "returned", _l("Returned")
    ROUTED = "routed", _l("Routed")


class MonthlyRun(TimestampMixin, Base):
    __tablename__ = "monthly_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), unique=True)  # YYYY-MM
    as_of: Mapped[date]  # close of the previous month
    dispatch_date: Mapped[date]
    form_date: Mapped[date]
    finished_at: Mapped[datetime | None]


class OverdueReason(Base):
    """The admin-editable list of sub-reasons (Art.14), seeded with the seed's examples."""

    __tablename__ = "overdue_reason"
    __table_args__ = (UniqueConstraint("reason_class", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reason_class: Mapped[ReasonClass] = enum_column(ReasonClass)
    label: Mapped[str] = mapped_column(String(100))
    route_hint: Mapped[RouteHint] = enum_column(RouteHint)
    active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return self.label


class MonthlyReport(ScopedMixin, TimestampMixin, Base):
    """逾期账款报表: one per sales unit and period, as PDF and XLSX."""

    __tablename__ = "monthly_report"
    __table_args__ = (UniqueConstraint("period", "sales_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    as_of: Mapped[date]
    line_count: Mapped[int] = mapped_column(default=0)
    total_overdue: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    # Art.3: the charges at the close, each apart (counted in ``total_overdue`` by a setting).
    interest_total: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    penalty_interest_total: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    damages_total: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    pdf_key: Mapped[str | None] = mapped_column(String(255))
    xlsx_key: Mapped[str | None] = mapped_column(String(255))

    sales_unit = relationship("SalesUnit")
    company = relationship("Company")


class DispatchChannel(LabeledEnum):
    INBOX = "inbox", _l("Inbox and e-mail")
    EMAIL = "email", _l("E-mail")


class ReportDispatch(ScopedMixin, Base):
    """Art.12: one sending of a unit's monthly overdue report to one recipient: who sent it
    (none = the monthly job), when, to whom and what (the report and its files). Sending 1 is
    the one made with the report; finance's "send again" makes sending 2, 3…"""

    __tablename__ = "report_dispatch"
    __table_args__ = (UniqueConstraint("report_id", "recipient", "sending_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("monthly_report.id"), index=True)
    period: Mapped[str] = mapped_column(String(7))
    channel: Mapped[DispatchChannel] = enum_column(DispatchChannel)
    # An e-mail address (the unit's contacts) or a user's name (the finance specialist).
    recipient: Mapped[str] = mapped_column(String(200))
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    subject: Mapped[str] = mapped_column(String(200))
    attachments: Mapped[str] = mapped_column(String(300))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    sending_no: Mapped[int] = mapped_column(default=1, server_default="1")

    report = relationship("MonthlyReport")
    sales_unit = relationship("SalesUnit")
    recipient_user = relationship("User", foreign_keys=[recipient_user_id])
    sent_by = relationship("User", foreign_keys=[sent_by_id])


class ConfirmationForm(ScopedMixin, TimestampMixin, Base):
    """逾期账款确认表 (Annex 1): one per sales unit and period."""

    __tablename__ = "confirmation_form"
    __table_args__ = (UniqueConstraint("period", "sales_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    issued_on: Mapped[date]
    answer_due: Mapped[date]  # Art.14: 5 working days
    routing_due: Mapped[date | None]  # Art.15: 3 working days after the answers
    status: Mapped[FormStatus] = enum_column(FormStatus, default=FormStatus.ISSUED)
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    return_reason: Mapped[str | None] = mapped_column(Text)
    routed_at: Mapped[datetime | None]
    pdf_key: Mapped[str | None] = mapped_column(String(255))

    sales_unit = relationship("SalesUnit")
    company = relationship("Company")
    lines: Mapped[list[ConfirmationLine]] = relationship(back_populates="form")


class ConfirmationLine(ScopedMixin, Base):
    __tablename__ = "confirmation_line"
    __table_args__ = (UniqueConstraint("form_id", "receivable_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("confirmation_form.id"), index=True)
    receivable_id: Mapped[int] = mapped_column(ForeignKey("receivable.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    outstanding_at_close: Mapped[Decimal]
    overdue_days: Mapped[int]
    reason_class: Mapped[ReasonClass | None] = enum_column(ReasonClass, nullable=True)
    sub_reason_id: Mapped[int | None] = mapped_column(ForeignKey("overdue_reason.id"))
    estimated_recoverable: Mapped[Decimal | None]
    expected_date: Mapped[date | None]
    comment: Mapped[str | None] = mapped_column(Text)
    proposed_route: Mapped[Route | None] = enum_column(Route, nullable=True)
    route: Mapped[Route | None] = enum_column(Route, nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    routed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    form: Mapped[ConfirmationForm] = relationship(back_populates="lines")
    receivable = relationship("Receivable")
    customer = relationship("Customer")
    sub_reason = relationship("OverdueReason")
    assignee = relationship("User", foreign_keys=[assignee_id])


class ConfirmationLinePart(ScopedMixin, Base):
    """Art.15 (3): one part of a line with both internal and external reasons, after finance
    has verified it: its own reason, amount and route."""

    __tablename__ = "confirmation_line_part"
    __table_args__ = (UniqueConstraint("line_id", "reason_class"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("confirmation_line.id"), index=True)
    reason_class: Mapped[ReasonClass] = enum_column(ReasonClass)
    sub_reason_id: Mapped[int] = mapped_column(ForeignKey("overdue_reason.id"))
    amount: Mapped[Decimal]
    route: Mapped[Route] = enum_column(Route)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    split_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    split_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    line = relationship("ConfirmationLine")
    sub_reason = relationship("OverdueReason")
    assignee = relationship("User", foreign_keys=[assignee_id])
    split_by = relationship("User", foreign_keys=[split_by_id])


class Statement(ScopedMixin, TimestampMixin, Base):
    """对账单: one per customer with anything outstanding, per period."""

    __tablename__ = "statement"
    __table_args__ = (UniqueConstraint("period", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    as_of: Mapped[date]
    total_outstanding: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    pdf_key: Mapped[str | None] = mapped_column(String(255))
    # SHA-256 of the PDF when it was stored; the API verifies every download against it.
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))

    customer = relationship("Customer")
    sales_unit = relationship("SalesUnit")
