"""Serialising a read-then-write across processes (gunicorn workers, RQ work horses).

Code that reads the current maximum and writes the next value (the audit chain's next seq, the
next case or write-off number) must read under a lock that every writer of that value takes,
held until its transaction ends; otherwise two processes read the same maximum and one of them
fails on the unique key.
"""

from __future__ import annotations

import zlib

from sqlalchemy import text
from sqlalchemy.orm import Session


def lock_key(name: str) -> int:
    """A stable 32-bit advisory-lock key for ``name``."""
    return zlib.crc32(name.encode())


def serialize(session: Session, key: int) -> None:
    """Take the lock ``key`` in ``session``'s transaction (released at commit or rollback).

    PostgreSQL: a transaction-scoped advisory lock, so only writers of the same value wait.
    SQLite has one write lock for the whole database and takes it at a transaction's first
    write, not at its reads: a write that changes nothing takes it (waiting up to the
    connection's busy_timeout for another writer), so the reads that follow see the latest
    committed data.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    elif conn.dialect.name == "sqlite":
        conn.execute(text("UPDATE audit_log SET seq = seq WHERE 0"))
