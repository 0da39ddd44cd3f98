"""The evidence doors of a sealed write-off that has no case (issue 10 item 3): legal's
upload (POST /admin/evidence/writeoff/<id>/) and soft delete are refused, audited, and change
nothing; the write-off's own seal covers its documents."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from backoffice.models import AuditLog, EvidenceDocument
from tests import helpers
from tests.services.test_seal_scope import PDF, filed_writeoff, stored_files


@pytest.fixture()
def filed(db):
    return filed_writeoff(db)


def refusals(db) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "refused")
    )


def legal_client(app, filed):
    client = helpers.fresh_client(app)
    helpers.login(client, filed["legal"].username)
    return client, helpers.csrf_token(client, "/admin/")


def test_legal_cannot_add_evidence_to_a_sealed_writeoff(app, db, filed):
    """Legal's upload to the sealed write-off is refused (no 500): no document row, no bytes
    kept, a refused entry in the audit trail, and the refusal is shown."""
    client, token = legal_client(app, filed)
    files, refused = stored_files(app), refusals(db)
    url = f"/admin/evidence/writeoff/{filed['app'].id}/"
    response = client.post(
        url,
        data={"csrf_token": token, "doc_type": "other", "files": [(io.BytesIO(PDF), "补充.pdf")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(EvidenceDocument)) == 1
    assert stored_files(app) == files
    assert refusals(db) == refused + 1
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已封存归档" in page


def test_legal_cannot_soft_delete_evidence_of_a_sealed_writeoff(app, db, filed):
    """Legal's soft delete of the sealed write-off's document is refused: it stays live."""
    client, token = legal_client(app, filed)
    doc_id, refused = filed["doc"].id, refusals(db)
    response = client.post(f"/admin/evidence/{doc_id}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(EvidenceDocument, doc_id).deleted_at is None
    assert refusals(db) == refused + 1
