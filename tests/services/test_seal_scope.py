"""What a seal covers (Art.22): every record that belongs to a sealed write-off or case,
directly or not, including the evidence of a write-off that has no case. Only the recourse
ledger stays open for recoveries (Art.18)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backoffice.models import EvidenceDocument, RecourseEntry, Recovery, WriteOffItem
from backoffice.models.base import utcnow
from backoffice.models.evidence import DocumentType
from backoffice.models.user import LeaderTitle
from backoffice.models.writeoff import Decision, WriteOffGround, WriteOffStatus
from backoffice.services import evidence
from backoffice.services import writeoff as wo
from backoffice.services.audit import SealedError, sealers_of
from backoffice.services.calendar import load_year
from backoffice.services.reference import ensure_reference_data
from tests import helpers

TODAY = date(2026, 11, 2)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def filed_writeoff(db) -> dict:
    """A write-off application without a case, with one document, taken through the chain
    and filed by finance and credit (which seals it); a legal user; a second, draft
    application of the same customer."""
    load_year(db.session, 2026)
    ensure_reference_data(db.session)
    db.session.commit()
    unit = helpers.make_unit(name="华东事业部")
    people = {
        "collector": helpers.make_user("collector", units=[unit]),
        "lead": helpers.make_user("team_lead"),
        "vp": helpers.make_user("leader", leader_title=LeaderTitle.DIVISION_VP),
        "cfo": helpers.make_user("leader", leader_title=LeaderTitle.CFO),
        "president": helpers.make_user("leader", leader_title=LeaderTitle.PRESIDENT),
        "finance": helpers.make_user("finance"),
        "credit": helpers.make_user("credit"),
        "legal": helpers.make_user("legal"),
    }
    unit.vp_id = people["vp"].id
    customer = helpers.make_customer(unit, name="常州永泰建材有限公司")
    r1 = helpers.make_receivable(customer, amount="30000", due=date(2025, 3, 31))
    r2 = helpers.make_receivable(customer, amount="8000", due=date(2025, 4, 30))
    app_ = wo.create(
        db.session,
        applicant=people["collector"],
        customer_id=customer.id,
        ground=WriteOffGround.HOPELESS,
        items=[(r1.id, "30000")],
        facts="客户已注销，经多次催收无果",
        on=TODAY,
    )
    db.session.flush()
    doc = evidence.upload(
        db.session,
        writeoff_id=app_.id,
        doc_type=DocumentType.BANKRUPTCY,
        filename="注销公告.pdf",
        stream=io.BytesIO(PDF),
        user=people["legal"],
    )
    app_.materials_missing_reason, app_.materials_due_on = "合同原件由法院留存", date(2026, 12, 31)
    wo.give_finance_opinion(app_, people["finance"], "同意先行核销")
    wo.submit(db.session, app_, people["collector"], TODAY)
    for step, who in zip(wo.CHAIN, ("lead", "vp", "cfo", "president"), strict=True):
        wo.decide(db.session, app_, people[who], step, Decision.APPROVED, "同意")
    wo.file(db.session, app_, people["finance"], TODAY, "记-2026-11-0042")
    assert wo.file(db.session, app_, people["credit"], TODAY) is True
    draft = wo.create(
        db.session,
        applicant=people["collector"],
        customer_id=customer.id,
        ground=WriteOffGround.HOPELESS,
        items=[(r2.id, "8000")],
        facts="另一笔",
        on=TODAY,
    )
    db.session.commit()
    assert app_.case_id is None and app_.sealed_at is not None
    assert app_.status is WriteOffStatus.FILED
    return {"app": app_, "doc": doc, "draft": draft, "unit": unit, **people}


@pytest.fixture()
def filed(db):
    return filed_writeoff(db)


def stored_files(app) -> set[str]:
    root = Path(app.config["STORAGE_DIR"])
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_evidence_of_a_writeoff_without_a_case_is_sealed_with_it(db, filed):
    """A document of a sealed write-off that has no case is covered by the write-off's seal."""
    assert filed["app"] in sealers_of(db.session, filed["doc"])


def test_upload_to_a_sealed_writeoff_by_service_call_is_refused(app, db, filed):
    """The evidence service refuses a new document on the sealed write-off and keeps no
    bytes of it."""
    before = stored_files(app)
    with pytest.raises(SealedError):
        evidence.upload(
            db.session,
            writeoff_id=filed["app"].id,
            doc_type=DocumentType.OTHER,
            filename="补充材料.pdf",
            stream=io.BytesIO(PDF),
            user=filed["legal"],
        )
    db.session.rollback()
    assert stored_files(app) == before
    assert db.session.scalar(select(func.count()).select_from(EvidenceDocument)) == 1


def test_soft_delete_of_a_sealed_writeoffs_document_by_service_call_is_refused(db, filed):
    """Soft-deleting the sealed write-off's document fails at the flush; it stays live."""
    doc = filed["doc"]
    assert evidence.soft_delete(db.session, doc, filed["legal"]) is True
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(EvidenceDocument, doc.id).deleted_at is None


def test_a_document_cannot_be_moved_out_of_a_sealed_writeoff(db, filed):
    """Re-pointing the sealed write-off's document at an open application is refused too:
    the seal follows the foreign key's old value."""
    doc = filed["doc"]
    doc.writeoff_id = filed["draft"].id
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(EvidenceDocument, doc.id).writeoff_id == filed["app"].id


def test_items_decisions_and_recourse_amount_of_a_sealed_writeoff_are_sealed(db, filed):
    """The sealed write-off's items and the amount written off in its recourse entry cannot
    change; an item cannot be added."""
    item = db.session.scalar(
        select(WriteOffItem).where(WriteOffItem.application_id == filed["app"].id)
    )
    item.amount = Decimal("1.00")
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()
    entry = db.session.scalar(select(RecourseEntry))
    entry.written_off = Decimal("1.00")
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()
    db.session.add(
        WriteOffItem(application_id=filed["app"].id, receivable_id=item.receivable_id, amount=1)
    )
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()


def test_recoveries_are_still_booked_on_a_sealed_writeoff_but_never_changed(db, filed):
    """Art.18: the recourse ledger stays open: a recovery is booked (the entry's total moves),
    but a booked recovery cannot be changed or deleted."""
    entry = db.session.scalar(select(RecourseEntry))
    recovery = wo.record_recovery(db.session, entry, "500", date(2026, 12, 1), "重组后偿还")
    db.session.commit()
    assert db.session.get(RecourseEntry, entry.id).recovered == Decimal("500.00")
    recovery.amount = Decimal("5")
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(Recovery, recovery.id))
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()


def test_a_writeoff_of_a_sealed_case_is_sealed_with_it(app, db, filed):
    """A write-off of a case that the archive then seals is covered by the case's seal even
    without its own: its items cannot change, no document can be added to it, and no new
    write-off can be attached to the sealed case."""
    draft = filed["draft"]
    case = helpers.make_case(draft.customer)
    draft.case_id = case.id
    db.session.commit()
    case.sealed_at = utcnow()  # the year-end transfer seals the case (Art.22)
    db.session.commit()
    assert draft.sealed_at is None and case in sealers_of(db.session, draft.items[0])
    draft.items[0].amount = Decimal("1.00")
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()
    before = stored_files(app)
    with pytest.raises(SealedError):
        evidence.upload(
            db.session,
            writeoff_id=draft.id,
            doc_type=DocumentType.OTHER,
            filename="补充材料.pdf",
            stream=io.BytesIO(PDF),
            user=filed["legal"],
        )
    db.session.rollback()
    assert stored_files(app) == before
    with pytest.raises(SealedError):
        wo.create(
            db.session,
            applicant=filed["collector"],
            customer_id=draft.customer_id,
            case_id=case.id,
            ground=WriteOffGround.HOPELESS,
            items=[(draft.items[0].receivable_id, "100")],
            facts="封存后的核销",
        )
        db.session.commit()
    db.session.rollback()
