"""``Idempotency-Key``: a retried push gets the first answer back and changes nothing.

The first request with a key claims it (a row unique per token and key) before it runs, and
stores its answer when done. A retry with the same key and the same request gets that answer,
marked as a replay; the same key with a different request is refused (422); a retry while the
first is still running gets 409. A claim left behind by a crashed process is taken over after
``STALE`` — harmless, since an import of the same items changes nothing the second time.

Rows are written with Core statements, so the audit trail records the call, not the stored
answer.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backoffice.api.problems import ApiProblem
from backoffice.models.api import ApiIdempotency
from backoffice.models.base import utcnow

STALE = timedelta(minutes=15)
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,200}$")
T = ApiIdempotency.__table__


def request_hash(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not _KEY_RE.fullmatch(key):
        raise ApiProblem("bad-request", "Idempotency-Key: 1–200 printable ASCII characters")
    return key


def claim(session: Session, token_id: int, key: str, req_hash: str) -> tuple[int, Any] | None:
    """Claim ``key`` for this request (None: go ahead), or the stored (status, body) to replay.

    Commits the session: the claim must be visible to a concurrent retry at once.
    """
    session.commit()
    try:
        session.execute(
            insert(T).values(
                token_id=token_id,
                key=key,
                request_hash=req_hash,
                status=None,
                response=None,
                created_at=utcnow(),
            )
        )
        session.commit()
        return None
    except IntegrityError:
        session.rollback()
    row = session.execute(
        select(T.c.request_hash, T.c.status, T.c.response, T.c.created_at).where(
            T.c.token_id == token_id, T.c.key == key
        )
    ).one()
    if row.request_hash != req_hash:
        raise ApiProblem("idempotency-key-reused")
    if row.status is not None:
        return row.status, row.response
    if utcnow() - row.created_at < STALE:
        raise ApiProblem("idempotency-in-progress", headers={"Retry-After": "5"})
    taken = session.execute(
        update(T)
        .where(T.c.token_id == token_id, T.c.key == key, T.c.created_at == row.created_at)
        .values(created_at=utcnow())
    ).rowcount
    session.commit()
    if not taken:  # another retry took it over first
        raise ApiProblem("idempotency-in-progress", headers={"Retry-After": "5"})
    return None


def store(session: Session, token_id: int, key: str, status: int, body: dict) -> None:
    """Keep the answer for retries (commits)."""
    session.execute(
        update(T)
        .where(T.c.token_id == token_id, T.c.key == key)
        .values(status=status, response=body)
    )
    session.commit()


def release(session: Session, token_id: int, key: str) -> None:
    """Give the key back after a failure of ours, so a retry runs afresh (commits)."""
    session.rollback()
    session.execute(delete(T).where(T.c.token_id == token_id, T.c.key == key))
    session.commit()
