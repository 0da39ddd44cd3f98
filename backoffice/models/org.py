"""Company (公司 / 全资子公司, Art.4) and sales unit (事业部 / 销售部门)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import Base, TimestampMixin

if TYPE_CHECKING:
    from backoffice.models.user import User


class Company(TimestampMixin, Base):
    __tablename__ = "company"
    __scope_company__ = "id"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Letterhead for PDFs sent out under this company's name.
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(64))
    bank_account: Mapped[str | None] = mapped_column(String(200))

    sales_units: Mapped[list[SalesUnit]] = relationship(back_populates="company")


class SalesUnit(TimestampMixin, Base):
    """A business unit that owns customers; receivables, cases and costs roll up to it."""

    __tablename__ = "sales_unit"
    __scope_unit__ = "id"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Art.12: the report goes to each unit's contacts (comma-separated e-mail addresses).
    contact_emails: Mapped[str | None] = mapped_column(Text)
    # Art.15: the division VP (销售分管领导) copied on routing; approves write-offs (Art.18).
    vp_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", use_alter=True))
    active: Mapped[bool] = mapped_column(default=True)

    company: Mapped[Company] = relationship(back_populates="sales_units")
    vp: Mapped[User | None] = relationship(foreign_keys=[vp_id])
