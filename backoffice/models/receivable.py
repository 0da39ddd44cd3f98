"""Contracts, receivables (应收账款, Art.2–3), payments (回款) and their allocation."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import (
    Base,
    LabeledEnum,
    Rate,
    ScopedMixin,
    TimestampMixin,
    _l,
    enum_column,
    utcnow,
)


class ReceivableType(LabeledEnum):
    """Art.2: product payment, project payment, advanced freight."""

    PRODUCT = "product", _l("Product payment")
    PROJECT = "project", _l("Project payment")
    FREIGHT = "freight", _l("Advanced freight")


class ReceivableStatus(LabeledEnum):
    OPEN = "open", _l("Open")
    SETTLED = "settled", _l("Settled")
    WRITTEN_OFF = "written_off", _l("Written off")


class PenaltyKind(LabeledEnum):
    """Art.3: interest, penalty interest or liquidated damages per the contract."""

    NONE = "none", _l("None")
    DAILY_RATE = "daily_rate", _l("Daily rate")
    FIXED = "fixed", _l("Fixed amount")


class ChargeKind(LabeledEnum):
    """Art.3: the three amounts owed for late payment, kept and shown apart from each other."""

    INTEREST = "interest", _l("Interest")
    PENALTY_INTEREST = "penalty_interest", _l("Penalty interest")
    DAMAGES = "damages", _l("Liquidated damages")


class PaymentKind(LabeledEnum):
    PAYMENT = "payment", _l("Payment")
    CREDIT_NOTE = "credit_note", _l("Credit note")


class Contract(ScopedMixin, TimestampMixin, Base):
    """供货合同 / 协议 / 订单: the source of receivables and their penalty terms."""

    __tablename__ = "contract"
    __table_args__ = (UniqueConstraint("company_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(200))
    signed_on: Mapped[date | None]
    payment_terms_days: Mapped[int | None]
    # Art.3: each of interest, penalty interest (罚息, the ``penalty_*`` terms) and liquidated
    # damages has its own terms: a daily rate on what is outstanding, or a fixed amount.
    penalty_kind: Mapped[PenaltyKind] = enum_column(PenaltyKind, default=PenaltyKind.NONE)
    penalty_daily_rate: Mapped[Decimal | None] = mapped_column(Rate())
    penalty_fixed: Mapped[Decimal | None]
    interest_kind: Mapped[PenaltyKind] = enum_column(PenaltyKind, default=PenaltyKind.NONE)
    interest_daily_rate: Mapped[Decimal | None] = mapped_column(Rate())
    interest_fixed: Mapped[Decimal | None]
    damages_kind: Mapped[PenaltyKind] = enum_column(PenaltyKind, default=PenaltyKind.NONE)
    damages_daily_rate: Mapped[Decimal | None] = mapped_column(Rate())
    damages_fixed: Mapped[Decimal | None]

    customer = relationship("Customer")
    company = relationship("Company")
    sales_unit = relationship("SalesUnit")


class Receivable(ScopedMixin, TimestampMixin, Base):
    """One document owed by a customer. Unique by (company, document number)."""

    __tablename__ = "receivable"
    __table_args__ = (
        UniqueConstraint("company_id", "doc_no"),
        Index("ix_receivable_doc_no", "doc_no"),
        Index("ix_receivable_unit_due", "sales_unit_id", "due_date"),
        Index("ix_receivable_status_due", "status", "due_date"),
        # A customer's documents in the list's order; with the id, a search by customer name
        # reads them from the index alone (issue 13).
        Index("ix_receivable_customer_due_id", "customer_id", "due_date", "id"),
        # The list's order (due date, then id as the tie-break): a deep page walks this index
        # instead of sorting the table (PostgreSQL spilled the sort to disk at 1M rows).
        Index("ix_receivable_due_id", "due_date", "id"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"), index=True)
    collector_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    # The ERP's salesperson (业务员) as named in the file, kept when no user matches.
    collector_name: Mapped[str | None] = mapped_column(String(100))
    follow_up_clerk_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    doc_no: Mapped[str] = mapped_column(String(64))
    doc_type: Mapped[ReceivableType] = enum_column(ReceivableType, default=ReceivableType.PRODUCT)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    issue_date: Mapped[date | None]
    due_date: Mapped[date]
    # Maintained by the payment allocation service; outstanding = amount - paid - written off.
    paid_amount: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    written_off_amount: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    outstanding: Mapped[Decimal] = mapped_column(index=True)
    status: Mapped[ReceivableStatus] = enum_column(ReceivableStatus, default=ReceivableStatus.OPEN)
    settled_on: Mapped[date | None]
    writeoff_ref: Mapped[str | None] = mapped_column(String(64))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    note: Mapped[str | None] = mapped_column(Text)

    customer = relationship("Customer")
    contract = relationship("Contract")
    company = relationship("Company")
    sales_unit = relationship("SalesUnit")
    collector = relationship("User", foreign_keys=[collector_id])
    follow_up_clerk = relationship("User", foreign_keys=[follow_up_clerk_id])

    def __str__(self) -> str:
        return self.doc_no


class Payment(ScopedMixin, TimestampMixin, Base):
    """Money received (or a credit note) from a customer; allocated to receivables."""

    __tablename__ = "payment"
    __table_args__ = (
        UniqueConstraint("company_id", "payment_no"),
        Index("ix_payment_received_id", "received_on", "id"),  # the list's order
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    payment_no: Mapped[str] = mapped_column(String(64))
    kind: Mapped[PaymentKind] = enum_column(PaymentKind, default=PaymentKind.PAYMENT)
    amount: Mapped[Decimal]
    received_on: Mapped[date]
    # The document the payer named, if any; otherwise allocation goes oldest first.
    doc_no_ref: Mapped[str | None] = mapped_column(String(64))
    unallocated: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    note: Mapped[str | None] = mapped_column(Text)

    customer = relationship("Customer")
    company = relationship("Company")
    sales_unit = relationship("SalesUnit")
    allocations: Mapped[list[PaymentAllocation]] = relationship(back_populates="payment")

    def __str__(self) -> str:
        return self.payment_no


class PaymentAllocation(Base):
    __tablename__ = "payment_allocation"
    __scope_parent__ = "payment"
    __table_args__ = (UniqueConstraint("payment_id", "receivable_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id", ondelete="CASCADE"))
    receivable_id: Mapped[int] = mapped_column(ForeignKey("receivable.id"), index=True)
    amount: Mapped[Decimal]

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    receivable = relationship("Receivable")


class ImportKind(LabeledEnum):
    RECEIVABLES = "receivables", _l("Receivables")
    PAYMENTS = "payments", _l("Payments")


class ImportStatus(LabeledEnum):
    PENDING = "pending", _l("Pending")
    CHECKED = "checked", _l("Checked (dry run)")
    APPLIED = "applied", _l("Imported")
    REJECTED = "rejected", _l("Rejected (errors)")
    FAILED = "failed", _l("Failed")


class ImportBatch(TimestampMixin, Base):
    """One ERP file import: what it contained, what it changed, every bad row."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = enum_column(ImportKind)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[ImportStatus] = enum_column(ImportStatus, default=ImportStatus.PENDING)
    dry_run: Mapped[bool] = mapped_column(default=False)
    valid_only: Mapped[bool] = mapped_column(default=False)
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_created: Mapped[int] = mapped_column(default=0)
    rows_updated: Mapped[int] = mapped_column(default=0)
    rows_unchanged: Mapped[int] = mapped_column(default=0)
    rows_error: Mapped[int] = mapped_column(default=0)
    report: Mapped[dict | None] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    user = relationship("User")


class ColumnMapping(Base):
    """Saved, editable mapping from an ERP header (any synonym) to a field of ours."""

    __tablename__ = "column_mapping"
    __table_args__ = (UniqueConstraint("kind", "header"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = enum_column(ImportKind)
    header: Mapped[str] = mapped_column(String(100))
    field: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
