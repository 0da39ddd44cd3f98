"""The ids statement of a list page: keyset paging and searches the index answers (issue 13).

``FastListMixin`` loads a page in two statements: the page's ids, then their rows. This module
builds the first one.

**Keyset ("seek") paging.** ``OFFSET 800000`` walks 800,000 index entries whatever the index.
The list's order is always (sort column, id), both in the same direction, so "the next page" is
"the rows after the last one shown": ``(due_date, id) < (:due_date, :id)``, one index descent.
The pager's next and previous links carry that position (``after`` / ``before``, the last or
first row's sort value and id); a page number typed or picked (``page=N`` alone) still pages by
``OFFSET``. A position that cannot be read (an edited URL, a sort column changed since) is
ignored and the page number is used.

**Searches by union.** The search matches rows through several indexes (document number, the
customer's name, the ERP code); each is one branch. Rather than ``id IN (union of ids)`` (the
database then fetches every matching row again by its key, only to read its sort column and
sort it: 6,900 look-ups for a name shared by 345 customers at 1M rows), each branch selects the
rows' (sort value, id) under the page's filters and scope, and the page is the first rows of
their union: on PostgreSQL an index-only scan of ``(customer_id, due_date, id)`` per customer.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Column, literal, select, tuple_, union
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

#: Query-string names of the keyset position: rows after the last one shown, or before the first.
AFTER, BEFORE = "after", "before"


def order_columns(query: Any, model: type) -> list[tuple[Column, bool]] | None:
    """The (column, descending) pairs of the query's ORDER BY, when all are plain columns of
    ``model``'s table ending with its primary key; None otherwise (keyset and union paths off)."""
    table = model.__table__
    pk = sa_inspect(model).primary_key[0]
    out: list[tuple[Column, bool]] = []
    for clause in query._order_by_clauses:
        desc = False
        element = clause
        if isinstance(clause, UnaryExpression):
            if clause.modifier is operators.desc_op:
                desc = True
            elif clause.modifier is not operators.asc_op:
                return None
            element = clause.element
        if not isinstance(element, Column) or element.table is not table:
            return None
        if all(c is not element for c, _ in out):
            out.append((element, desc))
    if not out or out[-1][0] is not pk or len({d for _, d in out}) != 1:
        return None
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def cursor_of(obj: Any, columns: list[tuple[Column, bool]]) -> str | None:
    """The position of ``obj`` in the order, for a pager link; None if a value is NULL."""
    values = [getattr(obj, c.key) for c, _ in columns]
    if any(v is None for v in values):
        return None
    return json.dumps([_plain(v) for v in values], ensure_ascii=False, separators=(",", ":"))


def _read(column: Column, raw: Any) -> Any:
    kind = column.type.python_type
    if kind is datetime:
        return datetime.fromisoformat(raw)
    if kind is date:
        return date.fromisoformat(raw)
    if kind is Decimal:
        return Decimal(str(raw))
    if kind is int and isinstance(raw, bool):
        raise ValueError(raw)
    return kind(raw)


def parse_cursor(text: str | None, columns: list[tuple[Column, bool]]) -> list | None:
    """The values of a position written by ``cursor_of``; None if it does not fit the order."""
    if not text:
        return None
    try:
        raw = json.loads(text)
        if not isinstance(raw, list) or len(raw) != len(columns):
            return None
        return [_read(c, v) for (c, _), v in zip(columns, raw, strict=True)]
    except (ValueError, TypeError, InvalidOperation, NotImplementedError):
        return None


def seek(
    columns: list[tuple[Column, bool]], values: list, forward: bool, inclusive: bool = False
) -> Any:
    """Rows after (``forward``) or before the position, in the order's direction: one row-value
    comparison, which both databases answer with a range of the (sort column, id) index.
    ``inclusive``: from the row at the position on (a remembered page start, ``page_anchors``)."""
    desc = columns[0][1]
    left = tuple_(*(c for c, _ in columns))
    # Bound with each column's own type: Money is integer cents on SQLite, not yuan.
    right = tuple_(*(literal(v, c.type) for (c, _), v in zip(columns, values, strict=True)))
    if inclusive:
        return left <= right if desc == forward else left >= right
    return left < right if desc == forward else left > right


def ids_statement(
    base: Any,
    model: type,
    columns: list[tuple[Column, bool]],
    branches: list[Any] | None,
    position: tuple[list, bool] | None,
    limit: int | None,
    offset: int,
    start: list | None = None,
) -> Any:
    """SELECT of the page's ids: ``base`` (the list query with its filters and scope, no search,
    order or paging), each search branch, the keyset position (values, forward), the order.
    ``start``: the sort values of a row known to lie ``offset`` rows or fewer before the page
    (``page_anchors``); the statement seeks to it and skips only the rest."""
    pk = sa_inspect(model).primary_key[0]
    reverse = position is not None and not position[1]
    keyset = seek(columns, *position) if position is not None else None
    if keyset is None and start is not None:
        keyset = seek(columns, start, True, inclusive=True)
    parts = []
    for branch in branches or [None]:
        part = base.limit(None).offset(None).order_by(None).with_entities(*(c for c, _ in columns))
        if branch is not None:
            part = part.filter(branch)
        if keyset is not None:
            part = part.filter(keyset)
        parts.append(part)
    if len(parts) == 1:
        stmt = parts[0].with_entities(pk).statement
        source = {c.key: c for c, _ in columns}
    else:
        rows = union(*(p.statement for p in parts)).subquery("matches")
        stmt = select(rows.c[pk.key])
        source = {c.key: rows.c[c.key] for c, _ in columns}
    order = []
    for column, desc in columns:
        expr = source[column.key]
        order.append(expr.desc() if desc != reverse else expr.asc())
    stmt = stmt.order_by(*order)
    if limit:
        stmt = stmt.limit(limit)
    if offset and position is None:
        stmt = stmt.offset(offset)
    return stmt
