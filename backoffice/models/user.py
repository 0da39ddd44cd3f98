"""Users, roles (SPEC §2, Art.5–10) and login throttling."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import Base, LabeledEnum, TimestampMixin, _l, enum_column, utcnow

if TYPE_CHECKING:
    from backoffice.models.org import SalesUnit


class RoleName(LabeledEnum):
    ADMIN = "admin", _l("Administrator")
    LEADER = "leader", _l("Leadership group")
    TEAM_LEAD = "team_lead", _l("Collection team lead")
    FINANCE = "finance", _l("Finance specialist")
    LEGAL = "legal", _l("Legal specialist")
    CREDIT = "credit", _l("Credit specialist")
    COLLECTOR = "collector", _l("Sales collector")
    AUDITOR = "auditor", _l("Auditor")


class LeaderTitle(LabeledEnum):
    """Which approval step of the write-off chain a leader may sign (Art.5, Art.18)."""

    PRESIDENT = "president", _l("President")
    CFO = "cfo", _l("CFO")
    DIVISION_VP = "division_vp", _l("Division VP")
    # Art.7: with no successor, the VP, the general manager or the president designates one.
    GENERAL_MANAGER = "general_manager", _l("General manager")


user_role = Table(
    "user_role",
    Base.metadata,
    Column("user_id", Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", Integer, ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
)

user_sales_unit = Table(
    "user_sales_unit",
    Base.metadata,
    Column("user_id", Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "sales_unit_id", Integer, ForeignKey("sales_unit.id", ondelete="CASCADE"), primary_key=True
    ),
)


class Role(Base):
    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[RoleName] = enum_column(RoleName, unique=True)

    def __str__(self) -> str:
        return str(self.name.label)


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    employee_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str] = mapped_column(String(16), default="zh_Hans_CN")
    # Company scope: when set, the user sees only that company's rows.
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    leader_title: Mapped[LeaderTitle | None] = enum_column(LeaderTitle, nullable=True)
    # Bumped on logout and password change; part of the session token, so old sessions die.
    session_version: Mapped[int] = mapped_column(default=1)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    roles: Mapped[list[Role]] = relationship(secondary=user_role, lazy="selectin")
    sales_units: Mapped[list[SalesUnit]] = relationship(secondary=user_sales_unit, lazy="selectin")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return bool(self.active)

    def get_id(self) -> str:
        # The session version makes logout and password changes end every other session.
        return f"{self.id}:{self.session_version}"

    @property
    def role_names(self) -> frozenset[RoleName]:
        return frozenset(r.name for r in self.roles)

    def has_role(self, *names: RoleName) -> bool:
        return bool(self.role_names.intersection(names))

    @property
    def unit_ids(self) -> frozenset[int]:
        return frozenset(u.id for u in self.sales_units)

    def __str__(self) -> str:
        return self.display_name or self.username


class LoginThrottle(Base):
    """Failed-login counters keyed by ``user:<name>`` or ``ip:<address>``."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_failure_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]


class HandOver(Base):
    """Art.7: a leaver's receivables, cases and tasks handed to a successor in one action."""

    __tablename__ = "hand_over"

    id: Mapped[int] = mapped_column(primary_key=True)
    leaver_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    successor_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    # Art.7: no successor taking over, so a VP, the general manager or the president named one.
    designated: Mapped[bool] = mapped_column(default=False)
    receivables: Mapped[int] = mapped_column(default=0)
    cases: Mapped[int] = mapped_column(default=0)
    tasks: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(Text)
    handed_at: Mapped[datetime] = mapped_column(default=utcnow)

    leaver = relationship("User", foreign_keys=[leaver_id])
    successor = relationship("User", foreign_keys=[successor_id])
    by = relationship("User", foreign_keys=[by_id])

    def __str__(self) -> str:
        return f"{self.leaver} → {self.successor}"
