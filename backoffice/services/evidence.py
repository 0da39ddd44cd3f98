"""Evidence documents (证据材料, SPEC §3.4, Art.17–19): upload, verified download, soft delete.

- What a file is and what it may be called is decided in ``services.evidence_files`` (by its
  content, read once; names re-exported here): only files that pass are stored.
- A new version is a new document linking the one it replaces; nothing is overwritten.
- Every download re-checks the SHA-256; a mismatch refuses the download and writes an
  ``alert`` entry to the audit log, committed on its own so it survives the refusal.
"""

from __future__ import annotations

import io
from typing import IO, Any, BinaryIO

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditAction
from backoffice.models.base import utcnow
from backoffice.models.case import CollectionCase
from backoffice.models.evidence import DocumentType, EvidenceDocument
from backoffice.models.writeoff import WriteOffApplication
from backoffice.permissions import Action, can, scope_filter
from backoffice.services import audit
from backoffice.services.case_filing import retitle_documents_task
from backoffice.services.evidence_files import (  # noqa: F401 - re-exported
    ALLOWED_EXTENSIONS,
    CSV,
    DOC,
    DOCX,
    GIF,
    INLINE_SAFE_TYPES,
    JPEG,
    PDF,
    PNG,
    PPT,
    PPTX,
    SNIFF_BYTES,
    TEXT,
    TIFF,
    WEBP,
    XLS,
    XLSX,
    Kind,
    UploadRejected,
    clean_filename,
    extension_of,
    safe_content_type,
    sniff,
)
from backoffice.services.storage import (
    Storage,
    TamperedError,
    TooLargeError,
    get_storage,
)

RESOURCE = "evidence_document"


def _storage(storage: Storage | None) -> Storage:
    return storage if storage is not None else get_storage()


def _owner(session: Session, user: Any, case_id: int | None, writeoff_id: int | None):
    if (case_id is None) == (writeoff_id is None):
        raise UploadRejected(_("A document belongs to exactly one case or write-off application."))
    model = CollectionCase if case_id is not None else WriteOffApplication
    pk = case_id if case_id is not None else writeoff_id
    owner = session.scalar(select(model).where(model.id == pk).where(scope_filter(model, user)))
    if owner is None:
        raise LookupError(f"{model.__tablename__} {pk} not found")
    return owner


def upload(
    session: Session,
    *,
    case_id: int | None = None,
    writeoff_id: int | None = None,
    doc_type: DocumentType | str,
    filename: str | None,
    stream: IO[bytes],
    user: Any,
    previous_version_id: int | None = None,
    note: str | None = None,
    storage: Storage | None = None,
) -> EvidenceDocument:
    """Store one file as evidence of a case (or write-off application) and record it.

    Checks the user's permission and row scope (``PermissionError`` / ``LookupError``), the
    name and the content (``UploadRejected``), then streams the bytes into storage under a new
    server-generated key and adds an ``EvidenceDocument`` to ``session`` (flushed, so the audit
    hook writes its ``create`` entry; the caller commits). Not idempotent: every call stores a
    new object. A refused upload leaves no bytes anywhere in the storage.
    """
    if not can(user, RESOURCE, Action.CREATE):
        raise PermissionError(_("You may not upload evidence."))
    owner = _owner(session, user, case_id, writeoff_id)
    try:
        doc_type = DocumentType(doc_type)
    except ValueError as exc:
        raise UploadRejected(_("Choose a document type.")) from exc
    name = clean_filename(filename)
    previous = None
    if previous_version_id is not None:
        previous = session.get(EvidenceDocument, previous_version_id)
        if previous is None or previous.case_id != case_id or previous.writeoff_id != writeoff_id:
            raise UploadRejected(_("The document to replace belongs to another file."))
    found: list[Kind] = []
    backend = _storage(storage)
    try:
        stored = backend.put(stream, check=lambda f: found.append(sniff(f, name)))
    except TooLargeError as exc:
        raise UploadRejected(
            _(
                "The file is larger than the limit of %(mb)s MB.",
                mb=f"{exc.limit / 1024 / 1024:g}",
            )
        ) from exc
    doc = _record(
        session,
        backend,
        stored,
        company_id=owner.company_id,
        sales_unit_id=owner.sales_unit_id,
        case_id=case_id,
        writeoff_id=writeoff_id,
        doc_type=doc_type,
        original_name=name,
        content_type=found[0].content_type,
        uploaded_by_id=user.id,
        previous_version_id=previous.id if previous is not None else None,
        note=note,
    )
    _documents_changed(session, doc)
    return doc


def _documents_changed(session: Session, doc: EvidenceDocument) -> None:
    """Art.17: a case's documents task says what is still due after each upload or delete."""
    if doc.case_id is not None:
        retitle_documents_task(session, session.get(CollectionCase, doc.case_id))


def _record(session: Session, backend: Storage, stored: Any, **fields: Any) -> EvidenceDocument:
    """Add the row of an object just stored, and flush it; the bytes go if the flush fails
    (a refused seal, a lost foreign key), so no object is left without its row."""
    doc = EvidenceDocument(
        storage_key=stored.key,
        size=stored.size,
        sha256=stored.sha256,
        uploaded_at=utcnow(),
        **fields,
    )
    session.add(doc)
    try:
        session.flush()
    except Exception:
        backend.discard(stored.key)
        raise
    return doc


def store_generated(
    session: Session,
    case: CollectionCase,
    data: bytes,
    *,
    filename: str,
    user: Any,
    note: str | None = None,
    storage: Storage | None = None,
) -> EvidenceDocument:
    """Keep a PDF the system generated for ``case`` (a demand or lawyer's letter) in its file.

    Art.17 counts the collection records among a case's evidence: a letter that was sent
    proves the demand was made. The caller has already checked that ``user`` may act on the
    case; the document is recorded as uploaded by them, hashed and verified like any upload.
    Adds and flushes the row (the caller commits); the bytes are removed if the flush fails.
    """
    backend = _storage(storage)
    return _record(
        session,
        backend,
        backend.put(io.BytesIO(data)),
        company_id=case.company_id,
        sales_unit_id=case.sales_unit_id,
        case_id=case.id,
        doc_type=DocumentType.COLLECTION_RECORD,
        original_name=clean_filename(filename),
        content_type="application/pdf",
        uploaded_by_id=user.id,
        note=note,
    )


def _alert(doc: EvidenceDocument, exc: TamperedError, what: str) -> None:
    """A committed ``alert``: the auditor reads what was refused and why, in Chinese; the
    recorded and the found SHA-256 stay for whoever compares them."""
    with audit.in_system_language():
        action = _("download refused") if what == "download" else _("verification failed")
        if exc.actual is None:
            detail = _(
                "%(name)s: %(action)s, the stored file is missing (recorded SHA-256 %(expected)s)",
                name=doc.original_name,
                action=action,
                expected=exc.expected,
            )
        else:
            detail = _(
                "%(name)s: %(action)s, the stored file has changed (recorded SHA-256 "
                "%(expected)s, found %(actual)s)",
                name=doc.original_name,
                action=action,
                expected=exc.expected,
                actual=exc.actual,
            )
    audit.record_now(AuditAction.ALERT, entity=RESOURCE, entity_id=doc.id, detail=detail)


def open_verified(
    session: Session, doc: EvidenceDocument, user: Any, storage: Storage | None = None
) -> BinaryIO:
    """The bytes of ``doc`` for download, after their SHA-256 is checked against the record.

    On success appends a ``download`` audit entry to ``session`` (the caller commits). On a
    mismatch or a missing object, rolls ``session`` back, commits an ``alert`` entry in a
    transaction of its own and raises ``TamperedError``; nothing is served.
    """
    if not can(user, RESOURCE, Action.DOWNLOAD):
        raise PermissionError(_("You may not download evidence."))
    try:
        data = _storage(storage).read_verified(doc.storage_key, doc.sha256)
    except TamperedError as exc:
        session.rollback()
        _alert(doc, exc, "download")
        raise
    audit.record(
        session,
        AuditAction.DOWNLOAD,
        entity=RESOURCE,
        entity_id=doc.id,
        detail=f"{doc.original_name} SHA-256 {doc.sha256}",
    )
    return data


def verify(
    session: Session, doc: EvidenceDocument, user: Any, storage: Storage | None = None
) -> bool:
    """Recompute the hash of ``doc``'s bytes; False (and a committed ``alert``) on mismatch."""
    if not can(user, RESOURCE, Action.VERIFY):
        raise PermissionError(_("You may not verify evidence."))
    try:
        _storage(storage).read_verified(doc.storage_key, doc.sha256).close()
    except TamperedError as exc:
        session.rollback()
        _alert(doc, exc, "verify")
        return False
    return True


def soft_delete(session: Session, doc: EvidenceDocument, user: Any) -> bool:
    """Mark ``doc`` deleted (who and when); the bytes and the row are kept (Art.22 archive).

    Needs the ``delete`` permission. Idempotent: returns False if it was already deleted.
    The audit hook records the change when the caller flushes/commits.
    """
    if not can(user, RESOURCE, Action.DELETE):
        raise PermissionError(_("You may not delete evidence."))
    if doc.deleted_at is not None:
        return False
    doc.deleted_at = utcnow()
    doc.deleted_by_id = user.id
    _documents_changed(session, doc)
    return True


__all__ = [
    "UploadRejected",
    "TamperedError",
    "clean_filename",
    "sniff",
    "safe_content_type",
    "upload",
    "store_generated",
    "open_verified",
    "verify",
    "soft_delete",
]
