"""Evidence documents (证据材料, Art.17–19): stored by server name, hashed, never overwritten."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import (
    Base,
    LabeledEnum,
    ScopedMixin,
    _l,
    enum_column,
    utcnow,
)


class DocumentType(LabeledEnum):
    CONTRACT = "contract", _l("Contract")
    DELIVERY_NOTE = "delivery_note", _l("Delivery note")
    RECONCILIATION = "reconciliation", _l("Reconciliation statement")
    INVOICE = "invoice", _l("Invoice")
    CORRESPONDENCE = "correspondence", _l("Correspondence")
    COLLECTION_RECORD = "collection_record", _l("Collection records")
    JUDGMENT = "judgment", _l("Judgment or ruling ending enforcement")
    BANKRUPTCY = "bankruptcy", _l("Bankruptcy or liquidation notice")
    DEREGISTRATION = "deregistration", _l("Deregistration or revoked licence")
    DEATH = "death", _l("Proof of death or disappearance")
    RESTRUCTURING = "restructuring", _l("Debt restructuring agreement")
    OTHER = "other", _l("Other")


class EvidenceDocument(ScopedMixin, Base):
    __tablename__ = "evidence_document"
    # Art.22: sealed with its case and with its write-off (which may have no case).
    __sealed_with__ = ("case", "writeoff")

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("collection_case.id"), index=True)
    writeoff_id: Mapped[int | None] = mapped_column(
        ForeignKey("writeoff_application.id"), index=True
    )
    doc_type: Mapped[DocumentType] = enum_column(DocumentType)
    original_name: Mapped[str] = mapped_column(String(255))  # shown, never used as a path
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)  # server-generated
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A new version is a new document that links the one it replaces.
    previous_version_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_document.id"))
    note: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None]
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    case = relationship("CollectionCase")
    writeoff = relationship("WriteOffApplication")
    uploaded_by = relationship("User", foreign_keys=[uploaded_by_id])
    previous_version = relationship("EvidenceDocument", remote_side=[id])

    @property
    def sealed_by(self):
        return self.writeoff if self.writeoff_id is not None else self.case

    def __str__(self) -> str:
        return self.original_name
