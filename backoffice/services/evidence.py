"""Evidence documents (证据材料, SPEC §3.4, Art.17–19): upload, verified download, soft delete.

- The type of a file is decided by its content (magic bytes, and for Office documents the
  structure of the zip), checked against an allow-list, and must agree with the extension of
  the name it was uploaded under. HTML, SVG, scripts, executables and empty files are refused.
- The original (often Chinese) file name is kept for display only; it never becomes a path.
- A new version is a new document linking the one it replaces; nothing is overwritten.
- Every download re-checks the SHA-256; a mismatch refuses the download and writes an
  ``alert`` entry to the audit log, committed on its own so it survives the refusal.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
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
from backoffice.services.content_scan import contains_nul, decodes_as, has_active_content
from backoffice.services.storage import (
    Storage,
    TamperedError,
    TooLargeError,
    get_storage,
)

RESOURCE = "evidence_document"
MAX_NAME = 255  # the column's length
SNIFF_BYTES = 4096  # the head, for magic bytes; active content is searched in the whole file
# Office documents are zips: refuse zip bombs before anything unpacks them.
ZIP_MAX_MEMBERS = 2000
ZIP_MAX_UNCOMPRESSED = 200 * 1024 * 1024
ZIP_MAX_RATIO = 100
_CONTENT_TYPES_MAX = 1024 * 1024


class UploadRejected(ValueError):
    """An upload refused for a reason the user can act on; ``str()`` is the message."""


@dataclass(frozen=True)
class Kind:
    content_type: str
    extensions: frozenset[str]
    label: str


PDF = Kind("application/pdf", frozenset({".pdf"}), "PDF")
PNG = Kind("image/png", frozenset({".png"}), "PNG")
JPEG = Kind("image/jpeg", frozenset({".jpg", ".jpeg"}), "JPEG")
GIF = Kind("image/gif", frozenset({".gif"}), "GIF")
WEBP = Kind("image/webp", frozenset({".webp"}), "WebP")
TIFF = Kind("image/tiff", frozenset({".tif", ".tiff"}), "TIFF")
DOCX = Kind(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    frozenset({".docx"}),
    "Word",
)
XLSX = Kind(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    frozenset({".xlsx"}),
    "Excel",
)
PPTX = Kind(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    frozenset({".pptx"}),
    "PowerPoint",
)
DOC = Kind("application/msword", frozenset({".doc"}), "Word 97-2003")
XLS = Kind("application/vnd.ms-excel", frozenset({".xls"}), "Excel 97-2003")
PPT = Kind("application/vnd.ms-powerpoint", frozenset({".ppt"}), "PowerPoint 97-2003")
TEXT = Kind("text/plain", frozenset({".txt"}), "text")
CSV = Kind("text/csv", frozenset({".csv"}), "CSV")

ALLOWED_EXTENSIONS = frozenset().union(
    *(k.extensions for k in (PDF, PNG, JPEG, GIF, WEBP, TIFF, DOCX, XLSX, PPTX, DOC, XLS, PPT))
) | {".txt", ".csv"}
# Served with their own type; everything else goes out as application/octet-stream.
INLINE_SAFE_TYPES = frozenset(k.content_type for k in (PDF, PNG, JPEG, GIF, WEBP, TIFF))

_OOXML_MAIN = {
    "word/document.xml": DOCX,
    "xl/workbook.xml": XLSX,
    "ppt/presentation.xml": PPTX,
}
_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_OLE_BY_EXT = {".doc": DOC, ".xls": XLS, ".ppt": PPT}


# ---------------------------------------------------------------------------------------------
# File names


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_filename(raw: str | None) -> str:
    """The name to display: last path component, NFC, no control or bidi characters.

    Chinese and other non-ASCII letters are kept (``werkzeug.secure_filename`` would destroy
    them). Names with a NUL byte are refused outright: they only come from an attack. The
    result is at most 255 characters, keeping the extension. Pure; never used as a path.
    """
    if not raw or not raw.strip():
        raise UploadRejected(_("The file has no name."))
    if "\x00" in raw:
        raise UploadRejected(_("The file name contains a NUL byte and was refused."))
    name = unicodedata.normalize("NFC", raw)
    # Both separators: browsers on Windows send "C:\Users\...\凭证.pdf".
    name = re.split(r"[\\/]", name)[-1]
    name = _CONTROL.sub("", name)
    # Format characters (bidi overrides such as U+202E) make "exe.pdf" look like "pdf.exe".
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    name = " ".join(name.split()).strip(" .")
    if not name:
        raise UploadRejected(_("The file has no usable name."))
    if len(name) > MAX_NAME:
        stem, ext = os.path.splitext(name)
        ext = ext[:16]
        name = stem[: MAX_NAME - len(ext)] + ext
    return name


def extension_of(name: str) -> str:
    return os.path.splitext(name)[1].lower()


# ---------------------------------------------------------------------------------------------
# Content sniffing


def _check_zip(f: BinaryIO, ext: str) -> Kind:
    """An Office Open XML file: a sane zip holding [Content_Types].xml and its main part."""
    try:
        archive = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadRejected(_("The file is a damaged or unsupported archive.")) from exc
    with archive:
        members = archive.infolist()
        if len(members) > ZIP_MAX_MEMBERS:
            raise UploadRejected(_("The document holds too many parts to be safe."))
        total = 0
        packed = 0
        for info in members:
            name = info.filename
            if name.startswith(("/", "\\")) or ".." in re.split(r"[\\/]", name):
                raise UploadRejected(_("The document contains unsafe part names."))
            total += info.file_size
            packed += info.compress_size
            if info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1) and (
                info.file_size > 1024 * 1024
            ):
                raise UploadRejected(
                    _("The document expands far beyond its size (a zip bomb) and was refused.")
                )
        if total > ZIP_MAX_UNCOMPRESSED or total > ZIP_MAX_RATIO * max(packed, 1) + 1024 * 1024:
            raise UploadRejected(
                _("The document expands far beyond its size (a zip bomb) and was refused.")
            )
        names = {info.filename for info in members}
        if "[Content_Types].xml" not in names:
            raise UploadRejected(_("Archives other than Office documents are not accepted."))
        # Read with a cap: the header sizes above could lie.
        with archive.open("[Content_Types].xml") as part:
            content_types = part.read(_CONTENT_TYPES_MAX + 1)
        if len(content_types) > _CONTENT_TYPES_MAX:
            raise UploadRejected(
                _("The document expands far beyond its size (a zip bomb) and was refused.")
            )
        for main, kind in _OOXML_MAIN.items():
            if main in names and ext in kind.extensions:
                return kind
        raise UploadRejected(
            _("The content of the file does not match its extension %(ext)s.", ext=ext or "-")
        )


def _check_text(f: BinaryIO, ext: str) -> Kind:
    """A text file, read in chunks (never whole): no NUL byte, UTF-8 or GB18030."""
    if contains_nul(f):
        raise UploadRejected(_("This type of file is not accepted."))
    for encoding in ("utf-8-sig", "gb18030"):
        f.seek(0)
        if decodes_as(f, encoding):
            break
    else:
        raise UploadRejected(_("The text file is not valid UTF-8 or GB18030."))
    return CSV if ext == ".csv" else TEXT


def sniff(f: BinaryIO, filename: str) -> Kind:
    """Decide the file's kind from its bytes and check it agrees with ``filename``'s extension.

    ``f`` is a seekable binary file at position 0. Raises ``UploadRejected`` with a message the
    user can act on. Reads only; no side effects.
    """
    ext = extension_of(filename)
    if ext not in ALLOWED_EXTENSIONS:
        raise UploadRejected(
            _(
                "Files of type %(ext)s are not accepted. Allowed: PDF, images and Office "
                "documents.",
                ext=ext or _("(none)"),
            )
        )
    head = f.read(SNIFF_BYTES)
    f.seek(0)
    if not head:
        raise UploadRejected(_("The file is empty."))
    active = has_active_content(f)  # the whole file, streamed: not only its head
    f.seek(0)
    if active:
        # HTML, SVG or a polyglot that a browser could run: never stored, never served.
        raise UploadRejected(_("The file contains web page or script content and was refused."))
    kind: Kind | None = None
    if head.startswith(b"%PDF-"):
        kind = PDF
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = PNG
    elif head.startswith(b"\xff\xd8\xff"):
        kind = JPEG
    elif head.startswith((b"GIF87a", b"GIF89a")):
        kind = GIF
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        kind = WEBP
    elif head.startswith((b"II*\x00", b"MM\x00*")):
        kind = TIFF
    elif head.startswith(b"PK\x03\x04"):
        kind = _check_zip(f, ext)
        f.seek(0)
    elif head.startswith(_OLE_MAGIC):
        kind = _OLE_BY_EXT.get(ext)
    elif head.startswith((b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")):
        raise UploadRejected(_("Programs and scripts are not accepted."))
    elif ext in (".txt", ".csv"):
        kind = _check_text(f, ext)
        f.seek(0)
    if kind is None:
        raise UploadRejected(
            _("The content of the file does not match its extension %(ext)s.", ext=ext)
        )
    if ext not in kind.extensions:
        raise UploadRejected(
            _(
                "The file is a %(kind)s but is named %(ext)s; rename it and upload again.",
                kind=kind.label,
                ext=ext,
            )
        )
    return kind


def safe_content_type(content_type: str) -> str:
    """What a download is labelled as: PDFs and images as themselves, the rest as bytes."""
    return content_type if content_type in INLINE_SAFE_TYPES else "application/octet-stream"


# ---------------------------------------------------------------------------------------------
# Upload, download, verify, delete


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
    audit.record_now(
        AuditAction.ALERT,
        entity=RESOURCE,
        entity_id=doc.id,
        detail=f"{what}: {exc}",
    )


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
        _alert(doc, exc, "download refused")
        raise
    audit.record(
        session,
        AuditAction.DOWNLOAD,
        entity=RESOURCE,
        entity_id=doc.id,
        detail=f"{doc.original_name} sha256={doc.sha256}",
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
        _alert(doc, exc, "verification failed")
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
