"""Document numbers of the form ``<PREFIX><YEAR>-<sequence>`` (QQ2026-00001, HX2026-00001,
DA2026-00001): the next one after the highest in use. The column is unique, so two concurrent
writers cannot both keep the same number: the second one's commit fails and is retried."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def next_number(session: Session, column: Any, prefix: str, year: int, width: int = 5) -> str:
    head = f"{prefix}{year}-"
    last = session.scalar(select(func.max(column)).where(column.like(head + "%")))
    return f"{head}{int(last.removeprefix(head)) + 1 if last else 1:0{width}d}"
