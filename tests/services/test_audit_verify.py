"""Tampering with the audit trail behind the application (issue 10): raw SQL on the table and
changes to the checkpoint files; a keyed chain with checkpoints shows each of them."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import delete, select, text, update

from backoffice.models import AuditLog
from backoffice.services import audit, audit_key, checkpoints
from backoffice.services.audit_verify import _HASHED

TABLE = AuditLog.__table__


@pytest.fixture()
def ring(app, db, tmp_path, monkeypatch):
    """A key ring of this test's own (a copy of the app's), so rotations stay in the test."""
    path = tmp_path / "audit_keys"
    shutil.copy(audit_key.key_file(app.config), path)
    monkeypatch.setitem(app.config, "AUDIT_KEY_FILE", str(path))
    return path


def append(db, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        audit.record(db.session, "job", entity="test", entity_id=str(i), detail=f"entry {i}")
    db.session.commit()


def reasons(db) -> list[str]:
    db.session.expire_all()
    return [p.reason for p in audit.verify_chain(db.session)]


def rehash(db, from_seq: int, hasher, to_seq: int | None = None) -> None:
    """The attacker's script: re-link and re-hash every entry from ``from_seq`` on (up to
    ``to_seq``) with ``hasher(data) -> (key_id, hash)``, straight in the table."""
    with db.engine.begin() as conn:
        prev = None
        for row in conn.execute(select(TABLE).order_by(TABLE.c.seq)).all():
            if row.seq < from_seq:
                prev = row.hash
                continue
            if to_seq is not None and row.seq > to_seq:
                break
            data = {c: getattr(row, c) for c in _HASHED}
            data["prev_hash"] = prev or audit.GENESIS
            key_id, prev = hasher(data)
            conn.execute(
                update(TABLE)
                .where(TABLE.c.id == row.id)
                .values(prev_hash=data["prev_hash"], hash=prev, key_id=key_id)
            )


def edit(db, seq: int, detail: str = "tampered") -> None:
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET detail = :d WHERE seq = :s"), {"d": detail, "s": seq}
        )


def plain_sha256(data):
    """What the attacker can compute without the key (the pre-issue-10 formula)."""
    return None, audit.entry_hash({**data, "key_id": None})


def test_untampered_chain_with_checkpoint_is_intact_and_entries_are_keyed(ring, db, app):
    """A chain written by the app, with a checkpoint, verifies; every entry names its key."""
    append(db, 20)
    written = checkpoints.write("test")
    append(db, 5, 20)
    assert reasons(db) == []
    key_ids = set(db.session.scalars(select(AuditLog.key_id)))
    assert key_ids == {audit_key.keyring().current_id}
    out = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert out.exit_code == 0 and f"latest checkpoint: seq {written['seq']}" in out.output


def test_deleting_the_last_50_rows_is_detected_against_the_checkpoint(ring, db, app):
    """Raw DELETE of the last 50 entries: the chain is shorter than the last checkpoint."""
    append(db, 80)
    checkpoints.write("daily")
    last = db.session.scalar(select(AuditLog.seq).order_by(AuditLog.seq.desc()).limit(1))
    with db.engine.begin() as conn:
        conn.execute(delete(TABLE).where(TABLE.c.seq > last - 50))
    found = reasons(db)
    assert any("the chain was cut" in r for r in found), found
    out = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert out.exit_code == 1 and "the chain was cut" in out.output


def test_edit_and_plain_sha256_rehash_of_every_later_entry_is_detected(ring, db):
    """Editing one entry and recomputing every later hash with plain SHA-256 fails, whether
    the key id is kept (the HMAC differs) or cleared (unkeyed after keyed, checkpoint)."""
    append(db, 30)
    checkpoints.write("daily")
    append(db, 10, 30)
    edit(db, 12)
    rehash(db, 12, lambda data: (data["key_id"], plain_sha256(data)[1]))
    assert "content does not match its hash" in reasons(db)
    rehash(db, 12, plain_sha256)
    found = reasons(db)
    assert "unkeyed entry after keyed entries" in found
    assert any(r.startswith("differs from checkpoint") for r in found), found


def test_rehash_of_the_whole_chain_as_unkeyed_is_detected_by_the_checkpoint(ring, db):
    """Turning every entry into a plain-SHA-256 one (as if never keyed) leaves the chain
    self-consistent, but its hash at the checkpoint's seq differs."""
    append(db, 10)
    checkpoints.write("daily")
    edit(db, 3)
    rehash(db, 1, plain_sha256)
    found = reasons(db)
    assert any(r.startswith("differs from checkpoint") for r in found), found


def test_rehash_with_hmac_under_a_wrong_key_is_detected(ring, db):
    """An attacker who guesses a key (keeping the key id) produces HMACs that do not match."""
    append(db, 10)
    edit(db, 4)
    rehash(db, 4, lambda data: (data["key_id"], audit.entry_hash(data, b"wrong key " * 4)))
    found = reasons(db)
    assert found and set(found) == {"content does not match its hash"}


def test_an_altered_or_deleted_checkpoint_file_is_detected(ring, db):
    """A checkpoint file edited in storage fails its signature; one deleted is missing from
    storage while the chain still records it."""
    append(db, 5)
    written = checkpoints.write("daily")
    path = checkpoints.Store().storage.root / checkpoints.PREFIX / written["name"]
    doc = json.loads(path.read_bytes())
    doc["seq"] = 2
    path.chmod(0o640)
    path.write_bytes(json.dumps(doc).encode())
    assert f"checkpoint {written['name']}: signature does not match (altered)" in reasons(db)
    path.unlink()
    assert f"checkpoint {written['name']} is missing from storage" in reasons(db)


def test_entries_hashed_before_the_upgrade_still_verify_and_are_pinned(ring, db):
    """Unkeyed entries (written before keys existed) verify up to the first keyed entry; an
    edit among them, re-hashed, breaks the first keyed entry's link."""
    append(db, 8)
    rehash(db, 1, plain_sha256)  # the database as it was before the upgrade
    assert set(db.session.scalars(select(AuditLog.key_id))) == {None}
    assert reasons(db) == []
    append(db, 4, 8)
    assert reasons(db) == []
    edit(db, 3)
    rehash(db, 3, plain_sha256, to_seq=8)  # without the key only the unkeyed part
    found = [(p.seq, p.reason) for p in audit.verify_chain(db.session)]
    assert found == [(9, "link to the previous entry broken")]


def test_rotation_keeps_old_entries_verifiable_and_retired_keys_cannot_sign(ring, db, app):
    """After `flask audit rotate-key` new entries use the new key, the old ones still verify;
    a tail re-signed with the retired key, or a ring missing the old key, is reported."""
    append(db, 5)
    old = audit_key.keyring().current_id
    out = app.test_cli_runner().invoke(args=["audit", "rotate-key"])
    assert out.exit_code == 0, out.output
    new = audit_key.keyring().current_id
    assert new != old and "rotated" in out.output
    append(db, 5, 5)
    assert reasons(db) == []
    used = list(db.session.scalars(select(AuditLog.key_id).order_by(AuditLog.seq)))
    assert used[0] == old and used[-1] == new
    old_key = audit_key.keyring().keys[old]
    last = len(used)
    edit(db, last)
    rehash(db, last, lambda data: (old, audit.entry_hash({**data, "key_id": old}, old_key)))
    assert f"signed with key {old}, retired earlier" in reasons(db)
    lines = ring.read_text().splitlines()
    ring.write_text("\n".join(line for line in lines if not line.startswith(old)) + "\n")
    assert f"signed with unknown key {old!r}" in reasons(db)
