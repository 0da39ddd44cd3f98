"""The year-end archive (Art.22): manifest, summary PDF, seal; idempotent; verification."""

import io
import subprocess
from datetime import date

import pytest
from sqlalchemy import func, select, text

from backoffice.models import (
    ArchiveItem,
    ArchiveRecord,
    CollectionAction,
    EvidenceDocument,
    WriteOffApplication,
)
from backoffice.models.case import ActionKind, CaseOutcome
from backoffice.models.evidence import DocumentType
from backoffice.models.writeoff import WriteOffGround
from backoffice.services import archive, cases
from backoffice.services import writeoff as wo
from backoffice.services.audit import SealedError
from backoffice.services.storage import get_storage


@pytest.fixture()
def closed(chain, db):
    """A case with a document and a filed write-off, closed in 2026; one open case too."""
    case = cases.apply(
        db.session, chain["customer"].id, chain["collector"].id, "失联", date(2026, 3, 2)
    )
    cases.accept(db.session, case, chain["lead"].id, date(2026, 3, 2))
    cases.start_work(db.session, case)
    db.session.add(
        CollectionAction(
            case_id=case.id,
            kind=ActionKind.PHONE,
            on=date(2026, 3, 5),
            user_id=chain["collector"].id,
            result="无人接听",
        )
    )
    stored = get_storage().put(io.BytesIO(b"%PDF-1.4 judgment bytes"))
    db.session.add(
        EvidenceDocument(
            case_id=case.id,
            company_id=case.company_id,
            sales_unit_id=case.sales_unit_id,
            doc_type=DocumentType.JUDGMENT,
            original_name="终结执行裁定书.pdf",
            storage_key=stored.key,
            size=stored.size,
            content_type="application/pdf",
            sha256=stored.sha256,
            uploaded_by_id=chain["lead"].id,
        )
    )
    app_ = wo.create(
        db.session,
        applicant=chain["collector"],
        customer_id=chain["customer"].id,
        ground=WriteOffGround.UNENFORCEABLE,
        case_id=case.id,
        items=[(chain["r1"].id, "30000")],
        facts="判决无法执行",
    )
    db.session.commit()
    cases.close(
        db.session,
        case,
        chain["lead"].id,
        CaseOutcome.HARD_TO_COLLECT,
        "法院终结执行，债务人无财产可供执行",
        date(2026, 6, 30),
    )
    db.session.commit()
    return {"case": case, "writeoff": app_, **chain}


def test_transfer_archives_each_closed_case_once_and_seals_it(closed, db):
    """Every case closed in the year is archived once with a manifest and summary PDF; a
    re-run archives nothing more; after sealing nothing about it can change."""
    result = archive.year_end_transfer(db.session, 2026)
    assert len(result.archived) == 1
    assert archive.year_end_transfer(db.session, 2026).archived == []
    record = db.session.scalar(select(ArchiveRecord))
    assert record.archive_no == "DA2026-00001" and record.sealed_at is not None
    kinds = [i.kind for i in record.items]
    assert kinds.count("document") == 1 and "case" in kinds and "writeoff" in kinds
    assert archive.verify(db.session, record) == []
    case = closed["case"]
    case.outcome_note = "改写结论"
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()
    db.session.add(
        CollectionAction(
            case_id=case.id, kind=ActionKind.VISIT, on=date(2026, 12, 1), result="补录"
        )
    )
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()
    doc = db.session.scalar(select(EvidenceDocument))
    doc.original_name = "换名.pdf"
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()
    application = db.session.get(WriteOffApplication, closed["writeoff"].id)
    application.facts = "改写"
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(ArchiveRecord, record.id))
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()


def test_verify_names_a_changed_document_byte_and_a_changed_manifest_row(closed, db, app):
    """Changing one byte of a stored document, or a manifest row in the database, makes
    verification fail and name it (also through ``flask archive verify``)."""
    archive.year_end_transfer(db.session, 2026)
    record = db.session.scalar(select(ArchiveRecord))
    doc_item = next(i for i in record.items if i.kind == "document")
    path = get_storage().root / doc_item.content["storage_key"]
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))
    problems = archive.verify(db.session, record)
    assert [p.where for p in problems] == [
        f"manifest row {doc_item.seq} ({doc_item.ref} 终结执行裁定书.pdf)"
    ]
    runner = app.test_cli_runner()
    out = runner.invoke(args=["archive", "verify", record.archive_no])
    assert out.exit_code == 1 and "终结执行裁定书.pdf" in out.output
    data[3] ^= 0x01
    path.write_bytes(bytes(data))
    assert archive.verify(db.session, record) == []
    # A manifest row altered directly in the database.
    case_item = next(i for i in record.items if i.kind == "case")
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE archive_item SET sha256 = :h WHERE id = :i"),
            {"h": "0" * 64, "i": case_item.id},
        )
    db.session.expire_all()
    problems = archive.verify(db.session, db.session.get(ArchiveRecord, record.id))
    assert any(f"manifest row {case_item.seq}" in p.where for p in problems)
    assert any(p.where == "manifest" for p in problems)
    out = runner.invoke(args=["archive", "verify", "--all"])
    assert out.exit_code == 1 and f"manifest row {case_item.seq}" in out.output


def test_summary_pdf_extracts_chinese(closed, db, tmp_path):
    """The case summary PDF carries the archive number, the customer and document names."""
    if subprocess.run(["which", "pdftotext"], capture_output=True).returncode:
        pytest.skip("poppler-utils not installed")
    archive.year_end_transfer(db.session, 2026)
    record = db.session.scalar(select(ArchiveRecord))
    path = tmp_path / "summary.pdf"
    with get_storage().open(record.summary_pdf_key) as fh:
        path.write_bytes(fh.read())
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "清收案件档案摘要" in out and "常州永泰建材有限公司" in out
    assert record.archive_no in out and "终结执行裁定书.pdf" in out


def test_summary_pdf_names_records_in_chinese(closed, db, tmp_path):
    """The case summary lists each record by what it is (in Chinese), never by table name."""
    if subprocess.run(["which", "pdftotext"], capture_output=True).returncode:
        pytest.skip("poppler-utils not installed")
    archive.year_end_transfer(db.session, 2026)
    record = db.session.scalar(select(ArchiveRecord))
    tables = {item.ref.split(":")[0] for item in record.items if item.kind == "record"}
    assert "case_receivable" in tables  # the manifest keeps its raw references
    path = tmp_path / "summary.pdf"
    with get_storage().open(record.summary_pdf_key) as fh:
        path.write_bytes(fh.read())
    out = "".join(subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout.split())
    assert not [t for t in tables if t in out]
    assert "案件关联的应收账款#" in out and "案件记录" in out


def test_cli_year_end_inline_is_idempotent(closed, db, app):
    """``flask archive year-end --year 2026 --inline`` archives once; again, nothing."""
    runner = app.test_cli_runner()
    first = runner.invoke(args=["archive", "year-end", "--year", "2026", "--inline"])
    assert first.exit_code == 0 and "archived 1" in first.output
    again = runner.invoke(args=["archive", "year-end", "--year", "2026", "--inline"])
    assert "archived 0" in again.output
    assert db.session.scalar(select(func.count()).select_from(ArchiveRecord)) == 1
    assert db.session.scalar(select(func.count()).select_from(ArchiveItem)) > 3
