"""The auditors' archive over HTTP (SPEC §3.6, Art.22): search, the read-only case file,
verified attachment downloads, the ZIP package and the Verify button."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date

import pytest
from sqlalchemy import func, select

from backoffice.models import AuditLog, CollectionAction, EvidenceDocument
from backoffice.models.archive import ArchiveItem, ArchiveRecord
from backoffice.models.case import ActionKind, CaseOutcome
from backoffice.models.evidence import DocumentType
from backoffice.models.writeoff import WriteOffGround
from backoffice.services import archive, cases
from backoffice.services import writeoff as wo
from backoffice.services.calendar import load_year
from backoffice.services.storage import get_storage
from tests import helpers

DOC_BYTES = b"%PDF-1.4 enforcement ruling bytes"
DOC_NAME = "终结执行裁定书.pdf"


def close_case_with_evidence(
    customer_name: str = "常州永泰建材有限公司",
    amounts: tuple[str, ...] = ("30000", "12000.50"),
    closed_on: date = date(2026, 6, 30),
    doc_name: str = DOC_NAME,
    writeoff: bool = True,
    unit=None,
    people: dict | None = None,
) -> dict:
    """A case with an action, a stored document and a draft write-off, closed on ``closed_on``
    (not yet archived). Returns the case, its write-off, document, customer and people."""
    from backoffice.extensions import db

    unit = unit or helpers.make_unit(name="华东事业部")
    people = people or {
        "collector": helpers.make_user("collector", units=[unit]),
        "lead": helpers.make_user("team_lead"),
    }
    customer = helpers.make_customer(unit, name=customer_name)
    receivables = [
        helpers.make_receivable(customer, amount=a, due=date(closed_on.year - 1, 3, 31))
        for a in amounts
    ]
    case = cases.apply(
        db.session,
        customer.id,
        people["collector"].id,
        "失联",
        date(2026, 3, 2),  # the calendar of 2026 is loaded; the closing date may be any year
    )
    cases.accept(db.session, case, people["lead"].id, date(2026, 3, 2))
    cases.start_work(db.session, case, override_reason="材料补交中")
    db.session.add(
        CollectionAction(
            case_id=case.id,
            kind=ActionKind.PHONE,
            on=date(2026, 3, 5),
            user_id=people["collector"].id,
            result="无人接听",
        )
    )
    stored = get_storage().put(io.BytesIO(DOC_BYTES))
    doc = EvidenceDocument(
        case_id=case.id,
        company_id=case.company_id,
        sales_unit_id=case.sales_unit_id,
        doc_type=DocumentType.JUDGMENT,
        original_name=doc_name,
        storage_key=stored.key,
        size=stored.size,
        content_type="application/pdf",
        sha256=stored.sha256,
        uploaded_by_id=people["lead"].id,
    )
    db.session.add(doc)
    app_ = None
    if writeoff:
        app_ = wo.create(
            db.session,
            applicant=people["collector"],
            customer_id=customer.id,
            ground=WriteOffGround.UNENFORCEABLE,
            case_id=case.id,
            items=[(receivables[0].id, receivables[0].amount)],
            facts="判决无法执行",
        )
    db.session.commit()
    cases.close(
        db.session,
        case,
        people["lead"].id,
        CaseOutcome.HARD_TO_COLLECT,
        "法院终结执行，债务人无财产可供执行",
        closed_on,
    )
    db.session.commit()
    return {
        "case": case,
        "writeoff": app_,
        "doc": doc,
        "customer": customer,
        "unit": unit,
        "receivables": receivables,
        **people,
    }


def archived_case(db, **kw) -> dict:
    """``close_case_with_evidence`` and then the year-end transfer of its year."""
    load_year(db.session, 2026)
    db.session.commit()
    built = close_case_with_evidence(**kw)
    year = kw.get("closed_on", date(2026, 6, 30)).year
    archive.year_end_transfer(db.session, year)
    built["record"] = db.session.scalar(
        select(ArchiveRecord).where(ArchiveRecord.case_id == built["case"].id)
    )
    return built


def filter_arg(app, column: str, kind: str) -> str:
    """The list URL parameter of the ArchiveRecordView filter on ``column`` named ``kind``."""
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "archive_record")
    for index, flt in enumerate(view._filters):
        if getattr(flt.column, "key", None) == column and type(flt).__name__ == kind:
            return f"flt0_{view.get_filter_arg(index, flt)}"
    raise AssertionError(f"no {kind} filter on {column}")


def listed(client, query: str = "") -> str:
    response = client.get(f"/admin/archive_record/{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def stored_path(record_or_key) -> object:
    return get_storage().root / record_or_key


def audit_count(db, action: str, entity: str = "archive_record") -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == action, AuditLog.entity == entity)
    )


@pytest.fixture()
def archives(db):
    """Three archives: two customers in 2026 with different amounts, one case from 2025."""
    first = archived_case(db)
    second = archived_case(
        db,
        customer_name="无锡华光电缆有限公司",
        amounts=("500000",),
        unit=first["unit"],
        people={"collector": first["collector"], "lead": first["lead"]},
        writeoff=False,
    )
    older = archived_case(
        db,
        customer_name="常州金鼎贸易有限公司",
        amounts=("8000",),
        closed_on=date(2025, 11, 20),
        unit=first["unit"],
        people={"collector": first["collector"], "lead": first["lead"]},
        writeoff=False,
    )
    return {"first": first, "second": second, "older": older}


def test_auditor_searches_archives_by_year_customer_number_and_amount(
    app, client, archives, login_as
):
    """The archive list finds archives by customer-name prefix, archive number, year and an
    amount range, and shows nothing else."""
    login_as("auditor")
    first, second, older = (archives[k]["record"] for k in ("first", "second", "older"))
    assert {first.archive_no, second.archive_no} == {"DA2026-00001", "DA2026-00002"}
    assert older.archive_no == "DA2025-00001"

    page = listed(client, "?search=常州")  # customer name prefix: two customers, two years
    assert first.archive_no in page and older.archive_no in page
    assert second.archive_no not in page
    page = listed(client, "?search=DA2025")
    assert older.archive_no in page and first.archive_no not in page

    year = filter_arg(app, "year", "IntEqualFilter")
    page = listed(client, f"?{year}=2026")
    assert first.archive_no in page and second.archive_no in page
    assert older.archive_no not in page

    above = filter_arg(app, "amount", "FloatGreaterFilter")
    below = filter_arg(app, "amount", "FloatSmallerFilter")
    page = listed(client, f"?{above}=10000&{below}=100000")  # 42,000.50 only
    assert first.archive_no in page
    assert second.archive_no not in page and older.archive_no not in page


def test_case_file_is_read_only_with_manifest_hashes(app, client, archives, login_as, db):
    """The case file shows the summary and every manifest row with its SHA-256; the auditor
    (and the admin) get no way to create, edit or delete an archive."""
    built = archives["first"]
    record = built["record"]
    login_as("auditor")
    response = client.get(f"/admin/archive_record/file/{record.id}/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert record.archive_no in page and "常州永泰建材有限公司" in page
    assert record.manifest_sha256 in page
    items = db.session.scalars(select(ArchiveItem).where(ArchiveItem.archive_id == record.id))
    for item in items:
        assert item.sha256 in page
    assert DOC_NAME in page and f"/admin/archive_record/file/{record.id}/document/1" in page
    assert "/admin/archive_record/edit/" not in page
    manifests = client.get("/admin/archive_item/").get_data(as_text=True)
    assert f'href="/admin/archive_record/file/{record.id}/"' in manifests
    token = helpers.csrf_token(client, "/admin/archive_record/")
    for path in ("/admin/archive_record/new/", f"/admin/archive_record/edit/?id={record.id}"):
        assert client.get(path).status_code == 403
    assert (
        client.post(
            "/admin/archive_record/delete/", data={"id": record.id, "csrf_token": token}
        ).status_code
        == 403
    )
    assert db.session.get(ArchiveRecord, record.id) is not None
    admin = app.test_client()
    helpers.login(admin, helpers.make_user("admin").username)
    assert admin.get(f"/admin/archive_record/edit/?id={record.id}").status_code == 403
    assert admin.get(f"/admin/archive_item/edit/?id={record.id}").status_code == 403


def test_collector_cannot_open_the_archive(client, archives, login_as):
    """Collectors do not see the archive room (view is staff only): 403, not the file."""
    login_as("collector", units=[archives["first"]["unit"]])
    record = archives["first"]["record"]
    assert client.get(f"/admin/archive_record/file/{record.id}/").status_code == 403
    assert client.get(f"/admin/archive_record/file/{record.id}/package.zip").status_code == 403


def test_document_download_is_a_verified_audited_attachment(client, archives, login_as, db):
    """An archived document downloads as an attachment (nosniff, UTF-8 name) with the exact
    bytes, and the download is audited."""
    record = archives["first"]["record"]
    login_as("auditor")
    before = audit_count(db, "download")
    response = client.get(f"/admin/archive_record/file/{record.id}/document/1")
    assert response.status_code == 200
    assert response.data == DOC_BYTES
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "filename*=UTF-8''" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "application/octet-stream"
    assert audit_count(db, "download") == before + 1
    summary = client.get(f"/admin/archive_record/file/{record.id}/summary.pdf")
    assert summary.status_code == 200 and summary.data.startswith(b"%PDF")
    assert hashlib.sha256(summary.data).hexdigest() == record.summary_sha256
    assert client.get(f"/admin/archive_record/file/{record.id}/document/999").status_code == 404


def test_package_zip_holds_manifest_summary_and_documents_by_chinese_name(
    client, archives, login_as, db
):
    """The ZIP holds manifest.json (every row's hash and the manifest hash), the summary PDF
    and each document under its original Chinese name (UTF-8 flag), bytes matching."""
    record = archives["first"]["record"]
    login_as("auditor")
    before = audit_count(db, "download")
    response = client.get(f"/admin/archive_record/file/{record.id}/package.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(response.data)) as z:
        names = z.namelist()
        assert f"documents/{DOC_NAME}" in names and "summary.pdf" in names
        info = z.getinfo(f"documents/{DOC_NAME}")
        assert info.flag_bits & 0x800  # the name is stored as UTF-8
        assert z.read(f"documents/{DOC_NAME}") == DOC_BYTES
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["manifest_sha256"] == record.manifest_sha256
        assert hashlib.sha256(z.read("summary.pdf")).hexdigest() == record.summary_sha256
    items = list(
        db.session.scalars(
            select(ArchiveItem).where(ArchiveItem.archive_id == record.id).order_by(ArchiveItem.seq)
        )
    )
    assert [(i["seq"], i["sha256"]) for i in manifest["items"]] == [
        (i.seq, i.sha256) for i in items
    ]
    assert archive.manifest_hash(items) == manifest["manifest_sha256"]
    doc_row = next(i for i in manifest["items"] if i["kind"] == "document")
    assert doc_row["sha256"] == hashlib.sha256(DOC_BYTES).hexdigest()
    assert audit_count(db, "download") == before + 1


def test_verify_button_names_a_document_whose_byte_was_altered(client, archives, login_as, db):
    """Verify (POST, CSRF) says intact; after one stored byte changes it names the file, an
    alert is audited, and neither the document nor the package is served any more."""
    record = archives["first"]["record"]
    login_as("auditor")
    page = client.get(f"/admin/archive_record/file/{record.id}/").get_data(as_text=True)
    assert f'action="/admin/archive_record/file/{record.id}/verify"' in page
    # Without the CSRF token the POST is refused.
    assert client.post(f"/admin/archive_record/file/{record.id}/verify").status_code == 400
    token = helpers.csrf_token(client, f"/admin/archive_record/file/{record.id}/")
    intact = client.post(
        f"/admin/archive_record/file/{record.id}/verify", data={"csrf_token": token}
    )
    assert intact.status_code == 200
    assert 'id="archive-verify-intact"' in intact.get_data(as_text=True)

    path = stored_path(archives["first"]["doc"].storage_key)
    data = bytearray(path.read_bytes())
    data[5] ^= 0x01
    path.chmod(0o644)
    path.write_bytes(bytes(data))
    alerts = audit_count(db, "alert")
    failed = client.post(
        f"/admin/archive_record/file/{record.id}/verify", data={"csrf_token": token}
    )
    html = failed.get_data(as_text=True)
    assert failed.status_code == 200 and 'id="archive-verify-failed"' in html
    assert f"manifest row 1 (evidence_document:{archives['first']['doc'].id} {DOC_NAME})" in html
    assert "document bytes changed" in html
    assert audit_count(db, "alert") == alerts + 1
    refused = client.get(f"/admin/archive_record/file/{record.id}/document/1")
    assert refused.status_code == 409 and refused.data != bytes(data)
    assert client.get(f"/admin/archive_record/file/{record.id}/package.zip").status_code == 409
    # The other archive is untouched and still verifies.
    other = archives["second"]["record"]
    ok = client.post(f"/admin/archive_record/file/{other.id}/verify", data={"csrf_token": token})
    assert 'id="archive-verify-intact"' in ok.get_data(as_text=True)


def test_finance_may_download_but_not_verify(client, archives, login_as):
    """Verify is for the admin and auditors (permission table); finance may only read."""
    record = archives["first"]["record"]
    login_as("finance")
    page = client.get(f"/admin/archive_record/file/{record.id}/").get_data(as_text=True)
    assert 'id="archive-verify"' not in page
    token = helpers.csrf_token(client, f"/admin/archive_record/file/{record.id}/")
    response = client.post(
        f"/admin/archive_record/file/{record.id}/verify", data={"csrf_token": token}
    )
    assert response.status_code == 403


def test_case_file_shows_the_manifest_signature_and_verify_names_an_amount_edit(
    client, archives, login_as, db
):
    """The case file names the audit key that signed the manifest; an amount changed with SQL
    behind the app is named by the Verify button (issue 10)."""
    record = archives["first"]["record"]
    login_as("auditor")
    page = client.get(f"/admin/archive_record/file/{record.id}/").get_data(as_text=True)
    assert f"已用审计密钥 {record.manifest_key_id} 签名" in page
    table = ArchiveRecord.__table__
    with db.engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == record.id).values(amount=1))
    token = helpers.csrf_token(client, f"/admin/archive_record/file/{record.id}/")
    failed = client.post(
        f"/admin/archive_record/file/{record.id}/verify", data={"csrf_token": token}
    )
    html = failed.get_data(as_text=True)
    assert 'id="archive-verify-failed"' in html and "amount changed after sealing" in html
