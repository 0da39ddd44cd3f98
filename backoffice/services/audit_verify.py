"""Verifying the audit chain (SPEC §3.8, issue 10) against its keys and signed checkpoints.

A removed, inserted or altered entry breaks ``seq``, a link or an HMAC. A chain re-hashed from
some entry on needs the key (an attacker without it can only write plain SHA-256 entries, which
are accepted only before the first keyed entry), and a cut tail or a rewrite shows against the
signed checkpoints kept in storage and in archive manifests.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditLog
from backoffice.services.audit import GENESIS, entry_hash
from backoffice.services.audit_key import keyring


@dataclass
class ChainProblem:
    seq: int | None
    id: int | None
    reason: str


_HASHED = (
    "seq",
    "at",
    "actor_id",
    "actor",
    "action",
    "entity",
    "entity_id",
    "before",
    "after",
    "detail",
    "ip",
    "prev_hash",
    "key_id",
)


def verify_chain(session: Session, batch: int = 5000, known: Any = None) -> list[ChainProblem]:
    """Walk the chain in order; return every problem found (empty when intact).

    Checks each entry's link and HMAC (plain SHA-256 only before the first keyed entry), that
    keys are used oldest to newest, the chain against every signed checkpoint (``known``:
    ``checkpoints.load`` by default) and that every checkpoint the chain records is still in
    storage. Read-only.
    """
    if known is None:
        from backoffice.services import checkpoints

        known = checkpoints.load(session)
    ring = keyring()
    problems = [ChainProblem(None, None, reason) for reason in known.problems]
    anchors: dict[int, list] = {}
    for anchor in known.anchors:
        anchors.setdefault(anchor.seq, []).append(anchor)
    recorded: list[tuple[int, int, str]] = []
    expected_seq, prev = 1, GENESIS
    last_seq, rank, keyed = 0, -1, False
    table = AuditLog.__table__
    while True:
        # Plain rows, not ORM objects: an entity already in the session's identity map would
        # be returned as loaded earlier, hiding a row altered in the database meanwhile.
        rows = session.execute(
            select(table).where(table.c.seq > last_seq).order_by(table.c.seq).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                problems.append(
                    ChainProblem(
                        expected_seq, None, f"entries {expected_seq}..{row.seq - 1} are missing"
                    )
                )
            if row.prev_hash != prev:
                problems.append(ChainProblem(row.seq, row.id, "link to the previous entry broken"))
            data = {c: getattr(row, c) for c in _HASHED}
            expected = None
            if row.key_id is None:
                if keyed:
                    problems.append(
                        ChainProblem(row.seq, row.id, "unkeyed entry after keyed entries")
                    )
                expected = entry_hash(data)
            elif row.key_id not in ring.keys:
                keyed = True
                problems.append(
                    ChainProblem(row.seq, row.id, f"signed with unknown key {row.key_id!r}")
                )
            else:
                keyed = True
                if ring.rank(row.key_id) < rank:
                    problems.append(
                        ChainProblem(
                            row.seq, row.id, f"signed with key {row.key_id}, retired earlier"
                        )
                    )
                rank = max(rank, ring.rank(row.key_id))
                expected = entry_hash(data, ring.keys[row.key_id])
            if expected is not None and not hmac.compare_digest(expected, row.hash):
                problems.append(ChainProblem(row.seq, row.id, "content does not match its hash"))
            for anchor in anchors.get(row.seq, ()):
                if anchor.head != row.hash:
                    problems.append(ChainProblem(row.seq, row.id, f"differs from {anchor.source}"))
            if row.action == "checkpoint" and row.detail:
                recorded.append((row.seq, row.id, row.detail))
            prev, expected_seq, last_seq = row.hash, row.seq + 1, row.seq
    for anchor in sorted(known.anchors, key=lambda a: a.seq):
        if anchor.seq > last_seq:
            problems.append(
                ChainProblem(
                    last_seq + 1,
                    None,
                    f"entries {last_seq + 1}..{anchor.seq} are missing (the chain was cut): "
                    f"{anchor.source} covers seq {anchor.seq}",
                )
            )
            break
    for seq, row_id, name in recorded:
        if name not in known.names:
            problems.append(ChainProblem(seq, row_id, f"checkpoint {name} is missing from storage"))
    return problems
