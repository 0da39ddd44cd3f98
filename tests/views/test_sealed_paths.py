"""Sealed means immutable (Art.22, SPEC §3.6): after the year-end transfer, no path changes a
sealed case, its children, its documents or its write-off, for any role including ``admin``:
edit form, list (ajax) edit, bulk delete, delete, child creation, evidence upload and delete,
write-off edit, command line. Each attempt leaves the database as it was and is audited."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from backoffice.models import (
    ApprovalDecision,
    AuditLog,
    CollectionAction,
    CollectionCase,
    EvidenceDocument,
    WriteOffApplication,
)
from backoffice.models.archive import ArchiveItem, ArchiveRecord
from backoffice.models.writeoff import ApprovalStep, Decision
from backoffice.services.audit import SealedError, snapshot
from tests import helpers
from tests.views.test_archive_views import archived_case

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
COUNTED = (
    CollectionAction,
    EvidenceDocument,
    ApprovalDecision,
    ArchiveItem,
    ArchiveRecord,
    WriteOffApplication,
)


@pytest.fixture()
def sealed(db):
    """A case with a document, an action and a write-off, archived and sealed."""
    built = archived_case(db)
    built["action"] = db.session.scalar(
        select(CollectionAction).where(CollectionAction.case_id == built["case"].id)
    )
    assert built["record"].sealed_at is not None
    return built


def state(db, built) -> dict:
    """Everything a refused attempt must leave as it was, read fresh from the database."""
    db.session.expire_all()
    rows = {
        "case": db.session.get(CollectionCase, built["case"].id),
        "action": db.session.get(CollectionAction, built["action"].id),
        "doc": db.session.get(EvidenceDocument, built["doc"].id),
        "writeoff": db.session.get(WriteOffApplication, built["writeoff"].id),
        "record": db.session.get(ArchiveRecord, built["record"].id),
    }
    out = {k: (snapshot(v) if v is not None else None) for k, v in rows.items()}
    for model in COUNTED:
        out[model.__tablename__] = db.session.scalar(select(func.count()).select_from(model))
    return out


def refusals(db) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "refused")
    )


def client_as(app, *roles, units=()):
    client = app.test_client()
    user = helpers.make_user(*roles, units=units)
    helpers.login(client, user.username)
    return client, helpers.csrf_token(client, "/admin/")


def stored_files(app) -> set[str]:
    """The objects in the local evidence storage, by path."""
    root = Path(app.config["STORAGE_DIR"])
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def assert_refused(db, built, before, refused_before, response):
    """Nothing changed, the attempt was audited as refused, and the user was not shown a 500."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert state(db, built) == before
    assert refusals(db) > refused_before


@pytest.mark.parametrize("role", ["admin", "team_lead"])
def test_edit_form_of_a_sealed_case_is_refused(app, db, sealed, role):
    """The case edit form (admin, team lead) changes nothing and is audited as refused."""
    client, token = client_as(app, role)
    case = sealed["case"]
    before, refused = state(db, sealed), refusals(db)
    response = client.post(
        f"/admin/collection_case/edit/?id={case.id}",
        data={"csrf_token": token, "lead": str(sealed["lead"].id)},  # its one editable field
    )
    assert_refused(db, sealed, before, refused, response)


def test_ajax_list_edit_of_a_sealed_case_is_refused(app, db, sealed, monkeypatch):
    """A list inline edit (ajax update) of a sealed case answers an error, changes nothing
    and is audited as refused (the list is made editable for the test)."""
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "collection_case")
    monkeypatch.setattr(view, "column_editable_list", ("lead",), raising=False)
    view._refresh_forms_cache()
    try:
        client, token = client_as(app, "admin")
        before, refused = state(db, sealed), refusals(db)
        response = client.post(
            "/admin/collection_case/ajax/update/",
            data={
                "csrf_token": token,
                "list_form_pk": str(sealed["case"].id),
                "lead": str(sealed["lead"].id),
            },
        )
        assert response.status_code == 500  # Flask-Admin's answer to x-editable: not saved
        assert f"CollectionCase #{sealed['case'].id}" in response.get_data(as_text=True)
        assert state(db, sealed) == before
        assert refusals(db) > refused
    finally:
        monkeypatch.undo()
        view._refresh_forms_cache()


@pytest.mark.parametrize("role", ["admin", "team_lead"])
def test_writeoff_edit_form_is_refused(app, db, sealed, role):
    """The sealed write-off's generic edit form is shut (403, audited): nothing changes."""
    client, token = client_as(app, role)
    app_ = sealed["writeoff"]
    before = state(db, sealed)
    response = client.post(
        f"/admin/writeoff_application/edit/?id={app_.id}",
        data={
            "csrf_token": token,
            "customer": str(app_.customer_id),
            "case": str(sealed["case"].id),
            "ground": app_.ground.value,
            "amount": "1.00",
            "facts": "封存后改写",
        },
    )
    assert response.status_code == 403
    assert state(db, sealed) == before


def test_delete_and_bulk_delete_of_a_sealed_child_are_refused(app, db, sealed):
    """Deleting a sealed case's action, alone or as a bulk action, is refused for admin."""
    client, token = client_as(app, "admin")
    action_id = sealed["action"].id
    before, refused = state(db, sealed), refusals(db)
    response = client.post(
        "/admin/collection_action/delete/", data={"csrf_token": token, "id": str(action_id)}
    )
    assert_refused(db, sealed, before, refused, response)
    refused = refusals(db)
    response = client.post(
        "/admin/collection_action/action/",
        data={"csrf_token": token, "action": "delete", "rowid": [str(action_id)]},
    )
    assert_refused(db, sealed, before, refused, response)


@pytest.mark.parametrize("role", ["admin", "collector"])
def test_creating_a_child_of_a_sealed_case_is_refused(app, db, sealed, role):
    """A new collection action pointing at the sealed case is not saved (admin, collector)."""
    client, token = client_as(app, role, units=[sealed["unit"]] if role == "collector" else ())
    before, refused = state(db, sealed), refusals(db)
    response = client.post(
        "/admin/collection_action/new/",
        data={
            "csrf_token": token,
            "case": str(sealed["case"].id),
            "kind": "visit",
            "on": "2026-12-01",
            "result": "封存后补录",
        },
    )
    assert_refused(db, sealed, before, refused, response)


@pytest.mark.parametrize("role", ["admin", "legal"])
def test_evidence_upload_and_delete_on_a_sealed_case_are_refused(app, db, sealed, role):
    """Uploading a document to the sealed case, or (soft) deleting its document, is refused."""
    client, token = client_as(app, role)
    case, doc = sealed["case"], sealed["doc"]
    before, refused = state(db, sealed), refusals(db)
    stored_before = stored_files(app)
    response = client.post(
        f"/admin/evidence/case/{case.id}/",
        data={
            "csrf_token": token,
            "doc_type": "other",
            "files": [(io.BytesIO(PDF), "补充材料.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert_refused(db, sealed, before, refused, response)
    assert stored_files(app) == stored_before  # the refused upload left no bytes behind
    refused = refusals(db)
    response = client.post(f"/admin/evidence/{doc.id}/delete", data={"csrf_token": token})
    assert_refused(db, sealed, before, refused, response)
    refused = refusals(db)
    response = client.post(
        "/admin/evidence_document/delete/", data={"csrf_token": token, "id": str(doc.id)}
    )
    assert_refused(db, sealed, before, refused, response)


def test_approval_decision_on_a_sealed_writeoff_is_refused(app, db, sealed):
    """No decision can be added to a sealed write-off: the admin's form is forbidden (and
    audited), and a decision written by code (a job, a service) fails with SealedError."""
    client, token = client_as(app, "admin")
    before = state(db, sealed)
    denied = db.session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "denied")
    )
    response = client.post(
        "/admin/approval_decision/new/",
        data={"csrf_token": token, "application": str(sealed["writeoff"].id)},
    )
    assert response.status_code == 403
    assert state(db, sealed) == before
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "denied")
        )
        == denied + 1
    )
    db.session.add(
        ApprovalDecision(
            application_id=sealed["writeoff"].id,
            round=1,
            step=ApprovalStep.TEAM_REVIEW,
            decision=Decision.APPROVED,
            comment="封存后审批",
            user_id=sealed["lead"].id,
        )
    )
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()
    assert state(db, sealed) == before


def test_command_line_changes_nothing_on_a_sealed_archive(app, db, sealed):
    """Re-running the year-end transfer from the command line archives nothing again and
    leaves the sealed case, its document, write-off and manifest exactly as they were."""
    before = state(db, sealed)
    runner = app.test_cli_runner()
    out = runner.invoke(args=["archive", "year-end", "--year", "2026", "--inline"])
    assert out.exit_code == 0 and "archived 0" in out.output
    out = runner.invoke(args=["archive", "verify", sealed["record"].archive_no])
    assert out.exit_code == 0 and "intact" in out.output
    assert state(db, sealed) == before


def test_sealed_case_stays_sealed_after_an_attempt_to_unseal(app, db, sealed):
    """Setting sealed_at back to None (the way to unseal) is itself refused."""
    case = db.session.get(CollectionCase, sealed["case"].id)
    before = state(db, sealed)
    case.sealed_at = None
    case.outcome_note = "解封后改写"
    with pytest.raises(SealedError):
        db.session.commit()
    db.session.rollback()
    assert state(db, sealed) == before


def test_sealed_case_pages_offer_no_upload_or_delete(app, db, sealed):
    """A sealed case's evidence page and case file show downloads and verification only: no
    upload form, no delete button, no upload link, and say why."""
    client, _token = client_as(app, "legal")
    case = sealed["case"]
    page = client.get(f"/admin/evidence/case/{case.id}/").get_data(as_text=True)
    assert 'id="evidence-sealed"' in page
    assert 'id="evidence-upload"' not in page
    assert "/delete" not in page
    case_file = client.get(f"/admin/collection_case/file/{case.id}").get_data(as_text=True)
    assert re.search(r">\s*上传\s*</a>", case_file) is None
