"""The measures a case takes beyond asking (Art.10 (4), 23): guarantees and collateral,
payment in kind with its appraisal, preservation and transfer of title, and litigation.

Split from ``models.case``, which re-exports every class here.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.models.base import Base, enum_column
from backoffice.models.case import AssetStage, CaseChild, CollateralKind, LitigationStatus


class AssetSteps:
    """Art.23 (2)(3): appraisal, preservation and transfer of title, each with its document
    from the evidence store, then the value realised, booked as a recovery
    (``services/assets.py``)."""

    stage: Mapped[AssetStage] = enum_column(
        AssetStage, default=AssetStage.REGISTERED, server_default="registered"
    )
    appraisal_value: Mapped[Decimal | None]
    appraised_on: Mapped[date | None]
    appraisal_doc_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_document.id"))
    preservation: Mapped[str | None] = mapped_column(Text)
    preserved_on: Mapped[date | None]
    preservation_doc_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_document.id"))
    title_transferred_on: Mapped[date | None]
    title_doc_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_document.id"))
    realised_value: Mapped[Decimal | None]
    realised_on: Mapped[date | None]
    # Where the value realised was booked: a payment allocated to the case's receivables, or
    # a recovery on a written-off debt's recourse entry (Art.18).
    realised_payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    realised_recovery_id: Mapped[int | None] = mapped_column(ForeignKey("recovery.id"))


class Collateral(AssetSteps, CaseChild, Base):
    __tablename__ = "collateral"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    kind: Mapped[CollateralKind] = enum_column(CollateralKind)
    description: Mapped[str] = mapped_column(Text)
    value: Mapped[Decimal | None]
    guarantor: Mapped[str | None] = mapped_column(String(200))

    case = relationship("CollectionCase")

    def __str__(self) -> str:
        return self.description[:60]


class PaymentInKind(AssetSteps, CaseChild, Base):
    """Art.23 (2)(3): appraisal, preservation, transfer of title."""

    __tablename__ = "payment_in_kind"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    asset: Mapped[str] = mapped_column(Text)

    case = relationship("CollectionCase")

    def __str__(self) -> str:
        return self.asset[:60]


class Litigation(CaseChild, Base):
    """Art.10 (4): proposed, approved (or rejected) by the legal department, then filed."""

    __tablename__ = "litigation"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("collection_case.id"), index=True)
    court: Mapped[str] = mapped_column(String(200))
    court_case_no: Mapped[str | None] = mapped_column(String(100))
    filed_on: Mapped[date | None]
    judgment: Mapped[str | None] = mapped_column(Text)
    judgment_on: Mapped[date | None]
    enforcement: Mapped[str | None] = mapped_column(Text)
    status: Mapped[LitigationStatus] = enum_column(
        LitigationStatus, default=LitigationStatus.PROPOSED, server_default="proposed"
    )
    claim: Mapped[str | None] = mapped_column(Text)  # what is sued for, and why
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    proposed_on: Mapped[date | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)

    case = relationship("CollectionCase")
    proposed_by = relationship("User", foreign_keys=[proposed_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
