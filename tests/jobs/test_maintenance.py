"""The daily audit-verify job writes a signed checkpoint of an intact chain (issue 10)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from backoffice.services import audit, checkpoints
from jobs.maintenance import verify_audit_chain


def test_verify_job_checkpoints_an_intact_chain_and_not_a_broken_one(db):
    """Intact: one checkpoint file of the head, recorded in the chain. Broken: the job fails
    and writes none."""
    for i in range(3):
        audit.record(db.session, "job", entity="test", entity_id=str(i))
    db.session.commit()
    result = verify_audit_chain()
    assert result["intact"] and result["seq"] == 3
    assert checkpoints.Store().names() == [result["checkpoint"]]
    assert audit.verify_chain(db.session) == []
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET detail = 'x' WHERE seq = 2"))
    with pytest.raises(RuntimeError, match="audit chain broken at seq 2"):
        verify_audit_chain()
    assert checkpoints.Store().names() == [result["checkpoint"]]
