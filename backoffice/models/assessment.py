"""Assessment and rewards (Art.26(4), 27–30): the policy, difficulty grades and scorecards.

The bases themselves (清欠基数, Art.29) are ``Target`` rows in ``models/setting.py``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import (
    Base,
    LabeledEnum,
    Rate,
    ScopedMixin,
    TimestampMixin,
    _l,
    enum_column,
)


class ApprovalState(LabeledEnum):
    """Art.28: the leadership group sets (核定) targets and the policy."""

    PROPOSED = "proposed", _l("Awaiting approval")
    APPROVED = "approved", _l("Approved")


class DifficultyGrade(LabeledEnum):
    """Art.30: how hard a debt taken over is to collect; the grade weights its collection."""

    STANDARD = "standard", _l("Standard")
    HARD = "hard", _l("Hard")
    VERY_HARD = "very_hard", _l("Very hard")


class ScorecardStatus(LabeledEnum):
    PROPOSED = "proposed", _l("Proposed")
    AMENDED = "amended", _l("Amended, awaiting approval")
    APPROVED = "approved", _l("Approved and locked")


class AssessmentPolicy(TimestampMixin, Base):
    """考核政策 for a year (Art.28): difficulty weights and the reward and penalty rule."""

    __tablename__ = "assessment_policy"
    __table_args__ = (UniqueConstraint("company_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
    year: Mapped[int] = mapped_column(Integer)
    # Art.30: what ¥1 collected counts toward the base, by grade
    weight_standard: Mapped[Decimal] = mapped_column(Rate())
    weight_hard: Mapped[Decimal] = mapped_column(Rate())
    weight_very_hard: Mapped[Decimal] = mapped_column(Rate())
    # Art.30: the grade proposal's thresholds (calendar months overdue when taken over)
    hard_after_months: Mapped[int] = mapped_column(Integer)
    very_hard_after_months: Mapped[int] = mapped_column(Integer)
    # Art.27: reward = rate × excess; below the floor (achievement), penalty = rate × shortfall
    reward_rate: Mapped[Decimal] = mapped_column(Rate())
    penalty_floor: Mapped[Decimal] = mapped_column(Rate())
    penalty_rate: Mapped[Decimal] = mapped_column(Rate())
    status: Mapped[ApprovalState] = enum_column(ApprovalState)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)

    company = relationship("Company")
    set_by = relationship("User", foreign_keys=[set_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])

    def __str__(self) -> str:
        return f"{self.year}"


class DebtGrade(ScopedMixin, TimestampMixin, Base):
    """Art.30: the difficulty grade of one debt taken over by the team (a case)."""

    __tablename__ = "debt_grade"
    __scope_parent__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), unique=True)
    age_months: Mapped[int] = mapped_column(Integer)
    financial_status: Mapped[str] = mapped_column(String(32))
    litigated: Mapped[bool] = mapped_column(default=False)
    proposed: Mapped[DifficultyGrade] = enum_column(DifficultyGrade)
    grade: Mapped[DifficultyGrade] = enum_column(DifficultyGrade)
    override_reason: Mapped[str | None] = mapped_column(Text)
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    case = relationship("CollectionCase")
    graded_by = relationship("User")

    def __str__(self) -> str:
        return f"{self.case} {self.grade.label}"


class Scorecard(TimestampMixin, Base):
    """Art.27: the period-end assessment of the team and each member; locked once approved."""

    __tablename__ = "scorecard"
    __table_args__ = (UniqueConstraint("company_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"))
    period: Mapped[str] = mapped_column(String(7))
    policy_id: Mapped[int] = mapped_column(ForeignKey("assessment_policy.id"))
    status: Mapped[ScorecardStatus] = enum_column(ScorecardStatus)
    computed_at: Mapped[datetime]
    comment: Mapped[str | None] = mapped_column(Text)
    amended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    amended_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None]

    company = relationship("Company")
    policy = relationship("AssessmentPolicy")
    amended_by = relationship("User", foreign_keys=[amended_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])
    lines: Mapped[list[ScorecardLine]] = relationship(
        back_populates="scorecard", order_by="ScorecardLine.id"
    )

    def __str__(self) -> str:
        return self.period


class ScorecardLine(Base):
    """One line of a scorecard: the team (no user) or a member."""

    __tablename__ = "scorecard_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecard.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    base: Mapped[Decimal | None]
    collected: Mapped[Decimal]
    weighted: Mapped[Decimal]
    achievement: Mapped[Decimal | None] = mapped_column(Rate())
    excess: Mapped[Decimal]
    proposed: Mapped[Decimal]  # + reward, − penalty (Art.27)
    amount: Mapped[Decimal]  # as approved (the proposal unless amended)

    scorecard = relationship("Scorecard", back_populates="lines")
    user = relationship("User")

    def __str__(self) -> str:
        return f"{self.scorecard} {self.user or '清欠小组'}"
