"""A customer's billing contacts (对账联系人): where statements, reminders and confirmation
requests are e-mailed (issue 14 §2, issue 15; Art.12–13 monthly reconciliation)."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import Base, TimestampMixin


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
