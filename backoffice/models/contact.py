"""A customer's billing contacts (对账联系人): where statements, reminders and confirmation
requests are e-mailed (issue 14 §2, issue 15; Art.12–13 monthly reconciliation)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import (
    Base,
    LabeledEnum,
    ScopedMixin,
    TimestampMixin,
    UTCDateTime,
    _l,
    enum_column,
    utcnow,
)


class CustomerContact(TimestampMixin, Base):
    """One person at the debtor who receives its statements. A customer may have several;
    an e-mail address appears once per customer."""

    __tablename__ = "customer_contact"
    __table_args__ = (UniqueConstraint("customer_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    # A contact kept for the record but no longer written to.
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    customer = relationship("Customer", back_populates="contacts")

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class CustomerMailOptOut(TimestampMixin, Base):
    """A customer excluded from e-mail ("do not e-mail"), with the reason and who decided."""

    __tablename__ = "customer_mail_opt_out"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    customer = relationship("Customer")
    user = relationship("User")


class MailKind(LabeledEnum):
    """What a customer e-mail carries (issue 14 §2)."""

    STATEMENT = "statement", _l("Statement of account")
    REMINDER = "reminder", _l("Friendly reminder")
    DEMAND_LETTER = "demand_letter", _l("Demand letter")
    CONFIRMATION = "confirmation", _l("Balance confirmation request")


class MailStatus(LabeledEnum):
    QUEUED = "queued", _l("Queued")
    RETRYING = "retrying", _l("Failed, will retry")
    SENT = "sent", _l("Sent")
    FAILED = "failed", _l("Failed")


class CustomerMail(ScopedMixin, Base):
    """One e-mail to one billing contact (the send log): who asked, what, when, the result.

    Unique per (kind, period, contact): a statement or a dunning step goes to a contact once
    per period, however often the run that asks for it is repeated."""

    __tablename__ = "customer_mail"
    __table_args__ = (
        UniqueConstraint("kind", "period", "contact_id"),
        Index("ix_customer_mail_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MailKind] = enum_column(MailKind)
    # YYYY-MM (or YYYY-MM-DD); a confirmation: its request number and link, XZ2026-00001/17
    period: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("customer_contact.id"))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_key: Mapped[str | None] = mapped_column(String(255))
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[MailStatus] = enum_column(MailStatus, default=MailStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=4)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    # None: sent by a scheduled job (the monthly run, the dunning schedule)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))

    customer = relationship("Customer")
    contact = relationship("CustomerContact")
    sales_unit = relationship("SalesUnit")
    requested_by = relationship("User")

    def __str__(self) -> str:
        return f"{self.kind.label} {self.period} → {self.recipient}"


class DunningPause(TimestampMixin, Base):
    """Art.23: the dunning schedule paused for one customer (the debtor cooperates), with the
    reason and who decided. Resuming deletes the row (audited)."""

    __tablename__ = "dunning_pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    customer = relationship("Customer")
    user = relationship("User")
