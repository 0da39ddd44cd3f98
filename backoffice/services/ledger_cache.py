"""Dashboard figures cached against a ledger version, so the home page stays fast at 1M rows.

Every flush that touches ledger rows (receivables, payments, allocations, customers, cases,
write-offs) replaces the version token in the same transaction; a cached result is used only
while the token it was computed under is still current, so the numbers always match the lists.
Code that writes ledger rows with Core statements (bulk imports) calls ``bump_ledger_version``.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from backoffice.models.setting import Setting

KEY = "ledger_version"
LEDGER_TABLES = frozenset({
    "receivable", "payment", "payment_allocation", "customer", "credit_event",
    "collection_case", "litigation", "writeoff_application", "sales_unit", "company",
    "setting", "target",
})
_MAX_ENTRIES = 256
_cache: OrderedDict[tuple, Any] = OrderedDict()
_lock = threading.Lock()


def bump_ledger_version(session: Session) -> None:
    """Give the ledger a new version token (in the caller's transaction)."""
    token = uuid.uuid4().hex
    conn = session.connection()
    updated = conn.execute(update(Setting).where(Setting.key == KEY).values(value=token))
    if updated.rowcount == 0:
        from backoffice.models.base import utcnow

        now = utcnow()
        conn.execute(Setting.__table__.insert().values(key=KEY, value=token, created_at=now,
                                                       updated_at=now))


def ledger_version(session: Session) -> str:
    return session.scalar(select(Setting.value).where(Setting.key == KEY)) or "0"


@event.listens_for(Session, "after_flush")
def _bump_on_ledger_change(session: Session, flush_context) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if getattr(obj, "__tablename__", None) in LEDGER_TABLES:
            bump_ledger_version(session)
            return


def cached(session: Session, key: tuple, as_of: date, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per (key, as_of, ledger version); later calls reuse the result."""
    full_key = (key, as_of, ledger_version(session))
    with _lock:
        if full_key in _cache:
            _cache.move_to_end(full_key)
            return _cache[full_key]
    value = compute()
    with _lock:
        _cache[full_key] = value
        while len(_cache) > _MAX_ENTRIES:
            _cache.popitem(last=False)
    return value


def clear() -> None:
    with _lock:
        _cache.clear()
