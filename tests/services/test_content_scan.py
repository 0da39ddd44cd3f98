"""Upload sniffing reads the whole file, in bounded chunks: active content anywhere is refused."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from backoffice.models.evidence import DocumentType, EvidenceDocument
from backoffice.services import evidence
from backoffice.services.content_scan import (
    CHUNK_BYTES,
    contains_nul,
    decodes_as,
    has_active_content,
)
from backoffice.services.evidence import SNIFF_BYTES, UploadRejected, sniff
from backoffice.services.storage import LocalStorage
from tests import helpers

PDF_HEAD = b"%PDF-1.4\n"
FILLER = b"0 0 m 100 100 l S\n"  # clean page content


def pdf_with(marker: bytes, at: int) -> bytes:
    """A PDF with ``marker`` starting at byte ``at`` (clean filler before and after)."""
    body = PDF_HEAD + FILLER * (at // len(FILLER) + 1)
    return body[:at] + marker + FILLER * 20 + b"%%EOF\n"


class CountingFile(io.BytesIO):
    """A file that remembers how much each ``read`` asked for."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.sizes: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.sizes.append(-1 if size is None else size)
        return super().read(size)


@pytest.mark.parametrize(
    "marker",
    [
        b"<script>alert(1)</script>",
        b"<  SCRIPT src=x>",
        b"<svg onload=x>",
        b"<!DOCTYPE  html>",
        b"javascript:alert(1)",
    ],
)
def test_pdf_with_script_after_the_head_is_refused(marker):
    """A PDF whose active content starts after the first 4 KiB is refused."""
    data = pdf_with(marker, SNIFF_BYTES + 500)
    with pytest.raises(UploadRejected):
        sniff(io.BytesIO(data), "合同.pdf")
    clean = data.replace(b"<", b"(").replace(b"javascript:", b"javascript ")
    assert sniff(io.BytesIO(clean), "合同.pdf") is evidence.PDF


def test_marker_split_across_a_chunk_boundary_is_found():
    """``<script`` cut by the boundary between two 1 MiB chunks is still found."""
    data = pdf_with(b"<script>", CHUNK_BYTES - 4)  # "<scr" | "ipt>"
    assert data[CHUNK_BYTES - 4 : CHUNK_BYTES] == b"<scr"
    with pytest.raises(UploadRejected):
        sniff(io.BytesIO(data), "合同.pdf")
    assert sniff(io.BytesIO(data.replace(b"<scr", b"(scr")), "合同.pdf") is evidence.PDF


@pytest.mark.parametrize("cut", range(1, len(b"<!doctype   html")))
def test_every_split_of_a_marker_is_found(cut):
    """Whatever byte a chunk boundary falls on, the marker is found (small chunks)."""
    data = b"x" * (64 - cut) + b"<!doctype   html" + b"y" * 100
    assert has_active_content(io.BytesIO(data), chunk_size=64)
    assert not has_active_content(io.BytesIO(data.replace(b"<", b"(")), chunk_size=64)


def test_large_clean_file_is_accepted_reading_bounded_chunks():
    """A clean 5 MiB PDF is accepted; no read asks for the whole file or more than a chunk."""
    data = PDF_HEAD + FILLER * (5 * 1024 * 1024 // len(FILLER)) + b"%%EOF\n"
    f = CountingFile(data)
    assert sniff(f, "大文件.pdf") is evidence.PDF
    assert f.tell() == 0
    assert f.sizes and all(0 < size <= CHUNK_BYTES for size in f.sizes)


def test_large_text_file_is_checked_in_chunks():
    """A text file is checked for NUL bytes and its encoding chunk by chunk, a character split
    across chunks included; a NUL or an undecodable byte late in the file is still seen."""
    text = ("客户,金额\n" + "上海宏达机械有限公司,100\n" * 50_000).encode("gb18030")
    f = CountingFile(text)
    assert sniff(f, "清单.csv") is evidence.CSV
    assert all(0 < size <= CHUNK_BYTES for size in f.sizes)
    assert decodes_as(io.BytesIO("长".encode() * 10), "utf-8", chunk_size=2)
    assert contains_nul(io.BytesIO(b"a" * 5000 + b"\x00"), chunk_size=1024)
    with pytest.raises(UploadRejected):
        sniff(io.BytesIO(b"a,b\n" * 2000 + b"\x00"), "x.csv")


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8"])
def test_a_text_upload_is_read_once(encoding):
    """Sniffing a text file of several chunks reads it once, start to end (markers, NUL bytes
    and both encodings in one pass): it was read up to four times."""
    text = ("客户,金额\n" + "上海宏达机械有限公司,100\n" * 70_000).encode(encoding)
    assert len(text) > CHUNK_BYTES  # more than one chunk
    f = CountingRead(text)
    assert sniff(f, "清单.csv") is evidence.CSV
    assert f.bytes_read == len(text)
    with pytest.raises(UploadRejected, match="UTF-8"):
        sniff(CountingRead(text + b"\xff\xff\xff"), "清单.txt")


class CountingRead(io.BytesIO):
    """A file that counts the bytes it hands out."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        block = super().read(size)
        self.bytes_read += len(block)
        return block


def test_upload_of_late_script_stores_nothing(db, tmp_path):
    """Uploading the PDF with a late ``<script>`` records no document and leaves no bytes."""
    unit = helpers.make_unit()
    case = helpers.make_case(helpers.make_customer(unit))
    legal = helpers.make_user("legal")
    store = LocalStorage(tmp_path / "storage", max_bytes=1024 * 1024)
    with pytest.raises(UploadRejected):
        evidence.upload(
            db.session,
            case_id=case.id,
            doc_type=DocumentType.CONTRACT,
            filename="合同.pdf",
            stream=io.BytesIO(pdf_with(b"<script>x</script>", 8000)),
            user=legal,
            storage=store,
        )
    assert db.session.scalar(select(func.count()).select_from(EvidenceDocument)) == 0
    assert not [p for p in (tmp_path / "storage").rglob("*") if p.is_file()]
