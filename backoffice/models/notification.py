"""In-app inbox and tasks with deadlines (Art.12–17: every deadline in working days)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import Base, LabeledEnum, ScopedMixin, _l, enum_column, utcnow


class Notification(Base):
    __tablename__ = "notification"
    __scope_owner__ = "user_id"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]
    # Deduplicates reminders: the same key is notified once per user.
    dedup_key: Mapped[str | None] = mapped_column(String(200))

    user = relationship("User")


class TaskKind(LabeledEnum):
    ANSWER_FORM = "answer_form", _l("Answer confirmation form")
    ROUTE_FORM = "route_form", _l("Route confirmation form")
    FOLLOW_UP = "follow_up", _l("Follow up overdue line")
    SUBMIT_DOCUMENTS = "submit_documents", _l("Submit case documents")
    REVIEW_APPLICATION = "review_application", _l("Review case application")
    APPROVE_WRITEOFF = "approve_writeoff", _l("Approve write-off")
    COMPLETE_MATERIALS = "complete_materials", _l("Complete write-off materials")
    ACCOUNTABILITY = "accountability", _l("Complete accountability finding")
    CONFIRM_FINDING = "confirm_finding", _l("Confirm accountability finding")
    DECIDE_SANCTION = "decide_sanction", _l("Decide recommended sanction")
    MAKE_GOOD = "make_good", _l("Make good by the deadline")
    ANSWER_INFORMATION = "answer_information", _l("Answer the team's request for information")
    APPROVE_LITIGATION = "approve_litigation", _l("Approve litigation")


class Task(ScopedMixin, Base):
    """Work owed by someone, with a due date; overdue tasks show on the dashboard."""

    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("kind", "subject_type", "subject_id", "assignee_id"),
        Index("ix_task_assignee_open", "assignee_id", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TaskKind] = enum_column(TaskKind)
    title: Mapped[str] = mapped_column(String(200))
    link: Mapped[str | None] = mapped_column(String(300))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[int]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    cc_user_ids: Mapped[list | None] = mapped_column(JSON)
    due_on: Mapped[date | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]

    assignee = relationship("User")
