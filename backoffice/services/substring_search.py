"""Any part of a document number, found through an index at a million rows (issue 11, 13).

``LIKE '%x%'`` cannot use a B-tree index: on the receivable ledger it reads every row. Both
databases instead keep a trigram index of the searched number columns (migration
``w4perf0001``), and a term of three characters or more is looked up in it:

- PostgreSQL: a ``pg_trgm`` GIN index per column answers ``ILIKE '%x%'``;
- SQLite: an FTS5 table with the ``trigram`` tokenizer per table (``fts_<table>``, external
  content, kept in step by triggers on insert, update and delete) answers a phrase ``MATCH``,
  which finds the term anywhere in the column, ignoring case as ``ILIKE`` does.

A SQLite built without the trigram tokenizer gets no FTS table; the search then scans with
``LIKE`` (correct, not fast). Shorter terms are matched by their start only (``prefix_match``):
two characters would match most of the ledger.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import column, literal, literal_column, select, table, text
from sqlalchemy import inspect as sa_inspect

from backoffice.extensions import db

#: Terms shorter than this match by their start only; a trigram index needs three characters.
MIN_SUBSTRING = 3
#: The columns each table keeps a trigram index of (the migration builds exactly these).
INDEXED = {
    "receivable": ("doc_no",),
    "payment": ("payment_no", "doc_no_ref"),
    "customer": ("name",),  # migration w6custname_0001: any part of a customer's name
}

_fts_tables: dict[str, frozenset[str]] = {}
_lock = threading.Lock()


def fts_table(table_name: str) -> str:
    return f"fts_{table_name}"


def trigram_index(table_name: str, column_name: str) -> str:
    return f"ix_{table_name}_{column_name}_trgm"


def is_search_object(name: str | None) -> bool:
    """A table or index of the trigram search, which the models do not declare (Alembic's
    comparison of migrations and models leaves them out)."""
    return bool(name) and (name.startswith("fts_") or name.endswith("_trgm"))


def include_name(name, type_, parent_names) -> bool:
    """Alembic ``include_name``: everything but the search's own tables and indexes."""
    return not is_search_object(name)


def escaped(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _sqlite_fts_tables() -> frozenset[str]:
    """The FTS tables this SQLite database has, read once per database and process."""
    engine = db.engine
    key = engine.url.render_as_string(hide_password=True)
    with _lock:
        known = _fts_tables.get(key)
    if known is None:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'fts_%'")
            )
            known = frozenset(r[0] for r in rows if r[0].startswith("fts_"))
        with _lock:
            _fts_tables[key] = known
    return known


def substring_keys(model: Any, columns: tuple[str, ...], term: str) -> list[Any]:
    """SELECTs of the primary keys of ``model`` rows whose ``columns`` contain ``term``
    (three characters or more), each answered by the trigram index."""
    pk = sa_inspect(model).primary_key[0]
    table_name = model.__tablename__
    dialect = db.session.get_bind().dialect.name
    pattern = "%" + escaped(term) + "%"
    if dialect == "sqlite" and fts_table(table_name) in _sqlite_fts_tables():
        name = fts_table(table_name)
        fts = table(name, column("rowid"))
        phrase = '"' + term.replace('"', '""') + '"'
        # The phrase matches in any indexed column; restrict it when only some are searched.
        if set(columns) != set(INDEXED.get(table_name, ())):
            phrase = "{" + " ".join(columns) + "} : " + phrase
        return [select(fts.c.rowid).where(literal_column(name).op("MATCH")(literal(phrase)))]
    op = "ilike" if dialect == "postgresql" else "like"
    return [
        select(pk).where(getattr(getattr(model, name), op)(pattern, escape="\\"))
        for name in columns
    ]


def substring_criteria(model: Any, columns: tuple[str, ...], term: str) -> list[Any]:
    """Criteria on ``model``'s own rows whose ``columns`` contain ``term`` (three characters
    or more), each answered by the trigram index: one per column, or one FTS look-up."""
    dialect = db.session.get_bind().dialect.name
    table_name = model.__tablename__
    if dialect == "sqlite" and fts_table(table_name) in _sqlite_fts_tables():
        pk = sa_inspect(model).primary_key[0]
        return [pk.in_(keys) for keys in substring_keys(model, columns, term)]
    op = "ilike" if dialect == "postgresql" else "like"
    pattern = "%" + escaped(term) + "%"
    return [getattr(getattr(model, name), op)(pattern, escape="\\") for name in columns]
