"""Customer (客户 / 债务人) with credit control (Art.10, 15, 23) and its history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
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


class CreditRating(LabeledEnum):
    AAA = "AAA", "AAA"
    AA = "AA", "AA"
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class FinancialStatus(LabeledEnum):
    """The debtor's financial status, which drives the suggested strategy (Art.23)."""

    UNKNOWN = "unknown", _l("Not assessed")
    GOOD_FUNDS = "good_funds", _l("Good funds")
    POOR_FUNDS_GOOD_PROSPECTS = "poor_good_prospects", _l("Poor funds, good prospects")
    POOR_FUNDS_POORLY_RUN = "poor_poorly_run", _l("Poor funds, poorly run")
    MALICIOUS = "malicious", _l("Malicious default")


class CreditEventKind(LabeledEnum):
    RATING = "rating", _l("Credit rating changed")
    LIMIT = "limit", _l("Credit limit changed")
    HOLD = "hold", _l("Shipment hold set")
    RELEASE = "release", _l("Shipment hold released")
    FINANCIAL_STATUS = "financial_status", _l("Financial status changed")


class Customer(ScopedMixin, TimestampMixin, Base):
    __tablename__ = "customer"
    __table_args__ = (
        UniqueConstraint("company_id", "erp_code"),
        Index("ix_customer_name", "name"),
        Index("ix_customer_erp_code", "erp_code"),  # the search box's exact ERP code
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    erp_code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    contact_person: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(300))
    credit_rating: Mapped[CreditRating | None] = enum_column(CreditRating, nullable=True)
    credit_limit: Mapped[Decimal | None]
    # Art.10 (3): 总裁办 sets and releases the shipment hold (停货) with a reason.
    shipment_hold: Mapped[bool] = mapped_column(default=False)
    shipment_hold_reason: Mapped[str | None] = mapped_column(Text)
    financial_status: Mapped[FinancialStatus] = enum_column(
        FinancialStatus, default=FinancialStatus.UNKNOWN
    )
    # Created by an ERP import rather than entered by hand.
    from_import: Mapped[bool] = mapped_column(default=False)

    company = relationship("Company")
    sales_unit = relationship("SalesUnit")
    credit_events: Mapped[list[CreditEvent]] = relationship(
        back_populates="customer", order_by="CreditEvent.at"
    )
    contacts = relationship(
        "CustomerContact", back_populates="customer", order_by="CustomerContact.id"
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.erp_code})"


class CreditEvent(ScopedMixin, Base):
    """One change of rating, limit, hold or financial status, with its reason (history)."""

    __tablename__ = "credit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    kind: Mapped[CreditEventKind] = enum_column(CreditEventKind)
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="credit_events")
    user = relationship("User")
