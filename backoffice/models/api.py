"""The ERP integration API (issue 14): integration tokens and idempotent push requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import Base, TimestampMixin, utcnow


class ApiToken(TimestampMixin, Base):
    """One integration's credential: a company, the scopes it may use, an optional expiry.

    Only the SHA-256 of the secret is kept (the secret is 256 random bits, so a fast hash is
    enough); the secret itself is shown once, when the token is created.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    # ["receivables:write", "customers:read", ...] (backoffice/api/scopes.py)
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the secret, so an administrator can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    company = relationship("Company")
    created_by = relationship("User", foreign_keys=[created_by_id])
    revoked_by = relationship("User", foreign_keys=[revoked_by_id])

    def __str__(self) -> str:
        return self.name


class ApiIdempotency(Base):
    """The stored answer to a push sent with an ``Idempotency-Key``: a retry gets it back.

    Written with Core statements (not the ORM), so the audit trail keeps the call, not the
    whole stored response a second time.
    """

    __tablename__ = "api_idempotency"
    __table_args__ = (UniqueConstraint("token_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    # SHA-256 of method, path and body: the same key with another request is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None]  # None while the first request is still running
    response: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
