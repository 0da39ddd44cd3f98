"""The audit key ring (issue 10): outside the database, generated outside production only."""

from __future__ import annotations

import stat
from types import SimpleNamespace

import pytest

from backoffice.services import audit_key

KEY = "ab" * 32


def test_embedded_default_generates_a_private_key_file_once(tmp_path):
    """Without configuration a key ring file is created under var/ (0600) and then kept."""
    app = SimpleNamespace(config={"VAR_DIR": tmp_path})
    audit_key.ensure_key(app)
    path = tmp_path / "audit_keys"
    first = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    audit_key.ensure_key(app)
    assert path.read_text() == first
    ring = audit_key.keyring(app.config)
    assert len(ring.current_key) == 32 and first.startswith(ring.current_id + ":")


def test_production_refuses_to_start_without_a_key(tmp_path):
    """Production (secure cookies) with neither AUDIT_KEYS nor a key file raises, and creates
    nothing; with AUDIT_KEYS it starts and the last key signs."""
    config = {"VAR_DIR": tmp_path, "SESSION_COOKIE_SECURE": True}
    with pytest.raises(audit_key.AuditKeyError, match="must be set in production"):
        audit_key.ensure_key(SimpleNamespace(config=config))
    assert not (tmp_path / "audit_keys").exists()
    config["AUDIT_KEYS"] = f"old:{KEY}, new:{'cd' * 32}"
    audit_key.ensure_key(SimpleNamespace(config=config))
    ring = audit_key.keyring(config)
    assert list(ring.keys) == ["old", "new"] and ring.current_id == "new"


@pytest.mark.parametrize(
    "text",
    ["", "nokey", f"bad id!:{KEY}", "k1:zz", "k1:abcd", f"k1:{KEY}\nk1:{KEY}"],
)
def test_a_malformed_key_ring_is_refused(text):
    """Empty rings, bad ids, non-hex, short and duplicate keys are refused with a reason."""
    with pytest.raises(audit_key.AuditKeyError):
        audit_key.parse(text, "test")


def test_rotate_appends_a_key_and_refuses_keys_from_the_environment(tmp_path):
    """Rotation adds a newest key and keeps the old ones; with AUDIT_KEYS it refuses."""
    config = {"VAR_DIR": tmp_path}
    audit_key.ensure_key(SimpleNamespace(config=config))
    before = audit_key.keyring(config)
    old, new = audit_key.rotate(config)
    after = audit_key.keyring(config)
    assert old == before.current_id and new == after.current_id != old
    assert after.keys[old] == before.keys[old] and len(after.keys) == 2
    assert stat.S_IMODE((tmp_path / "audit_keys").stat().st_mode) == 0o600
    with pytest.raises(audit_key.AuditKeyError, match="AUDIT_KEYS"):
        audit_key.rotate({"VAR_DIR": tmp_path, "AUDIT_KEYS": f"k:{KEY}"})
