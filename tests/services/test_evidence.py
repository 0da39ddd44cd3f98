"""Evidence service: content sniffing, names, upload records, versions, verified download."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from backoffice.models import AuditLog
from backoffice.models.evidence import DocumentType, EvidenceDocument
from backoffice.services import evidence
from backoffice.services.evidence import UploadRejected, clean_filename, sniff
from backoffice.services.storage import LocalStorage, TamperedError
from tests import helpers

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def ooxml(main: str, extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr(main, "<doc/>")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


def kind_of(data: bytes, name: str) -> str:
    return sniff(io.BytesIO(data), name).content_type


@pytest.fixture()
def store(tmp_path):
    return LocalStorage(tmp_path / "storage", max_bytes=10_000)


@pytest.fixture()
def world(db):
    unit = helpers.make_unit()
    case = helpers.make_case(helpers.make_customer(unit))
    legal = helpers.make_user("legal")
    return unit, case, legal


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (PDF, "合同.pdf", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 16, "截图.PNG", "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 16, "x.jpeg", "image/jpeg"),
        (b"GIF89a" + b"\0" * 16, "x.gif", "image/gif"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "x.webp", "image/webp"),
        (b"II*\x00" + b"\0" * 16, "x.tif", "image/tiff"),
        (ooxml("word/document.xml"), "对账单.docx", evidence.DOCX.content_type),
        (ooxml("xl/workbook.xml"), "x.xlsx", evidence.XLSX.content_type),
        (ooxml("ppt/presentation.xml"), "x.pptx", evidence.PPTX.content_type),
        (bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 16, "x.xls", "application/vnd.ms-excel"),
        ("客户,金额\n甲,100\n".encode("gb18030"), "x.csv", "text/csv"),
    ],
)
def test_sniff_accepts_allowed_kinds(data, name, expected):
    """PDF, images, Office (OOXML and legacy) and text are recognised by their content."""
    assert kind_of(data, name) == expected


def test_sniff_needs_extension_to_match_content():
    """A PDF named .png, or a Word document named .xlsx, is refused with the real kind named."""
    with pytest.raises(UploadRejected, match="PDF"):
        sniff(io.BytesIO(PDF), "x.png")
    with pytest.raises(UploadRejected):
        sniff(io.BytesIO(ooxml("word/document.xml")), "x.xlsx")


def test_sniff_refuses_zip_bomb():
    """A highly compressed member (ratio and size limits) is refused as a zip bomb."""
    data = ooxml("word/document.xml", {"word/media/big.bin": b"\0" * (20 * 1024 * 1024)})
    with pytest.raises(UploadRejected, match="zip bomb"):
        sniff(io.BytesIO(data), "x.docx")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("凭证.pdf", "凭证.pdf"),
        ("C:\\Users\\张三\\Desktop\\凭证.pdf", "凭证.pdf"),
        ("../../etc/凭证.pdf", "凭证.pdf"),
        ("/abs/path/a.pdf", "a.pdf"),
        ("bad\r\nX-Header: 1.pdf", "badX-Header: 1.pdf"),
        ("evil\u202efdp.exe", "evilfdp.exe"),
        ("  ..hidden.pdf ", "hidden.pdf"),
    ],
)
def test_clean_filename(raw, clean):
    """Directories, control and bidi characters go; Chinese letters stay."""
    assert clean_filename(raw) == clean


def test_clean_filename_caps_length_and_keeps_extension():
    """A 1000-character name is cut to 255 characters, keeping its extension."""
    name = clean_filename("长" * 1000 + ".pdf")
    assert len(name) == 255 and name.endswith(".pdf")


@pytest.mark.parametrize("raw", ["a\x00.pdf", "", "   ", "../", "C:\\"])
def test_clean_filename_refuses(raw):
    """NUL bytes and names with nothing left are refused with a message."""
    with pytest.raises(UploadRejected):
        clean_filename(raw)


def test_upload_records_hash_size_type_and_scope(world, store, db):
    """An upload stores the bytes under a generated key and records hash, size, type, uploader."""
    unit, case, legal = world
    doc = evidence.upload(
        db.session,
        case_id=case.id,
        doc_type="contract",
        filename="C:\\合同\\购销合同.pdf",
        stream=io.BytesIO(PDF),
        user=legal,
        storage=store,
    )
    db.session.commit()
    assert doc.original_name == "购销合同.pdf"
    assert doc.doc_type is DocumentType.CONTRACT
    assert doc.size == len(PDF) and doc.content_type == "application/pdf"
    assert (store.root / doc.storage_key).read_bytes() == PDF
    assert "购销合同" not in doc.storage_key
    assert (doc.company_id, doc.sales_unit_id) == (case.company_id, case.sales_unit_id)
    assert doc.uploaded_by_id == legal.id
    created = db.session.scalars(
        select(AuditLog).where(AuditLog.entity == "evidence_document", AuditLog.action == "create")
    ).all()
    assert [(e.after["id"], e.after["sha256"]) for e in created] == [(doc.id, doc.sha256)]


def test_new_version_links_old_and_keeps_it(world, store, db):
    """A new version is a new document pointing at the old one; the old bytes stay."""
    _, case, legal = world
    kw = dict(case_id=case.id, doc_type="invoice", user=legal, storage=store)
    old = evidence.upload(db.session, filename="发票.pdf", stream=io.BytesIO(PDF), **kw)
    new = evidence.upload(
        db.session,
        filename="发票.pdf",
        stream=io.BytesIO(PDF + b"v2"),
        previous_version_id=old.id,
        **kw,
    )
    db.session.commit()
    assert new.previous_version_id == old.id and new.storage_key != old.storage_key
    assert (store.root / old.storage_key).read_bytes() == PDF


def test_version_of_another_case_is_refused(world, store, db):
    """previous_version_id must name a document of the same case."""
    unit, case, legal = world
    other = helpers.make_case(helpers.make_customer(unit))
    old = evidence.upload(
        db.session,
        case_id=other.id,
        doc_type="other",
        filename="a.pdf",
        stream=io.BytesIO(PDF),
        user=legal,
        storage=store,
    )
    with pytest.raises(UploadRejected):
        evidence.upload(
            db.session,
            case_id=case.id,
            doc_type="other",
            filename="a.pdf",
            stream=io.BytesIO(PDF),
            user=legal,
            previous_version_id=old.id,
            storage=store,
        )


def test_upload_needs_permission_and_scope(world, store, db):
    """An auditor may not upload; a collector may not upload to another unit's case."""
    unit, case, _ = world
    auditor = helpers.make_user("auditor")
    with pytest.raises(PermissionError):
        evidence.upload(
            db.session,
            case_id=case.id,
            doc_type="other",
            filename="a.pdf",
            stream=io.BytesIO(PDF),
            user=auditor,
            storage=store,
        )
    outsider = helpers.make_user("collector", units=[helpers.make_unit()])
    with pytest.raises(LookupError):
        evidence.upload(
            db.session,
            case_id=case.id,
            doc_type="other",
            filename="a.pdf",
            stream=io.BytesIO(PDF),
            user=outsider,
            storage=store,
        )
    assert list(Path(store.root).rglob("*.*")) == []


def test_download_verifies_and_audits(world, store, db):
    """A download returns the verified bytes and appends a download entry."""
    _, case, legal = world
    doc = evidence.upload(
        db.session,
        case_id=case.id,
        doc_type="other",
        filename="凭证.pdf",
        stream=io.BytesIO(PDF),
        user=legal,
        storage=store,
    )
    db.session.commit()
    with evidence.open_verified(db.session, doc, legal, storage=store) as f:
        assert f.read() == PDF
    db.session.commit()
    last = db.session.scalars(select(AuditLog).order_by(AuditLog.seq.desc())).first()
    assert (last.action, last.entity_id, last.actor_id) == ("download", str(doc.id), None)


def test_tampered_download_refused_with_committed_alert(world, store, db):
    """One changed byte refuses the download and leaves an alert in the audit log."""
    _, case, legal = world
    doc = evidence.upload(
        db.session,
        case_id=case.id,
        doc_type="other",
        filename="凭证.pdf",
        stream=io.BytesIO(PDF),
        user=legal,
        storage=store,
    )
    db.session.commit()
    doc_id = doc.id
    path = store.root / doc.storage_key
    path.chmod(0o640)
    raw = bytearray(path.read_bytes())
    raw[10] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(TamperedError):
        evidence.open_verified(db.session, doc, legal, storage=store)
    assert (
        evidence.verify(db.session, db.session.get(EvidenceDocument, doc_id), legal, store) is False
    )
    db.session.rollback()
    alerts = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "alert").order_by(AuditLog.seq)
    ).all()
    assert [a.entity_id for a in alerts] == [str(doc_id), str(doc_id)]
    assert alerts[0].detail.startswith(f"{doc.original_name}：拒绝下载，存储的文件已被改动")
    assert "校验未通过" in alerts[1].detail and doc.sha256 in alerts[1].detail
    assert not db.session.scalars(select(AuditLog).where(AuditLog.action == "download")).all()


def test_soft_delete_keeps_row_and_bytes(world, store, db):
    """Soft delete records who and when, keeps the bytes, and only with the permission."""
    _, case, legal = world
    doc = evidence.upload(
        db.session,
        case_id=case.id,
        doc_type="other",
        filename="a.pdf",
        stream=io.BytesIO(PDF),
        user=legal,
        storage=store,
    )
    db.session.commit()
    collector = helpers.make_user("collector")
    with pytest.raises(PermissionError):
        evidence.soft_delete(db.session, doc, collector)
    assert evidence.soft_delete(db.session, doc, legal) is True
    db.session.commit()
    assert evidence.soft_delete(db.session, doc, legal) is False
    assert doc.deleted_at is not None and doc.deleted_by_id == legal.id
    assert db.session.get(EvidenceDocument, doc.id) is not None
    assert (store.root / doc.storage_key).read_bytes() == PDF
