"""The year-end archive (Art.22): manifest, summary PDF, seal; idempotent; verification."""

import io
import json
import subprocess
from datetime import date
from decimal import Decimal

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
from tests import helpers


@pytest.fixture()
def closed(chain, db):
    """A case with a document and a filed write-off, closed in 2026; one open case too."""
    case = cases.apply(
        db.session, chain["customer"].id, chain["collector"].id, "失联", date(2026, 3, 2)
    )
    cases.accept(db.session, case, chain["lead"].id, date(2026, 3, 2))
    cases.start_work(db.session, case, override_reason="材料补交中")
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


# Issue 10: tampering behind the application (raw SQL) with a sealed archive.


def _sql(db, model, where_id, **values) -> None:
    table = model.__table__
    with db.engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == where_id).values(**values))


def _check(db, record_id):
    db.session.expire_all()
    return [
        (p.where, p.reason)
        for p in archive.verify(db.session, db.session.get(ArchiveRecord, record_id))
    ]


def _edit_case(db, case_id) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE collection_case SET outcome_note = :v WHERE id = :i"),
            {"v": "改写的结论", "i": case_id},
        )


@pytest.fixture()
def sealed(closed, db):
    archive.year_end_transfer(db.session, 2026)
    record = db.session.scalar(select(ArchiveRecord))
    assert record.manifest_version == 2 and record.manifest_sig and record.manifest_key_id
    assert archive.verify(db.session, record) == []
    return record


def test_raw_edit_of_archive_amount_or_customer_is_detected(sealed, closed, db, app):
    """UPDATE archive_record SET amount / customer_id behind the app fails verification, also
    when the manifest's copy of the field is edited to match (its signature then fails)."""
    other = helpers.make_customer(name="另一客户有限公司")
    amount, original = sealed.amount, json.loads(json.dumps(sealed.manifest))
    _sql(db, ArchiveRecord, sealed.id, amount=Decimal("1.00"))
    assert ("archive record", "amount changed after sealing") in _check(db, sealed.id)
    out = app.test_cli_runner().invoke(args=["archive", "verify", "--all"])
    assert out.exit_code == 1 and "amount changed after sealing" in out.output
    manifest = json.loads(json.dumps(original))
    manifest["record"]["amount"] = "1.00"
    _sql(db, ArchiveRecord, sealed.id, manifest=manifest)
    found = _check(db, sealed.id)
    assert ("manifest", "signature does not match (manifest or its rows altered)") in found
    _sql(db, ArchiveRecord, sealed.id, amount=amount, manifest=original)
    assert _check(db, sealed.id) == []
    _sql(db, ArchiveRecord, sealed.id, customer_id=other.id)
    assert _check(db, sealed.id) == [("archive record", "customer_id changed after sealing")]


def test_raw_edit_of_the_sealed_case_row_is_detected_even_with_a_matching_manifest_row(
    sealed, closed, db
):
    """UPDATE collection_case behind the app differs from the sealed snapshot; rewriting the
    manifest row and its hashes to match breaks the manifest's signature."""
    case_id = closed["case"].id
    _edit_case(db, case_id)
    item = next(i for i in sealed.items if i.kind == "case")
    where = f"manifest row {item.seq} ({item.ref} {item.name})"
    assert (where, "sealed row changed: outcome_note") in _check(db, sealed.id)
    content = {**item.content, "outcome_note": "改写的结论"}
    _sql(
        db, ArchiveItem, item.id, content=content, sha256=archive.sha256(archive.canonical(content))
    )
    db.session.expire_all()
    items = list(db.session.scalars(select(ArchiveItem).order_by(ArchiveItem.seq)))
    _sql(db, ArchiveRecord, sealed.id, manifest_sha256=archive.manifest_hash(items))
    assert _check(db, sealed.id) == [
        ("manifest", "signature does not match (manifest or its rows altered)")
    ]


def test_sealed_rows_deleted_or_added_behind_the_app_are_detected(sealed, closed, db):
    """A sealed record deleted, or a record added to the sealed case, with raw SQL, shows."""
    action = db.session.scalar(select(CollectionAction))
    table = CollectionAction.__table__
    with db.engine.begin() as conn:
        row = dict(conn.execute(select(table).where(table.c.id == action.id)).mappings().one())
        conn.execute(text("DELETE FROM collection_action WHERE id = :i"), {"i": row["id"]})
    found = _check(db, sealed.id)
    assert any(
        r == "sealed row deleted" and f"collection_action:{row['id']}" in w for w, r in found
    )
    with db.engine.begin() as conn:
        conn.execute(table.insert().values(**row))
        conn.execute(
            table.insert().values(
                case_id=row["case_id"], kind="visit", on=date(2026, 12, 1), result="补录"
            )
        )
    found = _check(db, sealed.id)
    assert len(found) == 1 and found[0][1] == "row added after sealing"


def test_archive_sealed_before_signed_manifests_still_verifies(sealed, closed, db, app):
    """A version-1 archive (no signature, snapshots taken before the seal) verifies and is
    reported as of an older manifest, not as tampered; an edited case row still shows."""
    item = next(i for i in sealed.items if i.kind == "case")
    content = {**item.content, "sealed_at": None, "updated_at": "2026-06-30T08:00:00+00:00"}
    _sql(
        db, ArchiveItem, item.id, content=content, sha256=archive.sha256(archive.canonical(content))
    )
    db.session.expire_all()
    items = list(db.session.scalars(select(ArchiveItem).order_by(ArchiveItem.seq)))
    _sql(
        db,
        ArchiveRecord,
        sealed.id,
        manifest_version=1,
        manifest=None,
        manifest_key_id=None,
        manifest_sig=None,
        manifest_sha256=archive.manifest_hash(items),
    )
    assert _check(db, sealed.id) == []
    out = app.test_cli_runner().invoke(args=["archive", "verify", "--all"])
    assert out.exit_code == 0 and "intact (manifest v1" in out.output
    _sql(db, ArchiveRecord, sealed.id, amount=Decimal("1.00"))  # not covered by v1
    assert _check(db, sealed.id) == []
    _edit_case(db, closed["case"].id)
    assert _check(db, sealed.id) == [
        (f"manifest row {item.seq} ({item.ref} {item.name})", "sealed row changed: outcome_note")
    ]


def test_the_checkpoint_sealed_into_an_archive_shows_a_cut_audit_trail(sealed, db):
    """With every checkpoint file gone, cutting the audit trail below the checkpoint sealed
    into an archive manifest is still detected (by audit and archive verification)."""
    import shutil

    from backoffice.models import AuditLog
    from backoffice.services import audit, checkpoints

    cp = sealed.manifest["checkpoint"]
    assert cp["seq"] > 0 and checkpoints.check(cp) is None
    shutil.rmtree(checkpoints.Store().storage.root / checkpoints.PREFIX)
    table = AuditLog.__table__
    with db.engine.begin() as conn:
        conn.execute(table.delete().where(table.c.seq >= cp["seq"]))
    db.session.expire_all()
    reasons = [p.reason for p in audit.verify_chain(db.session)]
    assert any(f"sealed into archive {sealed.archive_no}" in r for r in reasons), reasons
    assert ("audit checkpoint", f"audit entry {cp['seq']} is missing") in _check(db, sealed.id)
