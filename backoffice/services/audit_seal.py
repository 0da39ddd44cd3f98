"""The archive seal (Art.22) in the flush: a record sealed into the archive, and everything
that belongs to it, cannot change any more, whatever door the change comes through.

``sealers_of`` finds every sealed record whose seal covers an object (itself, its case, its
write-off, transitively), following foreign keys so a pending row or a moved key is caught.
The ``before_flush`` guard raises ``audit.SealedError`` for any change the model does not
leave open (``__seal_appendable__``, ``__seal_mutable__``), and refuses any change to an
audit entry. Split from ``services.audit``, which imports this module (and so registers the
guard) and re-exports ``sealers_of``.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE

from backoffice.models.audit import AuditLog


def _load(session: Session, cls: type, pk: Any) -> Any:
    if pk is None:
        return None
    with session.no_autoflush:
        return session.get(cls, pk)


def _parents(session: Session, obj: Any) -> list[Any]:
    """The records ``obj`` belongs to, through the relationships its model names in
    ``__sealed_with__`` (default: its ``__scope_parent__``).

    Follows foreign keys rather than relationships, because a new row (a collection action
    added to a sealed case) has only its ``case_id`` set while it is pending; and follows the
    key's old value too, so a row cannot be moved out of a sealed record.
    """
    cls = type(obj)
    names = getattr(cls, "__sealed_with__", None)
    if names is None:
        parent = getattr(cls, "__scope_parent__", None)
        names = (parent,) if parent else ()
    if not names:
        return []
    state = inspect(obj)
    found: list[Any] = []
    for name in names:
        rel = state.mapper.relationships[name]
        target = state.attrs[name].loaded_value
        if target is not None and target is not NO_VALUE:
            found.append(target)
        fk = next(iter(rel.local_columns))
        hist = state.attrs[fk.key].history
        keys = [*hist.added, *hist.unchanged, *hist.deleted]
        if state.key is not None and not hist.unchanged and not hist.deleted:
            # Expired after a commit (or set without being read): the committed value.
            pk = state.mapper.primary_key[0]
            with session.no_autoflush:
                keys.append(session.execute(select(fk).where(pk == state.identity[0])).scalar())
        for key in keys:
            parent = _load(session, rel.mapper.class_, key)
            if parent is not None:
                found.append(parent)
    return found


def sealers_of(session: Session, obj: Any) -> list[Any]:
    """Every record whose seal covers ``obj``: itself if it carries a seal (``sealed_at``),
    then, transitively, the sealers of each record it belongs to (Art.22).

    A write-off's items, decisions and evidence are sealed with it, and with its case; a
    case's records and documents with the case; an instalment with its plan's case.
    """
    out: list[Any] = []
    seen: set[int] = set()
    todo = [obj]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if hasattr(type(current), "sealed_at"):
            out.append(current)
        todo.extend(_parents(session, current))
    return out


def _sealed_before_this_flush(session: Session, sealer: Any) -> bool:
    """Whether ``sealer`` (a record carrying ``sealed_at``) was sealed before this flush.

    The flush that sets ``sealed_at`` (the sealing itself) is allowed. The committed value is
    read from the database whenever the session has not loaded it (expired after a commit),
    so neither an expired attribute nor an attempt to set ``sealed_at`` back can unseal.
    """
    state = inspect(sealer)
    if state.key is None:  # new in this flush: nothing committed to be sealed
        return False
    hist = state.attrs.sealed_at.history
    if hist.deleted:
        return hist.deleted[0] is not None
    if hist.unchanged:
        return hist.unchanged[0] is not None
    cls = type(sealer)
    pk = inspect(cls).primary_key[0]
    with session.no_autoflush:
        committed = session.execute(
            select(cls.sealed_at).where(pk == state.identity[0])
        ).scalar_one_or_none()
    return committed is not None


def _allowed_after_seal(session: Session, obj: Any) -> bool:
    """The few changes the seal leaves open, declared on the model: the recourse ledger keeps
    booking recoveries after the write-off (Art.18): ``__seal_appendable__`` lets new rows in,
    ``__seal_mutable__`` names the columns that may still change."""
    cls = type(obj)
    if obj in session.new:
        return getattr(cls, "__seal_appendable__", False)
    if obj in session.deleted:
        return False
    before, _after = _changes(obj)
    return bool(before) and set(before) <= getattr(cls, "__seal_mutable__", frozenset())


@event.listens_for(Session, "before_flush")
def _guard(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted) + list(session.new):
        if isinstance(obj, AuditLog) and obj not in session.new:
            raise PermissionError("audit entries are append-only")
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        sealed = any(_sealed_before_this_flush(session, s) for s in sealers_of(session, obj))
        if sealed and not _allowed_after_seal(session, obj):
            raise SealedError(
                gettext(
                    "%(record)s #%(id)s is sealed in the archive",
                    record=type(obj).__name__,
                    id=_identity(obj),
                )
            )


# Last: ``services.audit`` imports this module at its end, and either may be imported first.
from backoffice.services.audit import SealedError, _changes, _identity  # noqa: E402
