"""The year-end archive transfer (Art.22) and its verification.

Each case closed in the year becomes one ``ArchiveRecord``: an archive number, a manifest with
one row per document, decision and record of the case (each with its SHA-256, and the
manifest's own hash), a case summary PDF, and a seal after which nothing about the case, its
documents or its write-off can change (``audit.SealedError`` in the flush guard). The manifest
also covers the record's own fields and a checkpoint of the audit chain, signed with the audit
key (``archive_manifest``), and ``verify`` compares the live rows with it (issue 10).

The transfer commits one case at a time; a case already archived is skipped (unique case_id),
so a run killed half-way and run again archives every case exactly once.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice.models.archive import ArchiveItem, ArchiveRecord
from backoffice.models.base import utcnow
from backoffice.models.case import (
    CaseCost,
    CaseMember,
    CaseReceivable,
    CaseStatus,
    Collateral,
    CollectionAction,
    CollectionCase,
    DocumentRequirement,
    Instalment,
    Litigation,
    PaymentInKind,
    PaymentPromise,
    RepaymentPlan,
)
from backoffice.models.evidence import EvidenceDocument
from backoffice.models.writeoff import (
    ApprovalDecision,
    WriteOffApplication,
    WriteOffItem,
)
from backoffice.services import archive_manifest
from backoffice.services.archive_summary import summary_rows
from backoffice.services.audit import snapshot
from backoffice.services.audit_key import canonical
from backoffice.services.numbering import next_number
from backoffice.services.pdf import render_pdf
from backoffice.services.storage import StorageError, get_storage


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_hash(items: list[ArchiveItem]) -> str:
    """The manifest's own hash: every row's position, kind, reference, name and hash."""
    return sha256(canonical([[i.seq, i.kind, i.ref, i.name, i.sha256] for i in items]))


RECORD_MODELS = (
    CaseReceivable,
    CaseMember,
    CollectionAction,
    PaymentPromise,
    RepaymentPlan,
    Collateral,
    PaymentInKind,
    Litigation,
    CaseCost,
    DocumentRequirement,
)


#: Every table whose rows ``_records`` seals (a version-2 manifest names them).
RECORD_TABLES = frozenset(
    {m.__tablename__ for m in RECORD_MODELS}
    | {"collection_case", "instalment", "writeoff_application", "writeoff_item"}
    | {"approval_decision"}
)


def _records(
    session: Session, case: CollectionCase, fresh: bool = False
) -> list[tuple[str, str, str, dict]]:
    """(kind, ref, name, content) for the case and every record and decision it holds.

    ``fresh``: read every row from the database even if the session has it loaded (verify).
    """

    def rows(stmt):
        if fresh:
            stmt = stmt.execution_options(populate_existing=True)
        return session.scalars(stmt)

    out = [("case", f"collection_case:{case.id}", case.case_no, snapshot(case))]
    for model in RECORD_MODELS:
        for row in rows(select(model).where(model.case_id == case.id).order_by(model.id)):
            out.append(
                ("record", f"{model.__tablename__}:{row.id}", model.__tablename__, snapshot(row))
            )
    for plan in rows(select(RepaymentPlan).where(RepaymentPlan.case_id == case.id)):
        for inst in rows(
            select(Instalment).where(Instalment.plan_id == plan.id).order_by(Instalment.seq)
        ):
            out.append(("record", f"instalment:{inst.id}", "instalment", snapshot(inst)))
    for app in rows(
        select(WriteOffApplication)
        .where(WriteOffApplication.case_id == case.id)
        .order_by(WriteOffApplication.id)
    ):
        out.append(("writeoff", f"writeoff_application:{app.id}", app.app_no, snapshot(app)))
        for item in rows(
            select(WriteOffItem)
            .where(WriteOffItem.application_id == app.id)
            .order_by(WriteOffItem.id)
        ):
            out.append(("record", f"writeoff_item:{item.id}", "writeoff_item", snapshot(item)))
        for d in rows(
            select(ApprovalDecision)
            .where(ApprovalDecision.application_id == app.id)
            .order_by(ApprovalDecision.id)
        ):
            out.append(("decision", f"approval_decision:{d.id}", d.step.value, snapshot(d)))
    return out


def _documents(session: Session, case: CollectionCase) -> list[EvidenceDocument]:
    apps = select(WriteOffApplication.id).where(WriteOffApplication.case_id == case.id)
    return list(
        session.scalars(
            select(EvidenceDocument)
            .where((EvidenceDocument.case_id == case.id) | EvidenceDocument.writeoff_id.in_(apps))
            .order_by(EvidenceDocument.id)
        )
    )


def _next_archive_no(session: Session, year: int) -> str:
    return next_number(session, ArchiveRecord.archive_no, "DA", year)


def cases_to_archive(session: Session, year: int) -> list[int]:
    """Cases closed in ``year`` that have no archive record yet, in id order."""
    archived = select(ArchiveRecord.case_id)
    return list(
        session.scalars(
            select(CollectionCase.id)
            .where(
                CollectionCase.status == CaseStatus.CLOSED,
                CollectionCase.closed_on >= date(year, 1, 1),
                CollectionCase.closed_on <= date(year, 12, 31),
                CollectionCase.id.not_in(archived),
            )
            .order_by(CollectionCase.id)
        )
    )


def archive_case(session: Session, case_id: int, year: int) -> ArchiveRecord | None:
    """Archive and seal one closed case in its own transaction; None if already archived."""
    case = session.get(CollectionCase, case_id)
    if case is None or case.status is not CaseStatus.CLOSED:
        raise ValueError(f"case {case_id} is not closed; only closed cases are archived")
    if session.scalar(select(ArchiveRecord.id).where(ArchiveRecord.case_id == case_id)):
        return None
    storage = get_storage()
    writeoff = session.scalar(
        select(WriteOffApplication)
        .where(WriteOffApplication.case_id == case.id)
        .order_by(WriteOffApplication.id.desc())
    )
    now = utcnow()
    # Art.22: from here on the case file is read-only. Set before the snapshots, so the
    # manifest holds the sealed rows as they stay (updated_at explicitly, or its onupdate
    # would differ); no autoflush until the commit, which takes the audit lock.
    case.sealed_at = case.updated_at = now
    if writeoff is not None and writeoff.sealed_at is None:
        writeoff.sealed_at = writeoff.updated_at = now
    try:
        with session.no_autoflush:
            record = _build(session, case, writeoff, year, now, storage)
    except BaseException:
        session.rollback()  # nothing half-sealed stays in the session
        raise
    session.add(record)
    try:
        session.commit()
    except IntegrityError:  # a concurrent run archived it first
        session.rollback()
        return None
    return record


def _build(session, case, writeoff, year, now, storage) -> ArchiveRecord:
    """The sealed archive record of ``case``: manifest rows, summary PDF, signed manifest."""
    items: list[ArchiveItem] = []
    for doc in _documents(session, case):
        items.append(
            ArchiveItem(
                seq=len(items) + 1,
                kind="document",
                ref=f"evidence_document:{doc.id}",
                name=doc.original_name,
                sha256=doc.sha256,
                content={"storage_key": doc.storage_key, "size": doc.size},
            )
        )
    for kind, ref, name, content in _records(session, case):
        items.append(
            ArchiveItem(
                seq=len(items) + 1,
                kind=kind,
                ref=ref,
                name=name,
                sha256=sha256(canonical(content)),
                content=content,
            )
        )
    amount = sum((cr.receivable.amount for cr in case.receivables), Decimal(0))
    record = ArchiveRecord(
        archive_no=_next_archive_no(session, year),
        case_id=case.id,
        writeoff_id=writeoff.id if writeoff else None,
        customer_id=case.customer_id,
        company_id=case.company_id,
        sales_unit_id=case.sales_unit_id,
        year=year,
        amount=amount,
        sealed_at=now,
    )
    pdf = render_pdf(
        "case_summary.html",
        company=case.company,
        case=case,
        record=record,
        items=summary_rows(items),
        writeoff=writeoff,
        amount=amount,
    )
    stored = storage.put(io.BytesIO(pdf))
    record.summary_pdf_key, record.summary_sha256 = stored.key, stored.sha256
    record.items = items
    archive_manifest.seal(session, record, items, RECORD_TABLES)
    return record


@dataclass
class TransferResult:
    year: int
    archived: list[str]
    skipped: int
    replies: list[str] = field(default_factory=list)  # debtors' reply packages (issue 15)


def year_end_transfer(
    session: Session, year: int, progress: Callable[[int, str], None] | None = None
) -> TransferResult:
    """Art.22: every case closed in ``year`` into the archive room, one commit per case."""
    todo = cases_to_archive(session, year)
    archived, skipped = [], 0
    for n, case_id in enumerate(todo, 1):
        record = archive_case(session, case_id, year)
        if record is None:
            skipped += 1
        else:
            archived.append(record.archive_no)
        if progress:
            progress(int(100 * n / len(todo)), f"{n}/{len(todo)}")
    # Issue 15: the debtors' replies of the year (and late replies to last year's letters)
    # go into the archive too, each once, in signed packages (services/balance_archive.py).
    from backoffice.services import balance_archive

    replies = [
        package.archive_no
        for y in (year - 1, year)
        if (package := balance_archive.seal_replies(session, y)) is not None
    ]
    if archived or replies:
        from backoffice.services import checkpoints

        checkpoints.after_batch(f"year-end archive {year}")  # issue 10: anchor its entries
    return TransferResult(year, archived, skipped, replies)


@dataclass
class Mismatch:
    archive_no: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.archive_no} {self.where}: {self.reason}"


def manifest_note(record: ArchiveRecord) -> str | None:
    """A word on an archive sealed before signed manifests (not a mismatch), else None."""
    if record.manifest_version >= archive_manifest.VERSION:
        return None
    return (
        f"manifest v{record.manifest_version}: sealed before signed manifests; the live rows "
        "are compared, the record's own fields are not covered"
    )


def verify(session: Session, record: ArchiveRecord) -> list[Mismatch]:
    """Check an archive against its manifest: every row's hash, the stored documents' bytes,
    the manifest's own hash and the summary PDF; for a signed (v2) manifest its signature, the
    record's own fields and its audit checkpoint; and the live rows against the manifest's
    snapshots. Returns every mismatch (empty when intact). Read-only: the record, its rows and
    its sealed rows are re-read from the database."""
    problems: list[Mismatch] = []
    storage = get_storage()
    session.refresh(record)
    items = list(
        session.scalars(
            select(ArchiveItem)
            .where(ArchiveItem.archive_id == record.id)
            .order_by(ArchiveItem.seq)
            .execution_options(populate_existing=True)
        )
    )
    for item in items:
        where = f"manifest row {item.seq} ({item.ref} {item.name})"
        if item.kind == "document":
            key = (item.content or {}).get("storage_key")
            try:
                with storage.open(key) as fh:
                    digest = hashlib.sha256()
                    for chunk in iter(lambda fh=fh: fh.read(1 << 16), b""):
                        digest.update(chunk)
                actual = digest.hexdigest()
            except (StorageError, OSError, TypeError) as exc:
                problems.append(Mismatch(record.archive_no, where, f"file unreadable: {exc}"))
                continue
            if actual != item.sha256:
                problems.append(
                    Mismatch(
                        record.archive_no,
                        where,
                        f"document bytes changed (sha256 {actual[:12]}…, "
                        f"manifest {item.sha256[:12]}…)",
                    )
                )
        elif sha256(canonical(item.content)) != item.sha256:
            problems.append(Mismatch(record.archive_no, where, "record content changed"))
    if record.manifest_version >= archive_manifest.VERSION:
        for where, reason in archive_manifest.signature_problems(session, record, items):
            problems.append(Mismatch(record.archive_no, where, reason))
    elif manifest_hash(items) != record.manifest_sha256:
        problems.append(
            Mismatch(record.archive_no, "manifest", "manifest rows changed (hash differs)")
        )
    for where, reason in archive_manifest.live_problems(session, record, items):
        problems.append(Mismatch(record.archive_no, where, reason))
    try:
        with storage.open(record.summary_pdf_key) as fh:
            if sha256(fh.read()) != record.summary_sha256:
                problems.append(Mismatch(record.archive_no, "summary PDF", "bytes changed"))
    except (StorageError, OSError, TypeError) as exc:
        problems.append(Mismatch(record.archive_no, "summary PDF", f"unreadable: {exc}"))
    return problems
