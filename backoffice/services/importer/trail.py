"""Writing an import's new rows in bulk, with one audit entry per chunk (SPEC §3.8, issue 13).

The ORM writes one audit entry per object (``audit._capture``); at 100k rows that alone was a
fifth of an import. New receivables and new customers are instead inserted with one
``executemany`` per chunk, and each chunk gets ONE ``create`` entry in the hash chain that
carries every row it created: the column names, the rows' values and ids, and the SHA-256 of
exactly those values. The entry is appended through ``audit.record``, so it is chained and
signed like any other, and ``audit verify`` checks it; ``verify_batch`` also checks that each
chunk's rows match their hash and that no row the batch created or changed lacks an entry.

Updates (a changed amount) and payments stay on the ORM path, one entry per object, with
before and after: they are few, and their allocations need the ORM.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.orm import Session

from backoffice.models.audit import AuditAction, AuditLog
from backoffice.models.base import utcnow
from backoffice.models.customer import Customer
from backoffice.models.receivable import Receivable
from backoffice.services import audit
from backoffice.services.audit_key import canonical
from backoffice.services.importer import fts_bulk
from backoffice.services.ledger_cache import bump_ledger_version

DETAIL = "import batch %s"


def rows_sha256(columns: list[str], rows: list[list[Any]], same: dict[str, Any]) -> str:
    """The hash a chunk entry carries: of its columns, its rows' values and the values all its
    rows share, as canonical JSON."""
    body = {"columns": columns, "rows": rows, "same": same}
    return hashlib.sha256(canonical(body)).hexdigest()


def _plain(value: Any) -> Any:
    """``audit._plain`` for the scalar types an import writes, without its recursion."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is Decimal:
        return str(value)
    if kind is date or kind is datetime:
        return value.isoformat()
    return audit._plain(value)


_DEFAULTS: dict[type, dict[str, Any]] = {}


def _scalar_defaults(model: type) -> dict[str, Any]:
    """Columns with a constant default (``from_import=False``…): written, so recorded too."""
    found = _DEFAULTS.get(model)
    if found is None:
        found = _DEFAULTS[model] = {
            c.key: c.default.arg
            for c in model.__table__.columns
            if c.default is not None and c.default.is_scalar
        }
    return found


_Processors = list[tuple[str, Any]]


def _processors(conn: Connection, table: Table, columns: list[str]) -> _Processors:
    """Each column's bind processor: what SQLAlchemy does to a value before the driver sees
    it (cents for ``Money`` on SQLite, an enum's value, a date's text)."""
    return [(c, table.c[c].type._cached_bind_processor(conn.dialect)) for c in columns]


def _bound_column(values: list[Any], process: Any) -> list[Any]:
    """One column's values as the driver takes them, through a memo (values repeat)."""
    if process is None:
        return values
    memo: dict[Any, Any] = {None: None}
    out = []
    for value in values:
        try:
            out.append(memo[value])
        except KeyError:
            memo[value] = bound = process(value)
            out.append(bound)
    return out


def _executemany(
    conn: Connection, table: Table, by_column: dict[str, list], key: tuple[str, ...], batch_id: int
) -> dict[tuple, int]:
    """Insert the rows in one statement per chunk at the driver's level (SQLAlchemy's per-row
    statement building was half of the insert's time) and return their new ids by ``key``."""
    columns = list(by_column)
    bound = [
        _bound_column(by_column[c], process) for c, process in _processors(conn, table, columns)
    ]
    if conn.dialect.name == "postgresql":
        found = _insert_unnest(conn, table, columns, bound, key)
    else:
        found = _insert_sqlite(conn, table, columns, bound, by_column, key, batch_id)
    if len(found) != len(bound[0]):
        raise RuntimeError(f"{table.name}: {len(bound[0])} rows inserted, {len(found)} read back")
    return found


def _insert_unnest(
    conn: Connection, table: Table, columns: list[str], bound: list[list], key: tuple[str, ...]
) -> dict[tuple, int]:
    """PostgreSQL: the whole chunk as one array per column, inserted by ONE statement that
    returns the new ids with their keys (one round trip instead of one per row)."""
    arrays = ", ".join(f"%s::{table.c[c].type.compile(conn.dialect)}[]" for c in columns)
    keys = ", ".join(key)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - model names
        f"SELECT * FROM unnest({arrays}) RETURNING id, {keys}"
    )
    return {tuple(r[1:]): r[0] for r in conn.exec_driver_sql(sql, tuple(bound))}


def _insert_sqlite(
    conn: Connection,
    table: Table,
    columns: list[str],
    bound: list[list],
    by_column: dict[str, list],
    key: tuple[str, ...],
    batch_id: int,
) -> dict[tuple, int]:
    """SQLite: one executemany (it cannot return rows), then the new ids. SQLite has one writer
    and this transaction holds the lock, so the rows take the ids after the largest in
    insertion order; when exactly they hold the ids above the old largest, they are numbered by
    position. Otherwise they are read back by ``key`` and import batch."""
    before = conn.exec_driver_sql(f"SELECT max(id) FROM {table.name}").scalar() or 0  # noqa: S608
    marks = ", ".join(["?"] * len(columns))
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    fts_bulk.insert(conn, table, sql, list(zip(*bound, strict=True)), before)
    keys = list(zip(*(by_column[k] for k in key), strict=True))
    count, low, high = conn.exec_driver_sql(
        f"SELECT count(*), min(id), max(id) FROM {table.name} WHERE id > ?",  # noqa: S608
        (before,),
    ).one()
    if count == len(keys) == len(set(keys)) and high - low + 1 == count:
        return dict(zip(keys, range(low, high + 1), strict=True))
    wanted = set(keys)
    query = select(table.c.id, *(table.c[k] for k in key)).where(table.c.id > before)
    if "import_batch_id" in table.c:
        query = query.where(table.c.import_batch_id == batch_id)
    return {tuple(r[1:]): r[0] for r in conn.execute(query) if tuple(r[1:]) in wanted}


def insert_chunk(
    session: Session, model: type, rows: list[dict[str, Any]], batch_id: int, key: tuple[str, ...]
) -> dict[tuple, int]:
    """Insert ``rows`` (dicts with the same keys) into ``model``'s table in one executemany,
    record ONE audit entry for all of them, and return their new ids by ``key`` (the columns
    that identify a row). In the caller's transaction."""
    if not rows:
        return {}
    now = utcnow()
    defaults = {k: v for k, v in _scalar_defaults(model).items() if k not in rows[0]}
    for row in rows:
        row.update(defaults)
        row["created_at"] = row["updated_at"] = now
    by_column = {c: [row[c] for row in rows] for c in rows[0]}
    ids = _executemany(session.connection(), model.__table__, by_column, key, batch_id)
    # Columns with one value in the whole chunk (company, status, batch, times…) are written
    # once, under "same"; the others per row, with the row's id first.
    varying = [c for c, column in by_column.items() if len(set(column)) > 1]
    same = {c: _plain(column[0]) for c, column in by_column.items() if c not in varying}
    columns = ["id", *varying]
    plain = [list(map(_plain, by_column[c])) for c in varying]
    keys = zip(*(by_column[k] for k in key), strict=True)
    values = [[ids[k] for k in keys], *plain]
    values = [list(v) for v in zip(*values, strict=True)]
    lo, hi = min(ids.values()), max(ids.values())
    after = {"import_batch": batch_id, "count": len(values), "columns": columns, "rows": values,
             "same": same, "sha256": rows_sha256(columns, values, same)}  # fmt: skip
    actor = audit.current_actor()
    # One entry in the chain for the chunk, signed and linked by the audit service. Its values
    # are plain already, so ``audit.record``'s recursive conversion is skipped.
    entry = {"at": now, "actor_id": actor.id, "actor": actor.name,
             "action": AuditAction.CREATE.value, "entity": model.__tablename__,
             "entity_id": f"{lo}..{hi}"[:64], "before": None, "after": after,
             "detail": DETAIL % batch_id, "ip": actor.ip}  # fmt: skip
    audit._append(session, [entry])
    bump_ledger_version(session)  # the ORM hook that does it sees no object here
    return ids


def verify_batch(session: Session, batch_id: int) -> list[str]:
    """Problems with the audit trail of import batch ``batch_id`` (empty when complete).

    Every chunk entry's rows must match the hash it carries, no row may be listed twice, and
    every receivable that names the batch must have its own entry (created in a chunk, or
    changed: a per-object ``update``). Customers a chunk lists must exist. Reads only.
    """
    problems: list[str] = []
    listed: dict[str, set[int]] = {"receivable": set(), "customer": set()}
    entries = session.execute(
        select(AuditLog.seq, AuditLog.entity, AuditLog.after).where(
            AuditLog.action == AuditAction.CREATE.value, AuditLog.detail == DETAIL % batch_id
        )
    )
    for seq, entity, after in entries:
        after = after or {}
        columns, rows = after.get("columns") or [], after.get("rows") or []
        digest = rows_sha256(columns, rows, after.get("same") or {})
        if digest != after.get("sha256") or len(rows) != after.get("count"):
            problems.append(f"entry {seq}: its rows do not match their hash")
        ids = {row[0] for row in rows}
        seen = listed.setdefault(entity, set())
        if len(ids) != len(rows) or ids & seen:
            problems.append(f"entry {seq}: a row is listed twice")
        seen |= ids
    mine = set(session.scalars(select(Receivable.id).where(Receivable.import_batch_id == batch_id)))
    missing = mine - listed["receivable"]
    if missing:
        changed = {
            int(e)
            for e in session.scalars(
                select(AuditLog.entity_id).where(
                    AuditLog.entity == "receivable",
                    AuditLog.action == AuditAction.UPDATE.value,
                    AuditLog.entity_id.in_([str(i) for i in missing]),
                )
            )
        }
        for rid in sorted(missing - changed):
            problems.append(f"receivable {rid} has no audit entry")
    if listed["customer"]:
        known = set(session.scalars(select(Customer.id).where(Customer.id.in_(listed["customer"]))))
        for cid in sorted(listed["customer"] - known):
            problems.append(f"customer {cid} is listed but does not exist")
    return problems
