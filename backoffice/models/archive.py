"""Archive records (档案, Art.22): a sealed case file with a manifest of SHA-256 hashes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import Base, ScopedMixin


class ArchiveRecord(ScopedMixin, Base):
    __tablename__ = "archive_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    archive_no: Mapped[str] = mapped_column(String(32), unique=True)
    # Unique: a case is archived exactly once, however often the transfer runs.
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), unique=True)
    writeoff_id: Mapped[int | None] = mapped_column(ForeignKey("writeoff_application.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    year: Mapped[int] = mapped_column(index=True)
    amount: Mapped[Decimal]
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    # Issue 10: version 2 manifests cover the record's own fields and a checkpoint of the
    # audit chain (``manifest``), signed with the audit key; 1 = sealed before, unsigned.
    manifest_version: Mapped[int] = mapped_column(default=1, server_default="1")
    manifest: Mapped[dict | None] = mapped_column(JSON)
    manifest_key_id: Mapped[str | None] = mapped_column(String(16))
    manifest_sig: Mapped[str | None] = mapped_column(String(64))
    summary_pdf_key: Mapped[str | None] = mapped_column(String(255))
    summary_sha256: Mapped[str | None] = mapped_column(String(64))
    sealed_at: Mapped[datetime | None]

    case = relationship("CollectionCase")
    customer = relationship("Customer")
    items: Mapped[list[ArchiveItem]] = relationship(
        back_populates="archive", order_by="ArchiveItem.seq"
    )

    @property
    def sealed_by(self):
        return self

    def __str__(self) -> str:
        return self.archive_no


class ArchiveItem(Base):
    """One manifest row: a document, decision or record of the case, with its hash."""

    __tablename__ = "archive_item"
    __scope_parent__ = "archive"
    __table_args__ = (UniqueConstraint("archive_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    archive_id: Mapped[int] = mapped_column(ForeignKey("archive_record.id"), index=True)
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict | None] = mapped_column(JSON)

    archive: Mapped[ArchiveRecord] = relationship(back_populates="items")

    @property
    def sealed_by(self):
        return self.archive
