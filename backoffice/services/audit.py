"""The audit trail (SPEC §3.8): who, when, what, before and after; append-only, hash-chained.

Every ORM flush writes one audit row per created, changed or deleted object, in the same
transaction as the change (``after_flush``). Logins, denials, downloads and job runs call
``record``. Each row's hash covers its content and the previous row's hash, and ``seq`` is
contiguous, so ``verify_chain`` finds a row that was altered, inserted or removed.

Issue 10: the hash is an HMAC under a key kept outside the database (``audit_key``), and the
entry names its key id, so whoever can write to the table cannot recompute the chain. Entries
written before the upgrade have no key id and a plain SHA-256; they are accepted only before
the first keyed entry, whose HMAC covers their last hash (its ``prev_hash``), so editing one of
them breaks that link. Signed checkpoints of (seq, head) kept in storage and in archive
manifests (``checkpoints``) show a cut tail and a chain re-hashed from an earlier point.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import has_request_context, request
from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditAction, AuditLog
from backoffice.models.base import utcnow
from backoffice.services.audit_key import canonical, keyring, sign
from backoffice.services.locks import serialize

GENESIS = "0" * 64
_LOCK_KEY = 0x71_71_A0_D1  # serialises appends to the chain

# Tables whose rows are not audited: the trail itself and pure bookkeeping of logins.
_NOT_AUDITED = {"audit_log", "login_throttle"}
# Columns never copied into the trail.
_SECRET = {"password_hash", "token_hash"}


class SealedError(Exception):
    """A change to a record sealed into the archive (Art.22) was attempted."""


@dataclass(frozen=True)
class Actor:
    id: int | None
    name: str
    ip: str | None = None


_actor_stack: list[Actor] = []


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Attribute every change inside the block to ``actor`` (CLI commands and jobs)."""
    _actor_stack.append(actor)
    try:
        yield actor
    finally:
        _actor_stack.pop()


def current_actor() -> Actor:
    if _actor_stack:
        return _actor_stack[-1]
    if has_request_context():
        from flask_login import current_user

        ip = request.remote_addr
        if getattr(current_user, "is_authenticated", False):
            return Actor(current_user.id, current_user.username, ip)
        return Actor(None, "anonymous", ip)
    return Actor(None, "system")


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    return str(value)


_COLUMNS: dict[type, tuple[str, ...]] = {}


def _columns(obj: Any) -> tuple[str, ...]:
    cls = type(obj)
    keys = _COLUMNS.get(cls)
    if keys is None:
        keys = _COLUMNS[cls] = tuple(
            c.key for c in inspect(cls).column_attrs if c.key not in _SECRET
        )
    return keys


def snapshot(obj: Any) -> dict[str, Any]:
    """The object's column values as loaded; a column never set reads as None.

    Read straight from the instance state (this runs once per row of a bulk import); the
    attribute API would hand back its NO_VALUE/NEVER_SET markers for unset columns.
    """
    loaded = inspect(obj).dict
    return {k: _plain(loaded.get(k)) for k in _columns(obj)}


def _changes(obj: Any) -> tuple[dict, dict]:
    state = inspect(obj)
    before, after = {}, {}
    for key in _columns(obj):
        hist = state.attrs[key].history
        if hist.has_changes():
            before[key] = _plain(hist.deleted[0]) if hist.deleted else None
            after[key] = _plain(hist.added[0]) if hist.added else None
    return before, after


def _identity(obj: Any) -> str | None:
    ident = inspect(obj).identity
    if ident is None:
        # Inside after_flush a new row has its primary key but not yet its identity key:
        # read the key from the instance, or every "create" entry lost its entity_id.
        ident = inspect(type(obj)).primary_key_from_instance(obj)
        if all(v is None for v in ident):
            return None
    return ":".join(str(v) for v in ident)


def entry_hash(row: dict[str, Any], key: bytes | None = None) -> str:
    """The hash of one entry: its content plus the previous entry's hash.

    An entry with a ``key_id`` is an HMAC-SHA256 under that key (``key``) of a body that
    includes the key id; one without (written before issue 10) is the plain SHA-256.
    """
    body = {
        "seq": row["seq"],
        "at": row["at"].isoformat(timespec="microseconds"),
        "actor_id": row["actor_id"],
        "actor": row["actor"],
        "action": row["action"],
        "entity": row["entity"],
        "entity_id": row["entity_id"],
        "before": row["before"],
        "after": row["after"],
        "detail": row["detail"],
        "ip": row["ip"],
        "prev_hash": row["prev_hash"],
    }
    if row.get("key_id") is None:
        return hashlib.sha256(canonical(body)).hexdigest()
    if key is None:
        raise ValueError(f"entry {row['seq']} is signed with key {row['key_id']}: key needed")
    body["key_id"] = row["key_id"]
    return sign(key, canonical(body))


def _append(session: Session, entries: list[dict[str, Any]]) -> None:
    # Read the chain's head and append under a lock, or two processes appending at once both
    # take the same next seq and one fails (seen with two RQ workers on SQLite).
    serialize(session, _LOCK_KEY)
    # The ring is read under the lock: after a rotation no entry is signed with the old key.
    ring = keyring()
    conn = session.connection()
    last = conn.execute(
        select(AuditLog.seq, AuditLog.hash).order_by(AuditLog.seq.desc()).limit(1)
    ).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    for entry in entries:
        seq += 1
        entry["seq"] = seq
        entry["prev_hash"] = prev
        entry["key_id"] = ring.current_id
        # The database keeps microseconds; hash exactly what will be read back.
        entry["at"] = entry["at"].replace(microsecond=entry["at"].microsecond)
        entry["hash"] = prev = entry_hash(entry, ring.current_key)
    conn.execute(insert(AuditLog), entries)


def _entry(
    action: AuditAction | str,
    entity=None,
    entity_id=None,
    before=None,
    after=None,
    detail=None,
    actor: Actor | None = None,
) -> dict[str, Any]:
    actor = actor or current_actor()
    return {
        "at": utcnow(),
        "actor_id": actor.id,
        "actor": actor.name,
        "action": str(getattr(action, "value", action)),
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "before": _plain(before),
        "after": _plain(after),
        "detail": detail,
        "ip": actor.ip,
    }


def record(
    session: Session,
    action: AuditAction | str,
    *,
    entity: str | None = None,
    entity_id: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    detail: str | None = None,
    actor: Actor | None = None,
) -> None:
    """Append one entry in ``session``'s transaction (the caller commits)."""
    _append(session, [_entry(action, entity, entity_id, before, after, detail, actor)])


@contextlib.contextmanager
def in_system_language() -> Iterator[None]:
    """Write a detail inside this block in the system's language (``BABEL_DEFAULT_LOCALE``,
    Chinese), whoever's request writes it: the trail is read by auditors as it was written, so
    a detail is a sentence they read rather than a code (issue 11). Outside an application
    context it changes nothing."""
    from flask import current_app, has_app_context
    from flask_babel import force_locale

    if not has_app_context():
        yield
        return
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")):
        yield


def record_now(action: AuditAction | str, **kw: Any) -> None:
    """Append one entry in a transaction of its own (logins, denials, alerts)."""
    from backoffice.extensions import db

    with Session(db.engine) as session:
        record(session, action, **kw)
        session.commit()


def _auditable(obj: Any) -> bool:
    return getattr(obj, "__tablename__", None) not in _NOT_AUDITED


@event.listens_for(Session, "after_flush")
def _capture(session: Session, flush_context) -> None:
    if session.info.get("audit_off"):
        return
    entries = []
    for obj in session.new:
        if _auditable(obj):
            entries.append(
                _entry(AuditAction.CREATE, obj.__tablename__, _identity(obj), after=snapshot(obj))
            )
    for obj in session.dirty:
        if _auditable(obj) and session.is_modified(obj, include_collections=False):
            before, after = _changes(obj)
            if before or after:
                entries.append(
                    _entry(AuditAction.UPDATE, obj.__tablename__, _identity(obj), before, after)
                )
    for obj in session.deleted:
        if _auditable(obj):
            entries.append(
                _entry(AuditAction.DELETE, obj.__tablename__, _identity(obj), before=snapshot(obj))
            )
    if entries:
        _append(session, entries)


def verify_chain(session: Session, batch: int = 5000, known: Any = None) -> list:
    """Walk the chain in order; return every problem found (empty when intact).

    The walk lives in ``audit_verify`` (links, HMACs, key order, signed checkpoints). Read-only.
    """
    from backoffice.services.audit_verify import verify_chain as walk

    return walk(session, batch, known)


# The seal (Art.22): the before_flush guard and ``sealers_of`` live in ``audit_seal``; importing
# it registers the guard wherever the trail is, and keeps ``audit.sealers_of`` importable.
from backoffice.services.audit_seal import sealers_of  # noqa: E402, F401
