"""Configurable rules (debt classes, thresholds) and assessment targets (Art.29)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.assessment import ApprovalState
from backoffice.models.base import Base, TimestampMixin, enum_column

# YYYY, or YYYY-MM with a month 01–12 (portable: no regular expressions in SQLite).
_DIGITS = "BETWEEN '0' AND '9'"
PERIOD_CHECK = (
    " AND ".join(f"substr(period, {i}, 1) {_DIGITS}" for i in range(1, 5))
    + " AND (length(period) = 4 OR (length(period) = 7 AND substr(period, 5, 1) = '-'"
    + " AND substr(period, 6, 2) BETWEEN '01' AND '12'"
    + f" AND substr(period, 6, 1) {_DIGITS} AND substr(period, 7, 1) {_DIGITS}))"
)


class Setting(TimestampMixin, Base):
    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict | list | int | str | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)


class Target(TimestampMixin, Base):
    """清欠基数: the base for the whole team, a unit or a member, and a period (Art.29).

    The period is a year (``YYYY``) or a month (``YYYY-MM``); the check keeps out anything
    else. Art.28: the leadership group approves (核定) a base before it counts.
    """

    __tablename__ = "target"
    __table_args__ = (
        UniqueConstraint("company_id", "sales_unit_id", "period"),
        CheckConstraint(PERIOD_CHECK, name="period_format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
    sales_unit_id: Mapped[int | None] = mapped_column(ForeignKey("sales_unit.id"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY or YYYY-MM
    base_amount: Mapped[Decimal]
    note: Mapped[str | None] = mapped_column(Text)
    # A member's own base (Art.27: each member is assessed); None for the team or a unit
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    status: Mapped[ApprovalState] = enum_column(ApprovalState, default=ApprovalState.PROPOSED)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None]

    company = relationship("Company")
    sales_unit = relationship("SalesUnit")
    user = relationship("User", foreign_keys=[user_id])
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])
