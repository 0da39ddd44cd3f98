"""The audit trail's HMAC keys (issue 10): a key ring that never lives in the database.

A hash chain anyone can recompute protects against nothing that can write to the table, so
each audit entry, checkpoint and archive manifest is signed with HMAC-SHA256 under a key kept
outside the database:

- ``AUDIT_KEYS`` (environment, read by config.py): ``id:hex,id:hex``; or
- a key ring file, ``AUDIT_KEY_FILE`` (default ``var/audit_keys``): one ``id:hex`` a line.

The last key of the ring signs; every earlier key stays to verify what it signed (each entry
names its key id). ``rotate`` appends a new key to the file. Outside production a missing file
is generated (like the session secret); production refuses to start without a key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_MIN_KEY_BYTES = 16


class AuditKeyError(RuntimeError):
    """The audit key ring is missing or malformed."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]  # oldest first; the last one signs
    source: str

    @property
    def current_id(self) -> str:
        return next(reversed(self.keys))

    @property
    def current_key(self) -> bytes:
        return self.keys[self.current_id]

    def rank(self, key_id: str) -> int:
        """The key's age in the ring (0 = oldest); -1 when unknown."""
        return list(self.keys).index(key_id) if key_id in self.keys else -1


def canonical(data: Any) -> bytes:
    """The one byte form of a JSON value that is hashed or signed: sorted keys, no spaces, UTF-8
    (audit entries, checkpoints, archive manifests)."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def sign(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def parse(text: str, source: str) -> Keyring:
    """Read ``id:hex`` entries separated by newlines or commas; ``#`` starts a comment."""
    keys: dict[str, bytes] = {}
    for raw in re.split(r"[\n,]", text):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key_id, sep, hexkey = line.partition(":")
        key_id = key_id.strip()
        if not sep or not KEY_ID_RE.fullmatch(key_id):
            raise AuditKeyError(f"{source}: bad entry (expected id:hex, id of 1-16 [A-Za-z0-9_-])")
        try:
            key = bytes.fromhex(hexkey.strip())
        except ValueError:
            raise AuditKeyError(f"{source}: key {key_id} is not hexadecimal") from None
        if len(key) < _MIN_KEY_BYTES:
            raise AuditKeyError(f"{source}: key {key_id} is shorter than {_MIN_KEY_BYTES} bytes")
        if key_id in keys:
            raise AuditKeyError(f"{source}: key id {key_id} appears twice")
        keys[key_id] = key
    if not keys:
        raise AuditKeyError(f"{source}: no key")
    return Keyring(keys, source)


def key_file(config: Any) -> Path:
    return Path(config.get("AUDIT_KEY_FILE") or Path(config["VAR_DIR"]) / "audit_keys")


def new_entry() -> str:
    """A fresh ``id:hex`` line: a dated id (so the ring reads in order) and 32 random bytes."""
    key_id = f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(2)}"
    return f"{key_id}:{secrets.token_hex(32)}"


def ensure_key(app: Any) -> None:
    """Check the key ring at start-up; outside production create the key file if missing.

    Side effect: may write ``var/audit_keys`` (mode 0600). Raises ``AuditKeyError`` when the
    ring is malformed, or missing in production (``SESSION_COOKIE_SECURE``).
    """
    config = app.config
    if config.get("AUDIT_KEYS"):
        parse(config["AUDIT_KEYS"], "AUDIT_KEYS")
        return
    path = key_file(config)
    if not path.exists():
        if config.get("SESSION_COOKIE_SECURE"):
            raise AuditKeyError(
                f"the audit key must be set in production: AUDIT_KEYS, or a key ring file at "
                f"{path} (AUDIT_KEY_FILE) with one line 'id:64-hex-digits'"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(new_entry() + "\n")
    keyring(config)


_CACHE: dict[str, tuple[Any, Keyring]] = {}


def keyring(config: Any = None) -> Keyring:
    """The current key ring; the file is re-read when it changes (a rotation by the CLI
    reaches every running worker at its next audit entry)."""
    if config is None:
        from flask import current_app

        config = current_app.config
    if config.get("AUDIT_KEYS"):
        text = config["AUDIT_KEYS"]
        cached = _CACHE.get("env")
        if cached and cached[0] == text:
            return cached[1]
        ring = parse(text, "AUDIT_KEYS")
        _CACHE["env"] = (text, ring)
        return ring
    path = key_file(config)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AuditKeyError(f"audit key ring {path} is missing") from None
    stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
    cached = _CACHE.get(str(path))
    if cached and cached[0] == stamp:
        return cached[1]
    ring = parse(path.read_text(), str(path))
    _CACHE[str(path)] = (stamp, ring)
    return ring


def rotate(config: Any = None) -> tuple[str, str]:
    """Append a new key to the key ring file; it signs from now on. Returns (old, new) ids.

    Side effect: rewrites the file atomically (mode 0600), keeping every old key so what it
    signed still verifies. Refuses when the keys come from ``AUDIT_KEYS``.
    """
    if config is None:
        from flask import current_app

        config = current_app.config
    if config.get("AUDIT_KEYS"):
        raise AuditKeyError(
            "the keys come from AUDIT_KEYS: append a new 'id:hex' to it and restart every process"
        )
    old = keyring(config)
    path = key_file(config)
    line = new_entry()
    text = path.read_text()
    text = text if text.endswith("\n") or not text else text + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit_keys-")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text + line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return old.current_id, keyring(config).current_id
