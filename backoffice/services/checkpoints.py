"""Signed checkpoints of the audit chain (issue 10), kept outside the database.

A checkpoint says "at seq S the chain's head hash was H", signed (HMAC) with the current audit
key. It is written as a file to the storage backend (``checkpoints/`` in the local folder or
the S3 bucket, never overwritten) by the daily audit-verify job, at the end of batch runs and on
key rotation, and each one is also recorded as an audit entry (``checkpoint``) naming the file.
Every archive manifest carries one too, sealed with it.

``audit.verify_chain`` checks the chain against all of them: a chain shorter than a checkpoint
was cut; an entry whose hash differs from a checkpoint was rewritten; a checkpoint file whose
signature fails was altered; a checkpoint recorded in the chain but gone from storage was
deleted. Someone who can both cut the tail and delete the checkpoints (and archives) is not
caught: keep the storage out of reach of the database's writers.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditAction, AuditLog
from backoffice.services.audit_key import Keyring, canonical, keyring, sign

log = logging.getLogger(__name__)

PREFIX = "checkpoints"
NAME_RE = re.compile(r"^audit-\d{12}-\d{8}T\d{6}Z-[0-9a-f]{8}\.json$")
VERSION = 1


@dataclass(frozen=True)
class Anchor:
    seq: int
    head: str
    source: str


@dataclass
class Known:
    """The checkpoints found: anchors to check the chain against, the names of the files in
    storage, and problems with the checkpoints themselves (altered, unreadable)."""

    anchors: list[Anchor] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def head(session: Session) -> tuple[int, str]:
    """The chain's last (seq, hash) as ``session`` sees it; (0, GENESIS) when empty."""
    from backoffice.services.audit import GENESIS

    last = session.execute(
        select(AuditLog.seq, AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)
    ).first()
    return (last.seq, last.hash) if last else (0, GENESIS)


def make(session: Session, reason: str) -> dict[str, Any]:
    """A signed checkpoint of the chain's head as ``session`` sees it. No side effect."""
    seq, hash_ = head(session)
    ring = keyring()
    doc = {
        "v": VERSION,
        "seq": seq,
        "head": hash_,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reason": reason,
        "key_id": ring.current_id,
    }
    doc["sig"] = sign(ring.current_key, canonical(doc))
    return doc


def check(doc: Any, ring: Keyring | None = None) -> str | None:
    """Why ``doc`` is not a valid signed checkpoint, or None when it is."""
    ring = ring or keyring()
    if not isinstance(doc, dict) or not {"seq", "head", "key_id", "sig"} <= doc.keys():
        return "not a checkpoint"
    key = ring.keys.get(doc["key_id"])
    if key is None:
        return f"signed with unknown key {doc['key_id']!r}"
    body = {k: v for k, v in doc.items() if k not in ("sig", "name")}  # name: not signed
    if not isinstance(doc["sig"], str) or not hmac.compare_digest(
        sign(key, canonical(body)), doc["sig"]
    ):
        return "signature does not match (altered)"
    if not isinstance(doc["seq"], int) or not isinstance(doc["head"], str):
        return "not a checkpoint"
    return None


class Store:
    """The ``checkpoints/`` area of the storage backend: write-once named files (the backends'
    ``put_named`` / ``named`` / ``get_named``)."""

    def __init__(self, storage: Any = None):
        from backoffice.services.storage import get_storage

        self.storage = storage or get_storage()

    @staticmethod
    def _check(name: str) -> str:
        if not NAME_RE.fullmatch(name):
            raise ValueError(f"not a checkpoint name: {name!r}")
        return name

    def put(self, name: str, data: bytes) -> None:
        """Store ``data`` under ``name``; never replaces an existing checkpoint."""
        self.storage.put_named(PREFIX, self._check(name), data)

    def names(self) -> list[str]:
        return [n for n in self.storage.named(PREFIX) if NAME_RE.fullmatch(n)]

    def get(self, name: str) -> bytes:
        return self.storage.get_named(PREFIX, self._check(name))


def write(reason: str, store: Store | None = None) -> dict[str, Any]:
    """Sign the committed chain's head, store it, and record it in the chain.

    Side effects: one new file in storage, one ``checkpoint`` audit entry (its own
    transaction). Safe to repeat: each call adds a checkpoint. Returns the checkpoint with its
    ``name``.
    """
    from backoffice.extensions import db
    from backoffice.services import audit

    store = store or Store()
    with Session(db.engine) as session:
        doc = make(session, reason)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"audit-{doc['seq']:012d}-{stamp}-{secrets.token_hex(4)}.json"
    store.put(name, canonical(doc))
    audit.record_now(
        AuditAction.CHECKPOINT, entity="audit_checkpoint", entity_id=doc["seq"], detail=name
    )
    return {**doc, "name": name}


def after_batch(reason: str) -> str | None:
    """``write`` at the end of a batch run whose own work is already committed: a storage
    failure is logged, not raised (the batch stays done; the daily audit-verify job, which
    does raise, makes it visible). Returns the checkpoint's name, or None."""
    from backoffice.services.storage import StorageError

    try:
        return write(reason)["name"]
    except (StorageError, OSError):
        log.exception("audit checkpoint after %s not written", reason)
        return None


def load(session: Session, store: Store | None = None) -> Known:
    """Every checkpoint in storage and in archive manifests, checked. Read-only."""
    from backoffice.models.archive import ArchiveRecord

    store = store or Store()
    ring = keyring()
    known = Known()
    for name in store.names():
        known.names.add(name)
        try:
            doc = json.loads(store.get(name))
        except (OSError, ValueError) as exc:
            known.problems.append(f"checkpoint {name} is unreadable: {exc}")
            continue
        reason = check(doc, ring)
        if reason:
            known.problems.append(f"checkpoint {name}: {reason}")
            continue
        known.anchors.append(Anchor(doc["seq"], doc["head"], f"checkpoint {name}"))
    sealed = session.execute(
        select(ArchiveRecord.archive_no, ArchiveRecord.manifest)
        .where(ArchiveRecord.manifest_version >= 2)
        .order_by(ArchiveRecord.id)
    )
    for archive_no, manifest in sealed:
        doc = (manifest or {}).get("checkpoint")
        reason = check(doc, ring)
        if reason:
            known.problems.append(f"checkpoint sealed into archive {archive_no}: {reason}")
            continue
        known.anchors.append(
            Anchor(doc["seq"], doc["head"], f"the checkpoint sealed into archive {archive_no}")
        )
    return known


def latest(known: Known) -> Anchor | None:
    return max(known.anchors, key=lambda a: a.seq, default=None)
