"""Compare-and-set for workflow transitions: two people deciding one record at the same moment.

Two team leads accept the same case application, two approvers press "approve" on the same
write-off step, finance routes a form while the unit is still answering it: each request read
the record in the same state and decides on it. Without a guard both succeed: two transitions
in the audit trail, two filing notices, the first decider overwritten, or a unique key that
fails as a 500.

Every service that changes the state of a governed record first calls ``claim``. It locks the
record's row until the transaction ends (PostgreSQL ``SELECT … FOR UPDATE``; SQLite's database
write lock, the only lock it has) and compares the fields the caller read with the committed
row. If another transaction changed them meanwhile, ``StaleStateError``: the request loses
before it has written anything (no notice file, no audit entry) and the view answers 409.
The winner's changes go through the ORM as usual, so the audit trail and the seal guard see
them.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from backoffice.services.locks import serialize


class StaleStateError(ValueError):
    """The record changed under the request (a concurrent decision won); views answer 409."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or gettext("Someone else has just changed this record; reload the page and try again.")
        )


def _as_read(state: Any, field: str) -> tuple[bool, Any]:
    """(True, value) as the caller loaded ``field``; (False, None) if it was never loaded."""
    hist = state.attrs[field].history
    if hist.deleted:  # changed in this session: compare what was read before the change
        return True, hist.deleted[0]
    if hist.unchanged:
        return True, hist.unchanged[0]
    return False, None


def claim(session: Session, obj: Any, *fields: str) -> None:
    """Lock ``obj``'s row for the rest of the transaction and check that ``fields`` (its state
    columns) still hold what the caller read; raise ``StaleStateError`` if not.

    Call it before the service checks its rules and writes anything, so the loser of a race
    changes nothing. A field the caller never loaded is read under the lock. A record added
    in this transaction is nobody else's yet: nothing to claim. Idempotent within a
    transaction (the lock is already held).
    """
    state = inspect(obj)
    if state.key is None:
        return
    mapper = state.mapper
    key = mapper.primary_key[0]
    columns = [mapper.columns[f] for f in fields] or [key]
    with session.no_autoflush:
        if session.connection().dialect.name == "sqlite":
            serialize(session, 0)  # SQLite: the database write lock (FOR UPDATE is ignored)
        row = session.execute(
            select(*columns).where(key == state.identity[0]).with_for_update()
        ).one_or_none()
        if row is None:  # deleted meanwhile
            raise StaleStateError()
        for field, committed in zip(fields, row, strict=False):
            loaded, value = _as_read(state, field)
            if loaded and value != committed:
                raise StaleStateError()
