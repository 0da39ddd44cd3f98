"""JobRun: one row per RQ job, keyed by the RQ job id, with progress the UI shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import Base, LabeledEnum, _l, enum_column, utcnow


class JobStatus(LabeledEnum):
    QUEUED = "queued", _l("Queued")
    RUNNING = "running", _l("Running")
    FINISHED = "finished", _l("Finished")
    FAILED = "failed", _l("Failed")


class JobRun(Base):
    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    rq_job_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    args: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[JobStatus] = enum_column(JobStatus, default=JobStatus.QUEUED)
    progress: Mapped[int] = mapped_column(default=0)  # 0..100
    message: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(default=0)
    enqueued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)

    enqueued_by = relationship("User")

    def __str__(self) -> str:
        return f"{self.name} {self.rq_job_id}"
