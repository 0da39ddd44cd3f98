"""Trigram indexes for searching any part of a document or payment number

The list search box finds any part (three characters or more) of a document number at a
million rows (issues 11 and 13); ``LIKE '%x%'`` would read the whole ledger.

- PostgreSQL: the ``pg_trgm`` extension and one GIN index per searched column
  (``ix_<table>_<column>_trgm``), which answer ``ILIKE '%x%'``.
- SQLite: one FTS5 table per searched table (``fts_<table>``, tokenizer ``trigram``, external
  content: it stores the index only), filled from the existing rows and kept in step by
  triggers on insert, update and delete. A SQLite without the trigram tokenizer (before
  3.34) gets none, and the search falls back to a scan (``services.substring_search``).

The models do not declare these objects; the migrations-equal-models test leaves them out
(``substring_search.include_name``). NOTE for later migrations: SQLite batch mode rebuilds a
table by copying it, which drops its triggers; a migration that rebuilds ``receivable`` or
``payment`` must create the ``fts_*`` triggers again (``tests/views/test_number_search.py``
fails if they are missing).

Revision ID: w4perf0001
Revises: w4cost0001
Create Date: 2026-11-30 17:30:00
"""
from alembic import op
from sqlalchemy import text


revision = 'w4perf0001'
down_revision = 'w4cost0001'
branch_labels = None
depends_on = None

# Frozen copy of substring_search.INDEXED at this revision.
INDEXED = {'receivable': ('doc_no',), 'payment': ('payment_no', 'doc_no_ref')}


def _sqlite_has_trigram(conn) -> bool:
    try:
        conn.execute(text("CREATE VIRTUAL TABLE temp.qq_trigram_probe USING fts5(x, tokenize='trigram')"))
    except Exception:  # noqa: BLE001 - an old SQLite: no FTS5 or no trigram tokenizer
        return False
    conn.execute(text('DROP TABLE temp.qq_trigram_probe'))
    return True


def _sqlite_upgrade(conn) -> None:
    if not _sqlite_has_trigram(conn):
        return
    for table, columns in INDEXED.items():
        fts = f'fts_{table}'
        cols = ', '.join(columns)
        new = ', '.join(f'new.{c}' for c in columns)
        old = ', '.join(f'old.{c}' for c in columns)
        conn.execute(text(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', "
            f"content_rowid='id', tokenize='trigram')"))
        conn.execute(text(
            f'CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN '
            f'INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END'))
        conn.execute(text(
            f'CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN '
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END"))
        conn.execute(text(
            f'CREATE TRIGGER {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN '
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
            f'INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END'))
        conn.execute(text(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')"))


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for table, columns in INDEXED.items():
            for column in columns:
                op.execute(f'CREATE INDEX ix_{table}_{column}_trgm ON {table} '
                           f'USING gin ({column} gin_trgm_ops)')
    elif conn.dialect.name == 'sqlite':
        _sqlite_upgrade(conn)


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name == 'postgresql':
        for table, columns in INDEXED.items():
            for column in columns:
                op.execute(f'DROP INDEX IF EXISTS ix_{table}_{column}_trgm')
    elif conn.dialect.name == 'sqlite':
        for table in INDEXED:
            for suffix in ('ai', 'ad', 'au'):
                op.execute(f'DROP TRIGGER IF EXISTS fts_{table}_{suffix}')
            op.execute(f'DROP TABLE IF EXISTS fts_{table}')
