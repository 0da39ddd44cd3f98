"""Signed archive manifests (Art.22, issue 10) and the check of live rows against them.

A version-2 manifest covers, besides its rows (one per document, decision and record, each a
snapshot with its SHA-256): the archive record's own fields (amount, customer, case, ...), the
tables it sealed, and a signed checkpoint of the audit chain. The whole is signed with the
audit key (HMAC), so someone who can write to the database but has not the key cannot rewrite a
manifest to match an edited row.

``live_problems`` compares the rows as they are now with the manifest's snapshots, for every
version: a sealed row changed, deleted or added behind the application shows. Version-1
manifests (sealed before this) have no signature and no record fields; their snapshots were
taken before the seal was set, so ``sealed_at`` and ``updated_at`` are not compared for them.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.archive import ArchiveItem, ArchiveRecord
from backoffice.models.audit import AuditLog
from backoffice.services import checkpoints
from backoffice.services.audit import snapshot
from backoffice.services.audit_key import keyring, sign

VERSION = 2
RECORD_FIELDS = (
    "archive_no",
    "case_id",
    "writeoff_id",
    "customer_id",
    "company_id",
    "sales_unit_id",
    "year",
    "amount",
    "summary_pdf_key",
    "summary_sha256",
    "sealed_at",
)
#: The tables a version-1 manifest sealed (rows of other tables are not "added" to it).
V1_TABLES = frozenset(
    {
        "collection_case",
        "case_receivable",
        "case_member",
        "collection_action",
        "payment_promise",
        "repayment_plan",
        "instalment",
        "collateral",
        "payment_in_kind",
        "litigation",
        "case_cost",
        "document_requirement",
        "writeoff_application",
        "writeoff_item",
        "approval_decision",
    }
)
#: Columns the sealing itself wrote after a version-1 manifest's snapshots were taken.
_V1_SEAL_COLUMNS = frozenset({"sealed_at", "updated_at"})
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def canonical(data: Any) -> bytes:
    from backoffice.services.archive import canonical as dump

    return dump(data)


def manifest_hash(items: list[ArchiveItem]) -> str:
    """The manifest rows' hash (``manifest_sha256``), the same in every version."""
    from backoffice.services.archive import manifest_hash as rows_hash

    return rows_hash(items)


def same(sealed: Any, live: Any) -> bool:
    """Whether two snapshot values are equal, however the database rounds and zones them:
    ``30000`` and ``30000.00`` are one amount, and one instant in two zones is one time."""
    if sealed == live:
        return True
    if isinstance(sealed, str) and isinstance(live, str):
        if _NUMBER.match(sealed) and _NUMBER.match(live):
            return Decimal(sealed) == Decimal(live)
        try:
            return datetime.fromisoformat(sealed) == datetime.fromisoformat(live)
        except (ValueError, TypeError):
            return False
    return False


def record_fields(record: ArchiveRecord) -> dict[str, Any]:
    snap = snapshot(record)
    return {f: snap.get(f) for f in RECORD_FIELDS}


def document(record: ArchiveRecord, items: list[ArchiveItem]) -> dict[str, Any]:
    """What a version-2 signature covers: the rows, the record's fields, the sealed tables
    and the audit checkpoint."""
    manifest = record.manifest or {}
    return {
        "v": record.manifest_version,
        "record": manifest.get("record"),
        "tables": manifest.get("tables"),
        "checkpoint": manifest.get("checkpoint"),
        "items": [[i.seq, i.kind, i.ref, i.name, i.sha256] for i in items],
    }


def seal(session: Session, record: ArchiveRecord, items: list[ArchiveItem], tables) -> None:
    """Give a record being sealed its signed version-2 manifest (no flush, no commit)."""
    ring = keyring()
    record.manifest_version = VERSION
    record.manifest = {
        "record": record_fields(record),
        "tables": sorted(tables),
        "checkpoint": checkpoints.make(session, f"archive {record.archive_no}"),
    }
    data = canonical(document(record, items))
    record.manifest_sha256 = manifest_hash(items)
    record.manifest_key_id = ring.current_id
    record.manifest_sig = sign(ring.current_key, data)


def signature_problems(
    session: Session, record: ArchiveRecord, items: list[ArchiveItem]
) -> list[tuple[str, str]]:
    """(where, reason) for a version-2 manifest: signature, hash, record fields, checkpoint."""
    ring = keyring()
    data = canonical(document(record, items))
    problems = []
    key = ring.keys.get(record.manifest_key_id or "")
    if key is None:
        problems.append(("manifest", f"signed with unknown key {record.manifest_key_id!r}"))
    elif not hmac.compare_digest(sign(key, data), record.manifest_sig or ""):
        problems.append(("manifest", "signature does not match (manifest or its rows altered)"))
    if manifest_hash(items) != record.manifest_sha256:
        problems.append(("manifest", "manifest rows changed (hash differs)"))
    sealed = (record.manifest or {}).get("record") or {}
    for name, value in record_fields(record).items():
        if not same(sealed.get(name), value):
            problems.append(("archive record", f"{name} changed after sealing"))
    cp = (record.manifest or {}).get("checkpoint")
    reason = checkpoints.check(cp, ring)
    if reason:
        problems.append(("audit checkpoint", reason))
    elif cp["seq"]:
        head = session.scalar(select(AuditLog.hash).where(AuditLog.seq == cp["seq"]))
        if head is None:
            problems.append(("audit checkpoint", f"audit entry {cp['seq']} is missing"))
        elif head != cp["head"]:
            problems.append(("audit checkpoint", f"audit entry {cp['seq']} was rewritten"))
    return problems


def live_problems(
    session: Session, record: ArchiveRecord, items: list[ArchiveItem]
) -> list[tuple[str, str]]:
    """(where, reason) for each sealed row changed, deleted or added since sealing. Read-only
    (rows already loaded in ``session`` are refreshed from the database)."""
    from backoffice.models.case import CollectionCase
    from backoffice.models.evidence import EvidenceDocument
    from backoffice.services.archive import _documents, _records

    case = session.get(CollectionCase, record.case_id, populate_existing=True)
    if case is None:
        return [("case", "the sealed case row is gone")]
    v2 = record.manifest_version >= VERSION
    skip = frozenset() if v2 else _V1_SEAL_COLUMNS
    tables = set((record.manifest or {}).get("tables") or ()) if v2 else V1_TABLES
    live = {ref: content for _, ref, _, content in _records(session, case, fresh=True)}
    problems: list[tuple[str, str]] = []
    sealed_refs, sealed_docs = set(), set()
    for item in items:
        where = f"manifest row {item.seq} ({item.ref} {item.name})"
        if item.kind == "document":
            doc_id = int(item.ref.split(":", 1)[1])
            sealed_docs.add(doc_id)
            doc = session.get(EvidenceDocument, doc_id, populate_existing=True)
            content = item.content or {}
            if doc is None:
                problems.append((where, "sealed document row deleted"))
            elif (doc.sha256, doc.storage_key, doc.size) != (
                item.sha256,
                content.get("storage_key"),
                content.get("size"),
            ):
                problems.append((where, "sealed document row changed"))
            continue
        sealed_refs.add(item.ref)
        now = live.get(item.ref)
        if now is None:
            problems.append((where, "sealed row deleted"))
            continue
        changed = sorted(
            k
            for k, v in (item.content or {}).items()
            if k not in skip and k in now and not same(v, now[k])
        )
        if changed:
            problems.append((where, "sealed row changed: " + ", ".join(changed)))
    for ref in live:
        if ref not in sealed_refs and ref.split(":", 1)[0] in tables:
            problems.append((ref, "row added after sealing"))
    for doc in _documents(session, case):
        if doc.id not in sealed_docs:
            problems.append((f"evidence_document:{doc.id}", "document added after sealing"))
    return problems
