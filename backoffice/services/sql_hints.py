"""Planner hints that SQL has no portable syntax for (issue 13).

SQLite picks an index for any term it can, even one that matches half the table: the
dashboard's totals over ``outstanding > 0``, ``due_date < today`` or grouped by customer then
fetch each row by its rowid through the index, several times slower than reading the table once
(6.1 s against 1.8 s at 1M receivables). ``unindexed(column)`` is the column for every database;
on SQLite it is written ``+column``, SQLite's documented way to keep a term from using an
index. PostgreSQL's planner prices such scans itself and gets the plain column.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class unindexed(ColumnElement):  # noqa: N801 - used like a SQL function
    """``column``, which SQLite must not look up through an index."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: Any) -> None:
        self.column = column
        self.type = column.type


@compiles(unindexed)
def _plain(element: unindexed, compiler, **kw) -> str:
    return compiler.process(element.column, **kw)


@compiles(unindexed, "sqlite")
def _sqlite(element: unindexed, compiler, **kw) -> str:
    return "+" + compiler.process(element.column, **kw)
