"""Dashboard figures cached against a ledger version, so the home page stays fast at 1M rows.

Every flush that touches ledger rows (receivables, payments, allocations, customers, cases,
write-offs) replaces the version token in the same transaction; a cached result is used only
while the token it was computed under is still current, so the numbers always match the lists.
Code that writes ledger rows with Core statements (bulk imports) calls ``bump_ledger_version``.

Within a web request the token costs no statement of its own: the user loader selects it with
the user (``version_column``) and keeps it for the request (``remember_version``); any flush
or bump in the request forgets it, so a request that writes reads the new token. The settings
(``setting``) and other small reference data are cached against the same token: a changed
setting, unit or company is a ledger change, so the next request reads them afresh.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from backoffice import memo
from backoffice.models.setting import Setting

KEY = "ledger_version"
LEDGER_TABLES = frozenset({
    "receivable", "payment", "payment_allocation", "customer", "credit_event",
    "collection_case", "litigation", "writeoff_application", "sales_unit", "company",
    "setting", "target", "case_cost",
    "contract",  # Art.3: its charge terms move the leadership report's charges
    # Issue 15: the dashboard's "in dispute" (争议中) figure moves with the open disputes
    "balance_dispute", "balance_dispute_line",
})
_MAX_ENTRIES = 512
_cache: OrderedDict[tuple, Any] = OrderedDict()
_lock = threading.Lock()
_REQUEST_KEY = "ledger_version"


def bump_ledger_version(session: Session) -> None:
    """Give the ledger a new version token (in the caller's transaction)."""
    memo.forget(_REQUEST_KEY)
    token = uuid.uuid4().hex
    conn = session.connection()
    updated = conn.execute(update(Setting).where(Setting.key == KEY).values(value=token))
    if updated.rowcount == 0:
        from backoffice.models.base import utcnow

        now = utcnow()
        conn.execute(Setting.__table__.insert().values(key=KEY, value=token, created_at=now,
                                                       updated_at=now))


def version_column() -> Any:
    """SQL: the current token, as a column to select along with another row."""
    return select(Setting.value).where(Setting.key == KEY).scalar_subquery().label(KEY)


def remember_version(token: str | None) -> None:
    """Use ``token`` (read by this request, e.g. with the user) until the request writes."""
    memo.remember(_REQUEST_KEY, token or "0")


def ledger_version(session: Session) -> str:
    known = memo.recall(_REQUEST_KEY)
    if known is not None:
        return known
    return session.scalar(select(Setting.value).where(Setting.key == KEY)) or "0"


@event.listens_for(Session, "after_flush")
def _bump_on_ledger_change(session: Session, flush_context) -> None:
    # Any flush may have changed what the remembered token stands for: read it again.
    memo.forget(_REQUEST_KEY)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if getattr(obj, "__tablename__", None) in LEDGER_TABLES:
            bump_ledger_version(session)
            return


def cached(
    session: Session, key: Hashable, as_of: date | None, compute: Callable[[], Any]
) -> Any:
    """``compute()`` once per (key, as_of, ledger version); later calls reuse the result.

    The result is shared by every request of the process: it must not depend on anything
    the key does not name (user, scope, language), and callers must not change it.
    """
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


def setting(session: Session, key: str) -> Any:
    """The value of setting ``key`` (None when unset), as of the current ledger version.

    In a request that knows the version, every setting comes from one in-process snapshot of
    the setting table (one statement per version, not one per setting and request); elsewhere
    (jobs, commands) it is read directly. The caller gets its own copy to change.
    """
    if memo.recall(_REQUEST_KEY) is None:
        return session.scalar(select(Setting.value).where(Setting.key == key))
    snapshot = cached(session, ("settings",), None, lambda: _read_settings(session))
    return copy.deepcopy(snapshot.get(key))


def _read_settings(session: Session) -> dict[str, Any]:
    rows = session.execute(select(Setting.key, Setting.value).where(Setting.key != KEY))
    return dict(rows.all())


def clear() -> None:
    with _lock:
        _cache.clear()
