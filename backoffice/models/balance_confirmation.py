"""The debtor's balance confirmation (issue 15): 对账确认 and the auditors' 往来询证函.

Not to be confused with the internal monthly confirmation form with the sales units
(``ConfirmationForm``, Art.12–14): here the *customer* confirms or disputes its balance through
a one-time link, and a dispute becomes a record for its collector.

- ``BalanceConfirmationRequest``: one customer, one as-of date, a snapshot of its open
  documents (``BalanceConfirmationLine``) and the balance; its answer.
- ``BalanceConfirmationLink``: the one-time link; only the SHA-256 of the token is stored.
- ``BalanceConfirmationAccess``: every view and answer of the page, with IP and time.
- ``BalanceConfirmationFile``: a file the debtor uploaded (signed letter, dispute evidence),
  stored hashed in the evidence storage after the same content check.
- ``BalanceDispute`` and ``BalanceDisputeLine``: the disputed documents and their resolution.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
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


class BalanceConfirmationKind(LabeledEnum):
    # Art.12–13: the monthly reconciliation, attached to the statement of account.
    RECONCILIATION = "reconciliation", _l("Balance reconciliation")
    # The auditors' 往来款项询证函.
    AUDIT_LETTER = "audit_letter", _l("Audit confirmation letter")


class LetterForm(LabeledEnum):
    POSITIVE = "positive", _l("Positive form (reply required)")
    NEGATIVE = "negative", _l("Negative form (reply only if different)")


class BalanceConfirmationStatus(LabeledEnum):
    SENT = "sent", _l("Sent, awaiting reply")
    CONFIRMED = "confirmed", _l("Confirmed by the debtor")
    DISPUTED = "disputed", _l("Disputed by the debtor")
    LETTER_RETURNED = "letter_returned", _l("Signed letter returned")
    NO_DISAGREEMENT = "no_disagreement", _l("No disagreement received")
    UNDELIVERABLE = "undeliverable", _l("Returned undelivered")
    CANCELLED = "cancelled", _l("Cancelled")


#: States in which the debtor has answered (the link is used up).
ANSWERED = frozenset(
    {
        BalanceConfirmationStatus.CONFIRMED,
        BalanceConfirmationStatus.DISPUTED,
        BalanceConfirmationStatus.LETTER_RETURNED,
    }
)


class AccessKind(LabeledEnum):
    VIEW = "view", _l("Page viewed")
    CONFIRM = "confirm", _l("Balance confirmed")
    DISPUTE = "dispute", _l("Balance disputed")
    LETTER = "letter", _l("Signed letter uploaded")
    REFUSED_EXPIRED = "refused_expired", _l("Refused: link expired")
    REFUSED_REVOKED = "refused_revoked", _l("Refused: link revoked")
    REFUSED_USED = "refused_used", _l("Refused: link already used")


class FilePurpose(LabeledEnum):
    SIGNED_LETTER = "signed_letter", _l("Signed and sealed letter")
    DISPUTE_EVIDENCE = "dispute_evidence", _l("Dispute evidence")


class DisputeReason(LabeledEnum):
    PRICE = "price", _l("Price")
    QUANTITY = "quantity", _l("Quantity")
    QUALITY = "quality", _l("Quality")
    ALREADY_PAID = "already_paid", _l("Already paid")
    NOT_RECEIVED = "not_received", _l("Not received")
    OTHER = "other", _l("Other")


class DisputeStatus(LabeledEnum):
    OPEN = "open", _l("Being resolved")
    RESOLVED = "resolved", _l("Resolved")


class DisputeResolution(LabeledEnum):
    CORRECTED_IN_ERP = "corrected_in_erp", _l("Corrected in the ERP")
    CREDIT_NOTE = "credit_note", _l("Credit note issued")
    DEBTOR_ACCEPTS = "debtor_accepts", _l("Debtor accepts our balance")
    ESCALATED = "escalated", _l("Escalated to a collection case")


class BalanceConfirmationRequest(ScopedMixin, TimestampMixin, Base):
    """One request to a customer to confirm its balance as of a date."""

    __tablename__ = "balance_confirmation_request"
    __table_args__ = (
        Index("ix_balance_confirmation_request_year_kind", "year", "kind"),
        Index("ix_balance_confirmation_request_status_due", "status", "reply_due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # e.g. XZ2026-00001
    kind: Mapped[BalanceConfirmationKind] = enum_column(BalanceConfirmationKind)
    letter_form: Mapped[LetterForm | None] = enum_column(LetterForm, nullable=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    # Art.12–13: a 对账确认 goes with one monthly statement, once.
    statement_id: Mapped[int | None] = mapped_column(
        ForeignKey("statement.id"), index=True, unique=True
    )
    as_of: Mapped[date]
    year: Mapped[int]  # the audit year (of ``as_of``), for the auditor's register
    balance: Mapped[Decimal]
    status: Mapped[BalanceConfirmationStatus] = enum_column(
        BalanceConfirmationStatus, default=BalanceConfirmationStatus.SENT
    )
    # Positive form: when reminders start; negative form: when silence counts as agreement.
    reply_due: Mapped[date]
    sent_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    answered_at: Mapped[datetime | None]
    answer_ip: Mapped[str | None] = mapped_column(String(64))
    # The debtor's own figure (equal to ``balance`` when it confirms).
    debtor_balance: Mapped[Decimal | None]
    debtor_note: Mapped[str | None] = mapped_column(Text)
    debtor_signer: Mapped[str | None] = mapped_column(String(100))
    reminders_sent: Mapped[int] = mapped_column(default=0)
    last_reminded_on: Mapped[date | None]
    closed_note: Mapped[str | None] = mapped_column(Text)
    # The letter as sent (with the live link's URL and QR code), kept hashed in the storage.
    pdf_key: Mapped[str | None] = mapped_column(String(255))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))

    customer = relationship("Customer")
    statement = relationship("Statement")
    company = relationship("Company")
    sales_unit = relationship("SalesUnit")
    created_by = relationship("User", foreign_keys=[created_by_id])
    lines: Mapped[list[BalanceConfirmationLine]] = relationship(
        back_populates="request", order_by="BalanceConfirmationLine.id"
    )
    links: Mapped[list[BalanceConfirmationLink]] = relationship(
        back_populates="request", order_by="BalanceConfirmationLink.id"
    )
    files: Mapped[list[BalanceConfirmationFile]] = relationship(
        back_populates="request", order_by="BalanceConfirmationFile.id"
    )

    @property
    def answered(self) -> bool:
        return self.status in ANSWERED

    def __str__(self) -> str:
        return self.number


class BalanceConfirmationLine(Base):
    """One open document of the customer as of the request's date (a snapshot)."""

    __tablename__ = "balance_confirmation_line"
    __scope_parent__ = "request"
    __table_args__ = (UniqueConstraint("request_id", "receivable_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("balance_confirmation_request.id"), index=True
    )
    receivable_id: Mapped[int] = mapped_column(ForeignKey("receivable.id"), index=True)
    doc_no: Mapped[str] = mapped_column(String(64))
    issue_date: Mapped[date | None]
    due_date: Mapped[date]
    amount: Mapped[Decimal]
    outstanding: Mapped[Decimal]

    request: Mapped[BalanceConfirmationRequest] = relationship(back_populates="lines")
    receivable = relationship("Receivable")

    def __str__(self) -> str:
        return self.doc_no


class BalanceConfirmationLink(Base):
    """A one-time link: the random token is given out once; only its SHA-256 is kept."""

    __tablename__ = "balance_confirmation_link"
    __scope_parent__ = "request"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("balance_confirmation_request.id"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    used_at: Mapped[datetime | None]  # the answer; the link works once for an answer
    views: Mapped[int] = mapped_column(default=0)

    request: Mapped[BalanceConfirmationRequest] = relationship(back_populates="links")
    revoked_by = relationship("User")

    def __str__(self) -> str:
        return f"{self.request} #{self.id}"


class BalanceConfirmationAccess(Base):
    """One view of, or answer on, the debtor page: what, when, from which IP."""

    __tablename__ = "balance_confirmation_access"
    __scope_parent__ = "request"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("balance_confirmation_request.id"), index=True
    )
    link_id: Mapped[int] = mapped_column(ForeignKey("balance_confirmation_link.id"), index=True)
    kind: Mapped[AccessKind] = enum_column(AccessKind)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    request = relationship("BalanceConfirmationRequest")
    link = relationship("BalanceConfirmationLink")


class BalanceConfirmationFile(Base):
    """A file the debtor uploaded, content-checked and kept by SHA-256 in the evidence store."""

    __tablename__ = "balance_confirmation_file"
    __scope_parent__ = "request"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("balance_confirmation_request.id"), index=True
    )
    purpose: Mapped[FilePurpose] = enum_column(FilePurpose)
    original_name: Mapped[str] = mapped_column(String(255))  # shown, never a path
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))

    request: Mapped[BalanceConfirmationRequest] = relationship(back_populates="files")

    def __str__(self) -> str:
        return self.original_name


class BalanceDispute(ScopedMixin, TimestampMixin, Base):
    """A debtor's disagreement with its balance, for the customer's collector to resolve."""

    __tablename__ = "balance_dispute"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("balance_confirmation_request.id"), unique=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    collector_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    our_balance: Mapped[Decimal]
    debtor_balance: Mapped[Decimal]
    difference: Mapped[Decimal]  # ours minus the debtor's
    disputed_amount: Mapped[Decimal]  # the sum of the disputed lines (shown apart in aging)
    reason: Mapped[DisputeReason] = enum_column(DisputeReason)  # the main (largest) reason
    deadline: Mapped[date]  # working days after the answer
    status: Mapped[DisputeStatus] = enum_column(DisputeStatus, default=DisputeStatus.OPEN)
    resolution: Mapped[DisputeResolution | None] = enum_column(DisputeResolution, nullable=True)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("collection_case.id"))

    request = relationship("BalanceConfirmationRequest")
    customer = relationship("Customer")
    company = relationship("Company")
    sales_unit = relationship("SalesUnit")
    collector = relationship("User", foreign_keys=[collector_id])
    resolved_by = relationship("User", foreign_keys=[resolved_by_id])
    case = relationship("CollectionCase")
    lines: Mapped[list[BalanceDisputeLine]] = relationship(
        back_populates="dispute", order_by="BalanceDisputeLine.id"
    )

    def __str__(self) -> str:
        return f"{self.request} · {self.customer.name if self.customer else ''}"


class BalanceDisputeLine(Base):
    """One disputed document: how much of it and why."""

    __tablename__ = "balance_dispute_line"
    __scope_parent__ = "dispute"
    __table_args__ = (UniqueConstraint("dispute_id", "receivable_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("balance_dispute.id"), index=True)
    receivable_id: Mapped[int] = mapped_column(ForeignKey("receivable.id"), index=True)
    doc_no: Mapped[str] = mapped_column(String(64))
    outstanding: Mapped[Decimal]
    disputed_amount: Mapped[Decimal]
    reason: Mapped[DisputeReason] = enum_column(DisputeReason)
    note: Mapped[str | None] = mapped_column(Text)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("balance_confirmation_file.id"))

    dispute: Mapped[BalanceDispute] = relationship(back_populates="lines")
    receivable = relationship("Receivable")
    file = relationship("BalanceConfirmationFile")

    def __str__(self) -> str:
        return self.doc_no
