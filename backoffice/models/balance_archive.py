"""The balance confirmation replies in the year's archive package (issue 15, Art.22).

One ``BalanceConfirmationArchive`` per transfer that found replies not yet archived: the
manifest lists each reply (the request's answer, its snapshot lines, the disputed lines) with
the SHA-256 of its content, and each uploaded file (signed letter, dispute evidence) by the
SHA-256 of its bytes; the whole is signed with the audit key, like a case archive's manifest.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.models.base import Base


class BalanceConfirmationArchive(Base):
    __tablename__ = "balance_confirmation_archive"

    id: Mapped[int] = mapped_column(primary_key=True)
    archive_no: Mapped[str] = mapped_column(String(32), unique=True)  # e.g. XZDA2026-00001
    year: Mapped[int] = mapped_column(index=True)  # the register year of its requests
    requests: Mapped[int]  # how many replies it holds
    sealed_at: Mapped[datetime]
    # {"record": {...}, "checkpoint": {...}, "items": [[seq, kind, ref, name, sha256, content]]}
    manifest: Mapped[dict] = mapped_column(JSON)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    manifest_key_id: Mapped[str] = mapped_column(String(16))
    manifest_sig: Mapped[str] = mapped_column(String(64))

    def __str__(self) -> str:
        return self.archive_no
