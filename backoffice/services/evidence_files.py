"""Evidence files (证据材料, SPEC §3.4, Art.17–19): what a file is and what it may be called.

- The type of a file is decided by its content (magic bytes, and for Office documents the
  structure of the zip), checked against an allow-list, and must agree with the extension of
  the name it was uploaded under. HTML, SVG, scripts, executables and empty files are refused.
- The whole file is read once (``content_scan.scan``): active content anywhere, NUL bytes and,
  for text, its encoding are found in the same pass.
- The original (often Chinese) file name is kept for display only; it never becomes a path.

Pure checks over a seekable file; ``services.evidence`` stores and records what passes.
"""

from __future__ import annotations

import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from flask_babel import gettext as _

from backoffice.services.content_scan import Scan, scan

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


def _check_text(found: Scan, ext: str) -> Kind:
    """A text file: no NUL byte, and all of it UTF-8 or GB18030 (found in the one pass)."""
    if found.nul:
        raise UploadRejected(_("This type of file is not accepted."))
    if not (found.utf8 or found.gb18030):
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
    found = scan(f, SNIFF_BYTES)  # the whole file, once: not only its head
    f.seek(0)
    head = found.head
    if not head:
        raise UploadRejected(_("The file is empty."))
    if found.active:
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
        kind = _check_text(found, ext)
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
