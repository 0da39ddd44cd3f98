"""The debtors' replies in the year's archive package (issue 15, Art.22), hash-verified.

``seal_replies(session, year)`` puts every reply of the register year not yet archived into a
new ``BalanceConfirmationArchive``: for each request answered (confirmed, disputed, signed
letter returned) or closed by the negative form's silence (no disagreement received), the
reply itself (the answer fields of the request), its snapshot lines, its disputed lines, and
each file the debtor uploaded by the SHA-256 of its bytes. The manifest is signed with the
audit key and carries a checkpoint of the audit chain, as a case archive's does
(``archive_manifest``). Replies that come later (a 询证函 as of 31 December is answered in
January) go into the next package of the same year: each reply is archived exactly once.

The year-end transfer (``archive.year_end_transfer``) calls it for the year and the year
before; ``verify`` compares the live rows and the stored bytes with the manifest, so a reply
edited behind the application shows in ``flask archive verify``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice.models.balance_archive import BalanceConfirmationArchive
from backoffice.models.balance_confirmation import (
    ANSWERED,
    BalanceConfirmationFile,
    BalanceConfirmationLine,
    BalanceConfirmationRequest,
    BalanceConfirmationStatus,
    BalanceDispute,
    BalanceDisputeLine,
)
from backoffice.models.base import utcnow
from backoffice.services import checkpoints
from backoffice.services.archive_manifest import same
from backoffice.services.audit import snapshot
from backoffice.services.audit_key import canonical, keyring, sign
from backoffice.services.numbering import next_number
from backoffice.services.storage import StorageError, get_storage

PREFIX = "XZDA"  # 询证档案
FINAL = ANSWERED | {BalanceConfirmationStatus.NO_DISAGREEMENT}
#: The request's columns that make up the reply (what the debtor was asked and answered).
REPLY_FIELDS = (
    "id",
    "number",
    "kind",
    "letter_form",
    "customer_id",
    "company_id",
    "sales_unit_id",
    "as_of",
    "year",
    "balance",
    "status",
    "reply_due",
    "sent_at",
    "answered_at",
    "answer_ip",
    "debtor_balance",
    "debtor_note",
    "debtor_signer",
)
MODELS = {
    "balance_confirmation_request": BalanceConfirmationRequest,
    "balance_confirmation_line": BalanceConfirmationLine,
    "balance_dispute_line": BalanceDisputeLine,
    "balance_confirmation_file": BalanceConfirmationFile,
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fresh(session: Session, model: type, row_id: int) -> Any:
    return session.get(model, row_id, populate_existing=True)


def content_of(table: str, row: Any) -> dict[str, Any]:
    """What the manifest keeps of a row: the reply fields of a request, every column else."""
    snap = snapshot(row)
    if table == "balance_confirmation_request":
        return {k: snap.get(k) for k in REPLY_FIELDS}
    return snap


def archived_refs(session: Session, year: int) -> set[str]:
    """The request refs already in a package of ``year``."""
    refs = set()
    for manifest in session.scalars(
        select(BalanceConfirmationArchive.manifest).where(BalanceConfirmationArchive.year == year)
    ):
        refs.update(i[2] for i in (manifest or {}).get("items", ()) if i[1] == "reply")
    return refs


def replies_to_archive(session: Session, year: int) -> list[BalanceConfirmationRequest]:
    """The year's replies not yet in a package, by number."""
    done = archived_refs(session, year)
    rows = session.scalars(
        select(BalanceConfirmationRequest)
        .where(
            BalanceConfirmationRequest.year == year,
            BalanceConfirmationRequest.status.in_(FINAL),
        )
        .order_by(BalanceConfirmationRequest.number)
        .execution_options(populate_existing=True)
    )
    return [r for r in rows if f"balance_confirmation_request:{r.id}" not in done and settled(r)]


def settled(req: BalanceConfirmationRequest) -> bool:
    """Whether the reply can no longer change: answered through the link, or the negative
    form's silence once no link of it works any more (until then the debtor may still
    disagree, and the reply waits for the next package)."""
    if req.status is BalanceConfirmationStatus.NO_DISAGREEMENT:
        from backoffice.services.balance_confirm_links import live_link

        return live_link(req) is None
    return True


def _items(session: Session, req: BalanceConfirmationRequest) -> list[list[Any]]:
    """[kind, ref, name, sha256, content] for the reply, its lines, disputed lines, files."""
    out = []
    content = content_of("balance_confirmation_request", req)
    ref = f"balance_confirmation_request:{req.id}"
    out.append(["reply", ref, req.number, sha256(canonical(content)), content])
    for line in session.scalars(
        select(BalanceConfirmationLine)
        .where(BalanceConfirmationLine.request_id == req.id)
        .order_by(BalanceConfirmationLine.id)
    ):
        c = content_of("balance_confirmation_line", line)
        out.append(
            ["record", f"balance_confirmation_line:{line.id}", line.doc_no, sha256(canonical(c)), c]
        )
    dispute_lines = session.scalars(
        select(BalanceDisputeLine)
        .join(BalanceDispute, BalanceDispute.id == BalanceDisputeLine.dispute_id)
        .where(BalanceDispute.request_id == req.id)
        .order_by(BalanceDisputeLine.id)
    )
    for dl in dispute_lines:
        c = content_of("balance_dispute_line", dl)
        out.append(["record", f"balance_dispute_line:{dl.id}", dl.doc_no, sha256(canonical(c)), c])
    for f in session.scalars(
        select(BalanceConfirmationFile)
        .where(BalanceConfirmationFile.request_id == req.id)
        .order_by(BalanceConfirmationFile.id)
    ):
        out.append(
            [
                "document",
                f"balance_confirmation_file:{f.id}",
                f.original_name,
                f.sha256,
                {"storage_key": f.storage_key, "size": f.size, "purpose": f.purpose.value},
            ]
        )
    return out


def _signed(manifest: dict[str, Any]) -> bytes:
    """What the signature covers: the record fields, the checkpoint and every row's hash."""
    return canonical(
        {
            "record": manifest.get("record"),
            "checkpoint": manifest.get("checkpoint"),
            "items": [i[:5] for i in manifest.get("items", ())],
        }
    )


def rows_hash(manifest: dict[str, Any]) -> str:
    return sha256(canonical([i[:5] for i in manifest.get("items", ())]))


def seal_replies(session: Session, year: int) -> BalanceConfirmationArchive | None:
    """Archive the year's replies not yet archived in one signed package, and commit; None
    when there is none. Idempotent: a reply already in a package is not taken again."""
    replies = replies_to_archive(session, year)
    if not replies:
        return None
    items: list[list[Any]] = []
    for req in replies:
        for kind, ref, name, digest, content in _items(session, req):
            items.append([len(items) + 1, kind, ref, name, digest, content])
    now = utcnow()
    number = next_number(session, BalanceConfirmationArchive.archive_no, PREFIX, year)
    manifest = {
        "record": {"archive_no": number, "year": year, "requests": len(replies)},
        "checkpoint": checkpoints.make(session, f"confirmation replies {number}"),
        "items": items,
    }
    ring = keyring()
    package = BalanceConfirmationArchive(
        archive_no=number,
        year=year,
        requests=len(replies),
        sealed_at=now,
        manifest=manifest,
        manifest_sha256=rows_hash(manifest),
        manifest_key_id=ring.current_id,
        manifest_sig=sign(ring.current_key, _signed(manifest)),
    )
    session.add(package)
    try:
        session.commit()
    except IntegrityError:  # a concurrent run took the number: try again next run
        session.rollback()
        return None
    return package


def packages(session: Session, year: int) -> list[BalanceConfirmationArchive]:
    """The year's packages of replies, in order."""
    return list(
        session.scalars(
            select(BalanceConfirmationArchive)
            .where(BalanceConfirmationArchive.year == year)
            .order_by(BalanceConfirmationArchive.archive_no)
        )
    )


def verify(session: Session, package: BalanceConfirmationArchive) -> list[tuple[str, str]]:
    """(where, reason) for every difference between the package and what is live: the
    signature, each row's hash, each live row against its sealed content, each file's bytes.
    Empty when intact. Read-only (rows are re-read from the database)."""
    session.refresh(package)
    manifest = package.manifest or {}
    problems: list[tuple[str, str]] = []
    key = keyring().keys.get(package.manifest_key_id or "")
    if key is None:
        problems.append(("manifest", f"signed with unknown key {package.manifest_key_id!r}"))
    elif not hmac.compare_digest(sign(key, _signed(manifest)), package.manifest_sig or ""):
        problems.append(("manifest", "signature does not match (manifest or its rows altered)"))
    if rows_hash(manifest) != package.manifest_sha256:
        problems.append(("manifest", "manifest rows changed (hash differs)"))
    record = manifest.get("record") or {}
    if (record.get("archive_no"), record.get("year")) != (package.archive_no, package.year):
        problems.append(("archive record", "number or year changed after sealing"))
    reason = checkpoints.check(manifest.get("checkpoint"))
    if reason:
        problems.append(("audit checkpoint", reason))
    storage = get_storage()
    for seq, kind, ref, name, digest, content in manifest.get("items", ()):
        where = f"manifest row {seq} ({ref} {name})"
        table, _, row_id = ref.partition(":")
        row = _fresh(session, MODELS[table], int(row_id))
        if kind == "document":
            if row is None:
                problems.append((where, "sealed file row deleted"))
                continue
            if (row.sha256, row.storage_key, row.size) != (
                digest,
                content.get("storage_key"),
                content.get("size"),
            ):
                problems.append((where, "sealed file row changed"))
            try:
                with storage.open(content.get("storage_key")) as fh:
                    actual = sha256(fh.read())
            except (StorageError, OSError, TypeError) as exc:
                problems.append((where, f"file unreadable: {exc}"))
                continue
            if actual != digest:
                problems.append((where, "file bytes changed"))
            continue
        if sha256(canonical(content)) != digest:
            problems.append((where, "sealed content changed"))
        if row is None:
            problems.append((where, "sealed row deleted"))
            continue
        live = content_of(table, row)
        changed = sorted(k for k, v in content.items() if not same(v, live.get(k)))
        if changed:
            problems.append((where, "reply changed after sealing: " + ", ".join(changed)))
    return problems
