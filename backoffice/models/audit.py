"""The audit trail (SPEC §3.8): append-only, hash-chained rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models.base import Base, LabeledEnum, _l, utcnow


class AuditAction(LabeledEnum):
    CREATE = "create", _l("Create")
    UPDATE = "update", _l("Update")
    DELETE = "delete", _l("Delete")
    LOGIN = "login", _l("Login")
    LOGOUT = "logout", _l("Logout")
    LOGIN_FAILED = "login_failed", _l("Failed login")
    LOCKOUT = "lockout", _l("Account locked")
    DENIED = "denied", _l("Permission denied")
    DOWNLOAD = "download", _l("Download")
    JOB = "job", _l("Job run")
    ALERT = "alert", _l("Integrity alert")
    REFUSED = "refused", _l("Change refused")
    CHECKPOINT = "checkpoint", _l("Audit checkpoint")
    KEY_ROTATED = "key_rotated", _l("Audit key rotated")
    API_CALL = "api_call", _l("Integration API call")


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Contiguous sequence under a lock: a gap or a broken link shows a removed row.
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32), index=True)
    entity: Mapped[str | None] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The audit key that signed ``hash`` (HMAC); None for entries hashed before issue 10.
    key_id: Mapped[str | None] = mapped_column(String(16))

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.entity or ''} {self.entity_id or ''}"
