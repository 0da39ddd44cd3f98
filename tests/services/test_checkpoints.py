"""Signed audit checkpoints in the storage backend (issue 10): local folder and S3."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backoffice.models import AuditLog
from backoffice.services import audit, checkpoints
from backoffice.services import storage as st


def test_write_stores_a_signed_checkpoint_and_records_it_in_the_chain(db):
    """A checkpoint names the head's seq and hash, verifies, and is itself an audit entry."""
    audit.record(db.session, "job", entity="test", detail="one")
    db.session.commit()
    seq, head = checkpoints.head(db.session)
    written = checkpoints.write("test")
    assert (written["seq"], written["head"]) == (seq, head)
    store = checkpoints.Store()
    assert store.names() == [written["name"]]
    assert checkpoints.check(written) is None
    entry = db.session.scalar(select(AuditLog).order_by(AuditLog.seq.desc()).limit(1))
    assert entry.action == "checkpoint" and entry.detail == written["name"]
    with pytest.raises(FileExistsError):  # write-once
        store.put(written["name"], b"{}")
    forged = {**written, "head": "0" * 64}
    assert checkpoints.check(forged) == "signature does not match (altered)"


def test_checkpoints_round_trip_through_s3(db):
    """With the S3 backend checkpoints are objects under checkpoints/ and load back."""
    boto3 = pytest.importorskip("boto3", reason="boto3 is the optional 's3' extra")
    moto = pytest.importorskip("moto", reason="moto is needed to fake S3")
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="evidence")
        store = checkpoints.Store(st.S3Storage("evidence", client=client))
        written = checkpoints.write("s3", store=store)
        assert store.names() == [written["name"]]
        known = checkpoints.load(db.session, store=store)
        assert known.problems == [] and [a.seq for a in known.anchors] == [written["seq"]]
        assert audit.verify_chain(db.session, known=known) == []
        client.put_object(Bucket="evidence", Key=f"checkpoints/{written['name']}", Body=b"{}")
        assert checkpoints.load(db.session, store=store).problems == [
            f"checkpoint {written['name']}: not a checkpoint"
        ]
