"""Configurable rules (debt classes, thresholds) and assessment targets (Art.29)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import Base, TimestampMixin


class Setting(TimestampMixin, Base):
    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict | list | int | str | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


class Target(TimestampMixin, Base):
    """清欠基数: the base target for a unit (or the whole team) and period (Art.29)."""

    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("company_id", "sales_unit_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
    sales_unit_id: Mapped[int | None] = mapped_column(ForeignKey("sales_unit.id"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY or YYYY-MM
    base_amount: Mapped[Decimal]
    note: Mapped[str | None] = mapped_column(Text)

    company = relationship("Company")
    sales_unit = relationship("SalesUnit")
