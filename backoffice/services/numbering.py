"""Document numbers of the form ``<PREFIX><YEAR>-<sequence>`` (QQ2026-00001, HX2026-00001,
DA2026-00001): the next one after the highest in use, read under a lock per prefix that is held
until the caller's transaction ends, so two users or jobs numbering at once get consecutive
numbers instead of one failing on the column's unique key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.services.locks import lock_key, serialize


def next_number(session: Session, column: Any, prefix: str, year: int, width: int = 5) -> str:
    head = f"{prefix}{year}-"
    serialize(session, lock_key(f"number:{prefix}"))
    last = session.scalar(select(func.max(column)).where(column.like(head + "%")))
    return f"{head}{int(last.removeprefix(head)) + 1 if last else 1:0{width}d}"
